"""Personalization methods: how a user's history enters the prompt (fpps-method.md §8.4–8.5).

`RagPersonalizer` retrieves the user's most relevant sessions for the question (TF-IDF cosine,
session granularity, D20) and renders the paper's RAG prompt. `history_free_messages` renders the
same template with the history removed: the "without" condition of calibration, the correctness
check and the twin stream (D16). Both end in "Question: {question}\nAnswer:" under the same chat
template, so the personalized and the twin prompt end on the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "Message",
    "Session",
    "RAG_INSTRUCTION",
    "RagPersonalizer",
    "format_sessions",
    "history_free_messages",
    "rag_messages",
]

Message = dict[str, str]
Session = Sequence[Message]

RAG_INSTRUCTION = ("I will give you several history chats between you and a user. Please answer "
                   "the question based on the relevant chat history.")


def format_sessions(sessions: Sequence[Session], dates: Sequence[str | None] | None = None) -> str:
    """Render sessions as numbered transcripts, each headed by its date when known."""
    parts = []
    for i, session in enumerate(sessions):
        date = dates[i] if dates is not None and i < len(dates) else None
        head = f"### Session {i + 1}" + (f" ({date})" if date else "") + ":"
        lines = [f"{m.get('role', 'user')}: {m.get('content', '')}" for m in session]
        parts.append("\n".join([head, *lines]))
    return "\n\n".join(parts)


def _tail(question: str, current_date: str | None) -> str:
    date = f"Current Date: {current_date}\n" if current_date else ""
    return f"{date}Question: {question}\nAnswer:"


def rag_messages(question: str, sessions: Sequence[Session],
                 dates: Sequence[str | None] | None = None,
                 current_date: str | None = None) -> list[Message]:
    """The paper's RAG prompt over the given (already retrieved) sessions, as one user turn."""
    history = format_sessions(sessions, dates)
    content = f"{RAG_INSTRUCTION}\n\nHistory Chats:\n{history}\n\n{_tail(question, current_date)}"
    return [{"role": "user", "content": content}]


def history_free_messages(question: str, current_date: str | None = None) -> list[Message]:
    """The history-free prompt: the RAG template with the history removed (D16)."""
    return [{"role": "user", "content": _tail(question, current_date)}]


@dataclass(frozen=True)
class RagPersonalizer:
    """Retrieve the `top_k` sessions most similar to the question and render the RAG prompt.

    Retrieval is TF-IDF cosine over whole sessions (scikit-learn, offline). Retrieved sessions
    keep their chronological order in the prompt. With `top_k=None` every session is used.
    """

    top_k: int | None = 3
    name: str = "rag"

    def __post_init__(self) -> None:
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {self.top_k}")

    def select(self, question: str, sessions: Sequence[Session]) -> list[int]:
        """Indices of the retrieved sessions, in chronological (original) order."""
        if self.top_k is None or len(sessions) <= self.top_k:
            return list(range(len(sessions)))
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = [" ".join(m.get("content", "") for m in s) for s in sessions]
        vec = TfidfVectorizer(stop_words="english", sublinear_tf=True)
        try:
            mat = vec.fit_transform([*docs, question])
        except ValueError:  # empty vocabulary: nothing to rank by, keep the latest sessions
            return list(range(len(sessions)))[-self.top_k:]
        sims = (mat[:-1] @ mat[-1].T).toarray().ravel()
        # Ties go to the more recent session.
        order = sorted(range(len(sessions)), key=lambda i: (-sims[i], -i))[: self.top_k]
        return sorted(order)

    def messages(self, question: str, sessions: Sequence[Session],
                 dates: Sequence[str | None] | None = None,
                 current_date: str | None = None) -> list[Message]:
        """The personalized prompt for `question` over the user's `sessions`."""
        if not sessions:
            return history_free_messages(question, current_date)
        keep = self.select(question, sessions)
        kept_dates = [dates[i] for i in keep] if dates is not None else None
        return rag_messages(question, [sessions[i] for i in keep], kept_dates, current_date)
