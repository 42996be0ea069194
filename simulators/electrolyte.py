"""Lithium-ion battery electrolyte formulation: LiPF6 in EC / EMC / DMC (energy).

Inputs are the salt molality (mol LiPF6 per kg solvent), the three solvent mass
fractions and the measurement temperature.  **The fractions form a mixture: the
model normalises them by their sum, w_i = frac_i / sum(frac), so any
non-negative triple with a positive sum is valid** (a zero sum gives NaN
readings).  ``optimum()`` reports fractions normalised to sum 1.

Physics (T in K, m in mol/kg)
-----------------------------
* Solvent viscosity: Grunberg-Nissan mixing of the pure-solvent viscosities at
  25 degC (EC 2.50 (supercooled liquid), EMC 0.65, DMC 0.59 cP) with interaction terms
  G(EC,EMC) = +0.10, G(EC,DMC) = +0.20, G(EMC,DMC) = -0.30:
  ln eta_s = sum w_i ln eta_i + sum_{i<j} w_i w_j G_ij.
* Electrolyte viscosity: Vogel-Tammann-Fulcher in T with a salt-raised glass
  temperature, times a Jones-Dole-like salt term:
  eta = eta_s exp(0.40 m + 0.12 m^2) exp(B (1/(T - T0(m)) - 1/(298.15 - 160))),
  B = 500 K, T0(m) = 160 K + 8 K * m.
* Dielectric constant: mass-fraction mixing of EC 89.8, EMC 2.96, DMC 3.11,
  decreasing 0.4 %/K above 25 degC.
* Ion pairing (Bjerrum-like): free-ion fraction alpha = 1 / (1 + K_A c),
  K_A = 0.15 L/mol * exp(16.7 (1/eps - 1/30)).
* Molarity c = m rho / (1 + m M_salt), rho = 1 / sum(w_i / rho_i) + 0.10 kg/L per
  mol/kg (M_salt = 151.9 g/mol; rho_EC 1.32, rho_EMC 1.01, rho_DMC 1.07 kg/L).
* Conductivity (fractional Walden rule with a Debye-Hueckel-Onsager-type
  correction): kappa = 23.3 mS/cm * c alpha (1 - 0.2 sqrt(c alpha)) / eta^0.85
  (eta in cP, c in mol/L) -> 1 mol/kg in EC:EMC 3:7 at 25 degC: 9.0 mS/cm,
  2.1 cP, with the conductivity maximum near 1.0 mol/kg.
* Freezing: the liquidus of each solvent from ideal solubility,
  T_liq,i = 1 / (1/Tm_i - R ln x_i / dH_i), x_i = mole fraction including the
  dissolved ions (EC 309.5 K / 13.2 kJ/mol, EMC 218 K / 11 kJ/mol, DMC 277.6 K /
  18 kJ/mol).  Below the highest liquidus the sample crystallises: conductivity
  x s, viscosity / s with s = logistic((T - T_liq) / 2 K), floored at 1e-3.

Consumable: ``salt`` (g of LiPF6; each sample uses 5 g of solvent, i.e.
m * 5 g * 151.9 g/mol / 1000: 0.76 g at 1 mol/kg; 400 g last ~500 samples).

Ground-truth optimum (``ElectrolyteFormulation.optimum``; main objective:
maximise conductivity)
--------------------------------------------------------------------------
* max conductivity = 21.04 mS/cm at salt_concentration 0.990 mol/kg,
  frac_ec 0.153, frac_emc 0.208, frac_dmc 0.639 (sum 1), temperature 60 degC
  (conductivity rises with temperature through the whole liquid range, so the
  optimum sits at the top of the temperature range; salt and composition are
  interior trade-offs between ion dissociation and viscosity).  The default,
  1 mol/kg EC:EMC 3:7 at 25 degC, gives 8.99 mS/cm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .base import Input, Output, Simulator

__all__ = ["ElectrolyteFormulation"]

R_GAS = 8.314
SOLVENTS = ("ec", "emc", "dmc")
ETA25 = np.array([2.50, 0.65, 0.59])  # cP
EPS = np.array([89.8, 2.96, 3.11])
RHO = np.array([1.32, 1.01, 1.07])  # kg/L
MW = np.array([88.06, 104.10, 90.08])  # g/mol
T_MELT = np.array([309.5, 218.0, 277.6])  # K
H_FUS = np.array([13.2e3, 11.0e3, 18.0e3])  # J/mol
G_EC_EMC, G_EC_DMC, G_EMC_DMC = 0.10, 0.20, -0.30
M_SALT = 151.9  # g/mol LiPF6
VTF_B, VTF_T0, VTF_T0_SALT = 500.0, 160.0, 8.0
SAMPLE_SOLVENT_KG = 0.005


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class ElectrolyteFormulation(Simulator):
    """LiPF6 / carbonate electrolyte conductivity and viscosity (see module docstring)."""

    INPUTS: ClassVar[dict[str, Input]] = {
        "salt_concentration": Input("mol/kg", 0.2, 3.0, 1.0, "LiPF6 molality"),
        "frac_ec": Input(
            "1", 0.0, 1.0, 0.3, "ethylene carbonate mass fraction (normalised by the sum)"
        ),
        "frac_emc": Input(
            "1", 0.0, 1.0, 0.7, "ethyl methyl carbonate mass fraction (normalised by the sum)"
        ),
        "frac_dmc": Input(
            "1", 0.0, 1.0, 0.0, "dimethyl carbonate mass fraction (normalised by the sum)"
        ),
        "temperature": Input(
            "degC", -20.0, 60.0, 25.0, "conductivity-cell temperature", max_rate=0.05
        ),
    }
    OUTPUTS: ClassVar[dict[str, Output]] = {
        "conductivity": Output(
            "mS/cm", "ionic conductivity (AC impedance cell)", noise=0.05, drift=0.15
        ),
        "viscosity": Output(
            "cP",
            "dynamic viscosity (rolling-ball viscometer)",
            noise=0.02,
            saturation=1000.0,
            drift=0.03,
        ),
    }
    CONSUMABLES: ClassVar[dict[str, tuple[str, float]]] = {"salt": ("g", 400.0)}
    OBJECTIVES: ClassVar[dict[str, str]] = {"conductivity": "maximize"}
    MEASUREMENT_TIME: ClassVar[float] = 600.0  # dispense, mix, equilibrate, measure

    @classmethod
    def _model(cls, x: dict[str, np.ndarray], hidden: Mapping[str, float]) -> dict[str, np.ndarray]:
        m = x["salt_concentration"]
        temp_k = x["temperature"] + 273.15
        raw = [x["frac_ec"], x["frac_emc"], x["frac_dmc"]]
        total = raw[0] + raw[1] + raw[2]
        safe = np.where(total > 0, total, np.nan)
        w = [f / safe for f in raw]

        ln_eta_s = sum(wi * np.log(e) for wi, e in zip(w, ETA25, strict=True))
        ln_eta_s = (
            ln_eta_s + G_EC_EMC * w[0] * w[1] + G_EC_DMC * w[0] * w[2] + G_EMC_DMC * w[1] * w[2]
        )
        t0 = VTF_T0 + VTF_T0_SALT * m
        eta = np.exp(
            ln_eta_s
            + 0.40 * m
            + 0.12 * m**2
            + VTF_B * (1.0 / (temp_k - t0) - 1.0 / (298.15 - VTF_T0))
        )

        eps = sum(wi * e for wi, e in zip(w, EPS, strict=True)) * (1.0 - 0.004 * (temp_k - 298.15))
        rho = 1.0 / sum(wi / r for wi, r in zip(w, RHO, strict=True)) + 0.10 * m
        c = m * rho / (1.0 + m * M_SALT / 1000.0)
        k_a = 0.15 * np.exp(16.7 * (1.0 / eps - 1.0 / 30.0))
        alpha = 1.0 / (1.0 + k_a * c)
        free = c * alpha
        kappa = 23.3 * free * (1.0 - 0.2 * np.sqrt(free)) / eta**0.85

        # liquidus: ideal solubility of each solvent, ions (2 per LiPF6) count as solute particles
        n = [wi * 1000.0 / mw for wi, mw in zip(w, MW, strict=True)]  # mol per kg solvent
        n_total = n[0] + n[1] + n[2] + 2.0 * m
        t_liq = np.full(np.shape(temp_k), -np.inf)
        for ni, tm, dh in zip(n, T_MELT, H_FUS, strict=True):
            xi = ni / n_total
            with np.errstate(divide="ignore"):
                t_i = 1.0 / (1.0 / tm - R_GAS * np.log(xi) / dh)
            t_liq = np.maximum(t_liq, np.where(xi > 0, t_i, -np.inf))
        liquid = np.maximum(_sigmoid((temp_k - t_liq) / 2.0), 1e-3)
        return {"conductivity": kappa * liquid, "viscosity": eta / liquid}

    @classmethod
    def _normalise_point(cls, point: dict[str, float]) -> dict[str, float]:
        total = sum(point[f"frac_{s}"] for s in SOLVENTS)
        return {k: (v / total if k.startswith("frac_") else v) for k, v in point.items()}

    def _consumption(self) -> dict[str, float]:
        return {"salt": self._setpoints["salt_concentration"] * SAMPLE_SOLVENT_KG * M_SALT}
