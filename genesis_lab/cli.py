"""The ``genesis-lab`` command line.

Every command is ``main(argv) -> exit status``, so tests call it directly.
Results go to stdout (``--json`` for machines); progress and messages to
stderr. Exit status: 0 done, 1 an instrument or run failure, 2 bad input
(with a message naming the file, the field and the fix; no traceback),
130 interrupted by Ctrl-C (the campaign can be resumed).
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import GenesisError, UserError, storage_problem, store_failure_text

__all__ = ["main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

QUIET_HELP = "no progress on stderr (errors and how to resume still show)"
VERBOSE_HELP = "show bluesky's own log messages and notes ('Pausing...', 'Aborting...')"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="genesis-lab",
        description="Closed-loop Bayesian optimization of experiments, run by bluesky.",
    )
    p.add_argument("--version", action="version", version=f"genesis-lab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run a campaign file")
    r.add_argument("campaign", help="campaign YAML file")
    r.add_argument("--out", help="campaign directory to create (default: runs/NAME-TIME)")
    r.add_argument(
        "--max-experiments",
        type=_positive_int,
        metavar="N",
        help="budget of completed experiments (overrides the file)",
    )
    r.add_argument(
        "--seed", type=_non_negative_int, metavar="N", help="seed, 0 or more (overrides the file)"
    )
    r.add_argument(
        "--time-scale",
        type=_non_negative_float,
        metavar="X",
        help="simulated latencies x X (overrides the lab file; 0 = instant)",
    )
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    r.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)

    c = sub.add_parser(
        "check", help="validate a campaign file and its lab file without running anything"
    )
    c.add_argument("campaign", help="campaign YAML file")
    c.add_argument("--json", action="store_true", help="print the summary as JSON")

    rs = sub.add_parser("resume", help="continue an interrupted campaign")
    rs.add_argument("dir", help="campaign directory")
    rs.add_argument(
        "--time-scale",
        type=_non_negative_float,
        metavar="X",
        help="simulated latencies x X (default: the value the campaign was run with)",
    )
    rs.add_argument(
        "--interrupted",
        choices=["requeue", "drop"],
        help="the experiment a crash cut short: run it again or drop it (default: the "
        "campaign's interrupted: setting, requeue); a later Ctrl-C follows that setting",
    )
    rs.add_argument(
        "--max-experiments",
        type=_positive_int,
        metavar="N",
        help="a new budget of completed experiments, e.g. to go on after the budget was "
        "reached (at least the number already completed)",
    )
    rs.add_argument("--json", action="store_true", help="print the summary as JSON")
    rs.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    rs.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)

    s = sub.add_parser("status", help="counts and best experiment of a campaign")
    s.add_argument("dir", help="campaign directory")
    s.add_argument(
        "--json", action="store_true", help="everything, including the Pareto set, as JSON"
    )

    e = sub.add_parser("export", help="write the experiments of a campaign")
    e.add_argument("dir", help="campaign directory")
    e.add_argument("--csv", required=True, metavar="FILE", help="CSV file to write ('-' = stdout)")

    bk = sub.add_parser("backup", help="copy a campaign folder safely, even while it runs")
    bk.add_argument("dir", help="campaign directory")
    bk.add_argument("dest", help="new or empty directory for the copy")

    sh = sub.add_parser("show", help="one experiment's full record and documents")
    sh.add_argument("dir", help="campaign directory")
    sh.add_argument("experiment", type=_positive_int, help="experiment number (1, 2, ...)")
    sh.add_argument("--json", action="store_true", help="the record and documents as JSON")

    d = sub.add_parser("devices", help="connect every instrument of a lab and read it once")
    d.add_argument("lab", help="lab YAML file")
    d.add_argument("--json", action="store_true", help="the table as JSON")
    d.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="S",
        help="seconds to wait for each connection and reading (default 5)",
    )
    m = sub.add_parser("suggest", help="add your own experiment to a running or paused campaign")
    m.add_argument("dir", help="campaign directory")
    m.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        required=True,
        help="a parameter value (repeat for each parameter)",
    )
    m.add_argument(
        "--result",
        action="append",
        default=[],
        metavar="OBJECTIVE=VALUE",
        help="already measured elsewhere: record it as done with these objectives",
    )
    verdict = m.add_mutually_exclusive_group()
    verdict.add_argument(
        "--feasible",
        action="store_true",
        help="with --result: the measurement met the campaign's outcome constraints (required "
        "when it has any, which --result cannot check)",
    )
    verdict.add_argument(
        "--infeasible",
        action="store_true",
        help="measured elsewhere and infeasible (an outcome constraint broken, or no product): "
        "the agent learns to avoid the point; --result is then optional",
    )
    m.add_argument("--json", action="store_true", help="print the recorded experiment as JSON")

    b = sub.add_parser("bench", help="benchmark the agent against scikit-optimize and random")
    b.add_argument(
        "suite",
        nargs="?",
        default="quick",
        choices=["quick", "full"],
        help="quick (default: every group but only Buchwald A, 5 seeds, ~3.5 min) or full "
        "(all five Buchwald datasets, 10 seeds, ~25 min)",
    )
    b.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    b.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    b.add_argument(
        "--seeds",
        type=_seed_range,
        metavar="A-B",
        help="run seeds A to B (inclusive; 'N' alone means 0 to N-1) instead of the suite's "
        "0-4 (quick) or 0-9 (full), e.g. held-out seeds 10-209; latency rows are unaffected",
    )
    b.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=BENCH_ROWS,
        help="run only these rows (repeat for several): " + ", ".join(BENCH_ROWS),
    )
    for command in sub.choices.values():
        command.allow_abbrev = False  # --js is not --json: a typo is named, not guessed
    p.allow_abbrev = False
    p.set_defaults(_commands=sub.choices)
    return p


BENCH_ROWS = [
    "latency",
    "branin",
    "hartmann6",
    "buchwald",
    *(f"buchwald_{x}" for x in "abcde"),
    "reactor",
    "pareto",
    "overhead",
]


def check_writable(path: str, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    if not path:
        raise UserError(f"{flag}: give a file name")
    if path == "-" and flag != "--csv":
        raise UserError(f"{flag} -: give a file name (the table goes to stdout)")
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    example = {"--json": "out.json", "--markdown": "out.md", "--csv": "out.csv"}.get(flag, "out")
    if target.is_dir():
        raise UserError(f"{flag} {path}: is a directory; give a file name, e.g. {target / example}")
    _refuse_precious(target, flag, example)
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{flag} {path}: {parent} is a file, not a directory")
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: the directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UserError(f"{flag} {path}: not writable; choose another place")
    # os.access says yes to root everywhere, /proc and /sys included: try it
    existed = target.exists()
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UserError(
            f"{flag} {path}: cannot be written ({exc.strerror or exc}); choose another place"
        ) from None
    if not existed:
        target.unlink(missing_ok=True)


CAMPAIGN_FILES = ("campaign.yaml", "lab.yaml", "driver.lock")
PRECIOUS_SUFFIXES = (".sqlite", ".sqlite-wal", ".sqlite-shm", ".db", ".yaml", ".yml")


def _refuse_precious(target: Path, flag: str, example: str) -> None:
    """An output must never overwrite a campaign's own files, or an existing database or YAML
    file (a campaign or lab file): ``export --csv DIR/ledger.sqlite`` would destroy the
    campaign."""
    from .ledger import STORE_FILE, Ledger

    name = target.name
    own = name in CAMPAIGN_FILES or name.startswith(STORE_FILE)
    if own and Ledger.is_campaign(target.parent):
        raise UserError(
            f"{flag} {target}: that is one of the campaign's own files; writing there would "
            f"destroy the campaign. Write outside the campaign folder, e.g. {example}"
        )
    if target.is_file() and name.lower().endswith(PRECIOUS_SUFFIXES):
        raise UserError(
            f"{flag} {target}: an existing {target.suffix} file, which this would overwrite; "
            f"give a new file name, e.g. {example}"
        )


def _seed_range(text: str) -> tuple[int, int]:
    """An argparse type: 'A-B' (inclusive, 0 <= A <= B) or 'N' (0 to N-1, N >= 1)."""
    first, dash, last = text.strip().partition("-")
    try:
        lo, hi = (int(first), int(last)) if dash else (0, int(first) - 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed range; give A-B (e.g. 10-209) or a count N"
        ) from None
    if lo < 0 or hi < lo:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give 0 <= A <= B for A-B, or a count of 1 or more"
        )
    return lo, hi


def _int_at_least(low: int):
    """An argparse type: a whole number, ``low`` or more."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{v} must be {low} or more")
        if v >= 2**63:
            raise argparse.ArgumentTypeError(f"{v} is too large")
        return v

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < v <= 86400:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 and at most 86400 s")
    return v


def _non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= v < float("inf"):
        raise argparse.ArgumentTypeError(f"{v} must be a finite number, 0 or more")
    return v


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(None if argv is None else [str(a) for a in argv])
        if extra:  # named by the command's own parser, with its usage, not the top level's
            args._commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse already printed the usage and the problem
        return int(exc.code or 0) and EXIT_USAGE
    if not getattr(args, "verbose", False):
        # failed runs are recorded in the ledger with their error; bluesky's own
        # tracebacks of them would only drown the progress
        logging.getLogger("bluesky").setLevel(logging.CRITICAL)
    try:
        from . import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except UserError as exc:
        print(f"genesis-lab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GenesisError as exc:
        print(f"genesis-lab {args.command}: failed: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("genesis-lab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `genesis-lab status DIR --json | head` (an OSError too)
        _stdout_to_devnull()
        return EXIT_OK
    except (sqlite3.OperationalError, OSError) as exc:
        message = _storage_failure(exc, args)
        if message is None:
            raise
        print(f"genesis-lab {args.command}: failed: {message}", file=sys.stderr)
        return EXIT_FAIL


def _storage_failure(exc: BaseException, args: argparse.Namespace) -> str | None:
    """The message for a campaign folder that cannot be written (full disk, read-only
    mount, no permission), or None for any other error: a file error elsewhere is not
    the store's."""
    problem = storage_problem(exc)
    folder = getattr(args, "dir", None) or getattr(args, "out", None)
    filename = getattr(exc, "filename", None)
    if problem is None or (
        isinstance(exc, OSError)
        and not isinstance(exc, sqlite3.Error)
        and not (folder and filename and str(filename).startswith(str(folder)))
    ):
        return None
    why, fix = problem
    return store_failure_text(folder, why, fix, exc, resumable=args.command in ("run", "resume"))


def _stdout_to_devnull() -> None:
    """The reader of stdout went away: send the rest (and the exit flush) nowhere."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def emit(write: Callable[[], object]) -> None:
    """Write a command's result to stdout; a reader that went away (``| head``) is not an
    error, and must not change the exit status the command has already decided on."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()


def write_json(obj: Any) -> None:
    """Standard JSON on stdout (no NaN or Infinity: they are written as null)."""
    from .ledger import to_json

    sys.stdout.write(to_json(obj, indent=2) + "\n")


def write_csv(rows: list[dict[str, Any]], target: str) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    if target != "-":
        check_writable(target, "--csv")
    if target == "-":
        w = csv.DictWriter(sys.stdout, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
        return
    try:
        with open(target, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
    except OSError as exc:
        raise UserError(
            f"--csv {target}: could not be written ({exc.strerror or exc}); choose another place"
        ) from None


def default_out(name: str) -> Path:
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
