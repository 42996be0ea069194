"""Recorded datasets served as instruments: :func:`DatasetInstrument`.

A lab file can use one with no Python written::

    devices:
      buchwald:
        class: devices.dataset.DatasetInstrument
        kwargs: {olympus: buchwald_a}   # or a path to the folder, relative to the lab file
      # or a CSV with a header:
      #   kwargs: {csv: data/runs.csv, parameters: [temp, time], measurements: [yield]}

Each parameter column becomes a settable component (categorical ones take the
recorded options), each measurement column a reading; names that are not
Python identifiers are adapted (``yield`` -> ``yield_``). Nothing physical
moves, so the instrument is *virtual*: its limits default to the dataset's own
domain when the lab file gives none. A combination the dataset never recorded
fails as a scientific (infeasible) experiment, with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ophyd import Component as Cpt
from ophyd import Device, Kind
from ophyd.signal import Signal
from ophyd.status import DeviceStatus, Status

from simulators.dataset import DatasetModel, olympus_datasets_dir, python_name

from .sim import SimReading, _in_thread

__all__ = ["DatasetInstrument", "DatasetDevice", "DatasetSetpoint"]


class DatasetSetpoint(Signal):
    """A settable parameter of a dataset instrument (a number or a recorded option)."""

    def __init__(self, *args: Any, column: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.column = column

    @property
    def _model(self) -> DatasetModel:
        return self.parent.model

    def get(self, **kwargs: Any) -> Any:
        return self._model.setpoints[self.column]

    def set(self, value: Any, *, timeout: float | None = None, settle_time: float = 0) -> Status:
        status = Status(obj=self, timeout=timeout, settle_time=settle_time)

        def work() -> None:
            self._model.set(self.column, value)
            Signal.put(self, self.get(), force=True)

        return _in_thread(status, work)

    def describe(self) -> dict[str, dict[str, Any]]:
        d = super().describe()
        spec = next(p for p in self._model.parameters if p.name == self.column)
        if spec.kind == "categorical":
            d[self.name].update(dtype="string", shape=[], choices=list(spec.options))
        else:
            d[self.name].update(
                dtype="number", shape=[], lower_ctrl_limit=spec.low, upper_ctrl_limit=spec.high
            )
        d[self.name]["source"] = f"DATASET:{self._model.source}:{self.column}"
        return d

    def read(self) -> dict[str, dict[str, Any]]:
        return {self.name: {"value": self.get(), "timestamp": self.timestamp}}


class DatasetReading(SimReading):
    def describe(self) -> dict[str, dict[str, Any]]:
        d = Signal.describe(self)
        d[self.name].update(
            dtype="number",
            shape=[],
            units="",
            source=f"DATASET:{self.parent.model.source}:{self.output_name}",
        )
        return d


class DatasetDevice(Device):
    """Base of the per-dataset device classes built by :func:`DatasetInstrument`."""

    settables: ClassVar[tuple[str, ...]] = ()
    simulated: ClassVar[bool] = True
    virtual: ClassVar[bool] = True  # nothing physical moves: limits default to the data
    model: DatasetModel

    def trigger(self) -> DeviceStatus:
        status = DeviceStatus(self)

        def work() -> None:
            values = self.model.measure()
            for column, value in values.items():
                getattr(self, python_name(column))._publish(value)

        return _in_thread(status, work)

    def default_limits(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for p in self.model.parameters:
            comp = python_name(p.name)
            if p.kind == "categorical":
                out[comp] = {"choices": list(p.options)}
            else:
                out[comp] = {"min": p.low, "max": p.high}
        return out

    def get_state(self) -> dict[str, Any]:
        return self.model.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self.model.set_state(state)
        for p in self.model.parameters:
            Signal.put(getattr(self, python_name(p.name)), self.model.setpoints[p.name], force=True)


def DatasetInstrument(  # noqa: N802 - used as a device class in lab files
    *,
    name: str,
    olympus: str | None = None,
    csv: str | None = None,
    parameters: list[str] | None = None,
    measurements: list[str] | None = None,
    categorical: list[str] | None = None,
    noise: float = 0.0,
    emulator: str = "rbf",
    seed: int = 0,
    time_scale: float = 0.0,
    measurement_time: float | None = None,
    base_dir: str | None = None,
) -> DatasetDevice:
    """Build the device for one dataset: give ``olympus`` (a folder) or ``csv``
    (with ``parameters`` and ``measurements`` naming its columns)."""
    if (olympus is None) == (csv is None):
        raise ValueError("give exactly one of olympus: (a dataset folder) or csv: (a file)")
    base = Path(base_dir) if base_dir else Path.cwd()
    opts = dict(
        noise=noise,
        emulator=emulator,
        seed=seed,
        time_scale=time_scale,
        measurement_time=measurement_time,
    )
    if olympus is not None:
        folder = _olympus_folder(base, olympus)
        if not (folder / "config.json").is_file():
            raise ValueError(
                f"{folder} has no config.json (an Olympus dataset folder has "
                "config.json and data.csv)"
            )
        model = DatasetModel.from_olympus(folder, **opts)
    else:
        if not parameters or not measurements:
            raise ValueError("a csv dataset needs parameters: [...] and measurements: [...]")
        path = _resolve(base, csv)  # type: ignore[arg-type]
        if not path.is_file():
            raise ValueError(f"{path} does not exist")
        model = DatasetModel.from_csv(path, parameters, measurements, categorical, **opts)
    components: dict[str, Any] = {}
    for p in model.parameters:
        components[python_name(p.name)] = Cpt(DatasetSetpoint, column=p.name, kind=Kind.hinted)
    for m in model.measurements:
        components[python_name(m)] = Cpt(DatasetReading, output_name=m, kind=Kind.hinted)
    cls = type(
        f"Dataset_{python_name(Path(model.source).stem or 'data')}",
        (DatasetDevice,),
        {
            "settables": tuple(python_name(p.name) for p in model.parameters),
            "__module__": __name__,
            **components,
        },
    )
    cls.model = model  # the class is private to this instrument
    return cls(name=name)


def _olympus_folder(base: Path, ref: str) -> Path:
    """``ref`` as a folder relative to the lab file, or else, when it is a bare name such as
    ``buchwald_a``, that dataset in :func:`olympus_datasets_dir`."""
    folder = _resolve(base, ref)
    if folder.is_dir():
        return folder
    bare = Path(ref).name == ref and ref not in ("", ".", "..")
    named = olympus_datasets_dir() / ref if bare else None
    if named is not None and named.is_dir():
        return named
    where = f"{folder} does not exist" + (f", nor does {named}" if named is not None else "")
    raise ValueError(
        f"olympus: {ref!r}: {where}. Give a dataset name found in the Olympus datasets folder "
        "(set GENESIS_DATASETS=DIR to where they are), or the path of a folder holding "
        "config.json and data.csv, relative to the lab file or absolute"
    )


def _resolve(base: Path, ref: str) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else (base / p).resolve()
