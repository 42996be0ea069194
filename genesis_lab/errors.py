"""The exceptions of Genesis Lab, in one place.

Every error a user can cause by input (a campaign file, a lab file, a CLI
argument, a store directory) is a :class:`UserError`: the CLI prints its
message, without a traceback, and exits with status 2. Its message names the
file, the field and what to do next.
"""

from __future__ import annotations

__all__ = [
    "GenesisError",
    "UserError",
    "SpecError",
    "StoreError",
    "SafetyViolation",
    "ExperimentError",
]


class GenesisError(Exception):
    """Base class of every Genesis Lab exception."""


class UserError(GenesisError):
    """Bad input from the user. The CLI exits with status 2 and prints the message."""

    exit_code = 2


class SpecError(UserError):
    """A campaign or lab file is invalid.

    ``problems`` holds one line per problem, each naming the field and the fix.
    """

    def __init__(self, source: str, problems: list[str] | str):
        self.source = source
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: invalid\n{lines}")


class StoreError(UserError):
    """A campaign directory is missing, foreign, corrupt or already in use."""


class InstrumentUnavailable(GenesisError):
    """An instrument the campaign needs is not connected (the CLI exits with status 1)."""


class SafetyViolation(GenesisError):
    """A proposal breaks the lab's safety envelope; nothing was moved."""


class ExperimentError(GenesisError):
    """An experiment failed. ``retryable`` marks infrastructure faults."""

    def __init__(self, message: str, *, retryable: bool = False, scientific: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.scientific = scientific
