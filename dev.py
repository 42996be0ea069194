#!/usr/bin/env python3
"""Set up and run Genesis Lab with nothing but Python 3.11.

    python3 dev.py demo     # create/update .venv, then run the demo campaign on the simulated lab
    python3 dev.py test     # create/update .venv, then run the whole test suite
    python3 dev.py bench    # create/update .venv, then run the quick benchmark suite

The virtual environment lives in ``.venv`` next to this file (override with
GENESIS_VENV). It is (re)installed whenever pyproject.toml changes. Extra
arguments after the command are passed through (to pytest, or to the demo's
``genesis-lab run``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("GENESIS_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".genesis-installed"
EXTRAS = "dev,epics,plot"


def _fingerprint() -> str:
    text = (ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()
    return hashlib.sha256(text).hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may run on an older python3)
        sys.exit(f"Genesis Lab needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"[dev] creating virtual environment in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    print("[dev] installing Genesis Lab and its dependencies (first run only)", file=sys.stderr)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    STAMP.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "bench", "setup"}:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], argv[1:]
    ensure_venv()
    os.chdir(ROOT)
    if cmd == "setup":
        return 0
    if cmd == "test":
        return subprocess.call([str(PY), "-m", "pytest", *rest])
    if cmd == "bench":
        return subprocess.call([str(BIN / "genesis-lab"), "bench", "quick", *rest])
    return subprocess.call(
        [str(BIN / "genesis-lab"), "run", "examples/reactor_campaign.yaml", *rest]
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
