"""Generic RDKit descriptors of every Buchwald choice (the options are SMILES), as JSON.

Used to test whether descriptors help the agent on the Olympus Buchwald datasets (they did not:
see BENCHMARKS.md).  RDKit is not a dependency of Genesis Lab; run this in its own environment:

    python3 -m venv /tmp/rdkit && /tmp/rdkit/bin/pip install rdkit
    /tmp/rdkit/bin/python benchmarks/rdkit_descriptors.py > /tmp/buchwald_descriptors.json
    PYTHONPATH=. .venv/bin/python benchmarks/engine_check.py buchwald --seeds 10-209 \\
        --descriptors /tmp/buchwald_descriptors.json --describe additive:raw
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "olympus"
NAMES = [
    "MolWt", "MolLogP", "MolMR", "TPSA", "LabuteASA", "HeavyAtomCount", "NumHAcceptors",
    "NumHDonors", "NumRotatableBonds", "RingCount", "NumAromaticRings", "FractionCSP3",
    "MaxPartialCharge", "MinPartialCharge",
]  # fmt: skip


def main() -> None:
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    out: dict[str, dict[str, float]] = {}
    for letter in "abcde":
        config = json.loads((DATASETS / f"buchwald_{letter}" / "config.json").read_text())
        for param in config["parameters"]:
            for smiles in param["options"]:
                mol = Chem.MolFromSmiles(smiles)
                out[smiles] = {n: float(getattr(Descriptors, n)(mol)) for n in NAMES}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
