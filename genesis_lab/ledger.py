"""The campaign store: one directory, one SQLite file, written ahead of motion.

``DIR/ledger.sqlite`` holds
- ``meta``: schema version, campaign name, and the campaign and lab files
  exactly as they were run (the manifest);
- ``experiments``: one row per experiment, with its status
  (proposed → running → done | failed | aborted, or refused), parameters,
  objectives, readings, run uid, error, timings and provenance;
- ``documents``: every event-model document of every run, by run uid;
- ``log``: every status transition, with its time: the decision log.

SQLite runs in WAL mode with ``synchronous=FULL``; each transition is one
transaction, so a crash at any instant leaves the last committed state. Readers
(``status``, ``export``, ``show``) open the file read-only and never block the
writer. Everything is JSON: nothing is pickled.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError

try:  # POSIX; elsewhere a campaign directory is not locked against a second driver
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["Ledger", "Experiment", "STATUSES", "to_json"]

SCHEMA_VERSION = 1
STORE_FILE = "ledger.sqlite"
LOCK_FILE = "driver.lock"


def _holder(directory: Path) -> dict[str, Any] | None:
    """What driver.lock says about the process holding the lock (None when unreadable)."""
    try:
        info = json.loads((directory / LOCK_FILE).read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def _write_holder(directory: Path) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    try:  # informational only: the lock itself is on the directory
        (directory / LOCK_FILE).write_text(json.dumps(info), encoding="utf-8")
    except OSError:
        pass


def _lock_directory(directory: Path, patience: float = 1.0) -> int:
    """An fd of ``directory`` holding an exclusive flock; StoreError if another process holds it.

    Retries for ``patience`` seconds, because a reader (``status``) holds a shared lock for an
    instant while it checks.
    """
    assert fcntl is not None
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise StoreError(
            f"cannot open {directory} ({exc.strerror}); check its permissions"
        ) from None
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    os.close(fd)
    info = _holder(directory) or {}
    who = f" (process {info['pid']} on {info.get('host')})" if info.get("pid") else ""
    raise StoreError(
        f"{directory} is in use by another run or resume{who}; wait for it to finish, or stop "
        "it (Ctrl-C) and then 'genesis-lab resume' it"
    )


def _driver_of(directory: Path) -> dict[str, Any] | None:
    """The process that runs the campaign in ``directory`` now (see :meth:`Ledger.driver`)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder(directory) or {"pid": None, "host": None, "since": None}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


STATUSES = ("proposed", "running", "done", "failed", "aborted", "refused")

# what changes whenever an experiment's row is updated: the key of the ledger's parse cache,
# read through a covering index so that a long campaign does not re-read whole rows each step
_VERSION = ("status", "attempts", "started_at", "finished_at")
_VERSION_COLUMNS = "id, " + ", ".join(_VERSION)
_VERSION_INDEX = (
    f"CREATE INDEX IF NOT EXISTS experiments_version ON experiments ({_VERSION_COLUMNS})"
)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    parameters TEXT NOT NULL,
    objectives TEXT,
    readings TEXT,
    feasible INTEGER,
    run_uid TEXT,
    error TEXT,
    failure_kind TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    acquisition REAL,
    provenance TEXT,
    device_state TEXT,
    proposed_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE TABLE documents (
    run_uid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (run_uid, seq)
);
CREATE TABLE log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    experiment INTEGER,
    event TEXT NOT NULL,
    detail TEXT
);
"""
_SCHEMA += _VERSION_INDEX + ";\n"


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, set | tuple):
        return list(o)
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    return repr(o)


def _finite(o: Any) -> Any:
    """JSON has no NaN/inf: store them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


def to_json(o: Any, indent: int | None = None) -> str:
    """Standard JSON (non-finite numbers become null; numpy values become numbers)."""
    plain = _finite(json.loads(json.dumps(o, default=_default)))
    return json.dumps(plain, allow_nan=False, indent=indent)


# every column but device_state (a simulator snapshot, read only by last_device_state)
_EXPERIMENT_COLUMNS = (
    "id, status, origin, parameters, objectives, readings, feasible, run_uid, error, "
    "failure_kind, attempts, acquisition, provenance, proposed_at, started_at, finished_at"
)


@dataclass(frozen=True)
class Experiment:
    id: int
    status: str
    origin: str
    parameters: dict[str, Any]
    objectives: dict[str, float | None]
    readings: dict[str, Any]
    feasible: bool | None
    run_uid: str | None
    error: str | None
    failure_kind: str | None
    attempts: int
    acquisition: float | None
    provenance: dict[str, Any]
    proposed_at: float
    started_at: float | None
    finished_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Experiment:
        def j(v: str | None) -> Any:
            try:
                return json.loads(v) if v else {}
            except ValueError:
                raise StoreError(
                    f"experiment {row['id']} of the ledger is damaged (a field is not valid "
                    "JSON): the store was changed outside Genesis Lab; restore the folder from "
                    "a backup"
                ) from None

        return cls(
            id=row["id"],
            status=row["status"],
            origin=row["origin"],
            parameters=j(row["parameters"]),
            objectives=j(row["objectives"]),
            readings=j(row["readings"]),
            feasible=None if row["feasible"] is None else bool(row["feasible"]),
            run_uid=row["run_uid"],
            error=row["error"],
            failure_kind=row["failure_kind"],
            attempts=row["attempts"],
            acquisition=row["acquisition"],
            provenance=j(row["provenance"]),
            proposed_at=row["proposed_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _stored(text: str, what: str) -> Any:
    """JSON read back from the store; StoreError (exit 2) when it was damaged."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise StoreError(
            f"{what} in the ledger is damaged (not valid JSON): the store was changed outside "
            "Genesis Lab; restore the folder from a backup"
        ) from None


class Ledger:
    """Durable record of one campaign. Use :meth:`create` or :meth:`open`."""

    def __init__(self, directory: Path, conn: sqlite3.Connection, readonly: bool):
        self.directory = directory
        self._conn = conn
        self.readonly = readonly
        # bluesky delivers documents from its event-loop thread: serialize access
        self._lock = threading.RLock()
        self._claim: int | None = None  # fd holding the driver lock (see claim)
        # parsed experiments by id, with the columns that change when a row is updated: the
        # JSON of a row is parsed once per version, not on every query (a long campaign
        # queries every step, and parsing all rows each time grew as n^2)
        self._parsed: dict[int, tuple[tuple[Any, ...], Experiment]] = {}

    # ------------------------------------------------------------ opening
    @staticmethod
    def is_campaign(directory: Path) -> bool:
        return (Path(directory) / STORE_FILE).is_file()

    @classmethod
    def create(
        cls,
        directory: str | Path,
        *,
        name: str,
        campaign_text: str,
        lab_text: str,
        extra: Mapping[str, Any] | None = None,
        claim: bool = False,
    ) -> Ledger:
        """Create a campaign store in ``directory`` (new or empty).  With ``claim`` the new
        store is locked for this process before it appears (see :meth:`claim`)."""
        d = Path(directory)
        if cls.is_campaign(d):
            info = _driver_of(d)
            if info is not None:
                who = f" (process {info['pid']} on {info.get('host')})" if info.get("pid") else ""
                raise StoreError(
                    f"{d} holds a campaign that another run is running now{who}; watch it "
                    f"with 'genesis-lab status {d}', or choose another --out"
                )
            raise StoreError(
                f"{d} already holds a campaign; continue it with 'genesis-lab resume {d}' "
                "or choose another --out"
            )
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise StoreError(
                f"{d} exists and is not an empty directory; choose another --out (nothing written)"
            )
        # Build the store beside its final place and rename it in: a crash
        # during creation leaves no half-made campaign behind.
        try:
            d.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.creating-", dir=d.parent))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            where = exc.filename if exc.filename and ".creating-" not in str(exc.filename) else ""
            raise StoreError(
                f"cannot create the campaign directory {d} ({reason}{': ' if where else ''}"
                f"{where}); choose another --out"
            ) from None
        lock: int | None = None
        try:
            conn = cls._connect(tmp / STORE_FILE, readonly=False)
            with conn:
                conn.executescript(_SCHEMA)
            meta = {
                "schema_version": SCHEMA_VERSION,
                "name": name,
                "created": time.time(),
                "campaign_yaml": campaign_text,
                "lab_yaml": lab_text,
                **(extra or {}),
            }
            with conn:
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()]
                )
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            # the manifest, also as plain files for people to read
            (tmp / "campaign.yaml").write_text(campaign_text, encoding="utf-8")
            (tmp / "lab.yaml").write_text(lab_text, encoding="utf-8")
            if claim and fcntl is not None:  # locked before anyone can see it: no window
                lock = _lock_directory(tmp)
            try:
                if d.exists():
                    with contextlib.suppress(FileNotFoundError):  # gone since: fine
                        d.rmdir()  # empty (checked above)
                os.replace(tmp, d)
            except OSError as exc:  # another run created it since the check above
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise StoreError(
                    f"{d} already holds a campaign (another run created it just now); "
                    "choose another --out"
                ) from None
        except BaseException:
            if lock is not None:
                os.close(lock)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        conn = cls._connect(d / STORE_FILE, readonly=False)
        ledger = cls(d, conn, readonly=False)
        if lock is not None:
            ledger._claim = lock
            _write_holder(d)
        return ledger

    @classmethod
    def open(cls, directory: str | Path, *, readonly: bool = True) -> Ledger:
        d = Path(directory)
        if not d.exists():
            raise StoreError(f"{d} does not exist; give the --out directory of a campaign")
        if not d.is_dir():
            raise StoreError(f"{d} is not a directory; give the --out directory of a campaign")
        path = d / STORE_FILE
        if not path.is_file():
            raise StoreError(
                f"{d} is not a Genesis Lab campaign (no {STORE_FILE}); give the directory "
                "that 'genesis-lab run --out' created"
            )
        try:  # checked read-only first: a file that is not a store is never touched
            conn = cls._connect(path, readonly=True)
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            conn.execute("SELECT count(*) FROM experiments").fetchone()
            conn.execute("SELECT count(*) FROM documents").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path} is corrupt or not a campaign store ({exc}); it was left untouched"
            ) from None
        if version is None or json.loads(version[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{path} has store schema {version and version[0]}, this Genesis Lab reads "
                f"{SCHEMA_VERSION}; use the matching version"
            )
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            ok = str(exc)
        if ok != "ok":
            conn.close()
            raise StoreError(f"{path} failed its integrity check ({ok}); it was left untouched")
        if not readonly:
            conn.close()
            conn = cls._connect(path, readonly=False)
            # stores from before the index (its columns are _VERSION_COLUMNS)
            conn.execute(_VERSION_INDEX)
        return cls(d, conn, readonly=readonly)

    def backup(self, destination: str | Path) -> Path:
        """Copy this campaign into ``destination`` (new or empty): a consistent snapshot of the
        store, taken with SQLite's online backup (safe while a run writes; copying
        ``ledger.sqlite`` alone misses what is still in its ``-wal`` file), plus the campaign
        and lab files as run.  The copy is a campaign folder like any other."""
        d = Path(destination)
        if d.resolve() == Path(self.directory).resolve():
            raise StoreError(f"{d} is the campaign itself; give a new or empty directory")
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise StoreError(f"{d} exists and is not an empty directory; give a new one")
        try:
            d.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.copying-", dir=d.parent))
        except OSError as exc:
            raise StoreError(
                f"cannot create {d} ({exc.strerror or type(exc).__name__}); choose another place"
            ) from None
        try:
            target = sqlite3.connect(tmp / STORE_FILE)
            try:
                with self._lock:
                    self._conn.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
            (tmp / "campaign.yaml").write_text(self.meta("campaign_yaml", ""), encoding="utf-8")
            (tmp / "lab.yaml").write_text(self.meta("lab_yaml", ""), encoding="utf-8")
            if d.exists():
                d.rmdir()  # empty (checked above)
            os.replace(tmp, d)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(
                f"cannot write the copy in {d} ({exc.strerror or exc}); free space or choose "
                "another place (the campaign itself is untouched)"
            ) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return d

    @staticmethod
    def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
        if readonly:
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False
            )
        else:
            conn = sqlite3.connect(
                path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        if not readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: cannot switch SQLite to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.isolation_level = "DEFERRED"
        return conn

    # ------------------------------------------------------------ one driver at a time
    # The lock is an flock on the campaign directory itself (not on a file in it, which
    # someone could delete while a campaign runs).  driver.lock only says who holds it.
    def claim(self) -> None:
        """Become the one process that runs this campaign (``run`` and ``resume`` do).

        Held until :meth:`close` or the end of the process (the kernel releases it on a crash
        or ``kill -9``, so a stale lock never blocks ``resume``).  ``suggest``, ``status``,
        ``export`` and ``show`` do not claim: they may run beside the driver.  Raises
        StoreError when another process holds it.
        """
        if fcntl is None or self._claim is not None:
            return
        self._claim = _lock_directory(self.directory)
        _write_holder(self.directory)

    def driver(self) -> dict[str, Any] | None:
        """Which *other* process runs this campaign now: ``{"pid", "host", "since"}`` (values
        may be None when unknown), or None when no other process does."""
        if self._claim is not None:
            return None
        return _driver_of(self.directory)

    @property
    def tells_driver(self) -> bool:
        """False where directories cannot be locked (no fcntl): :meth:`driver` cannot tell."""
        return fcntl is not None

    def close(self) -> None:
        self._conn.close()
        if self._claim is not None:
            os.close(self._claim)  # releases the flock
            self._claim = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ meta
    def meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else _stored(row[0], f"the setting {key!r}")

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value))
            )

    # ------------------------------------------------------------ transitions
    def _log(self, experiment: int | None, event: str, detail: Any = None) -> None:
        self._conn.execute(
            "INSERT INTO log (time, experiment, event, detail) VALUES (?, ?, ?, ?)",
            (time.time(), experiment, event, None if detail is None else to_json(detail)),
        )

    def propose(
        self,
        parameters: Mapping[str, Any],
        *,
        origin: str,
        acquisition: float | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a proposal durably, before anything moves. Returns its id."""
        now = time.time()
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO experiments (status, origin, parameters, acquisition, provenance,"
                " proposed_at) VALUES ('proposed', ?, ?, ?, ?, ?)",
                (origin, to_json(parameters), acquisition, to_json(provenance or {}), now),
            )
            eid = int(cur.lastrowid)
            self._log(eid, "proposed", {"origin": origin, "parameters": parameters})
        return eid

    def stamp_provenance(self, eid: int, run: Mapping[str, Any]) -> None:
        """Record in an experiment's provenance where it is run: ``run`` (lab hash, software,
        host) replaces those keys.  Values that were there and differ (a point queued by an
        earlier process, e.g. before an upgrade, and run after ``resume``) move to
        ``queued_with``, so both stay on record."""
        with self._lock, self._conn:
            row = self._conn.execute(
                "SELECT provenance FROM experiments WHERE id=?", (eid,)
            ).fetchone()
            prov = json.loads(row["provenance"] or "{}")
            before = {k: prov[k] for k in run if k in prov and prov[k] != run[k]}
            if before:
                prov["queued_with"] = {**prov.get("queued_with", {}), **before}
            prov.update(run)
            self._conn.execute(
                "UPDATE experiments SET provenance=? WHERE id=?", (to_json(prov), eid)
            )

    def start(self, eid: int) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE experiments SET status='running', started_at=?, attempts=attempts+1 "
                "WHERE id=?",
                (time.time(), eid),
            )
            self._log(eid, "running")

    def finish(
        self,
        eid: int,
        status: str,
        *,
        objectives: Mapping[str, Any] | None = None,
        readings: Mapping[str, Any] | None = None,
        feasible: bool | None = None,
        run_uid: str | None = None,
        error: str | None = None,
        failure_kind: str | None = None,
        device_state: Mapping[str, Any] | None = None,
    ) -> None:
        """Settle an experiment: done, failed, aborted or refused.

        ``device_state`` (JSON) snapshots simulated instruments after the
        experiment, in the same transaction, so a resumed campaign continues
        them exactly where an uninterrupted one would be."""
        if status not in STATUSES[2:]:
            raise ValueError(f"cannot finish with status {status!r}")
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE experiments SET status=?, objectives=?, readings=?, feasible=?,"
                " run_uid=COALESCE(?, run_uid), error=?, failure_kind=?, finished_at=?,"
                " device_state=? WHERE id=?",
                (
                    status,
                    to_json(objectives or {}),
                    to_json(readings or {}),
                    None if feasible is None else int(feasible),
                    run_uid,
                    error,
                    failure_kind,
                    time.time(),
                    None if device_state is None else to_json(device_state),
                    eid,
                ),
            )
            self._log(eid, status, {"error": error} if error else None)

    def abort(self, eid: int, reason: str, *, run_uid: str | None, requeue: bool) -> int | None:
        """Mark an interrupted experiment aborted and, if asked, queue the same
        parameters again as a new row, in one transaction. Returns the new id."""
        now = time.time()
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE experiments SET status='aborted', error=?, finished_at=?,"
                " run_uid=COALESCE(?, run_uid) WHERE id=?",
                (reason, now, run_uid, eid),
            )
            self._log(eid, "aborted", {"error": reason})
            if not requeue:
                return None
            row = self._conn.execute(
                "SELECT origin, parameters, acquisition, provenance FROM experiments WHERE id=?",
                (eid,),
            ).fetchone()
            prov = {**json.loads(row["provenance"] or "{}"), "requeue_of": eid}
            # a confirmation replicate stays one (it must not count against the budget)
            origin = "confirm" if row["origin"] == "confirm" else "requeue"
            cur = self._conn.execute(
                "INSERT INTO experiments (status, origin, parameters, acquisition, provenance,"
                " proposed_at) VALUES ('proposed', ?, ?, ?, ?, ?)",
                (origin, row["parameters"], row["acquisition"], to_json(prov), now),
            )
            new = int(cur.lastrowid)
            self._log(new, "proposed", {"origin": origin, "requeue_of": eid})
            return new

    def note(self, event: str, detail: Any = None, experiment: int | None = None) -> None:
        with self._lock, self._conn:
            self._log(experiment, event, detail)

    # ------------------------------------------------------------ documents
    def add_document(self, run_uid: str, name: str, doc: Mapping[str, Any]) -> None:
        with self._lock, self._conn:
            seq = self._conn.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM documents WHERE run_uid=?", (run_uid,)
            ).fetchone()[0]
            self._conn.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?)", (run_uid, seq, name, to_json(doc))
            )

    def documents(self, run_uid: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn.execute(
            "SELECT name, doc FROM documents WHERE run_uid=? ORDER BY seq", (run_uid,)
        ).fetchall()
        return [(r["name"], _stored(r["doc"], f"a document of run {run_uid}")) for r in rows]

    def run_uids(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT run_uid FROM documents WHERE seq=0 ORDER BY rowid"
        ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------ queries
    def experiments(self, status: str | None = None) -> list[Experiment]:
        """All experiments (or those with ``status``) in id order.

        The objects are shared between calls while their row is unchanged: treat them, and
        their dicts, as read-only."""
        # two steps: the small version columns of every row, then whole rows only for those
        # that changed since they were last parsed (a long campaign re-reads 1000s of rows)
        q, args = f"SELECT {_VERSION_COLUMNS} FROM experiments", ()
        if status:
            q, args = q + " WHERE status=?", (status,)
        with self._lock:
            cur = self._conn.cursor()
            cur.row_factory = None
            versions = cur.execute(q + " ORDER BY id", args).fetchall()
            stale = [v[0] for v in versions if self._parsed.get(v[0], (None,))[0] != v[1:]]
            for i in range(0, len(stale), 500):
                chunk = stale[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._conn.execute(
                    f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id IN ({marks})", chunk
                ):
                    self._experiment(row)
            return [self._parsed[v[0]][1] for v in versions]

    def experiment(self, eid: int) -> Experiment | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id=?", (eid,)
            ).fetchone()
            return None if row is None else self._experiment(row)

    def _experiment(self, row: sqlite3.Row) -> Experiment:
        # every update of a row changes its status, attempts or a timestamp (set from the clock)
        version = tuple(row[c] for c in _VERSION)
        cached = self._parsed.get(row["id"])
        if cached is None or cached[0] != version:
            cached = (version, Experiment.from_row(row))
            self._parsed[row["id"]] = cached
        return cached[1]

    def last_device_state(self) -> dict[str, Any] | None:
        """The device snapshot of the most recently finished experiment."""
        row = self._conn.execute(
            "SELECT device_state FROM experiments WHERE device_state IS NOT NULL "
            "ORDER BY finished_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _stored(row[0], "the last device snapshot")

    def driven_sessions(self) -> tuple[float, float]:
        """(seconds the campaign was driven by ``run`` and ``resume`` before its latest
        session, the start of that session).  A session runs from its start (the creation,
        then each ``resumed`` note) to its last recorded activity; time while paused, stopped
        or crashed does not count, nor do experiments recorded with ``suggest`` that the
        campaign did not run."""
        try:
            created = float(self.meta("created"))
        except (TypeError, ValueError):
            raise StoreError(
                "the setting 'created' in the ledger is damaged (not a time): the store was "
                "changed outside Genesis Lab; restore the folder from a backup"
            ) from None
        starts = sorted(
            [created]
            + [t for (t,) in self._conn.execute("SELECT time FROM log WHERE event='resumed'")]
        )
        total = 0.0
        for a, b in itertools.pairwise(starts):
            total += max(0.0, (self.last_driven_activity(a, b) or a) - a)
        return total, starts[-1]

    def last_driven_activity(self, after: float, before: float = math.inf) -> float | None:
        """Time of the latest log entry in [after, before) that the campaign's driving made:
        entries of a manual experiment count only if the campaign ran it (it has a run); a
        result recorded with ``suggest --result`` was no driving."""
        (end,) = self._conn.execute(
            "SELECT MAX(l.time) FROM log l LEFT JOIN experiments e ON e.id = l.experiment"
            " WHERE l.time >= ? AND l.time < ?"
            " AND (e.origin IS NULL OR e.origin != 'manual' OR e.run_uid IS NOT NULL)",
            (after, before),
        ).fetchone()
        return None if end is None else float(end)

    def time_driven(self, running: bool = False) -> float:
        """Seconds the campaign has been driven (:meth:`driven_sessions`): the latest session
        counted up to now while it is ``running``, else up to its last driven activity."""
        before, start = self.driven_sessions()
        end = time.time() if running else (self.last_driven_activity(start) or start)
        return before + max(0.0, end - start)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for status, n in self._conn.execute(
            "SELECT status, COUNT(*) FROM experiments GROUP BY status"
        ):
            out[status] = n
        return out

    def count_completed(self) -> int:
        """Finished experiments that count against the budget (confirmation replicates do not)."""
        return self._conn.execute(
            "SELECT COUNT(*) FROM experiments WHERE status IN ('done', 'failed')"
            " AND origin != 'confirm'"
        ).fetchone()[0]

    def log(self, experiment: int | None = None) -> Iterator[dict[str, Any]]:
        q, args = "SELECT * FROM log", ()
        if experiment is not None:
            q, args = q + " WHERE experiment=?", (experiment,)
        for r in self._conn.execute(q + " ORDER BY seq", args):
            yield {
                "time": r["time"],
                "experiment": r["experiment"],
                "event": r["event"],
                "detail": json.loads(r["detail"]) if r["detail"] else None,
            }
