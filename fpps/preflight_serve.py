"""`fpps serve`'s settings, merged from flags, environment and `--config`, and checked before Ray.

What: `server_args(args)` returns the validated `ServerArgs` of `fpps serve` (flags win over
`FPPS_DATABASE_URL`, which wins over the config file) and raises `fpps.preflight_paths.InputError`
naming where a bad value came from: the flag (`--model /x: no such folder`), the environment
variable, or the config field (`--config serve.yaml: args.port: ...`).
Why: `run_local` starts Ray and deploys the model replica, which loads the model, the artifact,
the key file and the audit log; a bad one there is a Ray deployment traceback minutes later
(issue 21). This reads the config file and the key file and parses the database URL, but
connects to nothing; the only thing it writes is the audit file it opens for appending (created
empty if missing, as the server would). Imports pydantic, PyYAML and SQLAlchemy, never Ray.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from fpps.preflight_paths import (InputError, check_artifact, check_dir, check_file, check_fits, check_model,
                                  check_out_file)

__all__ = ["server_args"]

_FLAGS = {"model": "--model", "artifact": "--artifact", "reports": "--reports", "host": "--host",
          "port": "--port", "replicas": "--replicas", "api_keys": "--api-key",
          "api_key_file": "--api-key-file", "audit_log": "--audit-log", "database_url": "--database-url"}


def _yaml_problem(e: Exception) -> str:
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    return f"{getattr(e, 'problem', None) or type(e).__name__}{where}"


def _read_config(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`load_config(path)`, after checking the file has the shape it reads."""
    import yaml

    from fpps.server.http.config import load_config

    p = check_file("--config", path)
    try:
        data = yaml.safe_load(p.read_text())
    except UnicodeDecodeError:
        raise InputError(f"--config {path}: not a text file") from None
    except yaml.YAMLError as e:
        raise InputError(f"--config {path}: not valid YAML ({_yaml_problem(e)})") from None

    def bad(what: str) -> InputError:
        return InputError(f"--config {path}: {what}")

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad(f"expected a Ray Serve config mapping (http_options, applications), got a {type(data).__name__}")
    apps = data.get("applications")
    if apps is not None and (not isinstance(apps, list) or not all(isinstance(x, dict) for x in apps)):
        raise bad("'applications' must be a list of mappings")
    app = (apps or [{}])[0]
    if app.get("args") is not None and not isinstance(app["args"], dict):
        raise bad("applications[0].args must be a mapping of ServerArgs fields")
    deps = app.get("deployments")
    if deps is not None and (not isinstance(deps, list) or not all(isinstance(x, dict) for x in deps)):
        raise bad("applications[0].deployments must be a list of mappings")
    if data.get("http_options") is not None and not isinstance(data["http_options"], dict):
        raise bad("'http_options' must be a mapping")
    return load_config(path)


def _merge(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """ServerArgs values and, per field, where it came from (a flag, a variable, the config)."""
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    if args.config:
        cfg_args, http = _read_config(args.config)
        values.update(cfg_args)
        values.update({k: http[k] for k in ("host", "port") if k in http})
        where.update({k: f"--config {args.config}: " + (f"http_options.{k}" if k in ("host", "port")
                                                           and k in http else f"args.{k}") for k in values})
    # Flags given on the command line win over the config file; unset flags keep its values.
    given = {"model": args.model, "artifact": args.artifact, "reports": args.reports}
    for k, v in given.items():
        if v is not None:
            values[k], where[k] = v, _FLAGS[k]
    defaults = {"host": "127.0.0.1", "port": 8000, "replicas": 1}
    for k, default in defaults.items():
        v = getattr(args, k)
        if v != default or k not in values:
            values[k], where[k] = v, _FLAGS[k]
    if args.api_key:
        values.setdefault("api_keys", []).extend(args.api_key)
        where["api_keys"] = _FLAGS["api_keys"]
    for k in ("api_key_file", "audit_log"):
        if getattr(args, k):
            values[k], where[k] = getattr(args, k), _FLAGS[k]
    # The database: the flag, then the environment, then the config file.
    if args.database_url:
        values["database_url"], where["database_url"] = args.database_url, _FLAGS["database_url"]
    elif os.environ.get("FPPS_DATABASE_URL"):
        values["database_url"], where["database_url"] = os.environ["FPPS_DATABASE_URL"], "FPPS_DATABASE_URL"
    return values, where


def _validate(values: dict[str, Any], where: dict[str, str], config: str | None) -> Any:
    from pydantic import ValidationError

    from fpps.server.http.config import ServerArgs

    try:
        return ServerArgs.model_validate(values)
    except ValidationError as e:
        err = e.errors()[0]
        loc = [str(p) for p in err["loc"]]
        top = loc[0] if loc else ""
        label = where.get(top) or (f"--config {config}: args.{top}" if config else top)
        sub = "".join(f".{p}" for p in loc[1:])
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        shown = "" if err["type"] in ("extra_forbidden", "missing") else f", got {err.get('input')!r}"
        raise InputError(f"{label}{sub}: {msg}{shown}{more}") from None


def _check_database_url(where: str, url: str) -> None:
    """Parse the URL and find its dialect; never connect (the URL may hold a password, so the
    message does not repeat it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(url).get_dialect()
    except NoSuchModuleError as e:
        raise InputError(f"{where}: unknown database dialect ({e})") from None
    except (ArgumentError, ValueError) as e:
        raise InputError(f"{where}: not a SQLAlchemy URL such as sqlite:///path.db or "
                         f"postgresql+psycopg://user:pw@host/db ({e})") from None


def _check_key_file(where: str, server: Any) -> None:
    from fpps.server.http.tenancy import load_keyring

    path = server.api_key_file or os.environ.get("FPPS_API_KEY_FILE")
    if not path:
        return
    where = where if server.api_key_file else "FPPS_API_KEY_FILE"
    check_file(where, path)
    try:
        load_keyring(server.api_keys, server.admin_api_keys, path)
    except ValueError as e:  # a malformed scoped key file names the key id and field
        raise InputError(f"{where} {path}: {str(e).removeprefix(f'{path}: ')}") from None


def _check_audit_log(where: str, path: str) -> None:
    """Open the audit file for appending, as the server will (creating it and its folders):
    permission bits say little when running as root, and the server creates the file anyway."""
    check_out_file(where, path)
    p = Path(path).expanduser()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
    except OSError as e:
        raise InputError(f"{where} {path}: cannot be opened for appending ({e.strerror or e})") from None


def server_args(args: argparse.Namespace) -> Any:
    """The checked `ServerArgs` of `fpps serve` (see the module doc).

    Raises:
        InputError: the first bad setting, named by its flag, variable or config field.
    """
    values, where = _merge(args)
    server = _validate(values, where, args.config)
    label = {k: where.get(k, f"--config {args.config}: args.{k}" if args.config else k) for k in _FLAGS}
    check_model(label["model"], server.model)
    check_artifact(label["artifact"], server.artifact, none_ok=True)
    check_fits(label["model"], server.model, label["artifact"], server.artifact)
    if server.reports:
        check_dir(label["reports"], str(Path(server.reports).expanduser()))
    _check_key_file(label["api_key_file"], server)
    if server.audit_log:
        _check_audit_log(label["audit_log"], server.audit_log)
    if server.database_url:
        _check_database_url(label["database_url"], server.database_url)
    return server
