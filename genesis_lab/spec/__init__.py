"""Campaign and lab specifications: pydantic models loaded from YAML."""

from .campaign import (
    Budget,
    CampaignSpec,
    CategoricalParameter,
    FloatParameter,
    IntegerParameter,
    LinearConstraint,
    Objective,
    OptimizerSettings,
    OutcomeConstraint,
    Parameter,
    StopRules,
    load_campaign,
    parse_duration,
)
from .lab import DeviceSpec, LabSpec, LimitSpec, load_lab

__all__ = [
    "Budget",
    "CampaignSpec",
    "CategoricalParameter",
    "DeviceSpec",
    "FloatParameter",
    "IntegerParameter",
    "LabSpec",
    "LimitSpec",
    "LinearConstraint",
    "OutcomeConstraint",
    "Objective",
    "OptimizerSettings",
    "Parameter",
    "StopRules",
    "load_campaign",
    "load_lab",
    "parse_duration",
]
