"""The README's lab snippet is a lab file that works as written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_lab_snippet_is_a_working_lab_file(tmp_path, capsys):
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    (lab,) = [b for b in blocks if b.startswith("name: sim-lab")]
    path = tmp_path / "lab.yaml"
    path.write_text(lab)
    code, out, err = run_cli(capsys, "devices", path, "--timeout", 2)
    assert code == 0, err
    assert "reactor" in out
