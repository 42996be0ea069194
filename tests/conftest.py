"""Shared fixtures: copies of the example lab and campaigns in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A private copy of examples/ (tests never write into the checkout)."""
    dst = tmp_path / "examples"
    shutil.copytree(EXAMPLES, dst)
    return dst


def edit_yaml(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(capsys, *argv):
    """Run ``genesis-lab ARGV`` in-process: (exit code, stdout, stderr)."""
    from genesis_lab.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
