"""Shared fixtures for the simulator tests (test modules are named test_sim_* to
stay unique in the whole tests tree, which has no __init__.py files)."""

from __future__ import annotations

import pytest

from simulators import SIMULATORS


@pytest.fixture(params=sorted(SIMULATORS), ids=sorted(SIMULATORS))
def sim_cls(request):
    """Every registered simulator class."""
    return SIMULATORS[request.param]
