"""The HTTP ingress: FastAPI routes and the calls into the model deployment and the memory
store (the ASGI edge and the metrics every request passes through are in `edge.py`).

`FppsIngress` validates every request (pydantic models, then `SteeringParams` and
`SamplingParams`) before anything is sent to the model, builds the personalized prompt from
inline history or the user's stored sessions (`MemoryStore`) and its history-free twin, and maps
every exception to an HTTP error through `errors.to_http`.
"""

import asyncio
import concurrent.futures
import dataclasses
import functools
import json
import logging
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, TypeVar

from ray import serve
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from .admission import CHAT_PATH
from .completions_protocol import (
    COMPLETIONS_PATH,
    CompletionChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Prompt,
    legacy_logprobs,
)
from .audit import audit_steering, configure_audit_log
from .config import ServerArgs, edge_capacity
from .edge import Edge, Metrics
from ..engine.types import EngineOutput, EngineOverloaded, GenerationRequest, TokenLogprob
from .errors import ApiError, UnknownModelError, to_http
from ..memory.store import MemoryStore, sqlite_url
from ..memory.types import SESSION_ID_PATTERN, USER_ID_PATTERN, StoreUnavailableError, UnknownUserError
from .playground import is_public_path, register_playground
from .protocol import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    DeletedResponse,
    Delta,
    FppsDiagnostics,
    FppsOptions,
    ModelCard,
    ModelList,
    ResponseMessage,
    SessionCreateRequest,
    SessionListResponse,
    SessionResponse,
    TokenLogprobOut,
    TopLogprobOut,
    Usage,
)
from .tenancy import KeyScope, load_keyring

__all__ = ["FppsIngress", "CHAT_PATH"]

log = logging.getLogger("fpps.server")
T = TypeVar("T")


def _cancel(response: Any) -> None:
    """Cancel a handle call, best effort and without raising.

    Ray's `cancel()` may fetch the call's result first and re-raise its error (a
    `BackPressureError` for a call that was never admitted); raised from an error branch,
    that would escape to Ray's own plain-text 503 handler instead of `errors.to_http`.
    """
    try:
        response.cancel()
    except Exception:  # noqa: BLE001 - nothing left to cancel, or cancelled already
        log.debug("cancel of a handle call raised", exc_info=True)


def _diagnostics(out: EngineOutput, sessions: int) -> FppsDiagnostics:
    return FppsDiagnostics(mode=out.mode, p_hat=out.p_hat, gate=out.gate,
                           effective_strength=out.effective_alpha, gamma=out.gamma, tau=out.tau,
                           layer=out.layer, artifact_id=out.artifact_id, personalized=sessions > 0,
                           sessions=sessions)


def _logprobs(entries: tuple[TokenLogprob, ...] | None) -> ChoiceLogprobs | None:
    """The engine's per-token log-probabilities in OpenAI's `choices[i].logprobs` shape."""
    if entries is None:
        return None
    return ChoiceLogprobs(content=[
        TokenLogprobOut(token=e.token, logprob=e.logprob, bytes=list(e.bytes), top_logprobs=[
            TopLogprobOut(token=t.token, logprob=t.logprob, bytes=list(t.bytes)) for t in e.top])
        for e in entries])


def _completion_usage(outs: list[EngineOutput], per: int) -> Usage:
    """Usage of a completions call: every prompt counted once (`per` choices each)."""
    prompt = sum(outs[j].prompt_tokens for j in range(0, len(outs), per))
    completion = sum(o.completion_tokens for o in outs)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


@serve.deployment(name="FppsIngress")
@serve.ingress()
class FppsIngress:
    """The HTTP front: OpenAI routes, memory routes, health, readiness and metrics."""

    def __init__(self, model: DeploymentHandle, args: ServerArgs) -> None:
        self.model, self.args = model, args
        url = args.database_url or sqlite_url(_default_db_path())
        self.store = MemoryStore(url, timeout_s=args.store_timeout_s)
        # Store calls get their own threads: a database that hangs holds these, not the
        # threads everything else runs in, and each call is answered within `store_call`'s bound.
        self._store_threads = concurrent.futures.ThreadPoolExecutor(16, thread_name_prefix="fpps-store")
        self.keyring = load_keyring(args.api_keys, args.admin_api_keys, args.api_key_file)
        configure_audit_log(args.audit_log, fail_open=args.audit_fail_open)
        self.metrics = Metrics()
        self._info: dict[str, Any] | None = None
        self.max_inflight = args.max_inflight or edge_capacity(args)
        self.inflight = 0  # chat requests inside this replica now (the event loop is single-threaded)
        self.defaults = {"mode": args.default_mode, "strength": args.default_strength,
                         "gamma": args.gamma, "tau": args.tau}

    # ---- helpers ----------------------------------------------------------------------------
    async def store_call(self, fn: Callable[..., T], *args: Any, count: bool = True, **kw: Any) -> T:
        """Run one `MemoryStore` call in the store's threads, answered within twice the store
        timeout: a database that refuses, drops or hangs is a `StoreUnavailableError` (a 503),
        counted in `fpps_store_errors_total{kind}` unless `count` is False (readiness probes)."""
        bound = 2 * self.args.store_timeout_s
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._store_threads, functools.partial(fn, *args, **kw)), bound)
        except asyncio.TimeoutError:
            err = StoreUnavailableError("timeout", self.store.description, f"no answer within {bound:g} s")
        except StoreUnavailableError as e:
            err = e
        if count:
            self.metrics.store_errors.labels(err.kind).inc()
        raise err

    def authorize(self, path: str, header: str | None) -> KeyScope | None:
        """The scope of the request's API key; None on the routes that need none.

        Raises `InvalidApiKey` (401). What the key may do is checked where the route knows the
        user and the steering it asks for (`KeyScope.check_memory`, `_requests`)."""
        if path == "/health" or is_public_path(path):  # the page holds no data
            return None
        token = header[7:].strip() if header and header[:7].lower() == "bearer " else ""
        return self.keyring.authenticate(token)

    @staticmethod
    def route_label(path: str) -> str:
        if path.startswith("/v1/users/"):
            return "/v1/users/{user_id}/sessions" if "/sessions" in path else "/v1/users/{user_id}"
        known = ("/v1/chat/completions", COMPLETIONS_PATH, "/v1/models", "/health", "/ready", "/metrics", "/docs",
                 "/openapi.json")
        return path if path in known else "other"

    async def info(self) -> dict[str, Any]:
        if self._info is None:
            try:
                self._info = await self.model.info.remote()
            except BackPressureError as e:  # the model's queue is full: a 503 like any other
                raise EngineOverloaded(str(e)) from None
        return self._info

    async def _check_model(self, name: str | None) -> str:
        info = await self.info()
        if name is not None and name not in (info["id"], "fpps", "default"):
            raise UnknownModelError(f"model '{name}' is not served here; use '{info['id']}'")
        return str(info["id"])

    async def _history(self, body: ChatCompletionRequest | CompletionRequest) -> tuple[list[list[dict[str, str]]], list[str | None] | None]:
        f = body.fpps or FppsOptions()
        if f.history is not None:
            keep = [i for i, s in enumerate(f.history) if s]  # empty sessions carry nothing
            sessions = [[m.plain() for m in f.history[i]] for i in keep]
            return sessions, [f.dates[i] for i in keep] if f.dates is not None else None
        if body.user is None:
            return [], None
        try:
            stored = await self.store_call(self.store.list_sessions, body.user)
        except UnknownUserError:  # OpenAI's `user` is a tag many clients always send: no memory yet
            return [], None
        return [list(s.messages) for s in stored], [s.date for s in stored]

    async def _requests(self, body: ChatCompletionRequest, rid: str,
                        principal: KeyScope) -> tuple[list[GenerationRequest], int]:
        """Validated engine requests for one chat call, and how many sessions personalize it.

        The key's scope is checked here, before anything reaches the model: the `user` it
        personalizes with, and the resolved mode and strength against its limits."""
        from fpps.steering import RagPersonalizer, SteeringParams, history_free_messages

        f = body.fpps or FppsOptions()
        steering = body.to_steering_params(self.defaults)
        if body.user is not None:
            principal.check_user(body.user, "user")
        alpha = principal.check_steering(steering.mode, steering.alpha, mode_given=f.mode is not None,
                                         strength_given=f.strength is not None, compare=f.compare,
                                         user=body.user)
        if alpha != steering.alpha:
            steering = dataclasses.replace(steering, alpha=alpha)
        sampling = body.to_sampling_params(self.args.default_max_tokens)
        if f.compare and body.n != 1:
            raise ApiError(400, "'compare' returns two choices and needs n = 1", param="n")
        if f.dates is not None and f.history is not None and len(f.dates) != len(f.history):
            raise ApiError(400, "'fpps.dates' must have one entry per session", param="fpps.dates")
        sessions, dates = await self._history(body)
        prefix = [m.plain() for m in body.messages[:-1]]
        if sessions:
            top_k = f.top_k or self.args.top_k
            msgs = prefix + RagPersonalizer(top_k=top_k).messages(body.question, sessions, dates, f.current_date)
            twin: list[dict[str, str]] | None = prefix + history_free_messages(body.question, f.current_date)
        else:  # plain chat: nothing to personalize, so nothing to steer away from
            msgs, twin = prefix + [body.messages[-1].plain()], None
            steering = dataclasses.replace(steering, mode="off")
        if f.compare:
            variants = [SteeringParams(mode="off"), steering]
            samplings = [sampling, sampling]
        else:
            variants = [steering] * body.n
            samplings = [sampling if sampling.seed is None or i == 0 else
                         dataclasses.replace(sampling, seed=sampling.seed + i) for i in range(body.n)]
        reqs = [GenerationRequest(messages=msgs, twin_messages=twin if s.is_active else None,
                                  steering=s, sampling=sp, request_id=f"{rid}-{i}")
                for i, (s, sp) in enumerate(zip(variants, samplings))]
        return reqs, len(sessions)

    @staticmethod
    def _audit(rid: str, principal: KeyScope, body: ChatCompletionRequest | CompletionRequest, i: int,
               out: EngineOutput, n_sessions: int) -> None:
        audit_steering(request_id=rid, key_id=principal.key_id, user=body.user, choice=i, mode=out.mode,
                       p_hat=out.p_hat, gate=out.gate, strength=out.effective_alpha, sessions=n_sessions,
                       finish_reason=out.finish_reason)

    def _usage(self, outs: list[EngineOutput]) -> Usage:
        prompt = outs[0].prompt_tokens if outs else 0
        completion = sum(o.completion_tokens for o in outs)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)

    # ---- chat -------------------------------------------------------------------------------
    async def chat(self, body: ChatCompletionRequest, rid: str, principal: KeyScope) -> Any:
        from fastapi.responses import StreamingResponse

        name = await self._check_model(body.model)
        reqs, n_sessions = await self._requests(body, rid, principal)
        if body.stream:
            return StreamingResponse(await self._sse(body, reqs, rid, name, n_sessions, principal),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        outs = await self._run(reqs)
        for i, o in enumerate(outs):
            self._audit(rid, principal, body, i, o, n_sessions)
        choices = [Choice(index=i, message=ResponseMessage(content=o.text), finish_reason=o.finish_reason,
                          logprobs=_logprobs(o.logprobs), fpps=_diagnostics(o, n_sessions))
                   for i, o in enumerate(outs)]
        return ChatCompletionResponse(id=rid, model=name, choices=choices, usage=self._usage(outs),
                                      fpps=_diagnostics(outs[-1], n_sessions))

    async def _run(self, reqs: list[GenerationRequest]) -> list[EngineOutput]:
        """Generate `reqs` together on the model deployment, under the request timeout; engine
        errors become the exceptions `to_http` maps."""
        response = self.model.generate.remote(reqs)
        try:
            result = await asyncio.wait_for(response, self.args.request_timeout_s)
        except asyncio.TimeoutError:
            _cancel(response)  # frees the rows in the engine
            raise TimeoutError(f"request exceeded {self.args.request_timeout_s} s") from None
        except asyncio.CancelledError:  # the client went away
            _cancel(response)
            raise
        except BackPressureError as e:  # Serve's handle queue is full: same answer as the engine's
            raise EngineOverloaded(str(e)) from None
        outs: list[EngineOutput] = result
        if any(o.finish_reason == "error" for o in outs):
            raise RuntimeError(next(o.error for o in outs if o.finish_reason == "error"))
        self.metrics.record(outs)
        return outs

    # ---- completions ------------------------------------------------------------------------
    async def completions(self, body: CompletionRequest, rid: str, principal: KeyScope) -> Any:
        """`/v1/completions`: each prompt `n` times (or unsteered then steered with `compare`),
        raw prompts unsteered, personalized text prompts steered as in chat."""
        from fastapi.responses import StreamingResponse

        from fpps.steering import RagPersonalizer, SteeringParams, history_free_messages

        name = await self._check_model(body.model)
        f = body.fpps or FppsOptions()
        steering = body.to_steering_params(self.defaults)
        if body.user is not None:
            principal.check_user(body.user, "user")
        alpha = principal.check_steering(steering.mode, steering.alpha, mode_given=f.mode is not None,
                                         strength_given=f.strength is not None, compare=f.compare,
                                         user=body.user)
        steering = dataclasses.replace(steering, alpha=alpha)
        if f.compare and body.n != 1:
            raise ApiError(400, "'compare' returns two choices and needs n = 1", param="n")
        sessions, dates = await self._history(body)
        if sessions and body.echo:
            raise ApiError(400, "'echo' scores the raw prompt and cannot be combined with "
                           "personalization (fpps.history or a user with stored sessions)", param="echo")
        prompts = body.prompts()
        reqs: list[GenerationRequest] = []
        for j, p in enumerate(prompts):
            sampling = body.to_sampling_params(self.args.default_max_tokens,
                                               score_prompt=body.echo and (body.logprobs is not None
                                                                           or not isinstance(p, str)))
            if sessions:
                if not isinstance(p, str):
                    raise ApiError(400, "personalization needs a text prompt, not token ids", param="prompt")
                msgs = RagPersonalizer(top_k=f.top_k or self.args.top_k).messages(p, sessions, dates, f.current_date)
                twin: list[dict[str, str]] | None = history_free_messages(p, f.current_date)
                row_steer, prompt = steering, None
            else:
                msgs, twin, row_steer, prompt = [], None, dataclasses.replace(steering, mode="off"), p
            variants = [SteeringParams(mode="off"), row_steer] if f.compare else [row_steer] * body.n
            for k, s in enumerate(variants):
                sp = sampling if sampling.seed is None or k == 0 else dataclasses.replace(sampling, seed=sampling.seed + k)
                reqs.append(GenerationRequest(messages=msgs, twin_messages=twin if s.is_active else None,
                                              steering=s, sampling=sp, request_id=f"{rid}-{len(reqs)}",
                                              prompt=prompt))
        if body.stream:
            return StreamingResponse(await self._completion_sse(body, reqs, prompts, rid, name, len(sessions),
                                                                principal),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        outs = await self._run(reqs)
        per = len(reqs) // len(prompts)
        choices = []
        for i, o in enumerate(outs):
            self._audit(rid, principal, body, i, o, len(sessions))
            p = prompts[i // per]
            head = "" if not body.echo else p if isinstance(p, str) else \
                "".join(e.token for e in o.prompt_logprobs or ())
            lp = None
            if body.logprobs is not None:
                entries = (list(o.prompt_logprobs or ()) if body.echo else []) + list(o.logprobs or ())
                lp = legacy_logprobs(entries)
            choices.append(CompletionChoice(index=i, text=head + o.text, logprobs=lp, finish_reason=o.finish_reason,
                                            fpps=_diagnostics(o, len(sessions))))
        return CompletionResponse(id=rid, model=name, choices=choices, fpps=_diagnostics(outs[-1], len(sessions)),
                                  usage=_completion_usage(outs, per))

    async def _open_stream(self, reqs: list[GenerationRequest]) -> tuple[Any, dict[str, Any] | None, Any]:
        """Start streaming `reqs` and wait for the first item (errors before the first token
        raise here, as real HTTP errors): the handle call, that item, and the next-item
        coroutine function (None at the end), all under the request timeout."""
        gen = self.model.options(stream=True).stream.remote(reqs)
        deadline = time.monotonic() + self.args.request_timeout_s

        async def next_item() -> dict[str, Any] | None:
            try:
                return await asyncio.wait_for(gen.__anext__(), max(0.001, deadline - time.monotonic()))
            except StopAsyncIteration:
                return None

        try:
            first = await next_item()
        except BackPressureError as e:
            _cancel(gen)
            raise EngineOverloaded(str(e)) from None
        except BaseException:
            _cancel(gen)
            raise
        return gen, first, next_item

    async def _completion_sse(self, body: CompletionRequest, reqs: list[GenerationRequest],
                              prompts: list[Prompt], rid: str, name: str, n_sessions: int,
                              principal: KeyScope) -> AsyncIterator[str]:
        """`/v1/completions` streamed: with `echo`, each choice's prompt (and its scored tokens)
        first; then its text deltas with their legacy logprobs, a finish chunk, usage if asked,
        `[DONE]`."""
        gen, first, next_item = await self._open_stream(reqs)
        created = int(time.time())
        include_usage = bool(body.stream_options and body.stream_options.get("include_usage"))
        per = len(reqs) // len(prompts)
        want_lp = body.logprobs is not None

        def chunk(choices: list[CompletionChoice], **extra: Any) -> str:
            c = CompletionChunk(id=rid, created=created, model=name, choices=choices, **extra)
            return f"data: {c.model_dump_json(exclude_none=True)}\n\n"

        async def body_iter() -> AsyncIterator[str]:
            outs: dict[int, EngineOutput] = {}
            offset: dict[int, int] = {}  # characters of choice i sent so far (legacy text_offset)
            item = first
            try:
                while item is not None:
                    i = item["i"]
                    out: EngineOutput | None = item.get("final")
                    if out is not None and out.finish_reason == "error":
                        raise RuntimeError(out.error)
                    if i not in offset:  # the choice's first event: the echo, once
                        offset[i] = 0
                        if body.echo:
                            scored = list(item.get("prompt_logprobs") or ())
                            p = prompts[i // per]
                            head = p if isinstance(p, str) else "".join(e.token for e in scored)
                            yield chunk([CompletionChoice(index=i, text=head, finish_reason=None, logprobs=(
                                legacy_logprobs(scored) if want_lp and scored else None))])
                            offset[i] = len(head)
                    text, entries = item.get("delta") or "", list(item.get("logprobs") or ())
                    lp = legacy_logprobs(entries, offset[i]) if want_lp and entries else None
                    offset[i] += len(text)
                    if text or lp is not None or out is not None:
                        yield chunk([CompletionChoice(index=i, text=text, logprobs=lp,
                                                      finish_reason=out.finish_reason if out else None,
                                                      fpps=_diagnostics(out, n_sessions) if out else None)])
                    if out is not None:
                        outs[i] = out
                        self._audit(rid, principal, body, i, out, n_sessions)
                    item = await next_item()
                ordered = [outs[i] for i in sorted(outs)]
                self.metrics.record(ordered)
                if include_usage:
                    yield chunk([], usage=_completion_usage(ordered, per))
                yield "data: [DONE]\n\n"
            except Exception as exc:  # errors after the first token: the final event
                _, err, _ = to_http(exc, rid)
                yield f"data: {json.dumps(err)}\n\n"
            finally:
                _cancel(gen)

        return body_iter()

    async def _sse(self, body: ChatCompletionRequest, reqs: list[GenerationRequest], rid: str, name: str,
                   n_sessions: int, principal: KeyScope) -> AsyncIterator[str]:
        """Start the stream and wait for its first item, so that errors before the first token
        are real HTTP errors; then return the SSE body generator."""
        gen, first, next_item = await self._open_stream(reqs)
        created = int(time.time())
        include_usage = bool(body.stream_options and body.stream_options.get("include_usage"))

        def chunk(choices: list[ChunkChoice], **extra: Any) -> str:
            c = ChatCompletionChunk(id=rid, created=created, model=name, choices=choices, **extra)
            return f"data: {c.model_dump_json(exclude_none=True)}\n\n"

        async def body_iter() -> AsyncIterator[str]:
            outs: dict[int, EngineOutput] = {}
            item = first
            try:
                for i in range(len(reqs)):
                    yield chunk([ChunkChoice(index=i, delta=Delta(role="assistant", content=""))])
                while item is not None:
                    i = item["i"]
                    lp = _logprobs(item.get("logprobs")) if body.logprobs else None
                    if item.get("delta"):
                        yield chunk([ChunkChoice(index=i, delta=Delta(content=item["delta"]), logprobs=lp)])
                        lp = None
                    if "final" in item:
                        out: EngineOutput = item["final"]
                        outs[i] = out
                        self._audit(rid, principal, body, i, out, n_sessions)
                        if out.finish_reason == "error":
                            raise RuntimeError(out.error)
                        yield chunk([ChunkChoice(index=i, delta=Delta(), finish_reason=out.finish_reason,
                                                 logprobs=lp if lp and lp.content else None,
                                                 fpps=_diagnostics(out, n_sessions))])
                    item = await next_item()
                ordered = [outs[i] for i in sorted(outs)]
                self.metrics.record(ordered)
                yield chunk([], fpps=_diagnostics(ordered[-1], n_sessions),
                            usage=self._usage(ordered) if include_usage else None)
                yield "data: [DONE]\n\n"
            except Exception as exc:  # errors after the first token: the final event
                _, err, _ = to_http(exc, rid)
                yield f"data: {json.dumps(err)}\n\n"
            finally:
                _cancel(gen)

        return body_iter()

    # ---- the ASGI app -----------------------------------------------------------------------
    def __serve_build_asgi_app__(self) -> Any:
        return _create_api(self)


def _default_db_path() -> Path:
    from fpps.steering.adapter import cache_dir

    return cache_dir() / "memory.db"


def _create_api(ing: FppsIngress) -> Any:
    """The FastAPI app of one ingress replica (routes close over the replica)."""
    from fastapi import Body, FastAPI, Request
    from fastapi import Path as PathParam
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse, Response
    from starlette.exceptions import HTTPException

    app = FastAPI(title="fpps", version="0.1.0", description=(
        "OpenAI-compatible chat with Factuality-Preserving Personalized Steering and user memory."))
    UserId = PathParam(pattern=USER_ID_PATTERN, max_length=128)
    SessionId = PathParam(pattern=SESSION_ID_PATTERN, max_length=128)

    def _principal(request: Request) -> KeyScope:
        principal = getattr(request.state, "principal", None)
        if principal is None:  # only the public routes have none, and they never ask
            raise RuntimeError("route without an authenticated principal")
        return principal

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        code, body, headers = to_http(exc, request.state.request_id)
        return JSONResponse(body, status_code=code, headers=headers)

    app.add_exception_handler(RequestValidationError, handle)
    app.add_exception_handler(HTTPException, handle)

    @app.post(CHAT_PATH, response_model=None)
    async def chat_completions(request: Request, body: ChatCompletionRequest = Body(...)) -> Any:
        return await ing.chat(body, request.state.request_id, _principal(request))

    @app.post(COMPLETIONS_PATH, response_model=None)
    async def completions(request: Request, body: CompletionRequest = Body(...)) -> Any:
        return await ing.completions(body, request.state.request_id, _principal(request))

    @app.get("/v1/models", response_model=ModelList)
    async def models() -> ModelList:
        info = await ing.info()
        return ModelList(data=[ModelCard(id=info["id"], created=info["created"], fpps={
            k: info[k] for k in ("artifact_id", "layer", "defaults", "max_context")})])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Any:
        """Readiness per dependency: `components.model` (a replica answers) and
        `components.store` (the memory store takes reads and writes). 503 names what fails."""
        async def model() -> tuple[dict[str, Any], dict[str, Any] | None]:
            try:
                info = await asyncio.wait_for(ing.model.info.remote(), 10)
            except Exception as e:  # noqa: BLE001 - readiness reports, never raises
                return {"status": "unavailable", "reason": type(e).__name__}, None
            return {"status": "ok"}, info

        async def store() -> dict[str, Any]:
            try:
                await ing.store_call(ing.store.check, count=False)
            except StoreUnavailableError as e:
                return {"status": "unavailable", "kind": e.kind, "store": e.store}
            return {"status": "ok", "store": ing.store.description}

        (model_state, info), store_state = await asyncio.gather(model(), store())
        components = {"model": model_state, "store": store_state}
        failing = [n for n, c in components.items()
                   if c["status"] != "ok" and (n != "store" or ing.args.ready_requires_store)]
        if failing:
            reason = "; ".join(f"{n} unavailable ({components[n].get('kind') or components[n].get('reason')})"
                               for n in failing)
            return JSONResponse({"status": "not ready", "reason": reason, "failing": failing,
                                 "components": components}, status_code=503)
        assert info is not None
        return {"status": "ready", "model": info["id"], "artifact_id": info["artifact_id"],
                "load": info["load"], "capacity": info["capacity"], "components": components}

    @app.get("/metrics")
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return PlainTextResponse(generate_latest(ing.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def _session(s: Any) -> SessionResponse:
        return SessionResponse(session_id=s.session_id, date=s.date, created=s.created, messages=list(s.messages))

    @app.post("/v1/users/{user_id}/sessions", status_code=201, response_model=SessionResponse)
    async def add_session(request: Request, body: SessionCreateRequest, user_id: str = UserId) -> SessionResponse:
        _principal(request).check_memory(user_id)
        return _session(await ing.store_call(ing.store.add_session, user_id, [m.plain() for m in body.messages],
                                             session_id=body.session_id, date=body.date))

    @app.get("/v1/users/{user_id}/sessions", response_model=SessionListResponse)
    async def list_sessions(request: Request, user_id: str = UserId) -> SessionListResponse:
        _principal(request).check_memory(user_id)
        stored = await ing.store_call(ing.store.list_sessions, user_id)
        return SessionListResponse(user_id=user_id, data=[_session(s) for s in stored])

    @app.delete("/v1/users/{user_id}/sessions/{session_id}", response_model=DeletedResponse)
    async def delete_session(request: Request, session_id: str = SessionId, user_id: str = UserId) -> DeletedResponse:
        _principal(request).check_memory(user_id)
        await ing.store_call(ing.store.delete_session, user_id, session_id)
        return DeletedResponse(id=session_id, object="session")

    @app.delete("/v1/users/{user_id}", response_model=DeletedResponse)
    async def delete_user(request: Request, user_id: str = UserId) -> DeletedResponse:
        _principal(request).check_memory(user_id)
        await ing.store_call(ing.store.delete_user, user_id)
        return DeletedResponse(id=user_id, object="user")

    register_playground(app, ing.args.reports)
    app.add_middleware(Edge, ingress=ing)
    return app


