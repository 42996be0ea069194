"""Rare-earth solvent extraction: Dy / Nd separation with D2EHPA (critical materials).

One batch contact (mixer-settler stage) of a magnet-recycling chloride leach
(0.060 mol/L Nd, 0.006 mol/L Dy) with D2EHPA in kerosene.

Chemistry (cation exchange, mass action; H2A2 = D2EHPA dimer)
-------------------------------------------------------------
  Ln^3+ (aq) + 3 H2A2 (org) <=> Ln(HA2)3 (org) + 3 H+ (aq),
  D_Ln = [Ln]org / [Ln]aq = K_Ln [H2A2]_free^3 / [H+]^3,
  K_Nd = 2.5e-5, K_Dy = 40 K_Nd (intrinsic separation factor 40).
Both metals share z = ([H2A2]_free / [H+])^3.  Per litre of aqueous, the
extracted amount n = sum C_i E_i with E_i = D_i OA / (1 + D_i OA) releases 3 n
mol of H+ ([H+] = 10^-pH_feed + 3 n) and binds 3 n / OA mol/L of dimer
([H2A2]_free = C_ext / 2 - 3 n / OA).  The equilibrium is the unique root of
z = ([H2A2]_free(z) / [H+](z))^3, found by vectorised bisection in ln z.
This captures acid release (extraction is self-limiting from unbuffered feeds)
and extractant loading (Dy crowds Nd out of a nearly loaded organic).

Phase disengagement: the settled organic carries entrained aqueous droplets,
e = 0.001 + 0.004 exp(1.2 C_ext) logistic(2 ln OA) litres per litre of organic
(more with viscous, concentrated extractant and with organic-continuous
dispersions at high O/A); they carry raffinate composition into the product.

Outputs
-------
extraction_pct = 100 E_Dy (Dy recovery into the organic); separation_factor =
apparent beta_Dy/Nd = (D_Dy + e) / (D_Nd + e) as measured by assaying both
phases (entrainment included); purity_pct = mol % Dy among the rare earths in
the loaded organic; separation_efficiency_pct = Dy recovery - Nd recovery into
the loaded organic (entrainment included), in %.

Consumables: ``extractant`` (mL of neat D2EHPA, 3.0 mol/L; each contact uses
10 mL of aqueous feed and 10 OA mL of organic at C_ext: 1.67 mL at the default
point, 2000 mL) and ``feed`` (mL of leach solution, 10 mL per contact, 5000 mL
= 500 contacts).

Ground-truth optima (``RareEarthExtraction.optimum``; main objective: maximise
separation_efficiency_pct)
-----------------------------------------------------------------------------
* max separation_efficiency_pct = 71.92 % at ph 4.00, extractant_concentration
  1.50 mol/L, oa_ratio 0.762 (Dy recovery 84.3 %, Nd co-extraction 11.8 %,
  equilibrium pH 1.44).  Acid release makes unbuffered extraction
  self-limiting, so the feed pH and the extractant sit at their upper bounds
  while O/A is an interior trade-off.  The default point gives 47.7 %.
  (The ideal-mass-action limit for beta = 40 is 72.6 %.)
* max purity_pct = 76.96 % Dy (feed: 9.1 %) at ph 2.515,
  extractant_concentration 0.10 mol/L, oa_ratio 0.20 -- only 8.8 % Dy
  recovery: purity trades off against recovery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .base import Input, Output, Simulator

__all__ = ["RareEarthExtraction"]

FEED = {"nd": 0.060, "dy": 0.006}  # mol/L in the aqueous feed
K_EX = {"nd": 2.5e-5, "dy": 40 * 2.5e-5}
NEAT_D2EHPA = 3.0  # mol/L
AQUEOUS_ML = 10.0
BISECTION_STEPS = 64


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def equilibrium(ph: np.ndarray, c_ext: np.ndarray, oa: np.ndarray) -> dict[str, np.ndarray]:
    """Distribution ratios D_nd, D_dy, fractions extracted E_nd, E_dy and equilibrium pH (broadcast)."""
    ph, c_ext, oa = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (ph, c_ext, oa)))
    h0 = 10.0**-ph
    dimer = 0.5 * c_ext

    def residual(ln_z: np.ndarray) -> tuple[np.ndarray, ...]:
        z = np.exp(ln_z)
        d = {k: K_EX[k] * z for k in FEED}
        e = {k: d[k] * oa / (1.0 + d[k] * oa) for k in FEED}
        n = sum(FEED[k] * e[k] for k in FEED)
        free = np.maximum(dimer - 3.0 * n / oa, 0.0)
        h = h0 + 3.0 * n
        return ln_z - 3.0 * (np.log(np.maximum(free, 1e-300)) - np.log(h)), d, e, h

    lo = np.full(ph.shape, -120.0)
    hi = np.full(
        ph.shape, 3.0 * (np.log(dimer) - np.log(h0)) + 1e-9
    )  # root <= value with nothing extracted
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        above = residual(mid)[0] > 0
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    _, d, e, h = residual(0.5 * (lo + hi))
    return {
        "d_nd": d["nd"],
        "d_dy": d["dy"],
        "e_nd": e["nd"],
        "e_dy": e["dy"],
        "ph_eq": -np.log10(h),
    }


class RareEarthExtraction(Simulator):
    """Single-contact Dy/Nd solvent extraction with D2EHPA (see module docstring)."""

    INPUTS: ClassVar[dict[str, Input]] = {
        "ph": Input("pH", 0.5, 4.0, 2.0, "feed pH (adjusted before contact)"),
        "extractant_concentration": Input("mol/L", 0.1, 1.5, 0.5, "D2EHPA (monomer) in kerosene"),
        "oa_ratio": Input("1", 0.2, 5.0, 1.0, "organic / aqueous volume ratio"),
    }
    OUTPUTS: ClassVar[dict[str, Output]] = {
        "extraction_pct": Output(
            "%", "Dy extracted into the organic", noise=0.5, saturation=120.0, drift=1.0
        ),
        "separation_factor": Output("1", "apparent separation factor Dy/Nd", noise=0.3, drift=0.3),
        "purity_pct": Output(
            "%",
            "mol % Dy among rare earths in the loaded organic",
            noise=0.3,
            saturation=120.0,
            drift=0.8,
        ),
        "separation_efficiency_pct": Output(
            "%", "Dy recovery minus Nd recovery into the organic", noise=0.5, drift=1.0
        ),
    }
    CONSUMABLES: ClassVar[dict[str, tuple[str, float]]] = {
        "extractant": ("mL", 2000.0),
        "feed": ("mL", 5000.0),
    }
    OBJECTIVES: ClassVar[dict[str, str]] = {
        "separation_efficiency_pct": "maximize",
        "purity_pct": "maximize",
    }
    MEASUREMENT_TIME: ClassVar[float] = 1200.0  # mix, settle, sample both phases, ICP-OES

    @classmethod
    def _model(cls, x: dict[str, np.ndarray], hidden: Mapping[str, float]) -> dict[str, np.ndarray]:
        c_ext, oa = x["extractant_concentration"], x["oa_ratio"]
        eq = equilibrium(x["ph"], c_ext, oa)
        entrained = 0.001 + 0.004 * np.exp(1.2 * c_ext) * _sigmoid(2.0 * np.log(oa))
        aq_nd, aq_dy = FEED["nd"] * (1.0 - eq["e_nd"]), FEED["dy"] * (1.0 - eq["e_dy"])
        org_nd = FEED["nd"] * eq["e_nd"] / oa + entrained * aq_nd
        org_dy = FEED["dy"] * eq["e_dy"] / oa + entrained * aq_dy
        return {
            "extraction_pct": 100.0 * eq["e_dy"],
            "separation_factor": (eq["d_dy"] + entrained) / (eq["d_nd"] + entrained),
            "purity_pct": 100.0 * org_dy / (org_dy + org_nd),
            "separation_efficiency_pct": 100.0
            * (org_dy * oa / FEED["dy"] - org_nd * oa / FEED["nd"]),
        }

    def _consumption(self) -> dict[str, float]:
        organic_ml = AQUEOUS_ML * self._setpoints["oa_ratio"]
        return {
            "extractant": organic_ml * self._setpoints["extractant_concentration"] / NEAT_D2EHPA,
            "feed": AQUEOUS_ML,
        }
