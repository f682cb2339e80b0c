"""A tenant's load balancer carries real HTTP and TCP traffic, follows member health,
changes members without failing a request, and disappears without a trace."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.e2e.stack import (
    Stack,
    links_with,
    namespaces_with,
    pid_alive,
    wait_for,
)

from statera.db import models
from statera.db.session import Database
from statera.demo.backends import Backend, start_backends

BACKEND_PORT = 8080


def hit(vip: str, port: int, *, timeout_s: float = 2.0) -> str:
    """One HTTP request through the VIP on a fresh connection; the answering backend's body."""
    r = httpx.get(f"http://{vip}:{port}/", timeout=timeout_s, headers={"Connection": "close"})
    r.raise_for_status()
    return r.text.strip()


def member_status(stack: Stack, pool_id: str, member_id: str) -> str:
    r = stack.api.get(f"/v2/lbaas/pools/{pool_id}/members/{member_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["member"]["operating_status"])


@pytest.fixture(scope="module")
def backends(stack: Stack) -> list[Backend]:
    return start_backends(stack.settings, network="private", count=3, port=BACKEND_PORT)


@pytest.fixture(scope="module")
def http_lb(stack: Stack, backends: list[Backend]) -> dict[str, Any]:
    """LB → HTTP listener :80 → ROUND_ROBIN pool → 2 members + HTTP monitor, built step by step."""
    lb = stack.post(
        "/v2/lbaas/loadbalancers",
        {"loadbalancer": {"name": "web", "vip_subnet_id": "private-subnet"}},
    )["loadbalancer"]
    stack.wait_active(lb["id"])
    listener = stack.post(
        "/v2/lbaas/listeners",
        {"listener": {"loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}},
    )["listener"]
    stack.wait_active(lb["id"])
    pool = stack.post(
        "/v2/lbaas/pools",
        {
            "pool": {
                "listener_id": listener["id"],
                "protocol": "HTTP",
                "lb_algorithm": "ROUND_ROBIN",
            }
        },
    )["pool"]
    stack.wait_active(lb["id"])
    members = []
    for b in backends[:2]:
        members.append(
            stack.post(
                f"/v2/lbaas/pools/{pool['id']}/members",
                {"member": {"address": b.address, "protocol_port": BACKEND_PORT}},
            )["member"]
        )
        stack.wait_active(lb["id"])
    hm = stack.post(
        "/v2/lbaas/healthmonitors",
        {
            "healthmonitor": {
                "pool_id": pool["id"],
                "type": "HTTP",
                "delay": 1,
                "timeout": 1,
                "max_retries": 1,
                "max_retries_down": 2,
                "url_path": "/health",
                "expected_codes": "200",
            }
        },
    )["healthmonitor"]
    stack.wait_active(lb["id"])
    return {"lb": lb, "listener": listener, "pool": pool, "members": members, "hm": hm}


def test_requests_reach_both_backends(http_lb: dict[str, Any], backends: list[Backend]) -> None:
    vip = http_lb["lb"]["vip_address"]
    seen = Counter(hit(vip, 80) for _ in range(20))
    assert set(seen) == {f"backend {b.name}" for b in backends[:2]}, seen
    # Round robin: an even split.
    assert all(count == 10 for count in seen.values()), seen


def test_members_come_online(stack: Stack, http_lb: dict[str, Any]) -> None:
    pool_id = http_lb["pool"]["id"]
    for m in http_lb["members"]:
        wait_for(
            lambda m=m: member_status(stack, pool_id, m["id"]) == "ONLINE",
            timeout_s=10,
            what="member ONLINE",
        )
    tree = stack.api.get(f"/v2/lbaas/loadbalancers/{http_lb['lb']['id']}/status").json()
    lb_status = tree["statuses"]["loadbalancer"]
    assert lb_status["operating_status"] == "ONLINE"
    assert lb_status["listeners"][0]["pools"][0]["health_monitor"]["id"] == http_lb["hm"]["id"]


def test_a_stopped_backend_leaves_rotation_and_comes_back(
    stack: Stack, http_lb: dict[str, Any], backends: list[Backend]
) -> None:
    vip = http_lb["lb"]["vip_address"]
    pool_id = http_lb["pool"]["id"]
    down, up = backends[0], backends[1]
    down_member = next(m for m in http_lb["members"] if m["address"] == down.address)
    # delay 1 s x max_retries_down 2 = 2 s, plus a few seconds of status reading.
    budget_s = 1 * 2 + 4
    started = time.monotonic()
    os.kill(down.pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(down.pid), timeout_s=5, what="backend exit")

    def only_survivor() -> bool:
        answers = set()
        for _ in range(6):
            try:
                answers.add(hit(vip, 80))
            except httpx.HTTPError:
                answers.add("failed")
        return answers == {f"backend {up.name}"}

    wait_for(only_survivor, timeout_s=budget_s, what="traffic only to the live backend")
    wait_for(
        lambda: member_status(stack, pool_id, down_member["id"]) == "ERROR",
        timeout_s=budget_s,
        what="member ERROR in the API",
    )
    elapsed = time.monotonic() - started
    assert elapsed <= budget_s + 1, elapsed
    lb = stack.api.get(f"/v2/lbaas/loadbalancers/{http_lb['lb']['id']}").json()["loadbalancer"]
    assert lb["operating_status"] == "DEGRADED"

    start_backends(stack.settings, network="private", count=1, port=BACKEND_PORT)
    wait_for(
        lambda: member_status(stack, pool_id, down_member["id"]) == "ONLINE",
        timeout_s=budget_s,
        what="member ONLINE again",
    )
    seen = {hit(vip, 80) for _ in range(10)}
    assert seen == {f"backend {down.name}", f"backend {up.name}"}


def test_member_changes_under_load_fail_no_request(
    stack: Stack, http_lb: dict[str, Any], backends: list[Backend]
) -> None:
    vip = http_lb["lb"]["vip_address"]
    lb_id = http_lb["lb"]["id"]
    pool_id = http_lb["pool"]["id"]
    stop = threading.Event()
    results: Counter[str] = Counter()
    errors: list[str] = []

    def load() -> None:
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=5) as client:  # keep-alive connections, as a browser
            while (
                not stop.is_set()
                and time.monotonic() < deadline
                and sum(results.values()) < 200_000
            ):
                try:
                    r = client.get(f"http://{vip}/")
                    results[r.status_code] += 1
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        third = backends[2]
        new = stack.post(
            f"/v2/lbaas/pools/{pool_id}/members",
            {"member": {"address": third.address, "protocol_port": BACKEND_PORT, "weight": 2}},
        )["member"]
        stack.wait_active(lb_id)
        r = stack.api.put(
            f"/v2/lbaas/pools/{pool_id}/members/{new['id']}", json={"member": {"weight": 5}}
        )
        assert r.status_code in (200, 202), r.text
        stack.wait_active(lb_id)
        r = stack.api.delete(f"/v2/lbaas/pools/{pool_id}/members/{new['id']}")
        assert r.status_code == 204, r.text
        stack.wait_active(lb_id)
        time.sleep(0.5)  # let the load run on the final configuration too
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == [], errors[:5]
    assert set(results) == {200}, results
    assert results[200] > 100


def test_tcp_listener_carries_an_echo_exchange(stack: Stack, backends: list[Backend]) -> None:
    echo_port = 7007
    backend = backends[2]
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            backend.namespace,
            sys.executable,
            "-m",
            "statera.demo.backend_server",
            "--mode",
            "echo",
            "--port",
            str(echo_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lb = stack.post(
            "/v2/lbaas/loadbalancers",
            {
                "loadbalancer": {
                    "name": "tcp",
                    "vip_subnet_id": "private-subnet",
                    "listeners": [
                        {
                            "protocol": "TCP",
                            "protocol_port": 9000,
                            "default_pool": {
                                "name": "echo",
                                "protocol": "TCP",
                                "lb_algorithm": "LEAST_CONNECTIONS",
                                "members": [
                                    {"address": backend.address, "protocol_port": echo_port}
                                ],
                                "healthmonitor": {
                                    "type": "TCP",
                                    "delay": 1,
                                    "timeout": 1,
                                    "max_retries": 1,
                                },
                            },
                        }
                    ],
                }
            },
        )["loadbalancer"]
        stack.wait_active(lb["id"])
        payload = b"statera says hello\n" * 50

        def exchange() -> bytes:
            with socket.create_connection((lb["vip_address"], 9000), timeout=3) as s:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
                return got

        assert exchange() == payload
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_cascade_delete_leaves_nothing_behind(stack: Stack) -> None:
    lb = stack.post(
        "/v2/lbaas/loadbalancers",
        {
            "loadbalancer": {
                "name": "doomed",
                "vip_subnet_id": "private-subnet",
                "listeners": [
                    {
                        "protocol": "HTTP",
                        "protocol_port": 80,
                        "default_pool": {
                            "name": "p",
                            "protocol": "HTTP",
                            "lb_algorithm": "SOURCE_IP",
                            "members": [{"address": "10.213.0.99", "protocol_port": 80}],
                        },
                    }
                ],
            }
        },
    )["loadbalancer"]
    stack.wait_active(lb["id"])
    amp_dirs = set((stack.state_dir / "amphorae").iterdir())
    before_ns = set(namespaces_with(stack.prefix))
    before_links = set(links_with(stack.prefix))
    before_pids = set(stack.amphora_pids())
    r = stack.api.delete(f"/v2/lbaas/loadbalancers/{lb['id']}", params={"cascade": "true"})
    assert r.status_code == 204, r.text
    wait_for(
        lambda: stack.api.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404,
        timeout_s=30,
        what="LB gone from the API",
    )
    after_ns = set(namespaces_with(stack.prefix))
    gone_ns = before_ns - after_ns
    assert len(gone_ns) == 2, (before_ns, after_ns)  # management and tenant side
    assert all("-amp-" in ns for ns in gone_ns)
    gone_links = before_links - set(links_with(stack.prefix))
    assert len(gone_links) == 2, gone_links  # the amphora's two host-side veths
    gone_pids = before_pids - set(stack.amphora_pids())
    assert gone_pids and not any(pid_alive(p) for p in gone_pids)
    assert len(set((stack.state_dir / "amphorae").iterdir())) == len(amp_dirs) - 1
    db = Database(stack.settings.database_url)
    try:
        with db.read() as s:
            row = s.get(models.LoadBalancer, lb["id"])
            assert row is not None and row.provisioning_status == "DELETED"
            for table in (models.Listener, models.Pool):
                assert (
                    s.scalars(select(table).where(table.load_balancer_id == lb["id"])).all() == []
                )
            amps = s.scalars(
                select(models.Amphora).where(models.Amphora.load_balancer_id == lb["id"])
            ).all()
            assert [a.status for a in amps] == ["DELETED"]
            owners = {lb["id"], amps[0].id}
            assert (
                s.scalars(select(models.Port).where(models.Port.device_id.in_(owners))).all() == []
            )
    finally:
        db.dispose()
