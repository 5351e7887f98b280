"""fpps.server.http: the HTTP edge, everything that imports Ray Serve or FastAPI.

`app` builds the Serve application (`build_app`, `serve.yaml`) from `config.ServerArgs`;
`model.FppsModel` is the deployment that owns the model and the engine; `ingress.FppsIngress`
is the FastAPI ingress (OpenAI-shaped chat and completions, user memory, health and metrics)
with its request models in `protocol` / `completions_protocol`; `errors.to_http` maps every
exception to a status once; `admission` (Serve's proxy), `tenancy` (API keys), `audit` and
`playground` complete it. `protocol`, `errors` and `admission` load neither torch nor Triton.
"""
