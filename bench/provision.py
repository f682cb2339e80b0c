"""bench/provision: POST of a fully-populated load balancer → ACTIVE → first request through the VIP.

Creates N load balancers one after another (Octavia's single-call create:
listener, pool, 2 members, HTTP monitor) on a fresh `statera up`, and prints
p50/p95 of the time to ACTIVE and to the first successful HTTP request through
the VIP. Octavia's amphorae are VMs: 30-90 s is typical there.

    .venv/bin/python -m bench.provision [--count 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Stack, full_lb_body, percentile
from statera.demo.backends import start_backends


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="statera-bench-")))
    try:
        stack.start()
        backends = start_backends(stack.settings, network="private", count=2, port=8080)
        to_active: list[float] = []
        to_traffic: list[float] = []
        for i in range(args.count):
            body = full_lb_body(f"bench-{i}", [b.address for b in backends], member_port=8080)
            t0 = time.monotonic()
            r = stack.api.post("/v2/lbaas/loadbalancers", json=body)
            r.raise_for_status()
            lb = r.json()["loadbalancer"]
            deadline = t0 + 60
            while time.monotonic() < deadline:
                got = stack.api.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"]
                if got["provisioning_status"] in ("ACTIVE", "ERROR"):
                    break
                time.sleep(0.01)
            assert got["provisioning_status"] == "ACTIVE", got
            to_active.append(time.monotonic() - t0)
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://{lb['vip_address']}/", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
            else:
                raise SystemExit(f"no traffic through {lb['vip_address']} within 60 s")
            to_traffic.append(time.monotonic() - t0)
            print(
                f"  lb {i + 1:2d}: ACTIVE {to_active[-1]:.2f} s, first request {to_traffic[-1]:.2f} s",
                flush=True,
            )
        print(
            f"bench/provision: {args.count} load balancers (listener, pool, 2 members, HTTP monitor), one at a time"
        )
        print(
            f"  POST -> ACTIVE        p50 {percentile(to_active, 50):.2f} s   p95 {percentile(to_active, 95):.2f} s"
        )
        print(
            f"  POST -> first request p50 {percentile(to_traffic, 50):.2f} s   p95 {percentile(to_traffic, 95):.2f} s"
        )
        print(
            f"  target p50 <= 2 s to traffic; Octavia (VM amphorae) typically 30-90 s: "
            f"ratio {30 / percentile(to_traffic, 50):.0f}x-{90 / percentile(to_traffic, 50):.0f}x faster"
        )
    finally:
        stack.close()


if __name__ == "__main__":
    main()
