"""UDP listeners for real: an agent's nftables DNAT, masquerade and UDP-CONNECT checks in namespaces.

One bridge joins four namespaces: the amphora's tenant side (`<prefix>-amp`,
`eth1` holding its own address and the VIP), two members running a UDP
responder that answers `<name> <peer address>`, and a client. An `Agent`
(driven through its route handlers; tests/integration/agent/test_agent_mtls.py
covers the transport) applies a UdpConfig. The test asserts that datagrams to
VIP:port are answered by both members, from VIP:port, that members see the
amphora's own address (masquerade), that a stopped member is reported DOWN and
taken out after about fall * delay, and that it comes back.

Needs root, `ip` and `nft`; skipped otherwise. Everything carries a per-run
prefix and is removed in the fixture's finalizer (processes by the pids started
here); the test range has a blackhole guard.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.agent.agent_harness import poll, sh

from statera.agent.routes import Agent, Request, delete_listeners, get_status, put_udp_config
from statera.protocol.agent_api import AgentConfig

LB_ID = "8d8ada21-fb06-5f1f-9a05-8d8dfc50542c"
LISTENER = "11111111-2222-4333-8444-555555555555"
POOL = "6790b428-cc88-5a49-a165-d043627938f3"
M1 = "aaaaaaaa-0000-4000-8000-000000000001"
M2 = "aaaaaaaa-0000-4000-8000-000000000002"
VIP_PORT = 5300
MEMBER_PORT = 7000
DELAY_S = 1
FALL = 2
RISE = 2
BLACKHOLE_METRIC = 4000

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2"),
]

RESPONDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(f"{sys.argv[1]} {peer[0]}".encode(), peer)
"""

CLIENT = """
import json, socket, sys
answers = []
for _ in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a new flow each time
    s.settimeout(0.5)
    s.connect((sys.argv[1], int(sys.argv[2])))
    try:
        s.send(b"ping")
        data, peer = s.recvfrom(2048)
        answers.append([data.decode(), f"{peer[0]}:{peer[1]}"])
    except OSError as exc:
        answers.append([type(exc).__name__, ""])
    s.close()
print(json.dumps(answers))
"""


@dataclass
class Lab:
    prefix: str
    net: str
    agent: Agent
    processes: dict[str, subprocess.Popen[bytes]]

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def ip(self, host: int) -> str:
        return f"{self.net}.{host}"

    @property
    def vip(self) -> str:
        return self.ip(10)

    def start_member(self, name: str, host: int) -> None:
        self.processes[name] = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.ns(name),
                sys.executable,
                "-c",
                RESPONDER,
                name,
                str(MEMBER_PORT),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop_member(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        process.wait(timeout=10)

    def ask(self, count: int) -> list[list[str]]:
        out = sh(
            "ip",
            "netns",
            "exec",
            self.ns("cl"),
            sys.executable,
            "-c",
            CLIENT,
            self.vip,
            str(VIP_PORT),
            str(count),
        )
        answers: list[list[str]] = json.loads(out)
        return answers

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(get_status(self.agent, Request("GET", "/", {})).body)
        return body

    def member_states(self) -> dict[str, str]:
        pools = self.status()["pools"]
        states: dict[str, str] = pools[f"{POOL}:{LISTENER}"]["members"]
        return states


def member(mid: str, address: str) -> dict[str, Any]:
    return {
        "id": mid,
        "address": address,
        "port": MEMBER_PORT,
        "weight": 1,
        "enabled": True,
        "backup": False,
        "monitor_address": None,
        "monitor_port": None,
    }


def udp_config(lab: Lab) -> dict[str, Any]:
    return {
        "listeners": [
            {
                "id": LISTENER,
                "vips": [lab.vip],
                "port": VIP_PORT,
                "algorithm": "ROUND_ROBIN",
                "connection_limit": -1,
                "persistence_timeout": None,
                "persistence_granularity": None,
                "pool_id": POOL,
                "members": [member(M1, lab.ip(21)), member(M2, lab.ip(22))],
                "monitor": {
                    "type": "UDP-CONNECT",
                    "delay": DELAY_S,
                    "timeout": 1,
                    "max_retries": RISE,
                    "max_retries_down": FALL,
                    "http_method": None,
                    "url_path": None,
                    "expected_codes": None,
                },
            }
        ]
    }


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    prefix = f"su{os.getpid() % 100000:05d}{os.urandom(1).hex()}"
    net = f"10.214.{os.getpid() % 250 + 1}"
    bridge = f"{prefix}br"
    names = ("amp", "m1", "m2", "cl")
    hosts = {"amp": 5, "m1": 21, "m2": 22, "cl": 30}
    base = Path(f"/tmp/{prefix}")
    base.mkdir()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    agent: Agent | None = None
    try:
        sh("ip", "route", "add", "blackhole", f"{net}.0/24", "metric", str(BLACKHOLE_METRIC))
        sh("ip", "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        sh("ip", "link", "set", bridge, "up")
        for name in names:
            ns = f"{prefix}-{name}"
            sh("ip", "netns", "add", ns)
            sh(
                "ip",
                "link",
                "add",
                f"{prefix}{name}",
                "type",
                "veth",
                "peer",
                "name",
                "eth1",
                "netns",
                ns,
            )
            sh("ip", "link", "set", f"{prefix}{name}", "master", bridge, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{net}.{hosts[name]}/24", "dev", "eth1")
            sh("ip", "-n", ns, "link", "set", "eth1", "up")
        sh("ip", "-n", f"{prefix}-amp", "addr", "add", f"{net}.10/24", "dev", "eth1")
        config: AgentConfig = {
            "amphora_id": "amp-udp",
            "bind_host": "127.0.0.1",
            "bind_port": 1,
            "base_dir": str(base),
            "haproxy_namespace": f"{prefix}-amp",
            "haproxy_cmd": "/usr/sbin/haproxy",
            "server_cert": "unused",
            "server_key": "unused",
            "client_ca": "unused",
        }
        agent = Agent(config)
        agent.paths.base.chmod(0o700)
        built = Lab(prefix, net, agent, processes)
        built.start_member("m1", 21)
        built.start_member("m2", 22)
        yield built
    finally:
        if agent is not None:
            agent.udp.stop()
        for process in processes.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in names:
            subprocess.run(["ip", "netns", "del", f"{prefix}-{name}"], check=False, timeout=30)
        subprocess.run(["ip", "link", "del", bridge], check=False, timeout=30)
        subprocess.run(
            ["ip", "route", "del", "blackhole", f"{net}.0/24", "metric", str(BLACKHOLE_METRIC)],
            check=False,
            timeout=30,
        )
        shutil.rmtree(base, ignore_errors=True)


def put(lab: Lab, config: dict[str, Any]) -> None:
    params = {"amphora_id": "amp-udp", "lb_id": LB_ID}
    response = put_udp_config(lab.agent, Request("PUT", "/", params, json.dumps(config).encode()))
    assert response.status == 200, response.body


def test_round_robin_masquerade_and_udp_connect_failover(lab: Lab) -> None:
    put(lab, udp_config(lab))
    vip = f"{lab.vip}:{VIP_PORT}"

    answers = lab.ask(6)
    assert [a[1] for a in answers] == [vip] * 6, answers  # the client hears the VIP:port
    names = [a[0].split()[0] for a in answers]
    assert names.count("m1") == 3 and names.count("m2") == 3, names  # round robin
    # Members see the amphora's own address (the primary on eth1), not the client nor the VIP.
    assert {a[0].split()[1] for a in answers} == {lab.ip(5)}
    assert lab.member_states() == {M1: "UP", M2: "UP"}

    lab.stop_member("m2")
    stopped = time.monotonic()
    poll(lambda: lab.member_states()[M2] == "DOWN", deadline_s=15, what="m2 DOWN")
    took = time.monotonic() - stopped
    assert took <= FALL * DELAY_S + 3.0, took
    answers = lab.ask(4)
    assert [a[0].split()[0] for a in answers] == ["m1"] * 4, answers
    assert lab.status()["pools"][f"{POOL}:{LISTENER}"]["status"] == "UP"

    lab.start_member("m2", 22)
    poll(lambda: lab.member_states()[M2] == "UP", deadline_s=15, what="m2 UP again")
    names = [a[0].split()[0] for a in lab.ask(4)]
    assert sorted(names) == ["m1", "m1", "m2", "m2"], names

    stats = lab.status()["listeners"][LISTENER]["stats"]
    assert stats["totconns"] >= 14 and stats["rx"] > 0 and stats["tx"] > 0, stats
    assert stats["conns"] >= 1, stats  # flows still tracked by conntrack


def test_no_member_up_rejects_and_delete_removes_the_table(lab: Lab) -> None:
    config = udp_config(lab)
    config["listeners"][0]["members"] = [member(M1, lab.ip(21)) | {"enabled": False}]
    put(lab, config)
    assert lab.ask(1) == [["ConnectionRefusedError", ""]]  # ICMP port unreachable, as IPVS
    assert lab.member_states() == {M1: "MAINT"}
    delete_listeners(lab.agent, Request("DELETE", "/", {"lb_id": LB_ID}))
    tables = sh("ip", "netns", "exec", lab.ns("amp"), "nft", "list", "tables")
    assert "statera_udp" not in tables
    assert lab.status()["listeners"] == {}
