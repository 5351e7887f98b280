"""The package's boundaries (fpps_server/__init__.py): which way the doors open.

Each test fails if someone reintroduces a crossing: the engine reaching for Ray or FastAPI, the
HTTP edge's light modules pulling in torch or Triton, a module importing against the one-way
order, an import circle, or transformers' cache internals outside `fpps.steering.kv`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"fpps": "fpps", "steering": "fpps.steering", "kernels": "fpps.kernels", "eval": "fpps.eval",
           "fpps_server": "fpps.server"}


def _loaded_after(imports: list[str], watch: list[str]) -> list[str]:
    """Which of `watch` a fresh interpreter has loaded after importing `imports`."""
    code = (f"import importlib, json, sys\nfor m in {imports!r}: importlib.import_module(m)\n"
            f"print(json.dumps([w for w in {watch!r} if w in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_engine_loads_neither_ray_nor_fastapi() -> None:
    mods = ["fpps.server.engine", "fpps.server.engine.core", "fpps.server.engine.async_engine"]
    assert _loaded_after(mods, ["ray", "fastapi", "starlette", "sqlalchemy"]) == []


def test_http_light_modules_load_neither_torch_nor_triton() -> None:
    mods = ["fpps.server.http.protocol", "fpps.server.http.completions_protocol", "fpps.server.http.errors",
            "fpps.server.http.admission", "fpps.server.engine.types", "fpps.server.memory.types",
            "fpps.steering.params", "fpps.steering.errors"]
    assert _loaded_after(mods, ["torch", "triton", "transformers", "ray"]) == []


def _modules() -> dict[str, Path]:
    mods = {}
    for folder, pkg in FOLDERS.items():
        for p in (ROOT / folder).rglob("*.py"):
            parts = [x for x in p.relative_to(ROOT / folder).with_suffix("").parts if x != "__init__"]
            mods[".".join([pkg, *parts])] = p
    return mods


def _import_graph() -> dict[str, set[str]]:
    """Module -> the fpps modules it imports (module-level, in functions, or for type checking)."""
    mods = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else str(node.module)
                targets = [mod, *(f"{mod}.{a.name}" for a in node.names)]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        edges[name] = deps
    return edges


def test_no_import_circles() -> None:
    edges = _import_graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    cycles: list[list[str]] = []

    def visit(v: str, stack: list[str]) -> None:
        state[v] = 1
        for w in sorted(edges[v]):
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w, [*stack, w])
        state[v] = 2

    for v in sorted(edges):
        if v not in state:
            visit(v, [v])
    assert cycles == []


# (importer prefix, forbidden prefixes): the one-way order of the README's layout table.
RULES = [
    ("fpps.kernels", ("fpps.steering", "fpps.server", "fpps.eval", "fpps.cli")),
    ("fpps.steering", ("fpps.server", "fpps.eval", "fpps.cli")),
    ("fpps.server.engine", ("fpps.server.http", "fpps.server.memory", "fpps.server.bench", "fpps.eval")),
    ("fpps.server.memory", ("fpps.server.http", "fpps.server.engine", "fpps.server.bench", "fpps.eval")),
    ("fpps.server.http", ("fpps.server.bench", "fpps.eval")),
    ("fpps.server.bench", ("fpps.server.http", "fpps.eval")),
    ("fpps.eval", ("fpps.server.http", "fpps.server.memory", "fpps.server.bench", "fpps.cli")),
]


@pytest.mark.parametrize("importer,forbidden", RULES, ids=[r[0] for r in RULES])
def test_imports_go_one_way(importer: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted(f"{m} -> {d}" for m, deps in _import_graph().items()
                 if m == importer or m.startswith(importer + ".")
                 for d in deps if any(d == f or d.startswith(f + ".") for f in forbidden))
    assert bad == []


def test_only_kv_touches_the_cache_class() -> None:
    owners = [str(p.relative_to(ROOT)) for p in _modules().values()
              if "DynamicCache(" in p.read_text(encoding="utf-8") or "from transformers import DynamicCache"
              in p.read_text(encoding="utf-8")]
    assert owners == ["steering/kv.py"]


def test_the_graph_sees_a_crossing(tmp_path: Path) -> None:
    """The checks above are only as good as the graph: it must see relative, absolute and
    in-function imports."""
    edges = _import_graph()
    assert "fpps.server.engine.types" in edges["fpps.server.http.errors"]  # from ..engine.types
    assert "fpps.server.engine.core" in edges["fpps.server.http.model"]  # inside __init__
    assert "fpps.steering.kv" in edges["fpps.server.engine.kvbatch"]  # absolute
