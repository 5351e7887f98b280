"""Deploy-time settings of the server: `ServerArgs`, the Serve config reader, edge capacity.

Shared by the model deployment, the ingress and the launcher (`app.py`), so that none of them
imports another for its settings.
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServerArgs", "edge_capacity", "load_config"]



class ServerArgs(BaseModel):
    """Deploy-time settings of the server (CLI flags, or `args:` in serve.yaml)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model: str | None = None
    """Model name or local folder; None is the embedded SmolLM2-135M-Instruct."""
    artifact: str | None = None
    """Artifact folder; None is the shipped one; "none" serves without steering."""
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    replicas: int = Field(default=1, ge=1)
    """Model replicas (ignored when `autoscaling_config` is set)."""
    autoscaling_config: dict[str, Any] | None = None
    ingress_replicas: int = Field(default=1, ge=1)
    num_cpus: float = Field(default=1.0, ge=0)
    num_gpus: float = Field(default=0.0, ge=0)
    ingress_num_cpus: float = Field(default=0.0, ge=0)
    torch_threads: int | None = Field(default=None, ge=1)
    """torch intra-op threads of a model replica; None follows `num_cpus`."""
    device: str | None = None
    """torch device of the model; None is CUDA when the replica has a GPU, else CPU."""
    max_batch_size: int = Field(default=16, ge=1)
    max_queue: int = Field(default=256, ge=1)
    max_tokens_in_flight: int = Field(default=65536, ge=1)
    prefix_cache_tokens: int = Field(default=4096, ge=0)
    """Prompt positions whose KV a model replica keeps for later prompts with the same beginning
    (the same user's history, earlier turns); 0 turns reuse off. See `prefix_cache.py`."""
    max_inflight: int | None = Field(default=None, ge=1)
    """Chat requests one ingress replica holds at once (running and queued). One more is a 503
    answered at the edge, before its body is read or the model is asked, so excess load costs
    milliseconds. None: the model's capacity, (max_batch_size + max_queue) x model replicas,
    shared among the ingress replicas. Set it when you raise `max_queue` live (`user_config`)."""
    default_max_tokens: int = Field(default=256, ge=1, le=4096)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    database_url: str | None = None
    """SQLAlchemy URL of the memory store; None is a SQLite file in fpps' cache folder."""
    store_timeout_s: float = Field(default=5.0, gt=0, le=300)
    """Bound on each wait of the memory store (connect, pooled connection, lock, statement); a
    store call that takes longer than twice this is a 503 `store_unavailable` (kind timeout)."""
    ready_requires_store: bool = True
    """`/ready` is a 503 while the memory store cannot serve (personalized chats and memory
    writes would fail). False keeps the replica in rotation for unpersonalized traffic; `/ready`
    still names the store's state."""
    api_keys: list[str] = Field(default_factory=list)
    api_key_file: str | None = None
    admin_api_keys: list[str] = Field(default_factory=list)
    """When set, the memory endpoints need one of these keys (or a scoped key for its users).
    `api_key_file` may also be a scoped key file: see `fpps_server/http/tenancy.py`."""
    audit_log: str | None = None
    """File that receives one JSON line per steering decision and per refused (401/403) request.
    It must be writable at start (else the server refuses to start)."""
    audit_fail_open: bool = False
    """When the audit file cannot be written at run time: False (fail closed) answers the
    request with a 503 `audit_unavailable` and sends no answer; True serves it anyway and logs
    the lost audit line as an error."""
    default_mode: Literal["off", "hard", "soft", "mixed"] = "mixed"
    default_strength: float = Field(default=1.0, ge=0.0, le=1.0)
    gamma: float | None = Field(default=None, ge=0.0, le=10.0)
    tau: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int = Field(default=3, ge=1, le=32)
    reports: str | None = None
    """Folder of `fpps eval` report folders shown by the playground page (`fpps serve --reports`)."""
    user_config: dict[str, Any] | None = None
    """Initial live settings of the model deployment (see `FppsModel.reconfigure`)."""


def edge_capacity(args: ServerArgs) -> int:
    """Chat requests one ingress replica admits by default: what the model replicas hold
    (running + queued, from the deploy-time settings), shared among the ingress replicas."""
    live = args.user_config or {}
    per_replica = int(live.get("max_batch_size") or args.max_batch_size) + int(live.get("max_queue") or args.max_queue)
    replicas = int((args.autoscaling_config or {}).get("max_replicas", args.replicas)) \
        if args.autoscaling_config else args.replicas
    return max(1, -(-per_replica * replicas // args.ingress_replicas))



def load_config(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(args, http_options)` of the first application of a Serve config YAML.

    Raises:
        ValueError: the file is not shaped like a Serve config.
    """
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a Ray Serve config mapping, got a {type(data).__name__}")
    apps = data.get("applications") or [{}]
    if not isinstance(apps, list) or not isinstance(apps[0], dict):
        raise ValueError(f"{path}: 'applications' must be a list of mappings")
    app = apps[0]
    if not isinstance(app.get("args") or {}, dict) or not isinstance(app.get("deployments") or [], list):
        raise ValueError(f"{path}: applications[0].args must be a mapping and .deployments a list")
    args = dict(app.get("args") or {})
    # Deployment overrides that `serve deploy` would apply, mapped onto ServerArgs for local runs.
    for dep in app.get("deployments") or []:
        if dep.get("name") == "FppsModel":
            for key in ("user_config", "autoscaling_config"):
                if dep.get(key) is not None:
                    args.setdefault(key, dep[key])
            if dep.get("num_replicas") is not None:
                args.setdefault("replicas", dep["num_replicas"])
        elif dep.get("name") == "FppsIngress" and dep.get("num_replicas") is not None:
            args.setdefault("ingress_replicas", dep["num_replicas"])
    return args, dict(data.get("http_options") or {})


