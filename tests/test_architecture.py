"""The shape of the house, read from the source (ast; nothing imported).

* analysis packages import no other assay, no reader, no report and no CLI module;
* readers import no analysis, report or CLI module;
* no import circle between assaykit modules;
* no pandas internals;
* no function body longer than MAX_BODY_LINES (docstring excluded).
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "assaykit"
ASSAYS = {"immunoassay", "qpcr", "flow", "blot"}
MAX_BODY_LINES = 120


def _modname(p: Path) -> str:
    parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_modname(p): p for p in PKG.rglob("*.py")}


def _imports(mod: str, path: Path, tree: ast.AST) -> set[str]:
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    mods = _modules()
    edges: dict[str, set[str]] = {}
    raw: dict[str, set[str]] = {}
    for mod, path in mods.items():
        names = _imports(mod, path, ast.parse(path.read_text(encoding="utf-8")))
        raw[mod] = names
        deps = set()
        for nm in names:
            if nm.startswith("assaykit."):
                tgt = max((k for k in mods if nm == k or nm.startswith(k + ".")), key=len, default=None)
                if tgt and tgt != mod:
                    deps.add(tgt)
        edges[mod] = deps
    return edges, raw


def _area(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_layers_import_only_downwards():
    edges, _ = _graph()
    bad = []
    for mod, deps in edges.items():
        a = _area(mod)
        for dep in deps:
            b = _area(dep)
            if a in ASSAYS and b != a and (b in ASSAYS or b in ("io", "report", "cli")):
                bad.append(f"{mod} -> {dep}")
            if a == "io" and (b in ASSAYS or b in ("report", "cli")):
                bad.append(f"{mod} -> {dep}")
    assert not bad, "imports against the layers: " + "; ".join(sorted(bad))


def test_no_import_circle():
    edges, _ = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_no_pandas_internals():
    _, raw = _graph()
    bad = sorted(
        f"{mod}: {nm}" for mod, names in raw.items() for nm in names
        if nm.startswith(("pandas.core", "pandas._libs"))
    )
    assert not bad, bad


def _long_functions() -> list[tuple[int, str]]:
    out = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:]
                n = node.end_lineno - body[0].lineno + 1 if body else 0
                if n > MAX_BODY_LINES:
                    out.append((n, f"{path.relative_to(PKG.parent)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)


def test_functions_fit_on_a_screen():
    assert not _long_functions(), f"functions over {MAX_BODY_LINES} lines: {_long_functions()}"

