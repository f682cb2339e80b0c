"""bench/failover: how long clients lose traffic when an amphora fails, ACTIVE_STANDBY vs SINGLE.

One `statera up`, two load balancers (HTTP listener, pool, 2 demo backends):
one with an ACTIVE_STANDBY flavor, one SINGLE. While a client GETs the VIP
back to back (0.2 s timeouts, `Connection: close`), each round

  ACTIVE_STANDBY  kills the HAProxy processes of the amphora holding the VIP
                  (only inside namespaces this run's stack made); keepalived
                  moves the VIP to the peer. Then `PUT .../amphorae/{dead}/failover`
                  rebuilds the pair, which should cost ~0: the survivor keeps the VIP.
  SINGLE          `PUT /v2/lbaas/loadbalancers/{id}/failover`: the one amphora is
                  rebuilt, so traffic stops until the new one answers.

The figure is the longest interval between two consecutive successful requests,
from the last success before the event to the end of the round. A round ends
AFTER_SUCCESSES successes after the event has settled, or ROUND_TIMEOUT_S or
REQUESTS_MAX requests after the event, whichever comes first.

    .venv/bin/python -m bench.failover [--rounds 5]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.stack import namespaces_with

from bench.common import Stack, full_lb_body, percentile, wait_for
from statera.compute.names import AmphoraNames
from statera.demo.backends import start_backends

ROUND_TIMEOUT_S = 60.0
"""Longest a round waits for traffic to come back after the event."""

REQUESTS_MAX = 20_000
"""Most requests one round sends (the client paces itself at PACE_S)."""

PACE_S = 0.005
"""Pause after each request: the resolution of the gaps, and it keeps the loop off the CPU."""

CLIENT_TIMEOUT = httpx.Timeout(0.2)
"""Connect and read timeouts of one probe request."""

WARMUP_SUCCESSES = 10
AFTER_SUCCESSES = 20


@dataclass(frozen=True)
class Outcome:
    """One round: the longest gap between successes (None: traffic never came back) and failures."""

    gap_s: float | None
    failed: int
    requests: int
    settled_s: float = math.nan
    """Event → `settle` returned (VIP moved away, or the load balancer ACTIVE again)."""


class Prober:
    """GETs `url` in a thread until stopped or REQUESTS_MAX; keeps each success's completion time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.successes: list[float] = []
        self.failures: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        with httpx.Client(timeout=CLIENT_TIMEOUT, headers={"Connection": "close"}) as client:
            for _ in range(REQUESTS_MAX):
                if self._stop.is_set():
                    return
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                (self.successes if ok else self.failures).append(time.monotonic())
                time.sleep(PACE_S)

    def successes_after(self, t: float) -> int:
        return sum(1 for s in self.successes if s > t)

    def outcome(self, t_event: float) -> Outcome:
        before = [s for s in self.successes if s <= t_event]
        after = [s for s in self.successes if s > t_event]
        window = before[-1:] + after
        failed = sum(1 for f in self.failures if f > window[0]) if window else len(self.failures)
        requests = len(self.successes) + len(self.failures)
        if not before or not after:
            return Outcome(gap_s=None, failed=failed, requests=requests)
        gap = max(b - a for a, b in itertools.pairwise(window))
        return Outcome(gap_s=gap, failed=failed, requests=requests)


def measure(url: str, event: Callable[[], object], *, settle: Callable[[], object]) -> Outcome:
    """Run `event` while probing `url`; `settle` (also under traffic) waits for its effect."""
    with Prober(url) as prober:
        wait_for(
            lambda: len(prober.successes) >= WARMUP_SUCCESSES or not prober.running,
            timeout_s=10,
            interval_s=0.01,
            what="traffic before the event",
        )
        if len(prober.successes) < WARMUP_SUCCESSES:
            raise SystemExit(f"no traffic through {url} before the event")
        t_event = time.monotonic()
        event()
        settle()
        t_settled = time.monotonic()
        deadline = t_event + ROUND_TIMEOUT_S
        while (
            prober.running
            and time.monotonic() < deadline
            and prober.successes_after(t_settled) < AFTER_SUCCESSES
        ):
            time.sleep(0.01)
    return replace(prober.outcome(t_event), settled_s=t_settled - t_event)


# -- ACTIVE_STANDBY helpers ------------------------------------------------------------


def amphorae(stack: Stack, lb_id: str) -> list[dict[str, Any]]:
    r = stack.api.get("/v2/octavia/amphorae", params={"loadbalancer_id": lb_id})
    r.raise_for_status()
    return list(r.json()["amphorae"])


def tenant_namespace(stack: Stack, amphora_id: str) -> str:
    """The amphora's HAProxy namespace; refuses any this run's stack did not make."""
    ns = AmphoraNames(stack.prefix, amphora_id).tenant_namespace
    if ns not in namespaces_with(stack.prefix):
        raise SystemExit(f"namespace {ns} is not one of this run's")
    return ns


def holds(stack: Stack, amphora_id: str, address: str) -> bool:
    out = subprocess.run(
        ["ip", "-n", tenant_namespace(stack, amphora_id), "-o", "addr", "show", "dev", "eth1"],
        capture_output=True,
        text=True,
    )
    return f" {address}/" in out.stdout


def vip_holder(stack: Stack, lb_id: str, vip: str) -> dict[str, Any] | None:
    """The one amphora holding the VIP (None while zero or both hold it)."""
    holding = [a for a in amphorae(stack, lb_id) if holds(stack, a["id"], vip)]
    return holding[0] if len(holding) == 1 else None


def haproxy_pids(stack: Stack, amphora_id: str) -> list[int]:
    out = subprocess.run(
        ["ip", "netns", "pids", tenant_namespace(stack, amphora_id)],
        capture_output=True,
        text=True,
        check=True,
    )
    pids = []
    for pid in (int(p) for p in out.stdout.split()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "haproxy":
                pids.append(pid)
        except OSError:
            continue
    return pids


def kill_haproxy(stack: Stack, amphora_id: str) -> None:
    pids = haproxy_pids(stack, amphora_id)
    if not pids:
        raise SystemExit(f"no HAProxy in amphora {amphora_id}")
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def create_ha_flavor(stack: Stack) -> str:
    profile = stack.post(
        "/v2/lbaas/flavorprofiles",
        {
            "flavorprofile": {
                "name": "bench-ha",
                "provider_name": "amphora",
                "flavor_data": '{"loadbalancer_topology": "ACTIVE_STANDBY"}',
            }
        },
    )["flavorprofile"]
    flavor = stack.post(
        "/v2/lbaas/flavors", {"flavor": {"name": "bench-ha", "flavor_profile_id": profile["id"]}}
    )["flavor"]
    return str(flavor["id"])


def accepted(r: httpx.Response) -> None:
    if r.status_code != 202:
        raise SystemExit(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")


def figure(outcomes: Sequence[Outcome]) -> str:
    gaps = [o.gap_s for o in outcomes if o.gap_s is not None]
    lost = len(outcomes) - len(gaps)
    text = (
        f"p50 {percentile(gaps, 50) * 1000:7.0f} ms   max {max(gaps, default=float('nan')) * 1000:7.0f} ms"
        f"   failed requests p50 {percentile([o.failed for o in outcomes], 50):.0f}"
    )
    return text + (f"   ({lost} rounds never recovered)" if lost else "")


def kill_round(stack: Stack, lb: dict[str, Any], holder: dict[str, Any]) -> Outcome:
    """Kill the VIP holder's HAProxy; settled once keepalived has moved the VIP away."""
    return measure(
        f"http://{lb['vip_address']}/",
        lambda: kill_haproxy(stack, holder["id"]),
        settle=lambda: wait_for(
            lambda: not holds(stack, holder["id"], lb["vip_address"]),
            timeout_s=ROUND_TIMEOUT_S,
            interval_s=0.05,
            what="the VIP to leave the killed amphora",
        ),
    )


def restore_round(stack: Stack, lb: dict[str, Any], dead: dict[str, Any]) -> Outcome:
    """Fail over the dead amphora; settled once the load balancer is ACTIVE again."""
    return measure(
        f"http://{lb['vip_address']}/",
        lambda: accepted(stack.api.put(f"/v2/octavia/amphorae/{dead['id']}/failover")),
        settle=lambda: stack.wait_active(lb["id"], timeout_s=ROUND_TIMEOUT_S),
    )


def single_round(stack: Stack, lb: dict[str, Any]) -> Outcome:
    """Fail over a SINGLE load balancer; settled once it is ACTIVE again."""
    return measure(
        f"http://{lb['vip_address']}/",
        lambda: accepted(stack.api.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")),
        settle=lambda: stack.wait_active(lb["id"], timeout_s=ROUND_TIMEOUT_S),
    )


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def show(label: str, i: int, o: Outcome) -> None:
    gap = f"{o.gap_s * 1000:.0f} ms" if o.gap_s is not None else "never recovered"
    print(
        f"  round {i + 1}: {label}: gap {gap}, {o.failed}/{o.requests} requests failed,"
        f" settled after {o.settled_s:.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="statera-bench-")))
    try:
        stack.start()
        backends = start_backends(stack.settings, network="private", count=2, port=8080)
        members = [b.address for b in backends]
        ha_body = full_lb_body("bench-ha", members, member_port=8080)
        ha_body["loadbalancer"]["flavor_id"] = create_ha_flavor(stack)
        ha = stack.post("/v2/lbaas/loadbalancers", ha_body)["loadbalancer"]
        single = stack.post(
            "/v2/lbaas/loadbalancers", full_lb_body("bench-single", members, member_port=8080)
        )["loadbalancer"]
        stack.wait_active(ha["id"], timeout_s=60)
        stack.wait_active(single["id"], timeout_s=60)

        kills: list[Outcome] = []
        restores: list[Outcome] = []
        for i in range(args.rounds):
            holder = wait_for(
                lambda: vip_holder(stack, ha["id"], ha["vip_address"]),
                timeout_s=15,
                what="one amphora holding the VIP",
            )
            kills.append(kill_round(stack, ha, holder))
            show(f"HAProxy of the {holder['role']} killed", i, kills[-1])
            restores.append(restore_round(stack, ha, holder))
            roles = {a["role"]: a["id"] for a in amphorae(stack, ha["id"])}
            if set(roles) != {"MASTER", "BACKUP"} or holder["id"] in roles.values():
                raise SystemExit(f"the pair is not whole after the failover: {roles}")
            show("failover of the dead amphora", i, restores[-1])

        singles: list[Outcome] = []
        for i in range(args.rounds):
            singles.append(single_round(stack, single))
            show("SINGLE load balancer failover", i, singles[-1])

        print(
            f"bench/failover: {args.rounds} rounds, client GETs the VIP every {PACE_S * 1000:.0f} ms"
            f" (timeouts {CLIENT_TIMEOUT.connect} s, Connection: close); gap = longest time without a success"
        )
        print(f"  ACTIVE_STANDBY HAProxy killed -> traffic back   {figure(kills)}")
        print(f"  ACTIVE_STANDBY failover of the dead amphora    {figure(restores)}")
        print(f"  SINGLE load balancer failover                  {figure(singles)}")
        nan = math.nan
        kill_gaps = [o.gap_s for o in kills if o.gap_s is not None]
        restore_gaps = [o.gap_s for o in restores if o.gap_s is not None]
        single_gaps = [o.gap_s for o in singles if o.gap_s is not None]
        # Like for like: an amphora replaced on purpose (ACTIVE_STANDBY: the survivor keeps
        # the VIP) against SINGLE's replacement. An unplanned death has no SINGLE
        # counterpart: without a second amphora nothing brings the VIP back by itself.
        print(
            "  ratio planned failover gap, ACTIVE_STANDBY / SINGLE: "
            f"p50 {ratio(percentile(restore_gaps, 50), percentile(single_gaps, 50)):.3f}"
            f"   max {ratio(max(restore_gaps, default=nan), max(single_gaps, default=nan)):.3f}"
        )
        print(
            "  ratio ACTIVE_STANDBY unplanned (HAProxy killed) gap / SINGLE planned failover gap: "
            f"p50 {ratio(percentile(kill_gaps, 50), percentile(single_gaps, 50)):.2f}"
        )
    finally:
        stack.close()


if __name__ == "__main__":
    main()
