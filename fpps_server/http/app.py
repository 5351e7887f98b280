"""The Ray Serve application: an OpenAI-compatible FastAPI ingress and a model deployment.

    HTTP ─► FppsIngress (ingress.py: validation, auth, admission, memory, metrics)
        ─► FppsModel (model.py: the model, the artifact, the batched engine)

`build_app(ServerArgs) -> Application` is the typed builder used by `serve deploy` (see
`serve.yaml`); `run_local` starts Ray in-process on loopback for `fpps serve`. Settings live in
`config.py`.
"""

import os
import signal
import threading
from pathlib import Path
from typing import Any

from ray import serve
from ray.serve import Application

from .admission import LIMIT_ENV, proxy_middlewares
from .config import ServerArgs, edge_capacity, load_config
from .ingress import FppsIngress
from .model import FppsModel

__all__ = ["ServerArgs", "build_app", "load_config", "run_local", "FppsModel", "FppsIngress"]


# ---- builder and local launcher -----------------------------------------------------------

def build_app(args: ServerArgs) -> Application:
    """The fpps Serve application (typed builder for `serve run/deploy`)."""
    if isinstance(args, dict):
        args = ServerArgs.model_validate(args)
    model_opts: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": args.num_cpus, "num_gpus": args.num_gpus},
        # The engine's own bounded queue is the back-pressure; Serve only caps what it forwards.
        "max_ongoing_requests": args.max_queue + args.max_batch_size,
        "max_queued_requests": args.max_queue,
    }
    if args.autoscaling_config:
        model_opts["autoscaling_config"] = args.autoscaling_config
    else:
        model_opts["num_replicas"] = args.replicas
    if args.user_config is not None:
        model_opts["user_config"] = args.user_config
    model = FppsModel.options(**model_opts).bind(args)
    ingress = FppsIngress.options(num_replicas=args.ingress_replicas,
                                  ray_actor_options={"num_cpus": args.ingress_num_cpus},
                                  max_ongoing_requests=max(1000, 2 * args.max_queue))
    return ingress.bind(model, args)


def run_local(args: ServerArgs, *, ready_file: str | None = None) -> int:
    """Start Ray in-process on loopback, deploy the app and serve until SIGINT/SIGTERM."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private, local-only cluster
    # Ray starts its workers at nice 15 by default; the model replica is the server's main work,
    # and at nice 15 any other process on the host starves it (a 4-token request took 5.4 s over
    # HTTP vs 1.1 s in-process while two nice-10 jobs ran). Ray's job manager does the same.
    os.environ.setdefault("RAY_worker_niceness", "0")
    # Serve runs user code and the handle router on event loops of their own threads by
    # default; each hop costs a thread switch that, on a small CPU box, is most of the HTTP
    # overhead (/health p50 14 -> 7 ms, a 2-token chat's overhead over the in-process engine
    # 54 -> 5 ms, measured with `fpps bench http`). fpps' routes never block their loop (memory
    # calls go to a thread, the engine decodes on its own thread), so one loop is safe.
    os.environ.setdefault("RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD", "0")
    os.environ.setdefault("RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP", "0")
    # Chat admission in Serve's HTTP proxy (admission.py). The proxy reads both variables at
    # start; it is a Ray worker, and Ray workers inherit this process's environment.
    limit = (args.max_inflight or edge_capacity(args)) * args.ingress_replicas
    os.environ[LIMIT_ENV] = str(limit)
    os.environ.setdefault("RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH",
                          f"{proxy_middlewares.__module__}.{proxy_middlewares.__name__}")
    import ray

    stop = threading.Event()
    need = args.num_cpus * args.replicas + args.ingress_num_cpus * args.ingress_replicas
    ray.init(address="local", num_cpus=max(int(need + 1), os.cpu_count() or 1),
             num_gpus=None, include_dashboard=False, log_to_driver=True, namespace="fpps",
             _node_ip_address="127.0.0.1")
    gpus = ray.cluster_resources().get("GPU", 0.0)
    if args.num_gpus * args.replicas > gpus:
        ray.shutdown()
        raise SystemExit(f"fpps serve: {args.replicas} replica(s) x num_gpus={args.num_gpus} need "
                         f"more GPUs than this machine has ({gpus:g}); set num_gpus: 0 for CPU")
    # After ray.init, which installs its own (crashing) SIGTERM handler in the driver.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.start(http_options={"host": args.host, "port": args.port, "request_timeout_s": None})
        serve.run(build_app(args), name="fpps", route_prefix="/", blocking=False)
        url = f"http://{args.host}:{args.port}"
        print(f"fpps: serving on {url} (OpenAI base URL {url}/v1); Ctrl-C to stop", flush=True)
        if ready_file:
            Path(ready_file).write_text(url)
        while not stop.wait(0.5):
            pass
        print("fpps: shutting down", flush=True)
    finally:
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
    return 0
