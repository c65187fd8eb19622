"""The house reads one way: every import runs down the layers, and every module stays small.

docs/architecture.md explains the layers; this test keeps the code in step with it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "features", "training", "experiments", "monitoring", "pipelines", "serving", "needradar"]
# The at-risk list's batch functions live in serving/ (the fixed layout puts batch scoring and
# explanations there) but are pure functions over core only: the daily job and the service both
# call them, so they rank just below the daily job.
BATCH_FUNCTIONS = {
    "serving.scoring",
    "serving.explain",
    "serving.playbook",
    "serving.treeshap_tables",
    "serving.staffing",
    "serving.reasons",
    "serving.wording",
    "serving.targeting",
}
FREE = ("benchmarks", "tests")  # may import anything
MAX_LINES = 400


def _rank(module: str) -> float | None:
    if module in BATCH_FUNCTIONS:
        return LAYERS.index("pipelines") - 0.5
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not any(part.startswith(".") for part in p.parts))


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """Every imported module (also those imported inside functions) with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = (
                    module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                )
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from serving import scoring` imports the module serving.scoring
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _imported_rank(name: str) -> float | None:
    """The rank of an imported name (`serving.scoring.score_customers`): a batch-function module
    it lies in, else its top-level package."""
    parent = name
    while parent:
        if parent in BATCH_FUNCTIONS:
            return _rank(parent)
        parent = parent.rpartition(".")[0]
    return _rank(name.split(".")[0])


def _upward_imports() -> list[str]:
    problems = []
    for path in _python_files():
        module = _module_name(path)
        if module.split(".")[0] in FREE or (rank := _rank(module)) is None:
            continue
        for line, imported in _imports(path, module):
            target = _imported_rank(imported)
            if target is not None and target > rank:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported}")
    return sorted(set(problems))


def test_imports_run_down_the_layers():
    problems = _upward_imports()
    assert not problems, "a lower layer imports a higher one:\n" + "\n".join(problems)


def test_every_module_stays_under_the_size_limit():
    too_long = []
    for path in _python_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concept):\n" + "\n".join(too_long)


@pytest.mark.parametrize(
    ("module", "source", "upward"),
    [
        ("features.x", "from serving.scoring import score_customers\n", True),
        ("features.x", "def f():\n    import needradar.cli\n", True),  # inside a function too
        ("pipelines.x", "from serving.scoring import score_customers\n", False),
        ("pipelines.x", "from serving import service\n", True),
        ("serving.scoring", "from serving.state import load_state\n", True),
        ("core.x", "import pandas\nfrom core.io import write_json\n", False),
        ("monitoring.x", "from . import alerts\nfrom ..pipelines import steps\n", True),
    ],
)
def test_the_check_itself_sees_upward_imports(tmp_path, module, source, upward):
    (tmp_path / "m.py").write_text(source)
    ranks = [_imported_rank(name) for _, name in _imports(tmp_path / "m.py", module)]
    assert any(r is not None and r > _rank(module) for r in ranks) == upward
