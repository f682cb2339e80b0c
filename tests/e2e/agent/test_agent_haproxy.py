"""The agent driving a real HAProxy: apply, start, hitless reload, rejection, status, runtime, stop.

Traffic goes only to 127.0.0.1 or into a namespace created by the test; every
loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from tests.e2e.agent.agent_world import (
    BACKEND,
    LB,
    LISTENER,
    MEMBER,
    Amphora,
    Backend,
    http_get,
    netns_inode,
    process_netns_inode,
    render,
    wait_for,
)
from tests.integration.agent.agent_harness import free_port, pss_kib

from statera.agent_client import AgentRejected, AgentUnreachable
from statera.protocol.agent_api import AmphoraStatusReport

pytestmark = pytest.mark.e2e

AGENT_PSS_BUDGET_KIB = 20 * 1024


class LoadLoop:
    """Requests in a loop until stopped, at most `max_requests` or `max_s`.

    `keep_alive` reuses one connection (reopened when the server closes it after a
    response, as old workers do during a reload); otherwise each request connects anew.
    """

    def __init__(
        self, port: int, *, keep_alive: bool = False, max_requests: int = 5000, max_s: float = 30.0
    ) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self.max_requests = max_requests
        self.max_s = max_s
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_s
        conn: http.client.HTTPConnection | None = None
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            try:
                if not self.keep_alive:
                    status, body = http_get(self.port)
                else:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    conn.request("GET", "/")
                    response = conn.getresponse()
                    status, body = response.status, response.read()
                    if response.will_close:
                        conn.close()
                        conn = None
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
                if conn is not None:
                    conn.close()
                    conn = None
                continue
            if status == 200 and body == b"ok\n":
                self.ok += 1
            else:
                self.failures.append(f"{status} {body[:60]!r}")
        if conn is not None:
            conn.close()


def member_state(report: AmphoraStatusReport) -> str | None:
    pool = report["pools"].get(BACKEND)
    return None if pool is None else pool["members"].get(MEMBER)


def status_with_member(amp: Amphora, state: str) -> AmphoraStatusReport | None:
    report = amp.client.get_status(amp.address)
    return report if member_state(report) == state else None


def test_lifecycle(amphora_factory: Callable[..., Amphora], backend: Backend) -> None:
    amp = amphora_factory()
    client, address = amp.client, amp.address
    port = free_port()
    config = render(amp.base, frontend_port=port, backend_port=backend.port)

    # Upload, then start: the agent answers once a worker serves.
    etag = client.upload_haproxy_config(address, lb_id=LB, config=config)
    assert client.get_haproxy_config(address, lb_id=LB).etag == etag
    assert "started" in client.start_haproxy(address, lb_id=LB)
    assert http_get(port) == (200, b"ok\n")

    report = wait_for(lambda: status_with_member(amp, "UP"), timeout_s=10, what="member UP")
    assert report["listeners"][LISTENER]["status"] == "OPEN"
    assert report["listeners"][LISTENER]["stats"]["totconns"] >= 1
    assert report["pools"][BACKEND]["status"] == "UP"

    # Reload three times under a bounded request loop: not one request may fail.
    master = amp.master_pid()
    with LoadLoop(port) as load, LoadLoop(port, keep_alive=True) as kept:
        for generation in range(3):
            before, kept_before = load.ok, kept.ok
            wait_for(
                lambda b=before, k=kept_before: load.ok >= b + 20 and kept.ok >= k + 20,
                timeout_s=10,
                what="traffic before reload",
            )
            client.upload_haproxy_config(
                address,
                lb_id=LB,
                config=render(
                    amp.base, frontend_port=port, backend_port=backend.port, comment=str(generation)
                ),
            )
            assert "reloaded" in client.reload_haproxy(address, lb_id=LB)
        after, kept_after = load.ok, kept.ok
        wait_for(
            lambda: load.ok >= after + 20 and kept.ok >= kept_after + 20,
            timeout_s=10,
            what="traffic after reloads",
        )
    assert load.failures == []
    assert kept.failures == []
    assert load.ok >= 80 and kept.ok >= 80
    print(f"\n{load.ok} + {kept.ok} (keep-alive) requests during 3 reloads", file=sys.stderr)
    assert amp.master_pid() == master  # seamless: same master, new workers

    # An invalid config is refused with HAProxy's words; the running one stays.
    good_etag = client.get_haproxy_config(address, lb_id=LB).etag
    with pytest.raises(AgentRejected) as rejected:
        client.upload_haproxy_config(address, lb_id=LB, config=config + "    bogus_keyword\n")
    assert rejected.value.status == 400
    assert "bogus_keyword" in rejected.value.detail
    assert client.get_haproxy_config(address, lb_id=LB).etag == good_etag
    assert http_get(port) == (200, b"ok\n")
    client.reload_haproxy(address, lb_id=LB)  # still reloads the good one
    assert http_get(port) == (200, b"ok\n")

    # Runtime API: change a weight without reload; it survives a reload (server state file).
    server = f"{BACKEND}/{MEMBER}"
    assert client.run_runtime_commands(
        address, lb_id=LB, commands=[f"set server {server} weight 7"]
    ) == [""]
    client.reload_haproxy(address, lb_id=LB)
    (weight,) = client.run_runtime_commands(address, lb_id=LB, commands=[f"get weight {server}"])
    assert weight.startswith("7 ")
    with pytest.raises(AgentRejected) as failed:
        client.run_runtime_commands(address, lb_id=LB, commands=["set server nope/x weight 1"])
    assert failed.value.status == 400
    assert "No such" in failed.value.detail

    # The member goes DOWN when its server stops, and the pool with it.
    backend.stop()
    report = wait_for(lambda: status_with_member(amp, "DOWN"), timeout_s=10, what="member DOWN")
    assert report["pools"][BACKEND]["status"] == "DOWN"
    assert report["seq"] > 1

    # Measure the agent after it served all of the above.
    pss = pss_kib(amp.agent.pid)
    print(f"\nagent PSS after the lifecycle: {pss} KiB ({pss / 1024:.1f} MiB)", file=sys.stderr)
    assert pss <= AGENT_PSS_BUDGET_KIB

    # Stop: the master exits, nothing listens, the status is empty; stop again is harmless.
    master = amp.master_pid()
    assert master is not None
    client.stop_haproxy(address, lb_id=LB)
    assert amp.master_pid() is None or not _running(master)
    with pytest.raises(OSError):
        http_get(port, timeout_s=2)
    assert client.get_status(address)["listeners"] == {}
    assert "not running" in client.stop_haproxy(address, lb_id=LB)

    # Delete removes the LB's files; deleting again is fine; the LB is gone.
    client.delete_load_balancer(address, lb_id=LB)
    client.delete_load_balancer(address, lb_id=LB)
    assert not amp.paths.config.exists()
    assert amp.paths.ping_wrapper.exists()
    with pytest.raises(AgentRejected) as gone:
        client.get_haproxy_config(address, lb_id=LB)
    assert gone.value.status == 404

    assert amp.agent.terminate() == 0
    assert '"GET /1.0/status" 200' in amp.agent.log()


def _running(pid: int) -> bool:
    from statera.agent.haproxy import process_running

    return process_running(pid)


def test_a_restarted_agent_adopts_the_running_haproxy(
    amphora_factory: Callable[..., Amphora], backend: Backend
) -> None:
    amp = amphora_factory()
    client, address = amp.client, amp.address
    port = free_port()
    client.upload_haproxy_config(
        address, lb_id=LB, config=render(amp.base, frontend_port=port, backend_port=backend.port)
    )
    client.start_haproxy(address, lb_id=LB)
    master = amp.master_pid()

    # The agent exits cleanly on SIGTERM and HAProxy keeps serving without it.
    assert amp.agent.terminate() == 0
    with pytest.raises(AgentUnreachable):
        client.get_api_version(address)
    assert http_get(port) == (200, b"ok\n")

    amp.start_agent()
    assert "adopted running haproxy master" in amp.agent.log()
    wait_for(
        lambda: member_state(client.get_status(address)) == "UP", timeout_s=10, what="member UP"
    )
    # Start on a running HAProxy reloads it instead of starting a second one.
    assert "reloaded" in client.start_haproxy(address, lb_id=LB)
    assert amp.master_pid() == master
    assert http_get(port) == (200, b"ok\n")
    client.stop_haproxy(address, lb_id=LB)


def test_another_load_balancer_is_refused_until_the_first_is_deleted(
    amphora_factory: Callable[..., Amphora], backend: Backend
) -> None:
    amp = amphora_factory()
    client, address = amp.client, amp.address
    config = render(amp.base, frontend_port=free_port(), backend_port=backend.port)
    client.upload_haproxy_config(address, lb_id=LB, config=config)
    with pytest.raises(AgentRejected) as conflict:
        client.upload_haproxy_config(address, lb_id="other-lb", config=config)
    assert conflict.value.status == 409
    with pytest.raises(AgentRejected) as missing:
        client.start_haproxy(address, lb_id="other-lb")
    assert missing.value.status == 404
    client.delete_load_balancer(address, lb_id=LB)
    client.upload_haproxy_config(address, lb_id="other-lb", config=config)


def test_haproxy_runs_in_the_tenant_namespace_with_ping_checks(
    amphora_factory: Callable[..., Amphora], namespace: str
) -> None:
    amp = amphora_factory(namespace)
    client, address = amp.client, amp.address
    frontend, backend_port = free_port(), free_port()
    # A backend inside the namespace, started (and killed) by its pid.
    backend = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "http.server",
         "--bind", "127.0.0.1", str(backend_port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        config = render(amp.base, frontend_port=frontend, backend_port=backend_port)
        config = config.replace(
            "global\n", "global\n    external-check\n    insecure-fork-wanted\n", 1
        )
        config += (
            "\nbackend ping:pool\n"
            "    option external-check\n"
            f"    external-check command {amp.paths.ping_wrapper}\n"
            "    server reachable 127.0.0.1:80 check inter 300ms fall 1 rise 1\n"
            "    server unreachable 192.0.2.1:80 check inter 300ms fall 1 rise 1\n"
        )
        client.upload_haproxy_config(address, lb_id=LB, config=config)
        client.start_haproxy(address, lb_id=LB)
        master = amp.master_pid()
        assert master is not None
        assert process_netns_inode(master) == netns_inode(namespace)

        def pings() -> dict[str, str] | None:
            members = client.get_status(address)["pools"].get("ping:pool", {}).get("members", {})
            done = members.get("reachable") == "UP" and members.get("unreachable") == "DOWN"
            return dict(members) if done else None

        wait_for(pings, timeout_s=15, what="PING monitor results")
        wait_for(
            lambda: member_state(client.get_status(address)) == "UP",
            timeout_s=15,
            what="HTTP member UP inside the namespace",
        )
        # Traffic from inside the namespace, through HAProxy, to the backend.
        fetch = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c",
             f"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{frontend}/', "
             "timeout=5).status)"],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert fetch.stdout.strip() == "200", fetch.stderr
        # Nothing listens on the host side.
        with pytest.raises(OSError):
            http_get(frontend, timeout_s=2)
        client.stop_haproxy(address, lb_id=LB)
    finally:
        backend.terminate()
        try:
            backend.wait(timeout=10)
        except subprocess.TimeoutExpired:
            backend.kill()
            backend.wait(timeout=10)


def test_a_reload_that_fails_keeps_the_old_config_serving(
    amphora_factory: Callable[..., Amphora], backend: Backend
) -> None:
    """`haproxy -c` passes but the new worker cannot bind: HAProxy keeps the old one, so do we."""
    amp = amphora_factory()
    client, address = amp.client, amp.address
    port = free_port()
    good = render(amp.base, frontend_port=port, backend_port=backend.port)
    client.upload_haproxy_config(address, lb_id=LB, config=good)
    client.start_haproxy(address, lb_id=LB)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        bad = good.replace(
            f"bind 127.0.0.1:{port}\n", f"bind 127.0.0.1:{port}\n    bind 127.0.0.1:{busy_port}\n"
        )
        client.upload_haproxy_config(address, lb_id=LB, config=bad)  # valid for `haproxy -c`
        with pytest.raises(AgentRejected) as failed:
            client.reload_haproxy(address, lb_id=LB)
        assert failed.value.status == 500
        assert "keeps the previous one" in failed.value.detail
        assert "could not apply the configuration" in failed.value.detail

        # The active file is the last good config again; the running HAProxy serves it.
        assert client.get_haproxy_config(address, lb_id=LB).text == good
        assert amp.paths.rejected.read_text() == bad
        assert http_get(port) == (200, b"ok\n")
        assert "reloaded" in client.reload_haproxy(address, lb_id=LB)

        # Starting from scratch on a busy port fails with HAProxy's own words.
        client.stop_haproxy(address, lb_id=LB)
        client.upload_haproxy_config(address, lb_id=LB, config=bad)
        with pytest.raises(AgentRejected) as refused:
            client.start_haproxy(address, lb_id=LB)
        assert refused.value.status == 500
        assert "cannot bind socket" in refused.value.detail or "Address already in use" in (
            refused.value.detail
        )
        assert amp.master_pid() is None


def test_runtime_commands_need_a_running_haproxy(
    amphora_factory: Callable[..., Amphora], backend: Backend
) -> None:
    amp = amphora_factory()
    client, address = amp.client, amp.address
    client.upload_haproxy_config(
        address,
        lb_id=LB,
        config=render(amp.base, frontend_port=free_port(), backend_port=backend.port),
    )
    with pytest.raises(AgentRejected) as stopped:
        client.run_runtime_commands(address, lb_id=LB, commands=["show info"])
    assert stopped.value.status == 409
    with pytest.raises(AgentRejected) as smuggled:
        client.run_runtime_commands(address, lb_id=LB, commands=["show info; shutdown frontend x"])
    assert smuggled.value.status == 400
