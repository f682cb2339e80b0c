"""runtime_commands against a real HAProxy 2.6 on 127.0.0.1 (skipped without haproxy).

Starts small HTTP servers and `haproxy -W -D -S master.sock -f cfg -p pid` the
way the agent does, applies the commands for a member-only change through the
stats socket while a keep-alive client and slow requests are running, and
checks `show servers state` / `show stat`, the traffic, and that the state
survives a reload with the new config once the state file is dumped. The
HAProxy started here is stopped by its PID in a finalizer.
"""

import contextlib
import dataclasses
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)
from statera.domain.specs import (
    AmphoraRuntime,
    HaproxyDefaults,
    HealthMonitorSpec,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    SessionPersistenceSpec,
)
from statera.rendering import render_haproxy, runtime_commands

HAPROXY = "/usr/sbin/haproxy"
SLOW_S = 1.5
pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")

OK_ANSWERS = {"", "New server registered.", "Server deleted."}
BUSY_ANSWER = "Server still has connections attached to it, cannot remove it."


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"statera-live/{name}"))


# --- small HTTP servers ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_NamedServer"

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(SLOW_S)
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _NamedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, family: socket.AddressFamily, host: str) -> None:
        self.address_family = family
        self.name = name
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # TCP-mode clients hang up early; not interesting here


@pytest.fixture
def serve() -> Iterator[Callable[..., int]]:
    """serve(name, host="127.0.0.1") -> port of a running server answering `name`."""
    servers: list[_NamedServer] = []

    def start(name: str, host: str = "127.0.0.1") -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = _NamedServer(name, family, host)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- the HAProxy under test -----------------------------------------------------


def _ask(path: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(command.encode() + b"\n")
        # HAProxy 2.6's master CLI answers but keeps the connection open until
        # the client half-closes (as socat does); the stats socket takes it too.
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"  # a daemon's zombie waits on PID 1


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Haproxy:
    runtime: AmphoraRuntime
    pids: set[int] = field(default_factory=set)

    @property
    def base(self) -> Path:
        return Path(self.runtime.base_dir)

    def start(self, text: str) -> None:
        (self.base / "haproxy.cfg").write_text(text)
        command = f"{HAPROXY} -W -D -S {{base}}/master.sock -f {{base}}/haproxy.cfg -p {{base}}/pid"
        subprocess.run(
            command.format(base=self.base).split(), check=True, capture_output=True, timeout=30
        )
        self.pids.add(int((self.base / "pid").read_text().split()[0]))
        _wait(self._answers, 10, "the stats socket and the master CLI")
        self.pids.update(self.worker_pids())

    def _answers(self) -> bool:
        try:
            return "Pid:" in self.cli("show info") and bool(self.worker_pids())
        except OSError:
            return False

    def cli(self, command: str) -> str:
        return _ask(Path(self.runtime.stats_socket), command)

    def worker_pids(self) -> set[int]:
        lines = _ask(self.base / "master.sock", "show proc").splitlines()
        return {int(line.split()[0]) for line in lines if line.split()[1:2] == ["worker"]}

    def worker_pid(self) -> int:
        info = dict(
            line.split(": ", 1) for line in self.cli("show info").splitlines() if ": " in line
        )
        return int(info["Pid"])

    def reload(self, text: str) -> None:
        """What the agent does: dump state, swap the file, reload through the master."""
        Path(self.runtime.server_state_file).write_text(self.cli("show servers state"))
        candidate = self.base / "haproxy.cfg.new"
        candidate.write_text(text)
        subprocess.run([HAPROXY, "-c", "-f", str(candidate)], check=True, capture_output=True)
        os.replace(candidate, self.base / "haproxy.cfg")
        before = self.worker_pid()
        with contextlib.suppress(OSError):
            _ask(self.base / "master.sock", "reload")

        def new_worker() -> bool:
            try:
                return self.worker_pid() != before
            except (OSError, KeyError, ValueError):
                return False

        _wait(new_worker, 10, "the new worker")
        _wait(self._answers, 10, "the re-executed master")
        self.pids.update(self.worker_pids())

    def stop(self) -> None:
        for pid in sorted(self.pids):  # the master first: it stops its workers
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(AssertionError):
            _wait(lambda: not any(_alive(p) for p in self.pids), 5, "haproxy to stop")
        for pid in self.pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def servers_state(self) -> dict[tuple[str, str], dict[str, str]]:
        """(backend, server) -> the columns of `show servers state`."""
        lines = self.cli("show servers state").splitlines()
        header = lines[1].lstrip("# ").split()  # line 0 is the format version
        rows = [dict(zip(header, line.split(), strict=False)) for line in lines[2:] if line]
        return {(row["be_name"], row["srv_name"]): row for row in rows}

    def stat_status(self) -> dict[tuple[str, str], str]:
        lines = self.cli("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        table = {}
        for line in lines[1:]:
            if line:
                row = dict(zip(header, line.split(","), strict=False))
                table[(row["pxname"], row["svname"])] = row["status"]
        return table


@pytest.fixture
def haproxy() -> Iterator[Haproxy]:
    # A short directory: a unix socket path must fit in 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="st-hap-", dir="/tmp"))
    process = Haproxy(AmphoraRuntime(amphora_id=uid("amp"), base_dir=str(base)))
    try:
        yield process
    finally:
        process.stop()
        for path in sorted(base.iterdir()):
            path.unlink()
        base.rmdir()


# --- clients ---------------------------------------------------------------------


def get(port: int, path: str = "/") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def get_body(port: int, path: str = "/") -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    body = conn.getresponse().read().decode()
    conn.close()
    return body


@dataclass
class KeepAliveClient:
    """Sends requests on one keep-alive connection until stopped; counts failures."""

    port: int
    stop: threading.Event = field(default_factory=threading.Event)
    ok: int = 0
    failures: list[str] = field(default_factory=list)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop.is_set():
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    self.ok += 1
                else:
                    self.failures.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.close()


# --- the scenario --------------------------------------------------------------------


def test_member_changes_apply_without_reload_and_survive_one(
    haproxy: Haproxy, serve: Callable[..., int]
) -> None:
    ports = {name: serve(name) for name in "ABCDE"}
    closed = free_port()
    v6 = ipv6_loopback()
    f6 = serve("F", "::1") if v6 else 0
    listen = [free_port() for _ in range(5)]

    def m(name: str, port: int, address: str = "127.0.0.1", **kw: object) -> MemberSpec:
        return MemberSpec(id=uid(name), address=address, protocol_port=port, **kw)  # type: ignore[arg-type]

    def hm(name: str, kind: HealthMonitorType) -> HealthMonitorSpec:
        return HealthMonitorSpec(
            id=uid(name), type=kind, delay_s=1, timeout_s=1, max_retries=1, max_retries_down=1
        )

    def lb(
        p1: tuple[MemberSpec, ...],
        p2: tuple[MemberSpec, ...],
        p3: tuple[MemberSpec, ...],
        p4: tuple[MemberSpec, ...],
        p5: tuple[MemberSpec, ...],
        generation: int,
    ) -> LoadBalancerSpec:
        pools = (
            PoolSpec(uid("p1"), PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, members=p1,
                     health_monitor=hm("hm1", HealthMonitorType.HTTP)),
            PoolSpec(uid("p2"), PoolProtocol.TCP, Algorithm.SOURCE_IP, members=p2,
                     health_monitor=hm("hm2", HealthMonitorType.TCP),
                     session_persistence=SessionPersistenceSpec(SessionPersistenceType.SOURCE_IP)),
            PoolSpec(uid("p3"), PoolProtocol.PROXYV2, Algorithm.LEAST_CONNECTIONS, members=p3),
            PoolSpec(uid("p4"), PoolProtocol.TCP, Algorithm.SOURCE_IP_PORT, members=p4),
            PoolSpec(uid("p5"), PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, members=p5,
                     session_persistence=SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE)),
        )  # fmt: skip
        protocols = (ListenerProtocol.HTTP, ListenerProtocol.TCP, ListenerProtocol.HTTP,
                     ListenerProtocol.TCP, ListenerProtocol.HTTP)  # fmt: skip
        listeners = tuple(
            ListenerSpec(uid(f"l{i}"), protocol, listen[i - 1], default_pool_id=uid(f"p{i}"))
            for i, protocol in enumerate(protocols, start=1)
        )
        return LoadBalancerSpec(
            uid("lb"), "127.0.0.1", listeners=listeners, pools=pools, generation=generation
        )

    old = lb(
        (m("m1", ports["A"]), m("m2", ports["B"], admin_state_up=False), m("m3", ports["C"])),
        (m("n1", ports["A"]),),
        (m("q1", ports["A"]),),
        (m("r1", ports["A"]), m("r2", ports["B"])),
        (m("c1", ports["A"]), m("c2", ports["B"])),
        generation=1,
    )
    added_p1 = [
        m("m4", ports["D"], monitor_address="127.0.0.1", monitor_port=ports["D"], weight=2),
        m("m5", ports["E"], monitor_port=closed),  # its check port is closed: DOWN
        m("m6", ports["E"], address="127.0.0.2", admin_state_up=False),
    ]
    if v6:
        added_p1.append(m("m7", f6, address="::1", monitor_address="::1"))
    new = lb(
        (m("m1", ports["A"], weight=5), m("m2", ports["B"]), *added_p1),
        (
            m("n1", ports["A"]),
            m("n2", ports["B"], monitor_address="127.0.0.1", monitor_port=ports["C"]),
        ),
        (m("q1", ports["A"]), m("q2", ports["B"], backup=True)),
        (m("r1", ports["A"]), m("r2", ports["B"]), m("r3", ports["C"])),
        (m("c1", ports["A"], weight=3),),
        generation=2,
    )
    defaults = HaproxyDefaults(default_connection_limit=1000, max_global_connections=5000)
    haproxy.start(render_haproxy(old, runtime=haproxy.runtime, defaults=defaults))
    b1, b5 = f"{uid('p1')}:{uid('l1')}", f"{uid('p5')}:{uid('l5')}"
    _wait(lambda: haproxy.stat_status().get((b1, uid("m3"))) == "UP", 10, "m3 UP")

    # Four slow requests alternate between m1 and m3 (m2 is down): two are on m3.
    slow: list[int] = []
    slow_threads = [
        threading.Thread(target=lambda: slow.append(get(listen[0], "/slow").status))
        for _ in range(4)
    ]
    for thread in slow_threads:
        thread.start()
    time.sleep(0.3)
    client = KeepAliveClient(listen[0])
    traffic = threading.Thread(target=client.run)
    traffic.start()
    time.sleep(0.2)

    commands = runtime_commands(old, new)
    assert commands is not None
    answers = {command: haproxy.cli(command).strip() for command in commands}
    busy = [c for c, a in answers.items() if c.startswith("del server") and a == BUSY_ANSWER]
    assert {a for c, a in answers.items() if c not in busy} <= OK_ANSWERS, answers
    assert busy == [f"del server {b1}/{uid('m3')}"]  # the slow requests are still on m3

    for thread in slow_threads:
        thread.join(10)
    assert slow == [200, 200, 200, 200]  # in-flight requests finished on the drained server
    _wait(lambda: haproxy.cli(busy[0]).strip() == "Server deleted.", 5, "m3 to be deletable")

    expected_up = {("p1", "m1"), ("p1", "m2"), ("p1", "m4"), ("p2", "n1"), ("p2", "n2")}
    if v6:
        expected_up.add(("p1", "m7"))

    def checks_settled() -> bool:
        status = haproxy.stat_status()
        ups = all(
            status.get((f"{uid(p)}:{uid('l' + p[1])}", uid(s))) == "UP" for p, s in expected_up
        )
        return ups and status.get((b1, uid("m5"))) == "DOWN"

    _wait(checks_settled, 10, "health checks of the new servers")
    status = haproxy.stat_status()
    assert status[(b1, uid("m6"))] == "MAINT"
    assert (b1, uid("m3")) not in status

    backend_of = {lst.default_pool_id: f"{lst.default_pool_id}:{lst.id}" for lst in new.listeners}

    def assert_matches_new() -> None:
        state = haproxy.servers_state()
        for pool in new.pools:
            running = {srv: row for (be, srv), row in state.items() if be == backend_of[pool.id]}
            assert set(running) == {member.id for member in pool.members}, pool.id
            for member in pool.members:
                assert int(running[member.id]["srv_uweight"]) == member.weight, member
                maint = int(running[member.id]["srv_admin_state"]) & 0x23  # F/I/RMAINT
                assert bool(maint) != member.admin_state_up, member

    assert_matches_new()

    client.stop.set()
    traffic.join(10)
    assert client.failures == []
    assert client.ok > 20

    bodies = {get_body(listen[0]) for _ in range(40)}
    assert "C" not in bodies
    assert "D" in bodies
    assert bodies <= {"A", "B", "D", "F"}
    assert len({get_body(listen[3]) for _ in range(30)}) >= 2  # SOURCE_IP_PORT spreads ports
    assert get(listen[4]).getheader("Set-Cookie", "").startswith(f"SRV={uid('c1')}")
    assert (b5, uid("c2")) not in haproxy.stat_status()

    # The agent's reload path: the state file keeps what the runtime API did.
    haproxy.reload(render_haproxy(new, runtime=haproxy.runtime, defaults=defaults))
    # Loaded from the state file, not re-learnt: m5 is DOWN before any new check.
    assert haproxy.stat_status()[(b1, uid("m5"))] == "DOWN"
    assert_matches_new()
    _wait(checks_settled, 10, "health checks after the reload")
    assert haproxy.stat_status()[(b1, uid("m6"))] == "MAINT"


def test_haproxy_refuses_cookies_on_dynamic_servers(
    haproxy: Haproxy, serve: Callable[..., int]
) -> None:
    """Why runtime_commands reloads to grow an HTTP_COOKIE pool (HAProxy 2.6)."""
    pool = PoolSpec(
        uid("cookie-pool"),
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        members=(MemberSpec(uid("cookie-m1"), "127.0.0.1", serve("A")),),
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE),
    )
    listener = ListenerSpec(
        uid("cookie-l"), ListenerProtocol.HTTP, free_port(), default_pool_id=pool.id
    )
    spec = LoadBalancerSpec(uid("cookie-lb"), "127.0.0.1", listeners=(listener,), pools=(pool,))
    haproxy.start(render_haproxy(spec, runtime=haproxy.runtime, defaults=HaproxyDefaults()))
    grown = dataclasses.replace(
        spec,
        pools=(
            dataclasses.replace(
                pool, members=(*pool.members, MemberSpec(uid("cookie-m2"), "127.0.0.1", 9))
            ),
        ),
    )
    assert runtime_commands(spec, grown) is None
    path = f"{pool.id}:{listener.id}/{uid('cookie-m2')}"
    answer = haproxy.cli(f"add server {path} 127.0.0.1:9 weight 1 cookie {uid('cookie-m2')}")
    assert "'cookie' option is not accepted for dynamic server" in answer
