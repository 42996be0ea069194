"""X-ray diffraction sample alignment (X-ray characterisation beamline).

Geometry (Laue / transmission)
------------------------------
A thin single crystal (0.5 mm wide, 0.3 mm high) sits on an x / y / theta stage.
Its true position is hidden and seeded: the stage position that centres it in
the beam is (x0, y0) with x0, y0 ~ U(-2.5, 2.5) mm, and its Bragg angle is at
theta0 ~ U(-1, 1) deg (from ``np.random.default_rng([seed, 0x7A1])``).  The
crystal face is L = 10 mm from the rotation axis, so tilting the stage also
moves the crystal vertically by L sin(theta) (theta and y are coupled).

Physics
-------
* Beam footprint: a Gaussian beam (FWHM 0.60 mm horizontal, 0.30 mm vertical,
  i.e. larger than the crystal, so the overlap has a unique maximum) overlapping
  the crystal; the illuminated fraction per axis is
  F(u) = [erf((W/2 - u)/(sqrt2 s)) + erf((W/2 + u)/(sqrt2 s))] / 2 with u the
  beam offset from the crystal centre (u_x = x - x0,
  u_y = y - y0 + L sin(theta)), W the crystal size, s the beam sigma.
* Rocking curve: pseudo-Voigt in d = theta - theta0, FWHM 0.05 deg, 30 %
  Lorentzian: R = 0.3 / (1 + (2d/w)^2) + 0.7 exp(-4 ln2 (d/w)^2).
* intensity = 1.2e6 counts/s * F_x F_y R + 20 counts/s background.  Counting
  noise is Poisson (Gaussian approximation): std = noise * sqrt(1 + I / t)
  with the count time t = MEASUREMENT_TIME = 1 s (the declared ``noise`` of
  1 count/s is the dark/readout part).  The detector saturates at 1e6 counts/s.
  The beam intensity drifts (ring current decay / top-up, monochromator heat
  load): the drift is multiplicative, declared as counts/s per hour at an
  8e5 counts/s signal and scaled with the actual signal.
* transmission = 1 - F_x F_y (1 - 0.02): photodiode behind the sample (the
  crystal transmits 2 %); the classic "half-cut" alignment signal.

No consumables.

Ground-truth optimum (``XraySampleAlignment.optimum``; main objective: maximise
intensity; depends on the seed -- called on an instance it uses that instance's
seed)
---------------------------------------------------------------------------------
* seed 0: hidden (x0, y0, theta0) = (1.2606 mm, 0.9332 mm, 0.5711 deg);
  max intensity = 6.1503e5 counts/s at x 1.2606 mm, y 0.8335 mm, theta 0.5711 deg
  (y = y0 - L sin(theta0)); the default point (0, 0, 0) gives 20 counts/s.
  The maximum value is the same for every seed, the position is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from scipy.special import erf

from .base import Input, Output, Simulator

__all__ = ["XraySampleAlignment"]

SAMPLE_WIDTH, SAMPLE_HEIGHT = 0.5, 0.3  # mm
BEAM_FWHM_X, BEAM_FWHM_Y = 0.60, 0.30  # mm
ARM = 10.0  # mm, crystal face to rotation axis
ROCKING_FWHM = 0.05  # deg
LORENTZ_FRACTION = 0.3
PEAK_RATE = 1.2e6  # counts/s if the whole beam hit the crystal at the Bragg angle
BACKGROUND = 20.0  # counts/s
DRIFT_REFERENCE = 8e5  # counts/s at which the declared intensity drift applies
SAMPLE_TRANSMISSION = 0.02
_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def _overlap(u: np.ndarray, width: float, fwhm: float) -> np.ndarray:
    s = math.sqrt(2.0) * fwhm * _FWHM_TO_SIGMA
    return 0.5 * (erf((0.5 * width - u) / s) + erf((0.5 * width + u) / s))


class XraySampleAlignment(Simulator):
    """x / y / theta alignment of a crystal in an X-ray beam (see module docstring)."""

    INPUTS: ClassVar[dict[str, Input]] = {
        "x": Input("mm", -5.0, 5.0, 0.0, "horizontal stage translation", max_rate=2.0),
        "y": Input("mm", -5.0, 5.0, 0.0, "vertical stage translation", max_rate=2.0),
        "theta": Input("deg", -3.0, 3.0, 0.0, "stage rotation (rocking angle)", max_rate=0.5),
    }
    OUTPUTS: ClassVar[dict[str, Output]] = {
        "intensity": Output(
            "counts/s",
            "diffracted intensity (Poisson counting noise)",
            noise=1.0,
            saturation=1e6,
            drift=12000.0,
        ),
        "transmission": Output(
            "1", "direct-beam transmission past the sample", noise=0.002, drift=0.002
        ),
    }
    OBJECTIVES: ClassVar[dict[str, str]] = {"intensity": "maximize"}
    MEASUREMENT_TIME: ClassVar[float] = 1.0  # count time
    SETTLE_TIME: ClassVar[float] = 0.2
    SEEDED_TRUTH: ClassVar[bool] = True

    @classmethod
    def _hidden_params(cls, seed: int) -> dict[str, float]:
        rng = np.random.default_rng([seed, 0x7A1])
        return {
            "x0": float(rng.uniform(-2.5, 2.5)),
            "y0": float(rng.uniform(-2.5, 2.5)),
            "theta0": float(rng.uniform(-1.0, 1.0)),
        }

    @property
    def hidden_position(self) -> dict[str, float]:
        """The hidden true sample position (x0, y0, theta0) -- for tests and benchmarks."""
        return dict(self._hidden)

    @classmethod
    def _model(cls, x: dict[str, np.ndarray], hidden: Mapping[str, float]) -> dict[str, np.ndarray]:
        theta = x["theta"]
        fx = _overlap(x["x"] - hidden["x0"], SAMPLE_WIDTH, BEAM_FWHM_X)
        fy = _overlap(
            x["y"] - hidden["y0"] + ARM * np.sin(np.deg2rad(theta)), SAMPLE_HEIGHT, BEAM_FWHM_Y
        )
        d = (theta - hidden["theta0"]) / ROCKING_FWHM
        rocking = LORENTZ_FRACTION / (1.0 + 4.0 * d**2) + (1.0 - LORENTZ_FRACTION) * np.exp(
            -4.0 * math.log(2.0) * d**2
        )
        return {
            "intensity": PEAK_RATE * fx * fy * rocking + BACKGROUND,
            "transmission": 1.0 - fx * fy * (1.0 - SAMPLE_TRANSMISSION),
        }

    def _noise_std(self, values: Mapping[str, float]) -> dict[str, float]:
        std = super()._noise_std(values)
        dark = self.OUTPUTS["intensity"].noise
        std["intensity"] = self.noise * math.sqrt(
            dark**2 + max(values["intensity"], 0.0) / self.MEASUREMENT_TIME
        )
        return std

    def drift_offset(self) -> dict[str, float]:
        """Current drift; the intensity drift is multiplicative (scaled by signal / 8e5 counts/s)."""
        offset = super().drift_offset()
        signal = self._evaluate(self._hidden, self._setpoints)["intensity"] - BACKGROUND
        offset["intensity"] *= signal / DRIFT_REFERENCE
        return offset
