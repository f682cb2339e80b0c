"""Escaped L7 values mean what they say: a real HAProxy on loopback runs a rendered
configuration and each hostile header value is matched exactly, nothing more.

Needs the haproxy binary (skipped without it); binds 127.0.0.1 only and stops
the one process it started.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from tests.unit.rendering.test_rendering_golden import (
    DEFAULTS,
    HAPROXY,
    lb,
    listener,
    member,
    pool,
    uid,
)
from tests.unit.rendering.test_rendering_l7 import HOSTILE_VALUES, policy, rule

from statera.domain.enums import (
    Algorithm,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
    ListenerProtocol,
    PoolProtocol,
)
from statera.domain.specs import AmphoraRuntime, LoadBalancerSpec
from statera.rendering import render_haproxy

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec(port: int, closed_port: int) -> LoadBalancerSpec:
    """A listener on `port` whose only server is disabled: a request not denied gets 503."""
    policies = tuple(
        policy(
            f"live-{i}",
            L7PolicyAction.REJECT,
            i,
            rule(
                f"live-rule-{i}", L7RuleType.HEADER, L7RuleCompareType.EQUAL_TO, value, key="X-Test"
            ),
        )
        for i, value in enumerate(HOSTILE_VALUES, start=1)
    )
    web = pool(
        "web",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("web-1", "127.0.0.1", closed_port, admin_state_up=False),
    )
    front = listener("http", ListenerProtocol.HTTP, port, "web", l7policies=policies)
    base = lb(listeners=(front,), pools=(web,))
    return LoadBalancerSpec(
        id=base.id, vip_address="127.0.0.1", listeners=base.listeners, pools=base.pools
    )


@contextlib.contextmanager
def running_haproxy(config: Path, ports: Iterable[int]) -> Iterator[None]:
    """Run HAProxy on `config` until every port answers; stop that one process after."""
    process = subprocess.Popen(
        [HAPROXY, "-W", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        stderr = process.stderr.read() if process.stderr else b""
                        raise AssertionError(f"haproxy did not start: {stderr!r}") from None
                    time.sleep(0.02)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def haproxy_port(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    runtime = AmphoraRuntime(amphora_id=uid("live-amp"), base_dir=str(tmp_path))
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_haproxy(spec(port, free_port()), runtime=runtime, defaults=DEFAULTS))
    with running_haproxy(config, [port]):
        yield port


def status(port: int, header_value: str) -> int:
    request = (
        b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Test: "
        + header_value.encode()
        + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        head = s.recv(64)
    return int(head.split(b" ")[1])


def test_each_hostile_value_matches_exactly(haproxy_port: int) -> None:
    for value in HOSTILE_VALUES:
        # A quoted value matches its content (Octavia's quoted header value form).
        sent = value[1:-1] if value.startswith('"') and value.endswith('"') else value
        assert status(haproxy_port, sent) == 403, value
        assert status(haproxy_port, sent + "x") == 503, value
    assert status(haproxy_port, "harmless") == 503
