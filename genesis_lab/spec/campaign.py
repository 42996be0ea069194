"""The campaign file: what to vary, what to measure, what to optimize, and when to stop.

Written by the researcher; see ``examples/reactor_campaign.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from devices.safety import choice_key

from ._common import (
    Choice,
    Count,
    Number,
    SpecError,
    Strict,
    load_yaml,
    register_tag,
    validate,
)

__all__ = [
    "FloatParameter",
    "IntegerParameter",
    "CategoricalParameter",
    "Parameter",
    "Objective",
    "LinearConstraint",
    "OutcomeConstraint",
    "Budget",
    "StopRules",
    "OptimizerSettings",
    "CampaignSpec",
    "load_campaign",
    "parse_duration",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_.]*$")


class _ParameterBase(Strict):
    name: str
    device: str = Field(description="the settable component it drives, as device.component")
    units: str = ""
    description: str = ""

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError("must be an identifier (letters, digits, _), e.g. temperature")
        return v

    @field_validator("device")
    @classmethod
    def _target(cls, v: str) -> str:
        if not _TARGET.match(v):
            raise ValueError("must name a component as device.component, e.g. reactor.temperature")
        return v


class FloatParameter(_ParameterBase):
    type: Literal["float"]
    bounds: tuple[Number, Number]
    prior: Literal["uniform", "log-uniform"] = "uniform"

    @model_validator(mode="after")
    def _ordered(self) -> FloatParameter:
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(f"bounds [{lo}, {hi}] must be [low, high] with low < high")
        if self.prior == "log-uniform" and lo <= 0:
            raise ValueError("a log-uniform parameter needs bounds above 0")
        return self


class IntegerParameter(_ParameterBase):
    type: Literal["integer"]
    bounds: tuple[Count, Count]

    @model_validator(mode="after")
    def _ordered(self) -> IntegerParameter:
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(f"bounds [{lo}, {hi}] must be [low, high] with low < high")
        return self


class CategoricalParameter(_ParameterBase):
    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1)
    descriptors: dict[str, list[Number]] | None = Field(
        default=None,
        description="numeric descriptors per choice; the model uses them instead of one-hot",
    )

    @field_validator("choices")
    @classmethod
    def _distinct(cls, v: list[Any]) -> list[Any]:
        keys = [choice_key(c) for c in v]  # 40 and 40.0 are one setting
        if len(set(keys)) != len(v):
            raise ValueError("choices must be distinct")
        return v

    @field_validator("descriptors", mode="before")
    @classmethod
    def _text_keys(cls, v: Any) -> Any:
        # numeric choices are natural YAML keys (40: [..]); the file means the choice 40
        if isinstance(v, dict):
            return {k if isinstance(k, str | bool) else str(k): x for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _descriptors_cover(self) -> CategoricalParameter:
        if self.descriptors is None:
            return self
        names = list(map(str, self.choices))
        missing = [c for c in names if c not in self.descriptors]
        extra = [c for c in self.descriptors if c not in names]
        if missing or extra:
            raise ValueError(
                f"descriptors must have one entry per choice (missing {missing}, unknown {extra})"
            )
        lengths = {len(v) for v in self.descriptors.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError("every choice needs the same, non-zero number of descriptors")
        bad = [c for c, v in self.descriptors.items() if not all(abs(x) < 1e100 for x in v)]
        if bad:
            raise ValueError(f"descriptors must be numbers below 1e100 in size (not for {bad})")
        seen: dict[tuple[float, ...], str] = {}
        for c in names:
            twin = seen.setdefault(tuple(self.descriptors[c]), c)
            if twin != c:
                raise ValueError(
                    f"choices {twin!r} and {c!r} have the same descriptors, so the model cannot "
                    "tell them apart; give them different descriptors, or leave descriptors "
                    "out to encode the choices one-hot"
                )
        return self


Parameter = Annotated[
    FloatParameter | IntegerParameter | CategoricalParameter, Field(discriminator="type")
]
for _tag, _model in (
    ("float", FloatParameter),
    ("integer", IntegerParameter),
    ("categorical", CategoricalParameter),
):
    register_tag(_tag, _model)


class Objective(Strict):
    """A named objective: a reading, an expression over readings, or a function."""

    name: str
    goal: Literal["minimize", "maximize"]
    expression: str | None = Field(
        default=None,
        min_length=1,
        description="e.g. reactor.yield_pct, or reactor.space_time_yield / 1000",
    )
    function: str | None = Field(
        default=None,
        min_length=1,
        description="import path module:function taking the readings dict",
    )
    units: str = ""
    reference: Number | None = Field(
        default=None,
        description="worst acceptable value: the hypervolume reference point (several objectives)",
    )

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError("must be an identifier (letters, digits, _), e.g. yield")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> Objective:
        if (self.expression is None) == (self.function is None):
            raise ValueError("give exactly one of expression: or function:")
        return self


class LinearConstraint(Strict):
    """sum(coefficient * parameter) within [min, max], or == equals (e.g. a mixture)."""

    kind: Literal["linear"]
    terms: dict[str, Number] = Field(min_length=1, description="parameter name -> coefficient")
    equals: Number | None = None
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _one_sense(self) -> LinearConstraint:
        if self.equals is not None and (self.min is not None or self.max is not None):
            raise ValueError("give equals:, or min: and/or max:, not both")
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError("give equals: (e.g. 1 for a mixture), or min: and/or max:")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g}); swap them")
        if not any(self.terms.values()):
            raise ValueError("every coefficient in terms: is 0; give at least one that is not")
        return self


class OutcomeConstraint(Strict):
    """A threshold on a reading: an experiment outside it is infeasible."""

    kind: Literal["outcome"]
    expression: str = Field(description="a reading or an expression over readings")
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _bounded(self) -> OutcomeConstraint:
        if self.min is None and self.max is None:
            raise ValueError("give min: and/or max: for the outcome")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"min ({self.min:g}) is above max ({self.max:g}), so every experiment would be "
                "infeasible; swap them"
            )
        return self


Constraint = Annotated[LinearConstraint | OutcomeConstraint, Field(discriminator="kind")]
register_tag("linear", LinearConstraint)
register_tag("outcome", OutcomeConstraint)


_UNIT_WORDS = {
    1.0: ("s", "sec", "secs", "second", "seconds"),
    60.0: ("m", "min", "mins", "minute", "minutes"),
    3600.0: ("h", "hr", "hrs", "hour", "hours"),
    86400.0: ("d", "day", "days"),
}
_UNITS = {word: secs for secs, words in _UNIT_WORDS.items() for word in words}
_PART = r"([0-9]*\.?[0-9]+)\s*([a-z]*)"


def parse_duration(v: Any) -> float:
    """Seconds from a number or a string such as '90', '30 min', '2 hours', '1h30m', '1.5 d'."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        text = v.strip().lower()
        parts = re.findall(_PART + r"\s*", text)
        if parts and re.fullmatch(rf"(?:{_PART}\s*)+", text):
            units = [u for _, u in parts]
            if all(u in ("", *_UNITS) for u in units) and (len(parts) == 1 or all(units)):
                return sum(float(n) * _UNITS.get(u, 1.0) for n, u in parts)
    raise ValueError(
        f"{v!r} is not a duration; write seconds, or e.g. '30 min', '2h', '2 hours', '1h30m', '1 d'"
    )


class Budget(Strict):
    experiments: Count = Field(ge=1, description="completed (done + failed) experiments")
    wall_time: Number | None = Field(
        default=None,
        gt=0,
        description="seconds, or '2h': time spent running (run and resume), not paused",
    )

    @field_validator("wall_time", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)


class StopRules(Strict):
    target: Number | None = Field(
        default=None, description="stop once the (first) objective reaches this value"
    )
    no_improvement: Count | None = Field(
        default=None, ge=1, description="stop after this many experiments without improvement"
    )


class OptimizerSettings(Strict):
    model: Literal["GP", "RF", "ET", "GBRT", "random"] = "GP"
    engine: Literal["fast", "skopt"] = Field(
        default="fast",
        description="for model GP: Genesis Lab's fast GP engine, or plain scikit-optimize",
    )
    acquisition: Literal["EI", "PI", "LCB", "gp_hedge"] = "EI"
    initial_points: Count = Field(default=8, ge=1, le=100_000)
    initial_design: Literal["random", "sobol", "lhs"] = "sobol"
    center_point: StrictBool = Field(
        default=True,
        description=(
            "the last initial experiment sits at the middle of every numeric range "
            "(decision 15); false: every initial point comes from the design"
        ),
    )
    exploration: Number = Field(
        default=0.0,
        ge=0,
        le=100,
        description="more exploration when larger, typically 0-1 (xi for EI/PI, kappa for LCB)",
    )
    batch_size: Count = Field(default=1, ge=1, description="proposals requested at once")
    novelty: Number = Field(
        default=0.6,
        ge=0,
        le=10,
        description=(
            "finite spaces (up to 100,000 points), fast GP engine, EI or PI: each categorical "
            "(one-hot, no descriptors) whose choice is untried multiplies a candidate's "
            "expected improvement by e^novelty (decision 19); 0: off"
        ),
    )

    @model_validator(mode="after")
    def _hedge_needs_skopt(self) -> OptimizerSettings:
        if self.acquisition == "gp_hedge" and self.model == "GP" and self.engine == "fast":
            raise ValueError(
                "acquisition gp_hedge (scikit-optimize's portfolio of EI, PI and LCB) needs "
                "engine: skopt; the fast GP engine takes EI, PI or LCB"
            )
        return self


class Confirmation(Strict):
    """After the budget: re-run the best point to confirm it."""

    replicates: Count = Field(default=3, ge=2, le=100)
    level: Number = Field(default=0.95, gt=0.5, lt=1.0, description="confidence level")


class CampaignSpec(Strict):
    name: str
    description: str = ""
    lab: str = Field(description="path of the lab file, relative to this campaign file")
    seed: Count = Field(default=0, ge=0, description="seeds the design and the model")
    parameters: list[Parameter] = Field(min_length=1)
    measure: list[str] = Field(min_length=1, description="devices triggered and read")
    objectives: list[Objective] = Field(min_length=1)
    budget: Budget
    stop: StopRules = Field(default_factory=StopRules)
    optimizer: OptimizerSettings = Field(default_factory=OptimizerSettings)
    constraints: list[Constraint] = Field(default_factory=list)
    confirm: Confirmation | None = Field(
        default=None, description="after the budget, re-run the best point k times"
    )
    settle_time: Number = Field(default=0.0, ge=0, description="seconds to wait after moving")
    retries: Count = Field(
        default=2, ge=0, description="retries of an infrastructure fault (timeout, disconnect)"
    )
    interrupted: Literal["requeue", "drop"] = Field(
        default="requeue",
        description="an experiment cut short by a crash or Ctrl-C: run it again, or drop it",
    )
    max_consecutive_failures: Count = Field(
        default=5, ge=1, description="stop the campaign after this many failures in a row"
    )

    @property
    def devices(self) -> list[str]:
        """The lab devices the campaign uses: those it moves, then those it measures (once each)."""
        moved = [p.device.split(".")[0] for p in self.parameters]
        return list(dict.fromkeys([*moved, *self.measure]))

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v):
            raise ValueError("use letters, digits, '.', '_' and '-' (it names the output folder)")
        return v

    @model_validator(mode="after")
    def _unique_names(self) -> CampaignSpec:
        for what, names in (
            ("parameters", [p.name for p in self.parameters]),
            ("objectives", [o.name for o in self.objectives]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{what}: names must be unique; repeated: {', '.join(dup)}")
        by_name = {p.name: p for p in self.parameters}
        for i, c in enumerate(self.constraints):
            if c.kind != "linear":
                continue
            for name in c.terms:
                p = by_name.get(name)
                if p is None:
                    raise ValueError(
                        f"constraints[{i}].terms: unknown parameter {name!r}; "
                        f"the campaign has {list(by_name)}"
                    )
                if not isinstance(p, FloatParameter) or p.prior != "uniform":
                    raise ValueError(
                        f"constraints[{i}].terms: {name!r} must be a float "
                        "parameter with a uniform prior to appear in a linear "
                        "constraint"
                    )
        if (
            any(c.kind == "linear" for c in self.constraints)
            and self.optimizer.model not in ("GP", "random")
            or (
                any(c.kind == "linear" for c in self.constraints)
                and self.optimizer.model == "GP"
                and self.optimizer.engine == "skopt"
            )
        ):
            raise ValueError(
                "optimizer: linear input constraints need model: GP (the fast "
                "engine) or model: random"
            )
        targets = [p.device for p in self.parameters if p.device]
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            raise ValueError(f"parameters: two parameters drive the same component: {dup}")
        if any(c.kind == "linear" for c in self.constraints):
            self._check_linear_feasible()
        refs = [o.name for o in self.objectives if o.reference is not None]
        if refs and len(refs) < len(self.objectives):
            missing = [o.name for o in self.objectives if o.reference is None]
            raise ValueError(
                f"objectives: give reference: for every objective or for none (the hypervolume "
                f"needs all of them); missing for {', '.join(missing)}"
            )
        return self

    def _check_linear_feasible(self) -> None:
        """The linear constraints leave a region to search within the parameters' bounds."""
        from ..agent._gp_space import Polytope
        from ..agent.space import Space

        space = Space(self.parameters)
        which = ", ".join(
            f"constraints[{i}]" for i, c in enumerate(self.constraints) if c.kind == "linear"
        )
        try:
            poly = Polytope(space.unit_dim, *space.linear_constraints(self.constraints))
        except ValueError:
            raise ValueError(
                f"constraints: the linear constraints ({which}) cannot all hold within the "
                "parameters' bounds; change their values or widen the bounds"
            ) from None
        if poly.zdim == 0:
            raise ValueError(
                f"constraints: the linear constraints ({which}) leave a single point within the "
                "parameters' bounds, so there is nothing to optimize; remove a constraint or "
                "widen the bounds"
            )


def load_campaign(path: str | Path) -> tuple[CampaignSpec, str]:
    """Load and validate a campaign file. Returns the spec and the exact file text."""
    p = Path(path)
    data, text = load_yaml(p, "campaign")
    if "devices" in data and "parameters" not in data:
        raise SpecError(
            f"campaign file {p}",
            "this looks like a lab file (it has 'devices' and no 'parameters'); give the "
            "campaign file, whose 'lab:' names this one",
        )
    return validate(CampaignSpec, data, f"campaign file {p}"), text
