"""`kill -9` of `statera up` in the middle of building a load balancer loses nothing:
after a restart the load balancer reaches ACTIVE with exactly one amphora, and the
data plane carries traffic."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from tests.e2e.stack import Stack, namespaces_with, wait_for

from statera.db import models
from statera.db.session import Database
from statera.demo.backends import start_backends


@pytest.fixture
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("crash"))
    try:
        s.start()
        yield s
    finally:
        s.close()


def _processes_in(ns: str) -> list[str]:
    pids = subprocess.run(
        ["ip", "netns", "pids", ns], capture_output=True, text=True
    ).stdout.split()
    names = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sorted(names)


@pytest.mark.parametrize("moment", ["right after the POST", "once the amphora namespace exists"])
def test_kill_9_during_create_then_restart_finishes_the_job(
    crash_stack: Stack, moment: str
) -> None:
    stack = crash_stack
    (backend,) = start_backends(stack.settings, network="private", count=1, port=8080)
    lb = stack.post(
        "/v2/lbaas/loadbalancers",
        {
            "loadbalancer": {
                "name": "crash",
                "vip_subnet_id": "private-subnet",
                "listeners": [
                    {
                        "protocol": "HTTP",
                        "protocol_port": 80,
                        "default_pool": {
                            "name": "p",
                            "protocol": "HTTP",
                            "lb_algorithm": "ROUND_ROBIN",
                            "members": [{"address": backend.address, "protocol_port": 8080}],
                        },
                    }
                ],
            }
        },
    )["loadbalancer"]
    if moment != "right after the POST":
        wait_for(
            lambda: any("-amp-" in ns for ns in namespaces_with(stack.prefix)),
            timeout_s=10,
            interval_s=0.005,
            what="an amphora namespace",
        )
    stack.kill9()
    stack.start()
    stack.wait_active(lb["id"], timeout_s=60)

    db = Database(stack.settings.database_url)
    try:
        with db.read() as s:
            amps = s.execute(
                select(models.Amphora.id, models.Amphora.status).where(
                    models.Amphora.load_balancer_id == lb["id"]
                )
            ).all()
    finally:
        db.dispose()
    live = [amp_id for amp_id, status in amps if status != "DELETED"]
    assert len(live) == 1, amps
    amp_ns = sorted(ns for ns in namespaces_with(stack.prefix) if "-amp-" in ns)
    assert amp_ns == sorted(
        [f"{stack.prefix}-amp-{live[0]}", f"{stack.prefix}-amp-{live[0]}-haproxy"]
    )
    mgmt_ns, tenant_ns = amp_ns
    assert len(_processes_in(mgmt_ns)) == 1  # the agent
    assert _processes_in(tenant_ns) == ["haproxy", "haproxy"]  # one master, one worker
    r = httpx.get(f"http://{lb['vip_address']}/", timeout=3)
    assert r.status_code == 200 and r.text.strip() == f"backend {backend.name}"
