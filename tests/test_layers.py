"""The library's layering: every import inside qcnn points down this list, so there is no
import circle and no lower module knows a higher one."""
import ast
from pathlib import Path

LAYERS = ["errors", "stats", "basis", "model", "network", "entropy", "cuts", "reference", "data", "ising",
          "config", "records", "store", "fused", "train", "runs", "experiments", "analysis", "findings",
          "notes", "phases", "report", "figures",
          "explorer", "cluster", "sweep", "bench", "cli", "__main__"]
PACKAGE = Path(__file__).resolve().parent.parent / "qcnn"


def imported_modules(path):
    """The qcnn modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level == 1 or node.module == "qcnn"):
            found.update([node.module] if node.module and node.level else   # `from . import x`:
                         [a.name if a.name in LAYERS else "__init__" for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qcnn."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("qcnn."))
    return found - {None}


def test_every_module_is_placed():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS)


def test_imports_point_down():
    upward = []
    for name in LAYERS:
        for other in imported_modules(PACKAGE / f"{name}.py"):
            if other != "__init__" and LAYERS.index(other) >= LAYERS.index(name):
                upward.append(f"{name} imports {other}")
    assert not upward, upward
