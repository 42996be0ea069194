"""The exceptions of Genesis Lab, in one place.

Every error a user can cause by input (a campaign file, a lab file, a CLI
argument, a store directory) is a :class:`UserError`: the CLI prints its
message, without a traceback, and exits with status 2. Its message names the
file, the field and what to do next.
"""

from __future__ import annotations

import errno
import sqlite3

__all__ = [
    "storage_problem",
    "store_failure_text",
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


def storage_problem(exc: BaseException) -> tuple[str, str] | None:
    """(what is wrong, the fix) when ``exc`` says a folder cannot be written: a full disk,
    a read-only mount, no permission; None for any other error."""
    code = getattr(exc, "errno", None)
    text = str(exc).lower()
    if not isinstance(exc, sqlite3.OperationalError | OSError):
        return None
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in text:
        return "the disk is full", "free some space"
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text:
        return "the folder is read-only or not writable", "make the folder writable"
    return None


def store_failure_text(
    folder: object, why: str, fix: str, exc: BaseException, *, resumable: bool
) -> str:
    """One message for a campaign store that could not be written, wherever it happened."""
    where = f" in {folder}" if folder else ""
    then = f"then 'genesis-lab resume {folder}'" if resumable and folder else "then try again"
    return (
        f"could not write the campaign store{where}: {why} ({type(exc).__name__}: {exc}); "
        f"{fix}, {then}. Everything recorded before is kept"
    )


def counted(n: int, noun: str) -> str:
    """``1 experiment``, ``3 experiments``: a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
