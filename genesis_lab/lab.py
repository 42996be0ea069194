"""A lab built from its lab file: device instances, the safety envelope, reading names."""

from __future__ import annotations

import importlib
import inspect
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devices.safety import Limit, SafetyEnvelope, guard

from .errors import InstrumentUnavailable, SpecError
from .spec import CampaignSpec, CategoricalParameter, LabSpec, LimitSpec

__all__ = ["Lab", "import_object"]


def import_object(path: str) -> Any:
    """Import ``package.module.Name`` (or ``package.module:Name``)."""
    if ":" in path:
        mod_name, _, attr = path.partition(":")
    else:
        mod_name, _, attr = path.rpartition(".")
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Lab:
    """The instruments of one lab file, instantiated and guarded."""

    def __init__(
        self,
        spec: LabSpec,
        source: str,
        *,
        time_scale: float | None = None,
        base_dir: Path | None = None,
    ):
        self.spec = spec
        self.source = source
        self.time_scale = spec.time_scale if time_scale is None else time_scale
        self.devices: dict[str, Any] = {}
        limits: dict[str, Limit] = {}
        problems: list[str] = []
        for name, dspec in spec.devices.items():
            where = f"devices.{name}"
            try:
                cls = import_object(dspec.class_)
            except (ImportError, AttributeError, ValueError) as exc:
                problems.append(
                    f"{where}.class: cannot import {dspec.class_!r} ({exc}); write "
                    "module.Class, with the module installed or its folder on PYTHONPATH "
                    "(the lab file's folder is not searched)"
                )
                continue
            kwargs = dict(dspec.kwargs)
            accepted = _keywords(cls)
            if "time_scale" not in kwargs and "time_scale" in accepted:
                kwargs["time_scale"] = self.time_scale
            if "base_dir" not in kwargs and "base_dir" in accepted and base_dir is not None:
                kwargs["base_dir"] = str(base_dir)  # relative data paths: from the lab file
            kwargs, wrong = _typed_kwargs(cls, kwargs)
            if wrong:
                problems.extend(f"{where}.kwargs.{why}" for why in wrong)
                continue
            try:
                device = cls(name=name, **kwargs)
            except Exception as exc:
                hint = ""
                unknown = "unexpected keyword argument" in str(exc)
                if isinstance(exc, TypeError) and unknown and accepted:
                    hint = f"; {dspec.class_} takes: {', '.join(accepted)}"
                problems.append(f"{where}.kwargs: {dspec.class_} rejected them: {exc}{hint}")
                continue
            self.devices[name] = device
            settables = tuple(getattr(device, "settables", ()))
            limit_specs = dict(dspec.limits)
            if getattr(device, "virtual", False) and hasattr(device, "default_limits"):
                # nothing physical moves: the data's own domain is the envelope
                for comp, lim in device.default_limits().items():
                    limit_specs.setdefault(comp, LimitSpec.model_validate(lim))
            for comp in settables:
                if comp not in limit_specs:
                    problems.append(
                        f"{where}.limits: no limit for settable {comp!r}; add "
                        f"limits.{comp}: [min, max]"
                    )
            for comp, lim in limit_specs.items():
                obj = _component(device, comp)
                why = _not_settable(device, comp, obj, settables)
                if why:
                    allowed = ", ".join(c for c in settables if c != comp)
                    allowed = allowed or "its settable components"
                    problems.append(
                        f"{where}.limits.{comp}: {name} has no settable {comp!r} ({why}); "
                        f"use {allowed}"
                    )
                    continue
                rng = _physical_range(device, comp)
                if rng and lim.choices is None and (lim.min < rng[0] or lim.max > rng[1]):
                    problems.append(
                        f"{where}.limits.{comp}: [{lim.min:g}, {lim.max:g}] goes beyond what the "
                        f"instrument can do [{rng[0]:g}, {rng[1]:g}]; narrow it"
                    )
                    continue
                if rng and lim.choices is not None:
                    bad = [
                        c
                        for c in lim.choices
                        if isinstance(c, str) or not rng[0] <= float(c) <= rng[1]
                    ]
                    if bad:
                        problems.append(
                            f"{where}.limits.{comp}: choices {bad} are not numbers the "
                            f"instrument can take [{rng[0]:g}, {rng[1]:g}]; remove them"
                        )
                        continue
                if lim.choices is not None:
                    limit = Limit(choices=tuple(lim.choices))
                else:
                    limit = Limit(lim.min, lim.max, lim.max_step, tuple(map(tuple, lim.forbidden)))
                limits[f"{name}.{comp}"] = limit
                guard(obj, f"{name}.{comp}", limit)
        if problems:
            raise SpecError(source, problems)
        self.envelope = SafetyEnvelope(limits)

    # ------------------------------------------------------------ lookup
    def component(self, target: str) -> Any:
        dev, _, comp = target.partition(".")
        return _component(self.devices[dev], comp)

    def positions(self, targets: Iterable[str]) -> dict[str, float]:
        """Current setpoints of numeric settables (for the max-step and path checks); NaN
        where a numeric settable's position cannot be read."""
        out = {}
        for t in targets:
            limit = self.envelope.limits.get(t)
            if limit is not None and limit.choices is not None:
                continue
            try:
                obj = self.component(t)
                out[t] = float(obj.position if hasattr(obj, "position") else obj.get())
            except Exception:
                out[t] = math.nan
        return out

    def reading_keys(self, device_names: Iterable[str]) -> dict[str, str]:
        """Accepted names of every reading of these devices -> data key.

        ``reactor.yield_pct`` and ``reactor_yield_pct`` both map to the
        event's data key.
        """
        keys: dict[str, str] = {}
        for name in device_names:
            dev = self.devices[name]
            for attr in getattr(dev, "read_attrs", []) or []:
                sig = getattr(dev, attr)
                if hasattr(sig, "read_attrs") and sig.read_attrs:
                    continue  # a sub-device: its own signals are listed too
                keys[f"{name}.{attr}"] = sig.name
                keys[sig.name] = sig.name
            if not getattr(dev, "read_attrs", None):  # a bare signal
                keys[name] = dev.name
        return keys

    def campaign_notes(self, campaign: CampaignSpec) -> list[str]:
        """Warnings about a valid campaign on this lab: a forbidden region inside a parameter's
        range cuts the range in two, since no move crosses one."""
        notes = []
        for i, p in enumerate(campaign.parameters):
            lim = self.envelope.limits.get(p.device)
            if isinstance(p, CategoricalParameter) or lim is None or not lim.forbidden:
                continue
            lo, hi = p.bounds
            inside = [(a, b) for a, b in sorted(lim.forbidden) if lo < b and a < hi]
            for a, b in inside:
                notes.append(
                    f"parameters[{i}] ({p.name}): the forbidden region [{a:g}, {b:g}] of "
                    f"{p.device} lies inside its range [{lo:g}, {hi:g}]; no move crosses a "
                    "forbidden region, so the instrument stays on the side where it starts "
                    "and proposals on the other side are refused. Narrow the bounds to one side"
                    " (or run one campaign per side)"
                )
        return notes

    def check_campaign(self, campaign: CampaignSpec, source: str) -> None:
        """Raise SpecError listing every mismatch between a campaign and this lab."""
        problems: list[str] = []
        have = ", ".join(self.devices)
        for i, p in enumerate(campaign.parameters):
            where = f"parameters[{i}] ({p.name})"
            dev, _, comp = p.device.partition(".")
            if dev not in self.devices:
                problems.append(f"{where}.device: unknown device {dev!r}; the lab has: {have}")
                continue
            if p.device not in self.envelope:
                settable = [t for t in self.envelope.limits if t.startswith(dev + ".")]
                problems.append(
                    f"{where}.device: {p.device!r} is not a settable with limits in the lab file; "
                    f"use one of: {', '.join(settable) or '(none)'}"
                )
                continue
            lim = self.envelope.limits[p.device]
            if isinstance(p, CategoricalParameter):
                if lim.choices is not None:
                    bad = [c for c in p.choices if not lim.allows_choice(c)]
                    if bad:
                        problems.append(
                            f"{where}.choices: {bad} are not allowed for {p.device} by "
                            f"{self.source}; allowed: {list(lim.choices)}"
                        )
                else:  # choices of a settable with numeric limits: each must be settable
                    refused = [f"{c!r}: {why}" for c in p.choices if (why := lim.violation(c))]
                    if refused:
                        problems.append(
                            f"{where}.choices: {p.device} would refuse "
                            f"{'; '.join(refused)} (limits in {self.source}); remove them, or "
                            "give values within the limits"
                        )
                continue
            if lim.choices is not None:
                problems.append(
                    f"{where}.type: {p.device} takes one of {list(lim.choices)}; "
                    "make the parameter categorical"
                )
                continue
            lo, hi = p.bounds
            if lo < lim.low or hi > lim.high:
                problems.append(
                    f"{where}.bounds: [{lo:g}, {hi:g}] goes outside the hard limits of "
                    f"{p.device} [{lim.low:g}, {lim.high:g}] in {self.source}; narrow the bounds"
                )
            elif region := lim.forbids_all_of(lo, hi):
                problems.append(
                    f"{where}.bounds: all of [{lo:g}, {hi:g}] is inside the forbidden region "
                    f"[{region[0]:g}, {region[1]:g}] of {p.device} in {self.source}, so every "
                    "proposal would be refused; give bounds outside it"
                )
        for i, name in enumerate(campaign.measure):
            if name not in self.devices:
                problems.append(f"measure[{i}]: unknown device {name!r}; the lab has: {have}")
        if problems:
            raise SpecError(source, problems)

    def connect(self, names: Iterable[str], timeout: float = 5.0) -> None:
        """Wait until every named device that has a connection (EPICS, say) is connected.

        Raises InstrumentUnavailable naming each device that is not, before anything is
        recorded or moved; simulated devices are always connected.
        """
        missing = []
        deadline = time.monotonic() + timeout  # one wait for all, not one per device
        for name in dict.fromkeys(names):
            dev = self.devices[name]
            if not hasattr(dev, "wait_for_connection"):
                continue
            try:
                dev.wait_for_connection(timeout=max(0.1, deadline - time.monotonic()))
            except Exception as exc:
                missing.append(f"{name}: {type(exc).__name__}: {exc}")
        if missing:
            raise InstrumentUnavailable(
                f"cannot connect to {len(missing)} instrument(s) of {self.source} within "
                f"{timeout:g} s:\n  - " + "\n  - ".join(missing) + "\nIs the IOC or driver "
                "running and reachable (EPICS_CA_ADDR_LIST)? 'genesis-lab devices LAB' checks "
                "every instrument; nothing was recorded"
            )
        problems = self.reported_range_problems(names)
        if problems:
            if self.source.startswith("lab manifest"):  # resume: the stored copy is used
                problems.append(
                    "the campaign was run with these limits; start a new campaign with a "
                    "corrected lab file"
                )
            raise SpecError(self.source, problems)

    def disconnected(self, names: Iterable[str]) -> list[str]:
        """The named devices that report a lost connection (ophyd's ``connected`` is False):
        a local check of connection state, no network traffic."""
        out = []
        for name in dict.fromkeys(names):
            try:
                up = getattr(self.devices[name], "connected", True)
            except Exception:
                up = False
            if up is False:
                out.append(name)
        return out

    def reported_range_problems(self, names: Iterable[str]) -> list[str]:
        """Limits wider than what a connected instrument reports it can do (an EPICS PV's
        control limits), one line each; the simulated twins are checked at load time."""
        problems = []
        for target, limit in self.envelope.limits.items():
            dev, _, comp = target.partition(".")
            if dev not in names or limit.choices is not None:
                continue
            obj = self.component(target)
            try:
                desc = next(iter(obj.describe().values()))
                lo, hi = float(desc["lower_ctrl_limit"]), float(desc["upper_ctrl_limit"])
            except Exception:
                continue  # reports no range
            if lo < hi and (limit.low < lo or limit.high > hi):
                problems.append(
                    f"devices.{dev}.limits.{comp}: [{limit.low:g}, {limit.high:g}] goes beyond "
                    f"what the instrument reports it can do [{lo:g}, {hi:g}] (its control "
                    "limits); narrow it"
                )
        return problems

    def close(self) -> None:
        for dev in self.devices.values():
            try:
                dev.destroy()
            except Exception:
                pass


def _keywords(cls: type) -> list[str]:
    """The keyword arguments a device class documents (its own and a simulator's)."""
    names = set(getattr(cls, "_SIM_KWARGS", ()) or ())
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        params = []
    names |= {
        p.name
        for p in params
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("self", "name")
    }
    return sorted(names)


def _annotated_parameters(func: Any) -> dict[str, tuple[Any, str]]:
    """``{name: (type, type as written)}`` of the annotated keyword parameters of ``func``
    (a class: its constructor); empty when they cannot be resolved."""
    import typing

    try:
        params = inspect.signature(func).parameters
        hints = typing.get_type_hints(func.__init__ if inspect.isclass(func) else func)
    except Exception:  # unresolvable annotations: the constructor checks its own values
        return {}
    out = {}
    for p in params.values():
        if p.name in hints and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            written = p.annotation if isinstance(p.annotation, str) else None
            out[p.name] = (hints[p.name], written or getattr(hints[p.name], "__name__", ""))
    return out


def _typed_kwargs(cls: type, kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The lab-file kwargs converted to the types the device's constructor (or, for a
    simulated twin, its simulator's) declares, and ``key: why`` for each that cannot be.

    Checked when the lab is built, so that ``check`` and ``devices`` name a ``move_timeout:
    ten`` instead of every experiment failing at run time.  A value already of its type is
    passed exactly as written; otherwise pydantic's lax mode converts it: ``"10"`` and
    ``1e-3`` (which YAML reads as text) become numbers, a list a tuple, a string a ``Path``.
    Values of undeclared or ``Any`` parameters are passed as written."""
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    declared = _annotated_parameters(cls)
    sim = getattr(cls, "simulator_class", None)
    if sim is not None:
        for key, typ in _annotated_parameters(sim).items():
            if key in (getattr(cls, "_SIM_KWARGS", ()) or ()):
                declared.setdefault(key, typ)
    out, problems = dict(kwargs), []
    for key, value in kwargs.items():
        if key not in declared or declared[key][0] is Any:
            continue
        typ, written = declared[key]
        try:
            adapter = TypeAdapter(typ, config=ConfigDict(arbitrary_types_allowed=True))
        except Exception:  # a type pydantic cannot check: the constructor will
            continue
        try:
            adapter.validate_python(value, strict=True)
            continue  # already of its type: passed exactly as written
        except ValidationError:
            pass
        try:
            out[key] = adapter.validate_python(value)
        except ValidationError:
            problems.append(f"{key}: {cls.__name__} expects {written}, not {value!r}")
    return out, problems


def _component(device: Any, path: str) -> Any:
    obj = device
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _not_settable(device: Any, comp: str, obj: Any, settables: tuple[str, ...]) -> str | None:
    """Why ``device.comp`` cannot take a limit (None when it can): the controller moves
    only the settables a device declares, and only through a working ``set``."""
    from ophyd.signal import EpicsSignalRO, SignalRO

    if obj is None:
        return "no such component"
    if settables and comp not in settables:
        return "not among the settables the device declares"
    names = getattr(device, "component_names", None)
    if not settables and names is not None and comp.split(".")[0] not in names:
        return "not an ophyd component of the device"
    if not callable(getattr(obj, "set", None)) or isinstance(obj, SignalRO | EpicsSignalRO):
        return "a reading, not settable"
    return None


def _physical_range(device: Any, comp: str) -> tuple[float, float] | None:
    sim = getattr(device, "simulator", None)
    spec = getattr(sim, "INPUTS", {}).get(comp) if sim is not None else None
    return (spec.low, spec.high) if spec is not None else None
