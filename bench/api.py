"""bench/api: the API's own speed, with the noop drivers (Octavia's option names), one process.

Starts `statera up` on SQLite with `[controller_worker] amphora_driver =
amphora_noop_driver`, `compute_driver = compute_noop_driver`, `network_driver =
network_noop_driver`, fills it with load balancers, and measures with wrk:
GET /v2/lbaas/loadbalancers with 100 and with 1000 load balancers stored (page
of up to 1000), GET of one, and POST latency (sequential, client-side).
For comparison, Octavia 19's API measured on this machine kind (gunicorn, one
worker, MariaDB): list of 100 ≈ 20 req/s, show ≈ 60-75 req/s, POST p50 ≈ 33-42 ms.

    .venv/bin/python -m bench.api
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Stack, percentile, wait_for, wrk

OCTAVIA = {"list100": 20.0, "show": 67.5, "post_p50_ms": 37.5}


def fill(stack: Stack, upto: int) -> str:
    have = len(stack.api.get("/v2/lbaas/loadbalancers").json()["loadbalancers"])
    last = ""
    for i in range(have, upto):
        r = stack.api.post(
            "/v2/lbaas/loadbalancers",
            json={"loadbalancer": {"name": f"lb-{i}", "vip_subnet_id": "private-subnet"}},
        )
        r.raise_for_status()
        last = r.json()["loadbalancer"]["id"]
    return last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="statera-bench-")), noop_drivers=True)
    # 1000 VIPs need a bigger subnet than the default /24.
    text = stack.config.read_text()
    octet = text.split("cidr = 10.213.")[1].split(".")[0]
    stack.config.write_text(
        text.replace(f"cidr = 10.213.{octet}.0/24", f"cidr = 10.{octet}.0.0/20")
    )
    try:
        stack.start()
        base = stack.base
        # POST latency first (on an empty-ish database), sequential, client-side.
        post_ms: list[float] = []
        with httpx.Client(base_url=base, headers={"X-Project-Id": "bench"}) as c:
            for i in range(args.posts):
                body = {"loadbalancer": {"name": f"p-{i}", "vip_subnet_id": "private-subnet"}}
                t0 = time.perf_counter()
                r = c.post("/v2/lbaas/loadbalancers", json=body)
                post_ms.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
            # Delete them again so the list sizes below are exact.
            for lb in c.get("/v2/lbaas/loadbalancers").json()["loadbalancers"]:
                wait_for(
                    lambda lb=lb: (
                        c.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()["loadbalancer"][
                            "provisioning_status"
                        ]
                        == "ACTIVE"
                    ),
                    timeout_s=30,
                )
                c.delete(f"/v2/lbaas/loadbalancers/{lb['id']}")
            wait_for(
                lambda: c.get("/v2/lbaas/loadbalancers").json()["loadbalancers"] == [],
                timeout_s=60,
            )
        results = {}
        one = fill(stack, 100)
        results["list100"] = wrk(
            f"{base}/v2/lbaas/loadbalancers", seconds=args.seconds, connections=8
        )
        results["show"] = wrk(
            f"{base}/v2/lbaas/loadbalancers/{one}", seconds=args.seconds, connections=8
        )
        fill(stack, 1000)
        results["list1000"] = wrk(
            f"{base}/v2/lbaas/loadbalancers", seconds=args.seconds, connections=8
        )
        print(
            "bench/api: one `statera up` process, SQLite, noop drivers, wrk 1 thread 8 connections"
        )
        for key, label in (
            ("list100", "GET /v2/lbaas/loadbalancers (100 stored)"),
            ("list1000", "GET /v2/lbaas/loadbalancers (1000 stored)"),
            ("show", "GET /v2/lbaas/loadbalancers/{id}"),
        ):
            r = results[key]
            ref = OCTAVIA.get(key)
            extra = f"   Octavia 19 ≈ {ref:.0f} req/s: x{r.requests_per_s / ref:.0f}" if ref else ""
            print(
                f"  {label:<44} {r.requests_per_s:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  failed {r.failed}{extra}"
            )
        p50, p95 = percentile(post_ms, 50), percentile(post_ms, 95)
        print(
            f"  {'POST /v2/lbaas/loadbalancers (sequential)':<44} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
            f"   Octavia 19 p50 ≈ 33-42 ms: x{OCTAVIA['post_p50_ms'] / p50:.1f}"
        )
        print("  targets: list of 100 >= 1000 req/s, POST p50 <= 10 ms")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
