"""HTTP request and response models (pydantic), OpenAI-compatible plus the `fpps` extension.

Requests forbid unknown fields, so a typo is a 400 that names the field instead of a silently
ignored option (top level and inside `fpps` alike: a request that asks for something this server
does not do should hear so, not get a silently different answer). No request field names a
server-side path: artifacts and models are chosen at deploy time only.

Request models are strict (no `true` for an integer, no `"8"` for a number), reject NaN and
infinities, and every free-text field rejects NUL and lone UTF-16 surrogates (`"\\ud800"` is
valid JSON but not encodable text: it would fail later in the tokenizer, the database or the
response encoder, as a 500 instead of a 400 naming the field).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from fpps.steering.errors import SteeringValidationError
from fpps.steering.params import MAX_LOGIT_BIAS, MAX_TOP_LOGPROBS, SamplingParams, SteeringParams

from ..memory.types import SESSION_ID_PATTERN, USER_ID_PATTERN

__all__ = [
    "ChatMessage", "FppsOptions", "ChatCompletionRequest", "FppsDiagnostics", "ChatCompletionResponse",
    "Choice", "ChunkChoice", "ChatCompletionChunk", "Usage", "ModelCard", "ModelList",
    "SessionCreateRequest", "SessionResponse", "SessionListResponse", "DeletedResponse",
    "ResponseFormat", "ChoiceLogprobs", "TokenLogprobOut", "TopLogprobOut", "REFUSED_FIELDS",
    "GenerationFields",
]

#: OpenAI chat fields fpps does not implement. They are declared so that a client that sends
#: one gets a 400 naming it (never a silently different answer); `null` counts as not sent.
REFUSED_FIELDS: tuple[str, ...] = (
    "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "audio",
    "modalities", "prediction", "web_search_options", "reasoning_effort", "verbosity",
    "service_tier", "store", "metadata", "prompt_cache_key", "safety_identifier")

_FORBID = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
Role = Literal["system", "developer", "user", "assistant"]


def _check_text(value: str) -> str:
    """Reject text that cannot be stored or encoded as UTF-8: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogate escapes such as \\ud800)") from None
    return value


# Request string types: the length is checked first, then that the text is safe to tokenize,
# store and echo back.
_Content = Annotated[str, Field(max_length=200_000), AfterValidator(_check_text)]
_Short = Annotated[str, Field(max_length=64), AfterValidator(_check_text)]
_ModelName = Annotated[str, Field(max_length=256), AfterValidator(_check_text)]
_Stop = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_text)]
# logit_bias keys are token ids written as JSON object keys (strings), as OpenAI takes them.
_TokenKey = Annotated[str, Field(pattern=r"^[0-9]{1,10}$")]
_Bias = Annotated[float, Field(ge=-100.0, le=100.0)]


class JsonSchemaFormat(BaseModel):
    """`response_format.json_schema`: a named JSON Schema the answer must match."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    description: _Content | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """OpenAI's `response_format`: `text` (the default), `json_object` (any JSON object) or
    `json_schema` (JSON matching a schema), enforced by a grammar mask (`structured.py`)."""

    model_config = _FORBID
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class TextPart(BaseModel):
    model_config = _FORBID
    type: Literal["text"]
    text: _Content


class ChatMessage(BaseModel):
    """One chat turn. `content` may be a string or a list of text parts (OpenAI style)."""

    model_config = _FORBID
    role: Role
    content: _Content | Annotated[list[TextPart], Field(max_length=256)]
    name: _Short | None = None

    def plain(self) -> dict[str, str]:
        """`{"role", "content"}` with text parts joined; `developer` is sent as `system`."""
        text = self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)
        return {"role": "system" if self.role == "developer" else self.role, "content": text}


class FppsOptions(BaseModel):
    """The `fpps` extension of a chat request (`extra_body={"fpps": {...}}` in the openai client)."""

    model_config = _FORBID
    mode: Literal["off", "hard", "soft", "mixed"] | None = None
    """FPPS variant; default: the server's default mode (mixed)."""
    strength: float | None = Field(default=None, ge=0.0, le=1.0)
    """alpha in [0, 1]; 0 is byte-identical to unsteered."""
    gamma: float | None = Field(default=None, ge=0.0, le=10.0)
    tau: float | None = Field(default=None, ge=0.0, le=1.0)
    history: list[list[ChatMessage]] | None = Field(default=None, max_length=512)
    """Inline personalization: sessions, each a list of messages (overrides stored memory)."""
    dates: list[_Short | None] | None = Field(default=None, max_length=512)
    """Optional date of each inline session."""
    current_date: _Short | None = None
    top_k: int | None = Field(default=None, ge=1, le=32)
    """Sessions retrieved into the RAG prompt (server default 3)."""
    compare: bool = False
    """Return two choices: index 0 unsteered, index 1 steered."""


class GenerationFields(BaseModel):
    """The decoding and steering fields `/v1/chat/completions` and `/v1/completions` share."""

    model_config = _FORBID
    model: _ModelName | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0.0, le=5.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    stop: _Stop | Annotated[list[_Stop], Field(max_length=8)] | None = None
    """Up to 8 stop strings of at most 200 characters (as `SamplingParams` allows)."""
    stream: bool = False
    stream_options: dict[Literal["include_usage"], bool] | None = None
    user: str | None = Field(default=None, pattern=USER_ID_PATTERN)
    """End-user id: personalizes with the user's stored sessions; a user without any is
    answered unpersonalized (`fpps.sessions` 0)."""
    n: int = Field(default=1, ge=1, le=8)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[_TokenKey, _Bias] | None = Field(default=None, max_length=MAX_LOGIT_BIAS)
    """Token id (as a string key) to a bias in [-100, 100], at most 300 entries."""
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=2.0)
    """vLLM's extension: 1 is off."""
    min_tokens: int | None = Field(default=None, ge=0, le=4096)
    """vLLM's extension: no end-of-sequence before this many tokens."""
    fpps: FppsOptions | None = None

    def to_steering_params(self, defaults: Mapping[str, Any]) -> SteeringParams:
        """Per-request steering, validated (raises `SteeringValidationError`).

        Resolution order for every field: the request's value, then the server default
        (`defaults`: deploy-time `ServerArgs`), then the paper default. gamma and tau left None
        here are filled by the model deployment (live `reconfigure` overrides), then the
        artifact's calibrated values, then `PAPER_DEFAULTS` (`SteeringParams.resolved`).
        """
        f = self.fpps or FppsOptions()

        def pick(name: str, field: str, paper: Any) -> Any:
            value = getattr(f, field)
            if value is not None:
                return value
            return defaults.get(name) if defaults.get(name) is not None else paper

        return SteeringParams(mode=pick("mode", "mode", "mixed"), alpha=pick("strength", "strength", 1.0),
                              gamma=pick("gamma", "gamma", None), tau=pick("tau", "tau", None))

    def _sampling(self, max_tokens: int, logprobs: int | None,
                  prompt_logprobs: int | None = None) -> SamplingParams:
        """`SamplingParams` of these fields (raises `SteeringValidationError`). Greedy unless
        temperature > 0; fields left unset keep every option off."""
        stop: tuple[str, ...] = () if self.stop is None else (
            (self.stop,) if isinstance(self.stop, str) else tuple(self.stop))
        return SamplingParams(
            max_tokens=max_tokens, temperature=self.temperature or 0.0,
            top_p=self.top_p if self.top_p is not None else 1.0, seed=self.seed, stop=stop,
            presence_penalty=self.presence_penalty or 0.0, frequency_penalty=self.frequency_penalty or 0.0,
            repetition_penalty=self.repetition_penalty if self.repetition_penalty is not None else 1.0,
            logit_bias={int(k): v for k, v in (self.logit_bias or {}).items()},
            min_tokens=self.min_tokens or 0, logprobs=logprobs, prompt_logprobs=prompt_logprobs)


class ChatCompletionRequest(GenerationFields):
    """`POST /v1/chat/completions`."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=512)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    response_format: ResponseFormat | None = None
    tools: Any = None
    tool_choice: Any = None
    parallel_tool_calls: Any = None
    functions: Any = None
    function_call: Any = None
    audio: Any = None
    modalities: Any = None
    prediction: Any = None
    web_search_options: Any = None
    reasoning_effort: Any = None
    verbosity: Any = None
    service_tier: Any = None
    store: Any = None
    metadata: Any = None
    prompt_cache_key: Any = None
    safety_identifier: Any = None

    @field_validator(*REFUSED_FIELDS, mode="before")
    @classmethod
    def _refuse(cls, value: Any, info: ValidationInfo) -> None:
        """Every `REFUSED_FIELDS` entry: only `null` (not sent) passes."""
        if value is not None:
            raise ValueError(f"'{info.field_name}' is not supported by this server (fpps serves text "
                             "chat without tools, audio or stored completions); omit it")
        return None

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, v: list[ChatMessage]) -> list[ChatMessage]:
        if v[-1].role != "user":
            raise ValueError("the last message must have role 'user' (it is the question)")
        return v

    @property
    def question(self) -> str:
        return self.messages[-1].plain()["content"]

    def to_sampling_params(self, default_max_tokens: int) -> SamplingParams:
        """Decoding options (raises `SteeringValidationError`). Greedy unless temperature > 0."""
        max_tokens = self.max_completion_tokens or self.max_tokens or default_max_tokens
        if self.top_logprobs is not None and not self.logprobs:
            raise SteeringValidationError("top_logprobs", self.top_logprobs, "needs 'logprobs': true")
        sp = self._sampling(max_tokens, (self.top_logprobs or 0) if self.logprobs else None)
        rf = self.response_format
        if rf is None or rf.type == "text":
            return sp
        if rf.type == "json_object":
            return dataclasses.replace(sp, response_format="json_object")
        if rf.json_schema is None:
            raise SteeringValidationError("response_format", None, "json_schema needs 'json_schema'")
        return dataclasses.replace(sp, response_format="json_schema",
                                   json_schema=json.dumps(rf.json_schema.schema_))


class FppsDiagnostics(BaseModel):
    """What steering did to one answer."""

    mode: str
    p_hat: float | None
    gate: str
    """Branch taken: `none`, `soft` or `hard`."""
    effective_strength: float
    gamma: float | None
    tau: float | None
    layer: int | None
    artifact_id: str | None
    personalized: bool
    sessions: int
    """Sessions available to the RAG prompt (inline or stored)."""


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class TopLogprobOut(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprobOut(TopLogprobOut):
    top_logprobs: list[TopLogprobOut]


class ChoiceLogprobs(BaseModel):
    """OpenAI's `choices[i].logprobs`: one entry per generated token."""

    content: list[TokenLogprobOut] | None
    refusal: list[TokenLogprobOut] | None = None


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: str
    logprobs: ChoiceLogprobs | None = None
    fpps: FppsDiagnostics | None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    fpps: FppsDiagnostics


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    fpps: FppsDiagnostics | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    fpps: FppsDiagnostics | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "fpps"
    fpps: dict[str, Any] | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class SessionCreateRequest(BaseModel):
    """`POST /v1/users/{user_id}/sessions`: one past conversation of the user."""

    model_config = _FORBID
    messages: list[ChatMessage] = Field(min_length=1, max_length=1024)
    session_id: str | None = Field(default=None, pattern=SESSION_ID_PATTERN)
    date: _Short | None = None


class SessionResponse(BaseModel):
    session_id: str
    date: str | None
    created: str
    messages: list[dict[str, str]]


class SessionListResponse(BaseModel):
    object: Literal["list"] = "list"
    user_id: str
    data: list[SessionResponse]


class DeletedResponse(BaseModel):
    id: str
    object: str
    deleted: bool = True
