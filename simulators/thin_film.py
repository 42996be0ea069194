"""DC magnetron sputter deposition of a copper thin film (materials / semiconductors).

Physics (SI-ish lab units: W, mTorr, degC, s, nm, uOhm cm)
-----------------------------------------------------------
* Deposition rate.  The sputtered flux is proportional to the discharge power;
  gas-phase scattering over the target-substrate distance d = 10 cm follows
  Keller-Simmons transport, f = (p0d0 / p d) (1 - exp(-p d / p0d0)) with
  p0d0 = 30 mTorr cm:  rate = 0.005 nm/(W s) * power * f(p).
  thickness = rate * time.
* Energy of arriving atoms / reflected Ar neutrals decays by thermalisation:
  eps = exp(-p d / 50 mTorr cm) (1 at zero pressure).
* Substrate temperature seen by the growing film includes plasma heating:
  T_film = T_substrate + 0.05 K/W * power; homologous T_h = T_film / 1358 K.
* Grain size (Arrhenius grain growth, bombardment-enhanced adatom mobility,
  nucleation density rising with rate, columnar grains limited by thickness h):
  D_T = 20 nm * exp(-0.12 eV / k_B (1/T - 1/298 K)) (1 + 1.5 eps) (rate / 1 nm/s)^(-1/6),
  D = 1 / (1/D_T + 1/h).
* Voids: Thornton zone-1 porosity at high pressure and low T_h
  (phi_1 = 0.25 s((p - 10)/2.5) s((0.3 - T_h)/0.04), s = logistic), thermal
  dewetting/agglomeration above T_dw = 0.45 + 0.1 log10(h / 10 nm)
  (phi_2 = 0.6 s((T_h - T_dw)/0.015)) and island (discontinuous) films below
  ~6 nm (phi_3 = 0.98 s((6 nm - h)/1.5 nm)); phi = 1 - prod(1 - phi_i).
* Resistivity (Matthiessen's rule, then a void correction (1 - phi)^-1.5):
  Mayadas-Shatzkes grain-boundary scattering rho0 / f(alpha),
  alpha = (lambda / D) R/(1 - R), f = 1 - 3a/2 + 3a^2 - 3a^3 ln(1 + 1/a)
  (rho0 = 1.68 uOhm cm, lambda = 39 nm, R = 0.4);
  Fuchs-Sondheimer surface scattering rho0 (3/8) lambda / h (diffuse surfaces);
  impurities from residual gas (O2, H2O), incorporated in proportion to
  impingement / deposition rate, with thermally activated sticking/oxidation:
  0.4 uOhm cm * (1 nm/s / rate) (1 + exp((T_h - 0.5)/0.04));
  trapped Ar from energetic reflected neutrals (not annealed): 0.5 uOhm cm * eps^2;
  point defects from bombardment, annealed by temperature:
  1.5 uOhm cm * eps^2 exp(-(T_h - 0.22)/0.08).
* Roughness (RMS): substrate 0.3 nm, kinetic roughening
  0.5 nm (h/50 nm)^0.35 (1 + 3 (1 - eps)) / (1 + (T_h/0.3)^4) (self-shadowing at
  high pressure, smoothed by adatom mobility), grain faceting
  0.04 D s((T_h - 0.3)/0.05), and dewetting 0.3 h phi_2; added in quadrature.

Consumable: ``target`` erosion budget in kWh (10 kWh; power * time per run,
0.0050 kWh at the default point, i.e. ~2000 default runs).

Ground-truth optimum (``ThinFilmDeposition.optimum``; main objective: minimise
resistivity)
-----------------------------------------------------------------------------
* min resistivity = 2.445 uOhm cm at power 500 W, pressure 3.12 mTorr,
  substrate_temperature 296.5 degC, time 600 s (thickness 932 nm; bulk Cu is
  1.68; the default point gives 10.1 uOhm cm).  Pressure and temperature are
  interior trade-offs (trapped Ar / defects vs gas scattering; grain growth vs
  oxidation); power and time sit at their upper bounds (purity, thickness).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .base import Input, Output, Simulator

__all__ = ["ThinFilmDeposition"]

K_B_EV = 8.617333e-5  # eV/K
T_MELT = 1357.8  # K, copper
RHO0 = 1.68  # uOhm cm, bulk Cu at room temperature
MFP = 39.0  # nm, electron mean free path in Cu
R_GB = 0.4  # grain-boundary reflection coefficient
DISTANCE = 10.0  # cm, target-substrate
P0D0 = 30.0  # mTorr cm, Keller-Simmons characteristic pressure-distance
PD_THERMAL = 50.0  # mTorr cm, energy thermalisation
RATE_PER_WATT = 0.005  # nm/s per W without scattering
PLASMA_HEATING = 0.05  # K/W


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _ms_factor(alpha: np.ndarray) -> np.ndarray:
    """Mayadas-Shatzkes f(alpha) = rho0 / rho_gb."""
    a = np.maximum(alpha, 1e-12)
    return 1.0 - 1.5 * a + 3.0 * a**2 - 3.0 * a**3 * np.log1p(1.0 / a)


class ThinFilmDeposition(Simulator):
    """Copper magnetron sputtering with grain-boundary / surface scattering (see module docstring)."""

    INPUTS: ClassVar[dict[str, Input]] = {
        "power": Input("W", 50.0, 500.0, 150.0, "DC magnetron power", max_rate=10.0),
        "pressure": Input("mTorr", 1.0, 20.0, 10.0, "Ar working pressure", max_rate=1.0),
        "substrate_temperature": Input(
            "degC", 25.0, 500.0, 25.0, "substrate heater setpoint", max_rate=0.5
        ),
        "time": Input("s", 10.0, 600.0, 120.0, "deposition time (shutter open)"),
    }
    OUTPUTS: ClassVar[dict[str, Output]] = {
        "thickness": Output("nm", "film thickness (profilometer / XRR)", noise=0.5, drift=1.5),
        "roughness": Output("nm", "RMS surface roughness (AFM)", noise=0.05, drift=0.05),
        "resistivity": Output(
            "uOhm cm", "four-point-probe resistivity", noise=0.05, saturation=1e5, drift=0.05
        ),
        "deposition_rate": Output(
            "nm/s", "deposition rate (quartz crystal monitor)", noise=0.005, drift=0.01
        ),
    }
    CONSUMABLES: ClassVar[dict[str, tuple[str, float]]] = {"target": ("kWh", 10.0)}
    OBJECTIVES: ClassVar[dict[str, str]] = {"resistivity": "minimize"}
    MEASUREMENT_TIME: ClassVar[float] = 1800.0  # load lock, pump-down, deposition, vent, metrology
    SETTLE_TIME: ClassVar[float] = 5.0

    @classmethod
    def _model(cls, x: dict[str, np.ndarray], hidden: Mapping[str, float]) -> dict[str, np.ndarray]:
        power, p, t_sub, dep_time = x["power"], x["pressure"], x["substrate_temperature"], x["time"]
        pd = p * DISTANCE
        transport = (P0D0 / pd) * -np.expm1(-pd / P0D0)
        rate = RATE_PER_WATT * power * transport
        h = rate * dep_time
        eps = np.exp(-pd / PD_THERMAL)
        temp_k = t_sub + 273.15 + PLASMA_HEATING * power
        th = temp_k / T_MELT

        grain_t = (
            20.0
            * np.exp(-0.12 / K_B_EV * (1.0 / temp_k - 1.0 / 298.15))
            * (1.0 + 1.5 * eps)
            * rate ** (-1.0 / 6.0)
        )
        grain = 1.0 / (1.0 / grain_t + 1.0 / h)

        phi_zone1 = 0.25 * _sigmoid((p - 10.0) / 2.5) * _sigmoid((0.3 - th) / 0.04)
        t_dewet = 0.45 + 0.1 * np.log10(h / 10.0)
        phi_dewet = 0.6 * _sigmoid((th - t_dewet) / 0.015)
        phi_island = 0.98 * _sigmoid((6.0 - h) / 1.5)
        phi = 1.0 - (1.0 - phi_zone1) * (1.0 - phi_dewet) * (1.0 - phi_island)

        alpha = (MFP / grain) * R_GB / (1.0 - R_GB)
        rho = (
            RHO0 / _ms_factor(alpha)
            + RHO0 * 0.375 * MFP / h
            + 0.4 / rate * (1.0 + np.exp((th - 0.5) / 0.04))
            + 0.5 * eps**2
            + 1.5 * eps**2 * np.exp(-(th - 0.22) / 0.08)
        ) / (1.0 - phi) ** 1.5

        kinetic = 0.5 * (h / 50.0) ** 0.35 * (1.0 + 3.0 * (1.0 - eps)) / (1.0 + (th / 0.3) ** 4)
        facets = 0.04 * grain * _sigmoid((th - 0.3) / 0.05)
        dewet = 0.3 * h * phi_dewet
        roughness = np.sqrt(0.3**2 + kinetic**2 + facets**2 + dewet**2)
        return {"thickness": h, "roughness": roughness, "resistivity": rho, "deposition_rate": rate}

    def _consumption(self) -> dict[str, float]:
        return {"target": self._setpoints["power"] * self._setpoints["time"] / 3.6e6}
