"""The playground page and the read-only `fpps eval` report routes of the ingress.

    GET /                                  the playground (static/index.html)
    GET /static/{file}                     its script, style sheet and the bundled demo history
    GET /v1/reports                        report folders under `ServerArgs.reports`
    GET /v1/reports/{name}                 one report: report.json, report.md and its plot names
    GET /v1/reports/{name}/plots/{plot}    one of that report's PNGs

The page holds no data, so `/` and `/static/...` are reachable without an API key
(`is_public_path`); the report routes go through the same key check as every other route.

No request names a server-side path: a report is looked up by name in the listing of the reports
folder (its direct sub-folders that hold a `report.json`) and a plot by name in that report's own
list of plots, so a client string is only ever compared with names, never joined to a folder.
Anything path-like (`..`, a slash, an absolute path) is a 400 naming the offending field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import ApiError

__all__ = ["STATIC_DIR", "is_public_path", "list_reports", "register_playground"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PLOT_SUFFIX = ".png"


def is_public_path(path: str) -> bool:
    """True for the routes that need no API key: the page and its static files."""
    return path == "/" or (path.startswith("/static/") and ".." not in path)


def _check_name(value: str, field: str) -> str:
    """`value` if it is a plain name (no separator, no `..`, not absolute), else a 400."""
    if not _NAME.fullmatch(value) or ".." in value:
        raise ApiError(400, f"'{field}' must be a name from GET /v1/reports (letters, digits, '.', "
                            f"'_', '-'; no paths), got {value[:80]!r}", param=field, code="invalid_value")
    return value


def list_reports(root: Path | None) -> dict[str, Path]:
    """Report folders under `root` by name: direct sub-folders holding a `report.json`.

    `root` itself counts too (under its own name) when it is a single report folder."""
    if root is None or not root.is_dir():
        return {}
    found: dict[str, Path] = {}
    if (root / "report.json").is_file() and _NAME.fullmatch(root.name):
        found[root.name] = root
    for sub in sorted(root.iterdir()):
        if sub.is_dir() and _NAME.fullmatch(sub.name) and (sub / "report.json").is_file():
            found[sub.name] = sub
    return found


def _plots(folder: Path) -> list[str]:
    """PNG names written next to report.json (the listing, not the client, names them)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.suffix == _PLOT_SUFFIX and p.is_file() and _NAME.fullmatch(p.name))


def _summary(name: str, folder: Path) -> dict[str, Any]:
    """The listing entry of one report: name, creation time, modes, users, plots."""
    try:
        report = json.loads((folder / "report.json").read_text())
    except (OSError, ValueError):
        return {"name": name, "error": "report.json is unreadable"}
    prov = report.get("provenance") or {}
    return {"name": name, "created": prov.get("created"), "modes": list(report.get("modes") or {}),
            "n_users": report.get("n_users"), "artifact_id": prov.get("artifact_id"),
            "plots": _plots(folder)}


def register_playground(app: Any, reports_dir: str | None) -> None:
    """Add the page, its static files and the report routes to the FastAPI `app`.

    Args:
        app: the ingress' FastAPI application.
        reports_dir: `ServerArgs.reports` (`fpps serve --reports DIR`); None lists no reports.
    """
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    root = Path(reports_dir).expanduser().resolve() if reports_dir else None

    def find(name: str) -> Path:
        folder = list_reports(root).get(_check_name(name, "name"))
        if folder is None:
            raise ApiError(404, f"no report named {name!r}; see GET /v1/reports", param="name",
                           type="not_found_error", code="report_not_found")
        return folder

    @app.get("/", include_in_schema=False, response_model=None)
    async def playground() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/v1/reports")
    def reports() -> dict[str, Any]:
        """Report folders of `fpps serve --reports DIR` (empty when the option is unset)."""
        return {"object": "list", "configured": root is not None,
                "data": [_summary(n, f) for n, f in list_reports(root).items()]}

    @app.get("/v1/reports/{name}")
    def report(name: str) -> dict[str, Any]:
        """One report's `report.json` (as `report`), `report.md` (as `markdown`) and plot names."""
        folder = find(name)
        try:
            data = json.loads((folder / "report.json").read_text())
        except (OSError, ValueError) as e:
            raise ApiError(500, f"report {name!r} has an unreadable report.json",
                           type="server_error", code="report_unreadable") from e
        md = folder / "report.md"
        return {"name": name, "report": data, "markdown": md.read_text() if md.is_file() else None,
                "plots": _plots(folder)}

    @app.get("/v1/reports/{name}/plots/{plot}", response_model=None)
    def report_plot(name: str, plot: str) -> FileResponse:
        """One PNG named in the report's `plots` list."""
        folder = find(name)
        _check_name(plot, "plot")
        if plot not in _plots(folder):
            raise ApiError(404, f"report {name!r} has no plot {plot!r}", param="plot",
                           type="not_found_error", code="plot_not_found")
        return FileResponse(folder / plot, media_type="image/png")

    @app.get("/v1/reports/{rest:path}", include_in_schema=False)
    def report_path(rest: str) -> None:
        """Anything else under /v1/reports is path-like: say which field is wrong."""
        name, sep, plot = rest.partition("/plots/")
        field, value = ("plot", plot) if sep and _NAME.fullmatch(name) else ("name", rest)
        raise ApiError(400, f"'{field}' must be a single name from GET /v1/reports, not a path "
                            f"(got {value[:80]!r})", param=field, code="invalid_value")
