"""The EPICS devices against the simulator IOC, over real Channel Access on loopback.

Every IOC is a subprocess (``python -m devices.epics_ioc``) on its own free
port, and so is a CA repeater; server and client are kept on 127.0.0.1.  libca
reads the ``EPICS_CA_*`` variables when the first channel is created, so they
are set when this module is imported, before any test creates one.  Every
process started here is stopped at teardown (the IOCs also stop by themselves
if this process dies: ``--exit-with-parent``).
"""

from __future__ import annotations

import json
import math
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import edit_yaml

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
INSTRUMENT = "flow_reactor"


def _free_port() -> int:
    """A port free for both TCP and UDP on loopback (CA serves and searches on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


# one server port per IOC (a UDP search port on loopback reaches one process only)
IOC_KEYS = ("main", "faults", "slow", "hang", "lag", "restart", "refuse", "lagref")
PORTS = {key: _free_port() for key in IOC_KEYS}
REPEATER_PORT = _free_port()
CA_ENV = {
    "EPICS_CA_AUTO_ADDR_LIST": "NO",
    "EPICS_CA_ADDR_LIST": " ".join(f"127.0.0.1:{p}" for p in PORTS.values()),
    "EPICS_CA_SERVER_PORT": str(PORTS["main"]),
    "EPICS_CA_REPEATER_PORT": str(REPEATER_PORT),
    "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
    "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
    "EPICS_CAS_BEACON_PORT": str(REPEATER_PORT),
}
os.environ.update(CA_ENV)  # the client side (pyepics/libca in this process)

RUN = f"GLT{os.getpid()}"
PREFIX = {
    "main": f"{RUN}:R1:",
    "faults": f"{RUN}:F1:",
    "slow": f"{RUN}:S1:",
    "hang": f"{RUN}:H1:",
    "lag": f"{RUN}:L1:",
    "restart": f"{RUN}:X1:",
    "refuse": f"{RUN}:V1:",
    "lagref": f"{RUN}:W1:",
}
UNSERVED = f"{RUN}:NOBODY:"

from devices.epics import EpicsFlowReactor, EpicsInstrumentError  # noqa: E402
from devices.safety import EnvelopeViolation, Limit, guard  # noqa: E402
from simulators import FlowReactor  # noqa: E402


# ---------------------------------------------------------------- the IOCs
class IOCs:
    """Starts IOC subprocesses and guarantees they are all gone at teardown."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, key: str, *extra: str, timeout: float = 30.0) -> subprocess.Popen:
        env = {**os.environ, **CA_ENV, "EPICS_CA_SERVER_PORT": str(PORTS[key])}
        cmd = [
            sys.executable,
            "-m",
            "devices.epics_ioc",
            "--instrument",
            INSTRUMENT,
            "--prefix",
            PREFIX[key],
            "--seed",
            "1",
            "--noise",
            "0",
            "--drift",
            "0",
            "--time-scale",
            "0",
            "--exit-with-parent",
            *extra,
        ]
        log = open(self.logdir / f"ioc-{key}.log", "w")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )
        log.close()
        self.procs[key] = proc
        lines: queue.Queue[str | None] = queue.Queue()

        def drain() -> None:  # keep reading so the pipe never fills
            for line in proc.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop(key)
                pytest.fail(f"IOC {key} not ready in {timeout} s:\n{self.log(key)}")
            if line is None:
                self.stop(key)
                pytest.fail(f"IOC {key} exited at startup:\n{self.log(key)}")
            if line.startswith("IOC ready"):
                return proc

    def log(self, key: str) -> str:
        return (self.logdir / f"ioc-{key}.log").read_text()[-3000:]

    def stop(self, key: str) -> None:
        proc = self.procs.get(key)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for key in list(self.procs):
            self.stop(key)
        _kill_our_repeaters()


def _kill_our_repeaters() -> None:
    """libca may spawn a detached caRepeater (if one is on PATH); ours carry our port."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return
    marker = f"EPICS_CA_REPEATER_PORT={REPEATER_PORT}".encode()
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"epeater" in cmdline and marker in environ.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGTERM)
            except OSError:
                pass


def _udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.fixture(scope="module", autouse=True)
def repeater() -> Iterator[subprocess.Popen]:
    """A CA repeater on loopback for this module's port: libca registers with it
    (instead of complaining on stderr that it cannot), and it relays the IOCs' beacons."""
    code = "from caproto.sync.repeater import run; run(host='127.0.0.1')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, **CA_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not _udp_port_taken(REPEATER_PORT) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the CA repeater did not start")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        _kill_our_repeaters()


@pytest.fixture(scope="module")
def iocs(tmp_path_factory) -> Iterator[IOCs]:
    manager = IOCs(tmp_path_factory.mktemp("iocs"))
    try:
        yield manager
    finally:
        manager.stop_all()


@pytest.fixture(scope="module")
def reactor_prefix(iocs) -> str:
    iocs.start("main")
    return PREFIX["main"]


def _device(prefix: str, timeout: float = 10.0, **kwargs) -> EpicsFlowReactor:
    dev = EpicsFlowReactor(prefix, name="reactor", **kwargs)
    dev.wait_for_connection(timeout=timeout)
    return dev


@pytest.fixture
def reactor(reactor_prefix) -> Iterator[EpicsFlowReactor]:
    dev = _device(reactor_prefix)
    yield dev
    dev.destroy()


def _lab_files(tmp_path: Path, prefix: str) -> tuple[Path, Path]:
    """Copies of the EPICS example lab (prefix rewritten) and campaign, side by side."""
    lab = tmp_path / "epics_lab.yaml"
    data = yaml.safe_load((EXAMPLES / "epics_lab.yaml").read_text())
    data["devices"]["reactor"]["kwargs"]["prefix"] = prefix
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    campaign = tmp_path / "epics_reactor_campaign.yaml"
    shutil.copy(EXAMPLES / "epics_reactor_campaign.yaml", campaign)
    return lab, campaign


def _cli(capsys, *argv) -> tuple[int, str, str]:
    from genesis_lab.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- tests
def test_device_connects_and_read_agrees_with_describe(reactor):
    from devices.sim import FlowReactor as SimFlowReactor

    assert reactor.simulated is False
    assert reactor.settables == tuple(FlowReactor.INPUTS)
    reading, desc = reactor.read(), reactor.describe()
    assert set(reading) == set(desc)
    # the same keys as the simulated twin: one campaign runs on either
    assert set(reading) == set(SimFlowReactor(name="reactor").read())
    assert desc["reactor_temperature"]["units"] == "degC"  # from the PV
    assert desc["reactor_temperature"]["source"] == f"PV:{reactor.prefix}temperature_RBV"
    assert desc["reactor_yield_pct"]["units"] == "%"
    assert desc["reactor_yield_pct"]["upper_ctrl_limit"] == 120.0  # the saturation
    assert "upper_ctrl_limit" not in desc["reactor_e_factor"]  # never saturates
    assert set(reactor.hints["fields"]) == set(reading)


def test_set_moves_the_readback_and_trigger_reads_the_truth(reactor):
    target = {"residence_time": 8.6, "temperature": 86.0, "equivalents": 2.8, "concentration": 0.9}
    statuses = [getattr(reactor, k).set(v) for k, v in target.items()]
    for st in statuses:
        st.wait(timeout=10)
        assert st.success
    for k, v in target.items():
        assert getattr(reactor, k).get() == pytest.approx(v)
    st = reactor.trigger()
    st.wait(timeout=10)
    assert st.success
    reading = {k: v["value"] for k, v in reactor.read().items()}
    truth = FlowReactor(seed=1, noise=0, drift=0).truth(**target)
    for out, value in truth.items():
        got = reading[f"reactor_{out}"]
        assert math.isfinite(got)
        assert got == pytest.approx(value, rel=1e-6), out
    assert reactor.busy.get() == 0


def test_guard_reads_the_position_and_limits_are_checked_before_writing(reactor):
    reactor.temperature.set(60).wait(timeout=10)
    guard(reactor.temperature, "reactor.temperature", Limit(30, 140, max_step=20))
    reactor.temperature.set(75).wait(timeout=10)  # within one step of 60
    with pytest.raises(EnvelopeViolation, match="maximum step"):
        reactor.temperature.set(120)
    assert reactor.temperature.get() == 75
    # past the PV's control limits: refused by the client, nothing is written
    st = reactor.residence_time.set(99)
    with pytest.raises(Exception, match="outside of range"):
        st.wait(timeout=10)
    assert reactor.residence_time.get() != 99


def test_campaign_through_channel_access(reactor_prefix, tmp_path, capsys):
    lab, campaign = _lab_files(tmp_path, reactor_prefix)
    out = tmp_path / "run"
    code, stdout, err = _cli(
        capsys,
        "run",
        campaign,
        "--out",
        out,
        "--max-experiments",
        6,
        "--time-scale",
        0,
        "--quiet",
        "--json",
    )
    assert code == 0, err
    payload = json.loads(stdout)
    assert payload["counts"]["done"] == 6, payload
    assert payload["best"]["objectives"]["yield"] > 0

    from genesis_lab.ledger import Ledger

    with Ledger.open(out) as ledger:
        for e in ledger.experiments():
            assert e.readings["reactor_yield_pct"] == e.objectives["yield"]
            for name, value in e.parameters.items():
                assert e.readings[f"reactor_{name}"] == pytest.approx(value)


def test_devices_command_reports_the_epics_reactor(reactor_prefix, tmp_path, capsys):
    lab, _ = _lab_files(tmp_path, reactor_prefix)
    code, stdout, err = _cli(capsys, "devices", lab, "--json")
    assert code == 0, err
    (row,) = json.loads(stdout)["devices"]
    assert row["name"] == "reactor" and row["connected"] is True and row["simulated"] is False
    assert row["error"] is None
    assert row["readings"]["reactor_yield_pct"]["units"] == "%"
    assert math.isfinite(row["readings"]["reactor_yield_pct"]["value"])


def test_lab_limits_beyond_the_pvs_control_limits_are_refused(reactor_prefix, tmp_path, capsys):
    lab, campaign = _lab_files(tmp_path, reactor_prefix)
    data = yaml.safe_load(lab.read_text())
    data["devices"]["reactor"]["limits"]["temperature"] = {"min": 30, "max": 400}
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    code, stdout, err = _cli(capsys, "devices", lab, "--json")
    assert code == 1
    (row,) = json.loads(stdout)["devices"]
    assert "temperature: [30, 400] goes beyond what the instrument reports" in row["error"]
    # a campaign on that lab is refused before anything is recorded, as for a simulated twin
    code, _, err = _cli(capsys, "run", campaign, "--out", tmp_path / "r", "--time-scale", 0)
    assert code == 2 and "[30, 140] (its control limits); narrow it" in err, err
    assert not (tmp_path / "r").exists()


def test_devices_command_without_an_ioc_fails_fast(tmp_path, capsys):
    lab, _ = _lab_files(tmp_path, UNSERVED)
    t0 = time.monotonic()
    code, stdout, err = _cli(capsys, "devices", lab, "--timeout", 1, "--json")
    assert code == 1
    (row,) = json.loads(stdout)["devices"]
    assert row["connected"] is False
    assert "TimeoutError" in row["error"] and UNSERVED in row["error"]
    code, stdout, err = _cli(capsys, "devices", lab, "--timeout", 1)
    assert code == 1 and "NO:" in stdout
    assert time.monotonic() - t0 < 15


def test_a_campaign_without_its_ioc_stops_before_recording_anything(tmp_path, capsys):
    lab, campaign = _lab_files(tmp_path, UNSERVED)
    out = tmp_path / "run"
    t0 = time.monotonic()
    code, stdout, err = _cli(capsys, "run", campaign, "--out", out, "--quiet")
    assert code == 1 and "Traceback" not in err, err
    assert "cannot connect to 1 instrument(s)" in err and "reactor: TimeoutError" in err, err
    assert "Is the IOC or driver running" in err and "nothing was recorded" in err
    assert not out.exists()
    assert time.monotonic() - t0 < 20  # one connection timeout, not a budget of failures


def test_faults_fail_the_status_with_the_iocs_message(iocs):
    # experiment 0: the first set fails; experiment 1: the trigger fails (first attempts)
    iocs.start("faults", "--faults-at", "0:set_error", "--faults-at", "1:trigger_error")
    dev = _device(PREFIX["faults"])
    try:
        st = dev.temperature.set(80)
        with pytest.raises(EpicsInstrumentError, match="injected set_error"):
            st.wait(timeout=10)
        assert st.exception().retryable is True
        assert dev.temperature.get() == FlowReactor.INPUTS["temperature"].default  # unmoved
        dev.temperature.set(80).wait(timeout=10)  # the retry moves
        assert dev.temperature.get() == 80
        dev.trigger().wait(timeout=10)  # experiment 0 completes
        st = dev.trigger()
        with pytest.raises(EpicsInstrumentError, match="injected trigger_error"):
            st.wait(timeout=10)
        assert st.exception().retryable is True
        assert "trigger_error" in dev.fault_message.get()
        dev.trigger().wait(timeout=10)  # the retry measures
        assert math.isfinite(dev.yield_pct.get())
        assert dev.fault_status.get() == "OK" and dev.fault_message.get() == ""
    finally:
        dev.destroy()


def test_losing_the_ioc_mid_measurement_fails_the_trigger(iocs):
    iocs.start("slow", "--time-scale", "0.05")  # one measurement: 45 s
    dev = _device(PREFIX["slow"])
    try:
        st = dev.trigger()
        time.sleep(0.3)
        assert not st.done
        iocs.stop("slow")
        with pytest.raises(ConnectionError, match="lost the connection"):
            st.wait(timeout=10)
    finally:
        dev.destroy()


_AFTER_A_HANG = """
import sys, time
from devices.epics import EpicsFlowReactor
r = EpicsFlowReactor(sys.argv[1], name="reactor")
r.wait_for_connection(timeout=10)
r.temperature.set(70).wait(10)
print("ready", flush=True)
while r.temperature.connected:
    time.sleep(0.2)
print("disconnected", flush=True)
sys.stdin.readline()  # the IOC answers again
while not r.temperature.connected:
    time.sleep(0.2)
for t in (72, 74, 76):
    try:
        r.temperature.set(t).wait(10)
        print("ok", r.temperature.get(), flush=True)
    except Exception as exc:
        print("failed", type(exc).__name__, exc, flush=True)
"""


def test_moves_work_again_after_the_ioc_hung_and_recovered(iocs):
    # an IOC that stops answering (an overloaded soft IOC) longer than the CA connection
    # timeout, then recovers: ophyd kept write access False, and every later move in the
    # process raised ReadOnlyError although the PV was writable again
    ioc = iocs.start("hang")
    env = {**os.environ, **CA_ENV, "EPICS_CA_CONN_TMO": "2"}  # detect the hang in seconds
    client = subprocess.Popen(
        [sys.executable, "-c", _AFTER_A_HANG, PREFIX["hang"]],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert client.stdout.readline().strip() == "ready"
        os.kill(ioc.pid, signal.SIGSTOP)
        try:
            assert client.stdout.readline().strip() == "disconnected"
        finally:
            os.kill(ioc.pid, signal.SIGCONT)
        out, _ = client.communicate("go\n", timeout=90)
    finally:
        if client.poll() is None:
            client.kill()
    assert out.split("\n")[:3] == ["ok 72.0", "ok 74.0", "ok 76.0"], out


@pytest.fixture(scope="module")
def lagging_prefix(iocs) -> str:
    """An IOC like a temperature controller: the put completes at once, and the readback
    (and the sample) reaches the setpoint 0.4 s later."""
    iocs.start("lag", "--readback-lag", "0.4")
    return PREFIX["lag"]


def test_a_tolerance_makes_a_move_wait_for_a_lagging_readback(lagging_prefix):
    plain = _device(lagging_prefix)
    waiting = _device(lagging_prefix, tolerance={"temperature": 0.01}, move_timeout=10)
    try:
        # without a tolerance the move is over at put completion, before the readback moved
        plain.temperature.set(120).wait(timeout=10)
        assert plain.temperature.get(use_monitor=False) != pytest.approx(120, abs=1)
        # with one, it is over once the readback is there, and a measurement sees 90 degC
        waiting.temperature.set(90).wait(timeout=10)
        assert waiting.temperature.get(use_monitor=False) == pytest.approx(90, abs=0.01)
        assert waiting.temperature.arrival_tolerance == 0.01
        assert waiting.residence_time.arrival_tolerance is None  # not given: put completion
        waiting.trigger().wait(timeout=10)
        setpoints = {k: getattr(waiting, k).get(use_monitor=False) for k in FlowReactor.INPUTS}
        truth = FlowReactor(seed=1, noise=0, drift=0).truth(**setpoints)
        assert waiting.yield_pct.get() == pytest.approx(truth["yield_pct"], rel=1e-6)
    finally:
        plain.destroy()
        waiting.destroy()


def test_a_readback_that_does_not_arrive_in_move_timeout_fails_the_move(lagging_prefix):
    dev = _device(lagging_prefix, tolerance=0.01, move_timeout=0.15)
    try:
        st = dev.temperature.set(35)
        with pytest.raises(TimeoutError, match="did not come within the tolerance 0.01"):
            st.wait(timeout=10)
        assert "move_timeout" in str(st.exception())
    finally:
        time.sleep(0.5)  # the ramp ends before the next test moves it
        dev.destroy()


def test_a_campaign_with_max_step_runs_on_a_lagging_readback(lagging_prefix, tmp_path, capsys):
    # the engineer's case: each waypoint is measured from a readback that has arrived, so no
    # step is refused and every recorded temperature is the one the sample had
    lab, campaign = _lab_files(tmp_path, lagging_prefix)
    data = yaml.safe_load(lab.read_text())
    device = data["devices"]["reactor"]
    device["kwargs"].update(move_timeout=20, tolerance=0.001)
    device["limits"]["temperature"] = {"min": 30, "max": 140, "max_step": 25}
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "run"
    code, stdout, err = _cli(
        capsys, "run", campaign, "--out", out, "--max-experiments", 3, "--quiet", "--json"
    )
    assert code == 0, err
    assert json.loads(stdout)["counts"]["done"] == 3

    from genesis_lab.ledger import Ledger

    with Ledger.open(out) as ledger:
        experiments = ledger.experiments()
    assert len(experiments) == 3
    for e in experiments:
        for name, value in e.parameters.items():
            assert e.readings[f"reactor_{name}"] == pytest.approx(value, abs=0.001)


@pytest.mark.parametrize(
    "tolerance, message",
    [
        ({"temprature": 0.5}, "'temprature': not a settable of EpicsFlowReactor"),
        (-1, "must be a number >= 0"),
        ("half", "expects float | dict[str, float] | None, not 'half'"),
        ({"temperature": "half"}, "expects float | dict[str, float] | None, not {'temp"),
    ],
)
def test_a_bad_tolerance_or_timeout_is_named_by_check(tmp_path, capsys, tolerance, message):
    lab, campaign = _lab_files(tmp_path, UNSERVED)
    data = yaml.safe_load(lab.read_text())
    data["devices"]["reactor"]["kwargs"]["tolerance"] = tolerance
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = _cli(capsys, "check", campaign)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def _start_run(lab: Path, campaign: Path, out: Path, budget: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "genesis_lab", "run", str(campaign), "--out", str(out)]
    cmd += ["--max-experiments", str(budget), "--quiet", "--json"]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **CA_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_done(out: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    from genesis_lab.ledger import Ledger

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "ledger.sqlite").exists():
            with Ledger.open(out) as ledger:
                if ledger.counts()["done"] >= n:
                    return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    pytest.fail(f"{n} experiments not done in {timeout} s")


def _restartable_lab(tmp_path: Path, reconnect_timeout: float) -> tuple[Path, Path]:
    lab, campaign = _lab_files(tmp_path, PREFIX["restart"])
    data = yaml.safe_load(lab.read_text())
    data["reconnect_timeout"] = reconnect_timeout
    data["devices"]["reactor"]["kwargs"].update(move_timeout=10, acquire_timeout=10)
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    return lab, campaign


# one measurement of the reactor takes 900 lab seconds: 1.8 s at this time scale
_SLOW_ENOUGH = ("--time-scale", "0.002")


def test_an_ioc_restarted_mid_campaign_costs_no_experiment(iocs, tmp_path):
    iocs.start("restart", *_SLOW_ENOUGH)
    lab, campaign = _restartable_lab(tmp_path, reconnect_timeout=60)
    # no retries: the attempt cut short would be a counted failure if the outage were not
    # told apart from a failure of the experiment
    edit_yaml(campaign, lambda d: d.update(retries=0))
    out = tmp_path / "run"
    proc = _start_run(lab, campaign, out, budget=4)
    try:
        _wait_done(out, 1, proc)
        iocs.stop("restart")  # mid-measurement of experiment 2
        time.sleep(3.0)  # down long enough for the runner to see it
        iocs.start("restart", *_SLOW_ENOUGH)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        iocs.stop("restart")
    assert proc.returncode == 0, stderr
    payload = json.loads(stdout)
    assert payload["counts"]["done"] == 4
    assert payload["counts"]["failed"] == 0  # the cut-short attempt was run again, not counted

    from genesis_lab.ledger import Ledger

    with Ledger.open(out) as ledger:
        events = [row["event"] for row in ledger.log()]
    assert "connection_lost" in events and "connection_back" in events


def test_an_ioc_that_stays_down_stops_the_campaign_without_spending_its_budget(iocs, tmp_path):
    iocs.start("restart", *_SLOW_ENOUGH)
    lab, campaign = _restartable_lab(tmp_path, reconnect_timeout=1.5)
    out = tmp_path / "run"
    proc = _start_run(lab, campaign, out, budget=4)
    try:
        _wait_done(out, 1, proc)
        iocs.stop("restart")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    payload = json.loads(stdout)
    assert "lost the connection to reactor" in payload["stop_reason"]
    assert "within 1.5 s (reconnect_timeout in the lab file)" in payload["stop_reason"]
    assert payload["counts"]["failed"] == 0  # nothing counted against the budget
    assert payload["counts"]["proposed"] == 1  # the cut-short experiment, queued again
    done_before = payload["counts"]["done"]

    # back up: resume runs the queued experiment first and completes the budget
    iocs.start("restart", *_SLOW_ENOUGH)
    try:
        res = subprocess.run(
            [sys.executable, "-m", "genesis_lab", "resume", str(out), "--quiet", "--json"],
            cwd=ROOT, env={**os.environ, **CA_ENV}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        iocs.stop("restart")
    assert res.returncode == 0, res.stderr
    after = json.loads(res.stdout)
    assert after["counts"]["done"] == 4 and after["counts"]["failed"] == 0
    assert done_before < 4


def test_a_setpoint_the_instrument_refuses_is_learned_not_retried(iocs, tmp_path, capsys):
    # a vendor controller that will not take 60-140 degC in its present mode
    iocs.start("refuse", "--refuse", "temperature=60:140")
    dev = _device(PREFIX["refuse"])
    try:
        for value in (120, 61, 90):  # also a refusal right after a refusal
            st = dev.temperature.set(value)
            with pytest.raises(EpicsInstrumentError, match=f"{value} refused: the controller"):
                st.wait(timeout=10)
            assert st.exception().refused is True and st.exception().retryable is False
            assert dev.temperature.get(use_monitor=False) == 60  # nothing moved
    finally:
        dev.destroy()

    lab, campaign = _lab_files(tmp_path, PREFIX["refuse"])
    out = tmp_path / "run"
    code, stdout, err = _cli(
        capsys, "run", campaign, "--out", out, "--max-experiments", 6, "--quiet", "--json"
    )
    assert code == 0, err
    assert "Traceback" not in err
    counts = json.loads(stdout)["counts"]
    assert counts["done"] == 6 and counts["failed"] == 0

    from genesis_lab.ledger import Ledger

    with Ledger.open(out) as ledger:
        refused, done = ledger.experiments("refused"), ledger.experiments("done")
    assert refused, "the design put no point in the refused band"
    for e in done:  # what was measured is what was asked: no refusal went unnoticed
        assert e.readings["reactor_temperature"] == pytest.approx(e.parameters["temperature"])
    for e in refused:
        assert e.failure_kind == "refused" and "does not accept [60, 140]" in e.error
        assert e.parameters["temperature"] > 60 - 1e-9
    points = [tuple(sorted(e.parameters.items())) for e in refused]
    assert len(set(points)) == len(points)  # learned: never proposed again


def test_a_lagging_controller_that_refuses_a_setpoint_still_takes_the_next(iocs):
    # a refusal leaves the readback in WRITE alarm; the next, good setpoint must not read it
    iocs.start("lagref", "--readback-lag", "0.2", "--refuse", "temperature=100:140")
    dev = _device(PREFIX["lagref"], tolerance=0.01, move_timeout=10)
    try:
        st = dev.temperature.set(120)
        with pytest.raises(EpicsInstrumentError, match="120 refused"):
            st.wait(timeout=10)
        dev.temperature.set(80).wait(timeout=10)
        assert dev.temperature.get(use_monitor=False) == pytest.approx(80, abs=0.01)
    finally:
        dev.destroy()


def test_a_tolerance_without_a_move_timeout_is_refused():
    with pytest.raises(ValueError, match="tolerance needs a move_timeout"):
        EpicsFlowReactor(UNSERVED, name="reactor", tolerance=0.5)
