"""Shared helpers of the benchmarks: a whole Statera on private bridges, percentiles, wrk.

Benchmarks print figures; they assert nothing. Run them from the repository
root as root: `.venv/bin/python -m bench.provision` (see README, Performance).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.stack import Stack, wait_for

__all__ = ["Stack", "WrkResult", "full_lb_body", "percentile", "pss_kib", "wait_for", "wrk"]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def full_lb_body(
    name: str, members: Sequence[str], *, member_port: int, port: int = 80
) -> dict[str, Any]:
    """Octavia's single-call create: LB + HTTP listener + pool + members + HTTP monitor."""
    return {
        "loadbalancer": {
            "name": name,
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "name": f"{name}-http",
                    "protocol": "HTTP",
                    "protocol_port": port,
                    "default_pool": {
                        "name": f"{name}-pool",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": a, "protocol_port": member_port} for a in members],
                        "healthmonitor": {
                            "type": "HTTP",
                            "delay": 2,
                            "timeout": 1,
                            "max_retries": 2,
                            "url_path": "/health",
                        },
                    },
                }
            ],
        }
    }


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float = float("nan")
    p99_ms: float = float("nan")

    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


LATENCY_SCRIPT = Path(__file__).with_name("latency.lua")
"""wrk prints p50/75/90/99 only; this script prints p50, p95 and p99 in microseconds."""


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int = 32,
    threads: int = 1,
    close: bool = False,
    namespace: str | None = None,
) -> WrkResult:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd += ["-s", str(LATENCY_SCRIPT)]
    cmd.append(url)
    if namespace:
        cmd = ["ip", "netns", "exec", namespace, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    exact = re.search(r"statera-latency-us p50=(\d+) p95=(\d+) p99=(\d+)", out)
    p50, p95, p99 = (int(x) / 1000 for x in exact.groups()) if exact else (float("nan"),) * 3
    return WrkResult(
        requests_per_s=rps,
        requests=total,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(x) for x in sock.groups()) if sock else 0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
    )


def pss_kib(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        total += int(m.group(1)) if m else 0
    return total
