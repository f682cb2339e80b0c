"""apply_config, `show proc` parsing, runtime-command checks, routing and error mapping.

The runner seam fakes `haproxy -c`; the last test runs the real one when installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from statera.agent import runtime_commands
from statera.agent.errors import (
    AgentError,
    BadRequest,
    CommandFailed,
    ConfigRejected,
    Conflict,
    HaproxyFailed,
    MethodNotAllowed,
    NotFound,
)
from statera.agent.files import LbPaths
from statera.agent.haproxy import RunResult, apply_config, config_etag, parse_show_proc
from statera.agent.server import match, status_for

GOOD = (
    "global\n    maxconn 100\n"
    "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
    "frontend f\n    bind 127.0.0.1:1\n"
)


class FakeRunner:
    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], *, timeout_s: float) -> RunResult:
        self.calls.append(list(argv))
        return self.result


def test_a_valid_config_becomes_active(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    run = FakeRunner(RunResult(0, "Configuration file is valid"))

    etag = apply_config(paths, GOOD, run=run, haproxy_cmd="/usr/sbin/haproxy")

    assert run.calls == [["/usr/sbin/haproxy", "-c", "-f", str(paths.candidate)]]
    assert paths.config.read_text() == GOOD
    assert not paths.candidate.exists()
    assert etag == config_etag(GOOD.encode())
    assert len(etag) == 32


def test_a_rejected_config_leaves_the_active_one_untouched(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    paths.config.write_text(GOOD)
    run = FakeRunner(RunResult(1, "[ALERT] unknown keyword 'bogus'"))

    with pytest.raises(ConfigRejected) as info:
        apply_config(paths, "bogus\n", run=run, haproxy_cmd="haproxy")

    assert "unknown keyword 'bogus'" in info.value.details
    assert paths.config.read_text() == GOOD
    assert paths.rejected.read_text() == "bogus\n"
    assert not paths.candidate.exists()


@pytest.mark.skipif(not Path("/usr/sbin/haproxy").exists(), reason="needs haproxy")
def test_real_haproxy_check(tmp_path: Path) -> None:
    from statera.agent.haproxy import run_subprocess

    paths = LbPaths(tmp_path)
    apply_config(paths, GOOD, run=run_subprocess, haproxy_cmd="/usr/sbin/haproxy")
    with pytest.raises(ConfigRejected, match="Invalid request") as info:
        apply_config(
            paths, "global\n    bogus\n", run=run_subprocess, haproxy_cmd="/usr/sbin/haproxy"
        )
    assert "unknown keyword 'bogus'" in info.value.details
    assert paths.config.read_text() == GOOD


SHOW_PROC = """\
#<PID>          <type>          <reloads>       <uptime>        <version>
5272            master          4 [failed: 1]   0d00h10m38s     2.6.12-1+deb12u4
# workers
14425           worker          1               0d00h00m05s     2.6.12-1+deb12u4
# old workers
13497           worker          2               0d00h01m05s     2.6.12-1+deb12u4
# programs

"""


def test_parse_show_proc() -> None:
    table = parse_show_proc(SHOW_PROC)
    assert table.master_pid == 5272
    assert table.reloads == 4
    assert table.failed_reloads == 1
    assert table.workers == (14425,)
    assert table.old_workers == (13497,)


def test_parse_show_proc_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        parse_show_proc("Unknown command\n")


def test_run_subprocess_reports_a_missing_program() -> None:
    from statera.agent.haproxy import run_subprocess

    result = run_subprocess(["/nonexistent/haproxy", "-v"], timeout_s=5)
    assert result.returncode == 127
    assert "cannot run" in result.output


def test_run_subprocess_kills_at_the_timeout() -> None:
    from statera.agent.haproxy import run_subprocess

    sleep = shutil.which("sleep") or "/bin/sleep"
    result = run_subprocess([sleep, "30"], timeout_s=0.2)
    assert result.returncode != 0
    assert "killed after 0.2s" in result.output


@pytest.mark.parametrize(
    ("output", "failed"),
    [
        ("", False),
        ("[6]: New server registered.", False),
        ("[3]: No such backend.", True),
        ("[3]: Empty weight string empty or preceded by garbage", True),
        ("[6]: Unknown command, but maybe one of the following ones is a better match:", True),
        ("# be_id be_name srv_id\n3 b 1 s", False),
        ("[4]: some warning", False),
    ],
)
def test_runtime_error_detection(output: str, failed: bool) -> None:
    assert runtime_commands.is_error(output) is failed


@pytest.mark.parametrize(
    "commands",
    [
        None,
        [],
        "set server b/s weight 1",
        [""],
        [3],
        ["set server b/s weight 1; shutdown sessions server b/s"],
        ["set server b/s weight 1\nshow info"],
    ],
)
def test_runtime_commands_must_be_single_lines(commands: object) -> None:
    with pytest.raises(BadRequest):
        runtime_commands.check_commands(commands)


def test_runtime_commands_are_stripped() -> None:
    assert runtime_commands.check_commands([" show info "]) == ["show info"]


@pytest.mark.parametrize(
    ("method", "path", "handler", "params"),
    [
        ("GET", "/", "get_root", {}),
        ("GET", "/1.0/info", "get_info", {}),
        (
            "PUT",
            "/1.0/loadbalancer/amp-1/lb-1/haproxy",
            "put_haproxy_config",
            {"amphora_id": "amp-1", "lb_id": "lb-1"},
        ),
        ("GET", "/1.0/loadbalancer/lb-1/haproxy", "get_haproxy_config", {"lb_id": "lb-1"}),
        (
            "PUT",
            "/1.0/loadbalancer/lb-1/reload",
            "put_action",
            {"lb_id": "lb-1", "action": "reload"},
        ),
        ("DELETE", "/1.0/listeners/lb-1", "delete_listeners", {"lb_id": "lb-1"}),
        ("GET", "/1.0/status", "get_status", {}),
        ("PUT", "/1.0/runtime/lb-1", "put_runtime", {"lb_id": "lb-1"}),
        (
            "PUT",
            "/1.0/loadbalancer/amp-1/lb-1/certificates/site.pem",
            "put_certificate",
            {"amphora_id": "amp-1", "lb_id": "lb-1", "filename": "site.pem"},
        ),
        (
            "GET",
            "/1.0/loadbalancer/lb-1/certificates/site.pem",
            "get_certificate",
            {"lb_id": "lb-1", "filename": "site.pem"},
        ),
        (
            "DELETE",
            "/1.0/loadbalancer/lb-1/certificates/a_b-1.2.pem",
            "delete_certificate",
            {"lb_id": "lb-1", "filename": "a_b-1.2.pem"},
        ),
        ("GET", "/1.0/loadbalancer/lb-1/certificates", "list_certificates", {"lb_id": "lb-1"}),
    ],
)
def test_route_table(method: str, path: str, handler: str, params: dict[str, str]) -> None:
    route, found = match(method, path)
    assert route.handler.__name__ == handler
    assert found == params


def test_unknown_paths_and_methods() -> None:
    with pytest.raises(NotFound):
        match("GET", "/1.0/nothing")
    with pytest.raises(NotFound):  # not a valid id: no route matches
        match("GET", "/1.0/loadbalancer/..%2f/haproxy")
    with pytest.raises(NotFound):
        match("PUT", "/1.0/loadbalancer/lb-1/explode")
    with pytest.raises(MethodNotAllowed) as info:
        match("POST", "/1.0/status")
    assert info.value.allowed == ["GET"]


@pytest.mark.parametrize(
    "path",
    [
        "/1.0/loadbalancer/lb-1/certificates/x.key",
        "/1.0/loadbalancer/lb-1/certificates/..%2fx.pem",
        "/1.0/loadbalancer/lb-1/certificates/a/b.pem",
        "/1.0/loadbalancer/lb-1/certificates/.pem",
        f"/1.0/loadbalancer/lb-1/certificates/{'a' * 201}.pem",
    ],
)
def test_certificate_routes_match_only_plain_pem_names(path: str) -> None:
    with pytest.raises(NotFound):
        match("GET", path)


def test_certificate_paths_allow_their_methods_only() -> None:
    with pytest.raises(MethodNotAllowed) as info:
        match("PUT", "/1.0/loadbalancer/lb-1/certificates/site.pem")
    assert info.value.allowed == ["GET", "DELETE"]
    with pytest.raises(MethodNotAllowed):
        match("PUT", "/1.0/loadbalancer/lb-1/certificates")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequest("x"), 400),
        (ConfigRejected("x"), 400),
        (CommandFailed("x"), 400),
        (NotFound("x"), 404),
        (MethodNotAllowed(["GET"]), 405),
        (Conflict("x"), 409),
        (HaproxyFailed("x"), 500),
        (AgentError("x"), 500),
    ],
)
def test_one_table_maps_errors_to_statuses(error: AgentError, status: int) -> None:
    assert status_for(error) == status
