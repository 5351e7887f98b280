"""PAG-style personalization: an LLM-written profile summary plus one retrieved session (§8.4).

The paper prints no PAG prompt, so this module fixes one in the RAG prompt's style. The summary
is written by the evaluated model itself from the user's own turns (most recent first kept, up to
a character budget so long LongMemEval histories fit a small context), greedily, once per user.
The question prompt then carries the summary and the single session most similar to the question
(`RagPersonalizer(top_k=1)`); as the paper says only RAG carries the current date, PAG does not,
and its history-free twin is `history_free_messages(question)` without a date (D16).

The artifact's probe and vector are fitted per (backbone, method) (D1): evaluating PAG with a
RAG-calibrated artifact measures transfer, not the paper's setting.
"""

from __future__ import annotations

from typing import Sequence

from fpps.steering.personalize import Message, RagPersonalizer, Session, format_sessions

__all__ = ["PAG_INSTRUCTION", "PROFILE_INSTRUCTION", "pag_messages", "profile_messages"]

PROFILE_INSTRUCTION = ("Here are messages a user wrote to you in past chats. Write a short profile "
                       "of the user in at most five sentences: facts about their life, their "
                       "preferences and their plans.")
PAG_INSTRUCTION = ("I will give you a summary of a user's profile and one history chat between you "
                   "and the user. Please answer the question based on the user's profile and the "
                   "relevant chat history.")


def profile_messages(sessions: Sequence[Session], max_chars: int = 4000) -> list[Message]:
    """The prompt that asks the model for the user's profile summary."""
    kept: list[str] = []
    used = 0
    for session in reversed(sessions):  # the most recent turns first, until the budget is spent
        for turn in reversed(session):
            if turn.get("role") != "user":
                continue
            text = " ".join(str(turn.get("content", "")).split())[:1000]
            if used + len(text) > max_chars:
                break
            kept.append(f"- {text}")
            used += len(text)
    body = "\n".join(reversed(kept)) or "- (no messages)"
    return [{"role": "user", "content": f"{PROFILE_INSTRUCTION}\n\nUser messages:\n{body}\n\nProfile:"}]


def pag_messages(question: str, summary: str, sessions: Sequence[Session],
                 dates: Sequence[str | None] | None = None) -> list[Message]:
    """The PAG prompt: profile summary + the one session most similar to the question."""
    keep = RagPersonalizer(top_k=1).select(question, sessions) if sessions else []
    chat = format_sessions([sessions[i] for i in keep],
                           [dates[i] for i in keep] if dates is not None else None)
    content = (f"{PAG_INSTRUCTION}\n\nUser Profile:\n{summary.strip() or '(none)'}\n\n"
               f"History Chat:\n{chat}\n\nQuestion: {question}\nAnswer:")
    return [{"role": "user", "content": content}]
