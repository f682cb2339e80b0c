"""ACTIVE_STANDBY's data plane for real: two agents' keepalived moving a VIP between namespaces.

Two tenant namespaces (`<prefix>-a`, `<prefix>-b`, each with `eth1` on one test
bridge) stand for the haproxy namespaces of a MASTER and a BACKUP amphora. Each
has an `Agent` (driven through its route handlers, no TLS: tests/integration/agent/
test_agent_mtls.py covers the transport) running a real HAProxy and a real
keepalived with a config from `render_keepalived`. The tests assert where the
VIP is (`ip addr` in the namespaces, and who answers HTTP on it from the host)
after a graceful stop of the MASTER's keepalived and after its HAProxy dies.

Needs root, `ip`, haproxy and keepalived; skipped otherwise. Everything carries a
per-run prefix and is removed in the fixture's finalizer, processes by the pids
found in the namespaces created here; the test range has a blackhole guard.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.integration.agent.agent_harness import poll, sh

from statera.agent.errors import ConfigRejected
from statera.agent.haproxy import process_running
from statera.agent.keepalived import Keepalived
from statera.agent.routes import (
    Agent,
    Request,
    delete_listeners,
    get_status,
    put_action,
    put_haproxy_config,
    put_vrrp_action,
    put_vrrp_config,
)
from statera.domain.specs import AmphoraRuntime, VrrpSpec
from statera.protocol.agent_api import AgentConfig
from statera.rendering.keepalived import render_keepalived

HAPROXY = "/usr/sbin/haproxy"
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "keepalived"
GOLDEN_BASE_DIR = "/var/lib/statera/amp-6790b428-cc88-5a49-a165-d043627938f3"
LB_ID = "8d8ada21-fb06-5f1f-9a05-8d8dfc50542c"
MOVE_DEADLINE_S = 15.0
BLACKHOLE_METRIC = 4000
HTTP_PORT = 8080

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not Path(HAPROXY).exists(), reason="needs haproxy"),
    pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="needs keepalived"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]


@dataclass
class Amphora:
    name: str
    namespace: str
    vrrp_ip: str
    agent: Agent
    log_file: Path

    def holds(self, address: str) -> bool:
        out = sh("ip", "-n", self.namespace, "-o", "addr", "show", "dev", "eth1")
        return f" {address}/" in out

    def vrrp_state(self) -> object:
        status = get_status(self.agent, Request("GET", "/1.0/status", {}))
        return json.loads(status.body).get("vrrp_state", "absent")


@dataclass
class Pair:
    prefix: str
    network: ipaddress.IPv4Network
    vip: str
    master: Amphora
    backup: Amphora

    def spec(self, amp: Amphora, *, priority: int) -> VrrpSpec:
        peer = self.backup if amp is self.master else self.master
        return VrrpSpec(
            lb_id=LB_ID,
            router_id=51,
            priority=priority,
            own_ip=amp.vrrp_ip,
            peer_ips=(peer.vrrp_ip,),
            vip=self.vip,
            vip_prefixes=((self.vip, self.network.prefixlen),),
            auth_pass="Test1234",
        )


def haproxy_config(amp: Amphora, vip: str) -> str:
    base = amp.agent.paths.base
    return (
        "global\n"
        f"    stats socket {base}/haproxy.sock mode 600 level admin\n"
        "defaults\n"
        "    mode http\n"
        "    timeout connect 1s\n"
        "    timeout client 5s\n"
        "    timeout server 5s\n"
        "frontend vip\n"
        f"    bind {vip}:{HTTP_PORT}\n"
        f"    http-request return status 200 content-type text/plain string {amp.name}\n"
    )


def who_answers(vip: str) -> str | None:
    """The amphora name HAProxy on the VIP answers with, or None."""
    try:
        with socket.create_connection((vip, HTTP_PORT), timeout=0.5) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            conn.settimeout(0.5)
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
    except OSError:
        return None
    return reply.split(b"\r\n\r\n", 1)[-1].decode() or None


def request(path: str, body: bytes = b"", **params: str) -> Request:
    return Request("PUT", path, params, body)


def free_network() -> ipaddress.IPv4Network:
    routes = sh("ip", "-o", "route", "show", "table", "all")
    for _ in range(50):
        third = int.from_bytes(os.urandom(1), "big")
        network = ipaddress.ip_network(f"10.231.{third}.0/24")
        if f"10.231.{third}." not in routes:
            return network
    raise RuntimeError("no free /24 in 10.231.0.0/16")


def _kill_namespace_pids(namespace: str) -> None:
    with contextlib.suppress(RuntimeError):
        for pid in (int(p) for p in sh("ip", "netns", "pids", namespace).split()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    prefix = f"kv{os.urandom(3).hex()}"
    bridge = f"{prefix}br"
    network = free_network()
    hosts = list(network.hosts())
    namespaces: list[str] = []
    amphorae: list[Amphora] = []
    sh("ip", "route", "add", "blackhole", str(network), "metric", str(BLACKHOLE_METRIC))
    try:
        sh("ip", "link", "add", bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{hosts[0]}/{network.prefixlen}", "dev", bridge)
        sh("ip", "link", "set", bridge, "up")
        for index, name in enumerate(("a", "b")):
            namespace = f"{prefix}-{name}"
            sh("ip", "netns", "add", namespace)
            namespaces.append(namespace)
            sh("ip", "link", "add", f"{prefix}{name}0", "type", "veth", "peer", "name", "eth1",
               "netns", namespace)  # fmt: skip
            sh("ip", "link", "set", f"{prefix}{name}0", "master", bridge, "up")
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            sh("ip", "-n", namespace, "link", "set", "eth1", "up")
            vrrp_ip = str(hosts[10 + index])
            sh(
                "ip",
                "-n",
                namespace,
                "addr",
                "add",
                f"{vrrp_ip}/{network.prefixlen}",
                "dev",
                "eth1",
            )
            # The BACKUP's HAProxy binds the VIP it does not hold (dataplane-notes).
            sh("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1")
            base = tmp_path_factory.mktemp(f"kv{name}")
            config: AgentConfig = {
                "amphora_id": f"amp-{name}",
                "bind_host": "127.0.0.1",
                "bind_port": 9443,
                "base_dir": str(base),
                "haproxy_namespace": namespace,
                "haproxy_cmd": HAPROXY,
                "server_cert": "/nonexistent",
                "server_key": "/nonexistent",
                "client_ca": "/nonexistent",
            }
            log_file = base.parent / f"keepalived-{name}.log"
            agent = Agent(config)
            agent.keepalived = Keepalived(
                agent.paths, keepalived_cmd=KEEPALIVED, namespace=namespace, log_file=log_file
            )
            agent.prepare()
            amphorae.append(Amphora(name, namespace, vrrp_ip, agent, log_file))
        yield Pair(prefix, network, str(hosts[100]), amphorae[0], amphorae[1])
    finally:
        for amp in amphorae:
            with contextlib.suppress(Exception):
                amp.agent.keepalived.stop()
            with contextlib.suppress(Exception):
                amp.agent.haproxy.stop()
            if amp.log_file.exists():
                print(f"--- keepalived log of {amp.name} ---\n{amp.log_file.read_text()}")
        for namespace in namespaces:
            _kill_namespace_pids(namespace)
            with contextlib.suppress(RuntimeError):
                sh("ip", "netns", "del", namespace)
        with contextlib.suppress(RuntimeError):
            sh("ip", "link", "del", bridge)
        with contextlib.suppress(RuntimeError):
            sh("ip", "route", "del", "blackhole", str(network), "metric", str(BLACKHOLE_METRIC))


def start_haproxy(amp: Amphora, vip: str) -> None:
    body = haproxy_config(amp, vip).encode()
    params = {"amphora_id": amp.agent.amphora_id, "lb_id": LB_ID}
    put_haproxy_config(amp.agent, request("/haproxy", body, **params))
    put_action(amp.agent, request("/start", lb_id=LB_ID, action="start"))


def start_vrrp(amp: Amphora, config: str) -> None:
    assert put_vrrp_config(amp.agent, request("/1.0/vrrp/upload", config.encode())).status == 200
    assert put_vrrp_action(amp.agent, request("/1.0/vrrp/start", action="start")).status == 202


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN_DIR.glob("*.conf")))
def test_goldens_pass_keepalived_config_test(pair: Pair, golden: str) -> None:
    """keepalived 2.2.7's --config-test fails on any warning; the goldens have none."""
    agent = pair.master.agent
    text = (GOLDEN_DIR / golden).read_text().replace(GOLDEN_BASE_DIR, str(agent.paths.base))
    put_vrrp_config(agent, request("/1.0/vrrp/upload", text.encode()))
    assert agent.paths.keepalived_config.read_text() == text


def test_a_rejected_config_keeps_the_previous_one(pair: Pair) -> None:
    agent = pair.master.agent
    good = render_keepalived(pair.spec(pair.master, priority=100), runtime=runtime(pair.master))
    put_vrrp_config(agent, request("/1.0/vrrp/upload", good.encode()))
    bad = good.replace("advert_int 1", "advert_intt 1")
    with pytest.raises(ConfigRejected) as caught:
        put_vrrp_config(agent, request("/1.0/vrrp/upload", bad.encode()))
    assert "Unknown keyword 'advert_intt'" in caught.value.details
    assert agent.paths.keepalived_config.read_text() == good
    assert agent.paths.keepalived_rejected.read_text() == bad
    # The scripts it names are root-owned 0700, as enable_script_security demands.
    for script in (agent.paths.vrrp_check_script, agent.paths.vrrp_notify_script):
        assert script.stat().st_mode & 0o777 == 0o700 and script.stat().st_uid == 0


def runtime(amp: Amphora) -> AmphoraRuntime:
    return AmphoraRuntime(amphora_id=amp.agent.amphora_id, base_dir=str(amp.agent.paths.base))


def test_vip_moves_on_graceful_stop_and_when_haproxy_dies(pair: Pair) -> None:
    master, backup, vip = pair.master, pair.backup, pair.vip
    for amp in (master, backup):
        start_haproxy(amp, vip)
    start_vrrp(master, render_keepalived(pair.spec(master, priority=100), runtime=runtime(master)))
    start_vrrp(backup, render_keepalived(pair.spec(backup, priority=90), runtime=runtime(backup)))

    took = poll(lambda: master.holds(vip), deadline_s=MOVE_DEADLINE_S, what="VIP on MASTER")
    print(f"VIP on the MASTER {took:.2f}s after start")
    poll(
        lambda: master.vrrp_state() == "MASTER" and backup.vrrp_state() == "BACKUP",
        deadline_s=MOVE_DEADLINE_S,
        what="notify files MASTER/BACKUP",
    )
    assert not backup.holds(vip)
    poll(lambda: who_answers(vip) == "a", deadline_s=MOVE_DEADLINE_S, what="a answers")

    # Start again while running is a reload, and a new Agent adopts the running keepalived.
    pid = master.agent.keepalived.pid()
    assert pid is not None
    details = put_vrrp_action(master.agent, request("/1.0/vrrp/start", action="start"))
    assert b"reloaded" in details.body
    adopted = Keepalived(master.agent.paths, keepalived_cmd=KEEPALIVED, namespace=master.namespace)
    assert adopted.pid() == pid and adopted.state() == "MASTER"

    # 1. Graceful stop of the MASTER's keepalived: priority 0 advert, the BACKUP takes over.
    stopping = threading.Thread(
        target=put_vrrp_action, args=(master.agent, request("/1.0/vrrp/stop", action="stop"))
    )
    stopping.start()
    took = poll(lambda: backup.holds(vip), deadline_s=MOVE_DEADLINE_S, what="VIP on BACKUP")
    stopping.join(timeout=MOVE_DEADLINE_S)
    print(f"graceful stop: VIP on the BACKUP {took:.2f}s after the stop request")
    assert not master.holds(vip)
    assert master.vrrp_state() is None  # keepalived is not running
    poll(lambda: backup.vrrp_state() == "MASTER", deadline_s=5, what="BACKUP notified")
    poll(lambda: who_answers(vip) == "b", deadline_s=MOVE_DEADLINE_S, what="b answers")
    assert put_vrrp_action(master.agent, request("/1.0/vrrp/stop", action="stop")).status == 202

    # The MASTER comes back (priority 100, no nopreempt on it) and takes the VIP again.
    start_vrrp(master, master.agent.paths.keepalived_config.read_text())
    took = poll(lambda: master.holds(vip), deadline_s=MOVE_DEADLINE_S, what="VIP back")
    poll(lambda: not backup.holds(vip), deadline_s=MOVE_DEADLINE_S, what="BACKUP releases")
    print(f"restarted MASTER took the VIP back in {took:.2f}s")
    poll(lambda: master.vrrp_state() == "MASTER", deadline_s=5, what="MASTER notified")

    # 2. The MASTER's HAProxy dies: the check script fails (fall 2), MASTER goes FAULT.
    haproxy_pid = master.agent.haproxy.master_pid()
    assert haproxy_pid is not None
    started = time.monotonic()
    os.kill(haproxy_pid, signal.SIGKILL)  # a pid this test started through the agent
    took = poll(lambda: backup.holds(vip), deadline_s=MOVE_DEADLINE_S, what="VIP on BACKUP")
    print(f"HAProxy killed: VIP on the BACKUP after {took:.2f}s")
    poll(lambda: not master.holds(vip), deadline_s=5, what="MASTER releases the VIP")
    poll(lambda: master.vrrp_state() == "FAULT", deadline_s=5, what="MASTER in FAULT")
    poll(lambda: who_answers(vip) == "b", deadline_s=MOVE_DEADLINE_S, what="b answers")
    assert time.monotonic() - started < MOVE_DEADLINE_S

    # DELETE of the load balancer stops keepalived too (gracefully) and removes its files.
    keepalived_pid = master.agent.keepalived.pid()
    assert keepalived_pid is not None
    delete_listeners(master.agent, Request("DELETE", f"/1.0/listeners/{LB_ID}", {"lb_id": LB_ID}))
    assert master.agent.keepalived.pid() is None
    assert not master.agent.paths.keepalived_config.exists()
    assert not process_running(keepalived_pid)
    assert master.vrrp_state() == "absent"  # no keepalived.conf: not an ACTIVE_STANDBY amphora
