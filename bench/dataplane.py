"""bench/dataplane: what Statera's generated HAProxy config costs, and member changes under load.

Same run, same wrk client on the host, same HAProxy binary, same fast asyncio backend:
1. straight to the backend;
2. through an HAProxy configured by hand with a minimal config, in a namespace
   plugged into the same bridge exactly as an amphora's tenant side is;
3. through a Statera load balancer's VIP.
Each with keep-alive and with `Connection: close`. Prints requests/s and the ratios
VIP / hand-made (target >= 0.95) and VIP / direct. Then 10 member changes through the
API (add, weight, remove) under a wrk load, counting failed requests (target 0).

    .venv/bin/python -m bench.dataplane [--seconds 8]
"""

from __future__ import annotations

import argparse
import ipaddress
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Stack, WrkResult, wrk
from statera.compute.plumbing import (
    ensure_namespace,
    ensure_veth,
    iproute,
    remove_namespace,
    set_default_route,
    set_ipv4_addresses,
    set_up,
)
from statera.compute.processes import stop_namespace_processes
from statera.demo.backends import start_backends

HAND_CFG = """global
    maxconn 8000
defaults
    mode http
    timeout client 50s
    timeout connect 5s
    timeout server 50s
frontend fe
    bind {vip}:80
    default_backend be
backend be
    server s1 {backend}:8080
"""


def hand_haproxy(stack: Stack, backend: str) -> tuple[str, str]:
    """A namespace on the tenant bridge with HAProxy on a minimal config; returns (ns, ip)."""
    net = stack.settings.networks[0]
    ns = f"{stack.prefix}-hand"
    ip = str(ipaddress.ip_address(net.allocation_pool_end) - 20)
    prefixlen = ipaddress.ip_network(net.cidr).prefixlen
    ensure_namespace(ns)
    with iproute() as host, iproute(ns) as inside:
        index = ensure_veth(
            host,
            inside,
            host_ifname=f"{stack.prefix}hand",
            namespace=ns,
            peer_ifname="eth1",
            bridge=net.bridge,
        )
        set_up(inside, "lo")
        set_ipv4_addresses(inside, index, [ipaddress.ip_interface(f"{ip}/{prefixlen}")])
        inside.link("set", index=index, state="up")
        set_default_route(inside, net.gateway)
    cfg = stack.root / "hand.cfg"
    cfg.write_text(HAND_CFG.format(vip=ip, backend=backend))
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            stack.settings.haproxy_amphora.haproxy_cmd,
            "-W",
            "-D",
            "-f",
            str(cfg),
            "-p",
            str(stack.root / "hand.pid"),
        ],
        check=True,
    )
    return ns, ip


def remove_hand(stack: Stack) -> None:
    ns = f"{stack.prefix}-hand"
    stop_namespace_processes([ns])
    with iproute() as host:
        from statera.compute.plumbing import delete_link

        delete_link(host, f"{stack.prefix}hand")
    remove_namespace(ns)


def line(label: str, r: WrkResult) -> str:
    return (
        f"  {label:<34} {r.requests_per_s:>9.0f} req/s  p50 {r.p50_ms:6.2f} ms  failed {r.failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="statera-bench-")))
    try:
        stack.start()
        backends = start_backends(stack.settings, network="private", count=3, port=8080)
        backend = backends[0].address
        lb = stack.post(
            "/v2/lbaas/loadbalancers",
            {
                "loadbalancer": {
                    "name": "dataplane",
                    "vip_subnet_id": "private-subnet",
                    "listeners": [
                        {
                            "protocol": "HTTP",
                            "protocol_port": 80,
                            "default_pool": {
                                "name": "p",
                                "protocol": "HTTP",
                                "lb_algorithm": "ROUND_ROBIN",
                                "members": [{"address": backend, "protocol_port": 8080}],
                            },
                        }
                    ],
                }
            },
        )["loadbalancer"]
        stack.wait_active(lb["id"])
        pool_id = stack.api.get("/v2/lbaas/pools").json()["pools"][0]["id"]
        _, hand_ip = hand_haproxy(stack, backend)
        targets = {
            "direct to backend": f"http://{backend}:8080/",
            "hand-configured HAProxy": f"http://{hand_ip}/",
            "Statera VIP": f"http://{lb['vip_address']}/",
        }
        # Interleaved rounds, median of each: the two cores are shared and noisy.
        runs: dict[tuple[str, bool], list[WrkResult]] = {}
        for url in targets.values():
            wrk(url, seconds=1)  # warm-up
        for _ in range(args.rounds):
            for close in (False, True):
                for label, url in targets.items():
                    r = wrk(url, seconds=args.seconds, close=close)
                    runs.setdefault((label, close), []).append(r)
        results = {
            key: sorted(rs, key=lambda r: r.requests_per_s)[len(rs) // 2]
            for key, rs in runs.items()
        }
        print(
            f"bench/dataplane: wrk 1 thread, 32 connections, {args.seconds} s per run, "
            f"median of {args.rounds} interleaved rounds, same run"
        )
        for close in (False, True):
            print(f" {'Connection: close' if close else 'keep-alive'}:")
            for label in targets:
                print(line(label, results[(label, close)]))
            vip = results[("Statera VIP", close)].requests_per_s
            hand = results[("hand-configured HAProxy", close)].requests_per_s
            direct = results[("direct to backend", close)].requests_per_s
            print(f"  ratio VIP / hand-configured HAProxy = {vip / hand:.3f}   (target >= 0.95)")
            print(f"  ratio VIP / direct to backend       = {vip / direct:.3f}")

        # Member changes under load.
        changes: list[str] = []
        load: dict[str, WrkResult] = {}

        def run_load() -> None:
            load["r"] = wrk(targets["Statera VIP"], seconds=25, connections=16)

        t = threading.Thread(target=run_load)
        t.start()
        time.sleep(1)
        member_ids: list[str] = []
        ops = [
            ("add", backends[1].address),
            ("add", backends[2].address),
            ("weight", 5),
            ("weight", 2),
            ("remove", None),
            ("add", backends[2].address),
            ("weight", 7),
            ("remove", None),
            ("remove", None),
            ("add", backends[1].address),
        ]
        for op, arg in ops:
            if op == "add":
                r = stack.api.post(
                    f"/v2/lbaas/pools/{pool_id}/members",
                    json={"member": {"address": arg, "protocol_port": 8080}},
                )
                member_ids.append(r.json()["member"]["id"])
            elif op == "weight":
                r = stack.api.put(
                    f"/v2/lbaas/pools/{pool_id}/members/{member_ids[-1]}",
                    json={"member": {"weight": arg}},
                )
            else:
                r = stack.api.delete(f"/v2/lbaas/pools/{pool_id}/members/{member_ids.pop()}")
            assert r.status_code < 300, r.text
            stack.wait_active(lb["id"])
            changes.append(op)
        t.join(60)
        res = load["r"]
        print(f"bench/dataplane: {len(changes)} member changes ({', '.join(changes)}) under load:")
        print(
            f"  {res.requests} requests, {res.non_2xx} non-2xx, {res.socket_errors} socket errors"
            f"  (target 0 failed)"
        )
    finally:
        try:
            remove_hand(stack)
        finally:
            stack.close()


if __name__ == "__main__":
    main()
