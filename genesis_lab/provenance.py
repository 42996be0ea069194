"""Provenance: what produced each experiment, so a reviewer can trace it."""

from __future__ import annotations

import hashlib
import json
import platform
import socket
from functools import cache
from importlib import metadata
from typing import Any

__all__ = ["software_versions", "lab_hash", "process_provenance", "static_provenance"]

_PACKAGES = (
    "genesis-lab",
    "bluesky",
    "ophyd",
    "scikit-optimize",
    "numpy",
    "scipy",
    "event-model",
)


@cache
def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def lab_hash(lab: Any) -> str:
    """SHA-256 of the lab's validated configuration (devices, kwargs, limits)."""
    spec = lab.spec.model_dump(mode="json", by_alias=True)
    spec["effective_time_scale"] = lab.time_scale
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def process_provenance() -> dict[str, Any]:
    """Where a record was made: the software versions and the host."""
    return {"software": software_versions(), "host": socket.gethostname()}


def static_provenance(lab: Any) -> dict[str, Any]:
    """The parts of provenance that do not change within a process."""
    return {"lab_hash": lab_hash(lab), **process_provenance()}
