"""The ledger's reads stay right while other processes write, and old stores keep working."""

from __future__ import annotations

import sqlite3

from genesis_lab.ledger import STORE_FILE, Ledger


def _store(tmp_path):
    return Ledger.create(tmp_path / "c", name="c", campaign_text="x: 1\n", lab_text="y: 2\n")


def test_a_driver_sees_rows_that_another_process_wrote_and_changed(tmp_path):
    driver = _store(tmp_path)
    a = driver.propose({"t": 1}, origin="model")
    assert [e.status for e in driver.experiments()] == ["proposed"]

    # `genesis-lab suggest` writes through its own connection while the campaign runs
    other = Ledger.open(tmp_path / "c", readonly=False)
    b = other.propose({"t": 2}, origin="manual")
    other.start(a)
    other.finish(a, "done", objectives={"y": 3.0}, feasible=True)

    seen = {e.id: e for e in driver.experiments()}
    assert set(seen) == {a, b}
    assert seen[a].status == "done" and seen[a].objectives == {"y": 3.0}
    assert seen[b].origin == "manual" and seen[b].parameters == {"t": 2}
    assert [e.id for e in driver.experiments("done")] == [a]
    assert driver.experiment(a).objectives == {"y": 3.0}
    other.close()
    driver.close()


def test_a_store_from_before_the_version_index_reads_the_same_and_gains_it(tmp_path):
    ledger = _store(tmp_path)
    for t in range(5):
        eid = ledger.propose({"t": t}, origin="model")
        ledger.start(eid)
        ledger.finish(eid, "done", objectives={"y": float(t)}, feasible=True)
    before = [e.as_dict() for e in ledger.experiments()]
    ledger.close()
    path = tmp_path / "c" / STORE_FILE
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX experiments_version")

    def indexes() -> set[str]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='index'").fetchall()
        return {r[0] for r in rows}

    with Ledger.open(tmp_path / "c") as reader:  # status/export: read-only, store untouched
        assert [e.as_dict() for e in reader.experiments()] == before
    assert "experiments_version" not in indexes()
    with Ledger.open(tmp_path / "c", readonly=False) as resumed:
        assert [e.as_dict() for e in resumed.experiments()] == before
    assert "experiments_version" in indexes()


def test_a_requeued_point_records_the_process_that_ran_it_and_the_one_that_queued_it(tmp_path):
    ledger = _store(tmp_path)
    queued = {"lab_hash": "aaa", "software": {"genesis-lab": "0.1"}, "host": "old-host"}
    first = ledger.propose({"t": 1}, origin="model", provenance={**queued, "acquisition": -2.5})
    ledger.start(first)
    again = ledger.abort(first, "interrupted", run_uid=None, requeue=True)
    assert again is not None
    # resumed after an upgrade: the same lab, newer software, another host
    run = {"lab_hash": "aaa", "software": {"genesis-lab": "0.2"}, "host": "new-host"}
    ledger.stamp_provenance(again, run)
    prov = ledger.experiment(again).provenance
    assert {k: prov[k] for k in run} == run
    assert prov["queued_with"] == {"software": {"genesis-lab": "0.1"}, "host": "old-host"}
    assert prov["acquisition"] == -2.5 and prov["requeue_of"] == first
    # a point run where it was queued gains nothing
    ledger.stamp_provenance(first, queued)
    assert "queued_with" not in ledger.experiment(first).provenance
    ledger.close()
