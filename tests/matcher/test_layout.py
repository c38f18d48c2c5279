"""The engine is its own package: text in, findings out, nothing of the daemon inside it."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import matcher

PACKAGE = Path(matcher.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
DAEMON_SIDE = ("monitor", "storage", "alerts", "web", "aiohttp", "sqlalchemy", "apprise",
               "trafilatura", "feedparser", "apscheduler")


def test_importing_the_whole_engine_pulls_in_nothing_of_the_daemon() -> None:
    code = ("import json, sys\n"
            + "".join(f"import matcher.{m}\n" for m in MODULES)
            + "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    leaked = [m for m in loaded if m.split(".")[0] in DAEMON_SIDE]
    assert not leaked, f"the engine imports the daemon's side: {leaked}"


def _engine_imports(module: str) -> set[str]:
    """Every matcher module `module` names in an import, type-only imports included."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "matcher":
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("matcher."):
            out.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("matcher.")}
    return out & set(MODULES)


def test_the_engine_modules_import_each_other_without_a_cycle() -> None:
    graph = {m: _engine_imports(m) for m in MODULES}
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        assert m not in path, f"import cycle: {' -> '.join([*path[path.index(m):], m])}"
        if m in done:
            return
        for n in sorted(graph[m]):
            visit(n, [*path, m])
        done.add(m)

    for m in MODULES:
        visit(m, [])


def test_the_models_ship_inside_the_engine() -> None:
    assert (PACKAGE / "stance_model.json").is_file()
    assert (PACKAGE / "models" / "crossencoder" / "model.int8.onnx").is_file()
    assert json.loads((PACKAGE / "stance_model.json").read_text())
