"""The layers import only downward: genesis_lab -> plans -> devices -> simulators."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "simulators": {"bluesky", "ophyd", "ophyd_async", "devices", "plans", "genesis_lab", "skopt"},
    "devices": {"plans", "genesis_lab", "skopt", "sklearn"},
    "plans": {"genesis_lab", "skopt", "sklearn"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downward(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    bad = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & FORBIDDEN[package])
        for f in files
        if _imports(f) & FORBIDDEN[package]
    }
    assert not bad, f"{package}/ imports upward or an optimizer: {bad}"


def test_no_pickle_in_the_product():
    for package in ("genesis_lab", "devices", "plans", "simulators"):
        for f in (ROOT / package).rglob("*.py"):
            assert not _imports(f) & {"pickle", "cloudpickle", "dill"}, f
