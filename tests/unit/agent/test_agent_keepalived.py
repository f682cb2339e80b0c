"""The agent's keepalived module without keepalived: config check, pid files, scripts, routes.

The real keepalived in namespaces is tests/integration/agent/test_keepalived_live.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from statera.agent.errors import ConfigRejected
from statera.agent.files import LbPaths, write_vrrp_scripts
from statera.agent.haproxy import RunResult
from statera.agent.keepalived import Keepalived, KeepalivedFailed
from statera.agent.routes import Agent, Request, get_status
from statera.agent.server import STATUS_FOR, match
from statera.protocol.agent_api import AgentConfig


class FakeRunner:
    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], *, timeout_s: float) -> RunResult:
        self.calls.append(list(argv))
        return self.result


def keepalived(paths: LbPaths, runner: FakeRunner, namespace: str = "ns-1") -> Keepalived:
    return Keepalived(paths, keepalived_cmd="/usr/sbin/keepalived", namespace=namespace, run=runner)


def test_a_valid_config_becomes_active_after_a_check_in_the_namespace(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    runner = FakeRunner(RunResult(0, ""))
    keepalived(paths, runner).apply_config("global_defs {\n}\n")
    assert paths.keepalived_config.read_text() == "global_defs {\n}\n"
    assert paths.keepalived_config.stat().st_mode & 0o777 == 0o600
    assert not paths.keepalived_candidate.exists()
    argv = runner.calls[0]
    assert argv[1:] == [
        "netns", "exec", "ns-1", "/usr/sbin/keepalived", "--config-test", "-f",
        str(paths.keepalived_candidate),
    ]  # fmt: skip


def test_a_rejected_config_leaves_the_active_one_untouched(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    paths.keepalived_config.write_text("old")
    message = "(keepalived.conf.new: Line 3) Unknown keyword 'bogus'"
    with pytest.raises(ConfigRejected) as caught:
        keepalived(paths, FakeRunner(RunResult(5, message + "\n"))).apply_config("new")
    assert caught.value.details == message
    assert STATUS_FOR[ConfigRejected] == 400
    assert paths.keepalived_config.read_text() == "old"
    assert paths.keepalived_rejected.read_text() == "new"


def test_without_a_namespace_keepalived_runs_directly(tmp_path: Path) -> None:
    runner = FakeRunner(RunResult(0, ""))
    keepalived(LbPaths(tmp_path), runner, namespace="").apply_config("x")
    assert runner.calls[0][0] == "/usr/sbin/keepalived"


def test_start_command(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    argv = keepalived(paths, FakeRunner(RunResult(0, ""))).start_command()
    assert argv[3:] == [
        "ns-1",
        "/usr/sbin/keepalived", "--vrrp", "--dont-fork", "--log-console", "--log-detail",
        "--no-syslog", "-f", str(paths.keepalived_config), "-p", str(paths.keepalived_pid),
        "-r", str(paths.vrrp_pid),
    ]  # fmt: skip


def test_start_needs_a_config(tmp_path: Path) -> None:
    with pytest.raises(KeepalivedFailed):
        keepalived(LbPaths(tmp_path), FakeRunner(RunResult(0, ""))).start()
    assert STATUS_FOR[KeepalivedFailed] == 500


def test_stop_when_not_running_is_fine_and_clears_stale_files(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    paths.keepalived_pid.write_text("999999999\n")
    paths.vrrp_state.write_text("MASTER\n")
    k = keepalived(paths, FakeRunner(RunResult(0, "")))
    assert k.stop() == "keepalived is not running"
    assert k.stop() == "keepalived is not running"
    assert not paths.keepalived_pid.exists() and not paths.vrrp_state.exists()


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose command line names `keepalived.conf` (as keepalived's would)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            str(LbPaths(tmp_path).keepalived_config),
        ]
    )
    yield proc
    proc.kill()
    proc.wait()


def test_pid_and_state_come_from_files_of_our_process(
    tmp_path: Path, stand_in: subprocess.Popen[bytes]
) -> None:
    paths = LbPaths(tmp_path)
    k = keepalived(paths, FakeRunner(RunResult(0, "")))
    paths.vrrp_state.write_text("MASTER\n")
    paths.keepalived_pid.write_text(f"{stand_in.pid}\n")
    assert k.pid() == stand_in.pid
    assert k.state() == "MASTER"
    paths.vrrp_state.write_text("STOP\n")
    assert k.state() is None
    # A pid file naming another program (a recycled pid) is not ours: never signalled.
    paths.keepalived_pid.write_text(f"{os.getpid()}\n")
    assert k.pid() is None and k.state() is None


def test_scripts(tmp_path: Path, stand_in: subprocess.Popen[bytes]) -> None:
    """The check script passes only while the HAProxy pid file names a process started
    with our haproxy.cfg; the notify script records the state."""
    paths = LbPaths(tmp_path)
    write_vrrp_scripts(paths)
    for script in (paths.vrrp_check_script, paths.vrrp_notify_script):
        assert script.stat().st_mode & 0o777 == 0o700

    def check() -> int:
        return subprocess.run([str(paths.vrrp_check_script)], check=False).returncode

    assert check() != 0  # no pid file
    paths.pid_file.write_text("not a pid\n")
    assert check() != 0
    paths.pid_file.write_text(f"{os.getpid()}\n")
    assert check() != 0  # alive, but not our HAProxy
    haproxy = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-f", str(paths.config)]
    )
    try:
        paths.pid_file.write_text(f"{haproxy.pid}\n")
        assert check() == 0
    finally:
        haproxy.kill()
        haproxy.wait()
    assert check() != 0  # dead

    notify = str(paths.vrrp_notify_script)
    subprocess.run([notify, "INSTANCE", "lb_x", "BACKUP", "90"], check=True)
    assert paths.vrrp_state.read_text() == "BACKUP\n"
    subprocess.run([notify, "INSTANCE", "lb_x", "bogus; rm -rf /", "90"], check=True)
    assert paths.vrrp_state.read_text() == "BACKUP\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["haproxy.pid", "vrrp-check.sh", "vrrp-notify.sh", "vrrp.state"]
    )


def test_routes() -> None:
    route, params = match("PUT", "/1.0/vrrp/upload")
    assert route.handler.__name__ == "put_vrrp_config" and params == {}
    for action in ("start", "stop", "reload"):
        route, params = match("PUT", f"/1.0/vrrp/{action}")
        assert route.handler.__name__ == "put_vrrp_action" and params == {"action": action}


def test_status_reports_vrrp_state_only_on_active_standby_amphorae(tmp_path: Path) -> None:
    config: AgentConfig = {
        "amphora_id": "amp-1",
        "bind_host": "127.0.0.1",
        "bind_port": 9443,
        "base_dir": str(tmp_path),
        "haproxy_namespace": "",
        "haproxy_cmd": "/usr/sbin/haproxy",
        "server_cert": "unused",
        "server_key": "unused",
        "client_ca": "unused",
    }
    agent = Agent(config)
    agent.prepare()
    report = json.loads(get_status(agent, Request("GET", "/1.0/status", {})).body)
    assert "vrrp_state" not in report
    agent.paths.keepalived_config.write_text("global_defs {\n}\n")
    report = json.loads(get_status(agent, Request("GET", "/1.0/status", {})).body)
    assert report["vrrp_state"] is None  # keepalived not running
