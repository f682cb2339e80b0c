"""bench/density: memory per amphora with 50 load balancers running, and the time to create them.

POSTs 50 load balancers (listener, pool, 1 member) at once, waits for all to be
ACTIVE, then sums the PSS of every process inside each amphora's two namespaces
(agent + HAProxy master + worker). Target: <= 30 MiB per amphora.

    .venv/bin/python -m bench.density [--count 50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.e2e.stack import namespaces_with

from bench.common import Stack, pss_kib, wait_for
from statera.demo.backends import start_backends


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="statera-bench-"))
    stack = Stack(root)
    try:
        stack.start()
        (backend,) = start_backends(stack.settings, network="private", count=1, port=8080)
        t0 = time.monotonic()
        ids = []
        for i in range(args.count):
            lb = stack.post(
                "/v2/lbaas/loadbalancers",
                {
                    "loadbalancer": {
                        "name": f"d{i}",
                        "vip_subnet_id": "private-subnet",
                        "listeners": [
                            {
                                "protocol": "HTTP",
                                "protocol_port": 80,
                                "default_pool": {
                                    "name": "p",
                                    "protocol": "HTTP",
                                    "lb_algorithm": "ROUND_ROBIN",
                                    "members": [
                                        {"address": backend.address, "protocol_port": 8080}
                                    ],
                                },
                            }
                        ],
                    }
                },
            )
            ids.append(lb["loadbalancer"]["id"])
        t_posted = time.monotonic() - t0

        def all_active() -> bool:
            lbs = stack.api.get("/v2/lbaas/loadbalancers", params={"limit": 1000}).json()[
                "loadbalancers"
            ]
            states = [lb["provisioning_status"] for lb in lbs if lb["id"] in ids]
            assert "ERROR" not in states, stack.tail() + "\n" + stack.agent_logs()
            return states.count("ACTIVE") == len(ids)

        wait_for(all_active, timeout_s=600, interval_s=0.2, what="all load balancers ACTIVE")
        t_all = time.monotonic() - t0
        time.sleep(3)  # let the first status reads settle
        per_amp: list[float] = []
        parts: dict[str, list[float]] = {"agent": [], "haproxy": []}
        for ns in namespaces_with(stack.prefix):
            if "-amp-" not in ns or ns.endswith("-haproxy"):
                continue
            pids_m = [
                int(p)
                for p in subprocess.run(
                    ["ip", "netns", "pids", ns], capture_output=True, text=True
                ).stdout.split()
            ]
            pids_h = [
                int(p)
                for p in subprocess.run(
                    ["ip", "netns", "pids", ns + "-haproxy"], capture_output=True, text=True
                ).stdout.split()
            ]
            agent, haproxy = pss_kib(pids_m) / 1024, pss_kib(pids_h) / 1024
            parts["agent"].append(agent)
            parts["haproxy"].append(haproxy)
            per_amp.append(agent + haproxy)
        print(
            f"bench/density: {args.count} load balancers (listener, pool, 1 member), POSTed back to back"
        )
        print(f"  all POSTs answered in {t_posted:.1f} s; all ACTIVE after {t_all:.1f} s")
        print(
            f"  PSS per amphora: mean {statistics.mean(per_amp):.1f} MiB, max {max(per_amp):.1f} MiB "
            f"(agent {statistics.mean(parts['agent']):.1f} + HAProxy {statistics.mean(parts['haproxy']):.1f}); "
            f"target <= 30 MiB"
        )
        print(f"  amphorae measured: {len(per_amp)}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
