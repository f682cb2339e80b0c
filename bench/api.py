"""bench/api: the API's own speed, with the noop drivers (Octavia's option names), one process.

Starts `statera up` on SQLite with `[controller_worker] amphora_driver =
amphora_noop_driver`, `compute_driver = compute_noop_driver`, `network_driver =
network_noop_driver`, fills it with load balancers, and measures with wrk:
GET /v2/lbaas/loadbalancers with 100 and with 1000 load balancers stored (page
of up to 1000) and GET of one, each with the response cache (repeated reads of
an unchanged database) and without it (`response_cache_entries = 0`), and POST
latency (sequential, client-side).
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

from bench.common import Stack, WrkResult, percentile, wait_for, wrk

OCTAVIA = {"list100": 20.0, "show": 67.5, "post_p50_ms": 37.5}
LIST = "/v2/lbaas/loadbalancers"
CACHE_OFF = "response_cache_entries = 0\n"


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
    # Measure a settled system: every load balancer built (ACTIVE), the controller idle.
    wait_for(
        lambda: not stack.api.get(
            LIST, params={"provisioning_status": "PENDING_CREATE", "fields": "id"}
        ).json()["loadbalancers"],
        timeout_s=600,
    )
    return last


def restart(stack: Stack, *, cache: bool) -> None:
    """Restart `statera up` with the response cache on or off (same database)."""
    stack.stop()
    text = stack.config.read_text().replace(CACHE_OFF, "")
    if not cache:
        text = text.replace("[api_settings]\n", "[api_settings]\n" + CACHE_OFF)
    stack.config.write_text(text)
    stack.start()


def measure(stack: Stack, label: str, path: str, seconds: int) -> WrkResult:
    result = wrk(f"{stack.base}{path}", seconds=seconds, connections=8)
    assert result.failed == 0, f"{label}: {result.failed} failed requests"
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="statera-bench-")), noop_drivers=True)
    # 1000 load balancers need 1000 VIPs and 1000 amphora addresses: /20s instead of
    # the test stack's /24s (noop drivers: nothing is created on the host).
    text = stack.config.read_text()
    octet = text.split("cidr = 10.213.")[1].split(".")[0]
    text = text.replace(f"cidr = 10.213.{octet}.0/24", f"cidr = 10.{octet}.0.0/20")
    text = text.replace(
        f"cidr = 172.31.{octet}.0/24\ngateway = 172.31.{octet}.1",
        f"cidr = 10.{octet}.16.0/20\ngateway = 10.{octet}.16.1",
    )
    stack.config.write_text(text)
    try:
        stack.start()
        post_ms = post_latencies(stack, args.posts)
        results: dict[tuple[str, bool], WrkResult] = {}
        one = fill(stack, 100)
        for cache in (True, False):
            restart(stack, cache=cache)
            results["list100", cache] = measure(stack, "list100", LIST, args.seconds)
            results["show", cache] = measure(stack, "show", f"{LIST}/{one}", args.seconds)
        fill(stack, 1000)
        for cache in (False, True):
            restart(stack, cache=cache)
            results["list1000", cache] = measure(stack, "list1000", LIST, args.seconds)
        report(results, post_ms)
    finally:
        stack.close()


def post_latencies(stack: Stack, posts: int) -> list[float]:
    """Sequential POSTs on an empty database, client-side latency; then delete them again."""
    post_ms: list[float] = []
    with httpx.Client(base_url=stack.base, headers={"X-Project-Id": "bench"}) as c:
        for i in range(posts):
            body = {"loadbalancer": {"name": f"p-{i}", "vip_subnet_id": "private-subnet"}}
            t0 = time.perf_counter()
            r = c.post(LIST, json=body)
            post_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
        # Delete them again so the list sizes below are exact.
        for lb in c.get(LIST).json()["loadbalancers"]:
            wait_for(
                lambda lb=lb: (
                    c.get(f"{LIST}/{lb['id']}").json()["loadbalancer"]["provisioning_status"]
                    == "ACTIVE"
                ),
                timeout_s=30,
            )
            c.delete(f"{LIST}/{lb['id']}")
        wait_for(lambda: c.get(LIST).json()["loadbalancers"] == [], timeout_s=60)
    return post_ms


def report(results: dict[tuple[str, bool], WrkResult], post_ms: list[float]) -> None:
    print("bench/api: one `statera up` process, SQLite, noop drivers, wrk 1 thread 8 connections")
    print("  cached: repeated GETs answered from the response cache (database unchanged);")
    print("  uncached: [api_settings] response_cache_entries = 0 (every GET reads the database)")
    for key, label in (
        ("list100", "GET /v2/lbaas/loadbalancers (100 stored)"),
        ("list1000", "GET /v2/lbaas/loadbalancers (1000 stored)"),
        ("show", "GET /v2/lbaas/loadbalancers/{id}"),
    ):
        for cache in (True, False):
            r = results[key, cache]
            ref = OCTAVIA.get(key)
            extra = f"   Octavia 19 ≈ {ref:.0f} req/s: x{r.requests_per_s / ref:.0f}" if ref else ""
            print(
                f"  {label:<42} {'cached' if cache else 'uncached':<9}"
                f"{r.requests_per_s:7.0f} req/s  p50 {r.p50_ms:6.2f} ms  p95 {r.p95_ms:6.2f} ms{extra}"
            )
    p50, p95 = percentile(post_ms, 50), percentile(post_ms, 95)
    print(
        f"  {'POST /v2/lbaas/loadbalancers (sequential)':<51} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms"
        f"   Octavia 19 p50 ≈ 33-42 ms: x{OCTAVIA['post_p50_ms'] / p50:.1f}"
    )
    print("  targets: list of 100 >= 1000 req/s, POST p50 <= 10 ms")


if __name__ == "__main__":
    main()
