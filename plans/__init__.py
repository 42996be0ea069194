"""bluesky plans of Genesis Lab, built only from plan stubs and protocols."""

from .experiment import check_movable, check_readable, experiment

__all__ = ["check_movable", "check_readable", "experiment"]
