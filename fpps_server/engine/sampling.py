"""Per-row logits processing and log-probabilities: penalties, `logit_bias`, `min_tokens`.

The vLLM logits-processor shape, one row at a time: a `RowLogits` is made when a row joins the
batch (from its `SamplingParams` and prompt), told every token the row accepts, and applied to
that row's logits only. Nothing in it reads another row, so a row's output cannot depend on its
batch mates; a row that asks for none of these options is never touched (its greedy token is
the argmax of the raw logits, byte for byte as before).

Semantics follow the APIs they come from:

- `frequency_penalty` / `presence_penalty` (OpenAI): `logit -= f * count + p * (count > 0)`
  over the tokens generated so far (not the prompt).
- `repetition_penalty` (vLLM, CTRL): for tokens seen in the prompt or the output, a positive
  logit is divided by it and a negative one multiplied.
- `logit_bias` (OpenAI): added to the logits of its token ids.
- `min_tokens` (vLLM): end-of-sequence ids are masked until that many tokens were generated.

Log-probabilities are taken from the raw (steered) logits, before any of the above and before
temperature, as vLLM reports by default: they say what the model, edited or not, predicts.
"""

from __future__ import annotations

from typing import Callable, Collection, Sequence

import torch

from fpps.steering.errors import SteeringValidationError
from fpps.steering.params import SamplingParams

from .types import TokenLogprob, TopLogprob

__all__ = ["RowLogits", "token_logprob", "prompt_logprobs"]


class RowLogits:
    """One row's logits processor. Raises `SteeringValidationError` for a `logit_bias` id past
    the vocabulary."""

    def __init__(self, sampling: SamplingParams, prompt_ids: Sequence[int], vocab: int,
                 eos: Collection[int], device: torch.device) -> None:
        self.sampling = sampling
        self.active = sampling.has_logits_processing
        bad = [t for t, _ in sampling.logit_bias if t >= vocab]
        if bad:
            raise SteeringValidationError("logit_bias", bad[0], f"token id past the vocabulary of {vocab}")
        self._n = 0
        self._counts: torch.Tensor | None = None  # [vocab] float32: times each token was generated
        self._seen: torch.Tensor | None = None  # [vocab] bool: in the prompt or the output
        if not self.active:
            return
        if sampling.frequency_penalty or sampling.presence_penalty:
            self._counts = torch.zeros(vocab, dtype=torch.float32, device=device)
        if sampling.repetition_penalty != 1.0:
            self._seen = torch.zeros(vocab, dtype=torch.bool, device=device)
            if prompt_ids:
                self._seen[torch.tensor(list(prompt_ids), dtype=torch.long, device=device)] = True
        self._bias_ids = torch.tensor([t for t, _ in sampling.logit_bias], dtype=torch.long, device=device)
        self._bias = torch.tensor([b for _, b in sampling.logit_bias], dtype=torch.float32, device=device)
        self._eos = torch.tensor(sorted(eos), dtype=torch.long, device=device)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """The row's logits `[vocab]` to choose from: the input itself when the row asked for no
        processing, else a float32 copy with every option applied."""
        if not self.active:
            return logits
        s = self.sampling
        lg = logits.float().clone()  # [vocab]
        if self._seen is not None:
            rep = s.repetition_penalty
            lg = torch.where(self._seen, torch.where(lg > 0, lg / rep, lg * rep), lg)
        if self._counts is not None:
            lg -= s.frequency_penalty * self._counts + s.presence_penalty * (self._counts > 0).float()
        if self._bias_ids.numel():
            lg.index_add_(0, self._bias_ids, self._bias)
        if self._n < s.min_tokens and self._eos.numel():
            lg.index_fill_(0, self._eos, float("-inf"))
        return lg

    def accept(self, token: int) -> None:
        """Record a token the row generated."""
        self._n += 1
        if self._counts is not None:
            self._counts[token] += 1.0
        if self._seen is not None:
            self._seen[token] = True


def token_logprob(logits: torch.Tensor, token: int, top: int,
                  text_of: Callable[[int], str]) -> TokenLogprob:
    """`token`'s log-probability under the raw `logits` `[vocab]`, with the `top` most likely
    alternatives; `text_of` turns an id into its text (cached by the caller)."""
    lp = torch.log_softmax(logits.float(), dim=-1)  # [vocab]
    chosen = float(lp[token])
    alts: tuple[TopLogprob, ...] = ()
    if top:
        values, ids = lp.topk(top)
        alts = tuple(TopLogprob(t, v, tuple(t.encode("utf-8")))
                     for t, v in ((text_of(i), v) for i, v in zip(ids.tolist(), values.tolist())))
    text = text_of(token)
    return TokenLogprob(text, chosen, tuple(text.encode("utf-8")), alts)


def prompt_logprobs(logits: torch.Tensor, ids: Sequence[int], top: int,
                    text_of: Callable[[int], str]) -> tuple[TokenLogprob, ...]:
    """Each prompt token's log-probability given the ones before it, from the prompt's logits
    `[len(ids), vocab]` (position j predicts token j + 1); the first token gets None."""
    lp = torch.log_softmax(logits[:-1].float(), dim=-1)  # [len(ids) - 1, vocab]
    nxt = torch.tensor(list(ids[1:]), dtype=torch.long, device=lp.device)
    chosen = lp.gather(1, nxt[:, None])[:, 0].tolist()
    tops: list[tuple[TopLogprob, ...]] = [()] * len(chosen)
    if top:
        values, alt = lp.topk(top, dim=-1)
        tops = [tuple(TopLogprob(t, v, tuple(t.encode("utf-8"))) for t, v in
                      ((text_of(i), v) for i, v in zip(row_ids, row_vals)))
                for row_ids, row_vals in zip(alt.tolist(), values.tolist())]
    first = text_of(ids[0])
    out = [TokenLogprob(first, None, tuple(first.encode("utf-8")))]
    for tok, c, t in zip(ids[1:], chosen, tops):
        text = text_of(tok)
        out.append(TokenLogprob(text, c, tuple(text.encode("utf-8")), t))
    return tuple(out)
