"""Security group rules enforced by nftables between two real namespaces.

A client namespace and a server namespace are joined by one veth pair on a
private /30 (neither has a default route, so nothing can leave the host). The
server listens on two ports; a ruleset that lets only the first in from the
client must pass it, drop the second, and let the second through again once
the table is removed. Everything carries a per-run prefix and is removed in
the fixture's finalizer; the server is killed by its PID.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.unit.network.test_security_groups_render import rule

from statera.compute.plumbing import remove_namespace
from statera.network.security_groups import (
    NftablesError,
    apply_in_namespace,
    remove_in_namespace,
    render_ruleset,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("nft") is None, reason="needs nft (nftables)"),
]

ALLOWED_PORT = 8080
BLOCKED_PORT = 8081
TABLE = "statera_sg_test"

# Listens on ADDRESS and every PORT after it, answers each connection with its port.
SERVER = """
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen()
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.sendall(str(key.fileobj.getsockname()[1]).encode())
        conn.close()
"""

# Prints the server's answer, or "timeout" if the connection does not complete.
CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5) as c:
        print(c.recv(100).decode())
except socket.timeout:
    print("timeout")
"""


@dataclass(frozen=True)
class Pair:
    client_ns: str
    server_ns: str
    client_if: str
    server_if: str
    client_ip: str
    server_ip: str


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


@pytest.fixture
def pair() -> Iterator[Pair]:
    prefix = f"sg{secrets.token_hex(3)}"
    third = secrets.randbelow(256)
    p = Pair(
        client_ns=f"{prefix}-client",
        server_ns=f"{prefix}-server",
        client_if=f"{prefix}c",
        server_if=f"{prefix}s",
        client_ip=f"10.250.{third}.1",
        server_ip=f"10.250.{third}.2",
    )
    server: subprocess.Popen[str] | None = None
    try:
        run("ip", "netns", "add", p.client_ns)
        run("ip", "netns", "add", p.server_ns)
        run(
            "ip", "link", "add", p.client_if, "netns", p.client_ns,
            "type", "veth", "peer", "name", p.server_if, "netns", p.server_ns,
        )  # fmt: skip
        for ns, ifname, ip in (
            (p.client_ns, p.client_if, p.client_ip),
            (p.server_ns, p.server_if, p.server_ip),
        ):
            run("ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", ifname)
            run("ip", "-n", ns, "link", "set", ifname, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        server = subprocess.Popen(
            [
                "ip", "netns", "exec", p.server_ns, sys.executable, "-c", SERVER,
                p.server_ip, str(ALLOWED_PORT), str(BLOCKED_PORT),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        yield p
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=5)
        # Removing a namespace removes its end of the veth, and with it the other end.
        for ns in (p.client_ns, p.server_ns):
            remove_namespace(ns)
        for ifname in (p.client_if, p.server_if):
            subprocess.run(["ip", "link", "del", ifname], capture_output=True, check=False)


def connect(p: Pair, port: int) -> str:
    argv = ("ip", "netns", "exec", p.client_ns, sys.executable, "-c", CLIENT, p.server_ip)
    return run(*argv, str(port)).strip()


def tables(namespace: str) -> str:
    return run("ip", "netns", "exec", namespace, "nft", "list", "tables")


def test_only_the_allowed_port_passes_until_the_table_is_removed(pair: Pair) -> None:
    assert connect(pair, ALLOWED_PORT) == str(ALLOWED_PORT)
    assert connect(pair, BLOCKED_PORT) == str(BLOCKED_PORT)

    rules = [
        rule(
            protocol=6,
            port_range_min=ALLOWED_PORT,
            port_range_max=ALLOWED_PORT,
            remote_ip_prefix=f"{pair.client_ip}/32",
        ),
        rule(direction="egress", ethertype="IPv4"),
        rule(direction="egress", ethertype="IPv6"),
    ]
    script = render_ruleset(TABLE, pair.server_if, rules, [pair.server_ip])
    apply_in_namespace(pair.server_ns, script)
    apply_in_namespace(pair.server_ns, script)  # replaced whole, not added twice
    assert tables(pair.server_ns).split().count(TABLE) == 1

    # ARP is not filtered: the client resolves the server afresh.
    run("ip", "-n", pair.client_ns, "neigh", "flush", "all")
    assert connect(pair, ALLOWED_PORT) == str(ALLOWED_PORT)
    assert connect(pair, BLOCKED_PORT) == "timeout"

    # A rule from another address lets nothing in.
    others = [rule(protocol=6, remote_ip_prefix="192.0.2.0/24"), *rules[1:]]
    apply_in_namespace(
        pair.server_ns, render_ruleset(TABLE, pair.server_if, others, [pair.server_ip])
    )
    assert connect(pair, ALLOWED_PORT) == "timeout"

    remove_in_namespace(pair.server_ns, TABLE)
    remove_in_namespace(pair.server_ns, TABLE)  # already gone: nothing to do
    assert TABLE not in tables(pair.server_ns)
    assert connect(pair, BLOCKED_PORT) == str(BLOCKED_PORT)
    assert connect(pair, ALLOWED_PORT) == str(ALLOWED_PORT)


def test_errors_carry_nfts_stderr(pair: Pair) -> None:
    with pytest.raises(NftablesError) as caught:
        apply_in_namespace(pair.server_ns, "table inet x { chain y { bogus } }\n")
    assert "syntax error" in caught.value.stderr
    assert "syntax error" in str(caught.value)
    assert TABLE not in tables(pair.server_ns)
    with pytest.raises(NftablesError):
        apply_in_namespace(f"{pair.server_ns}-absent", render_ruleset(TABLE, "eth1", [], []))
    remove_in_namespace(f"{pair.server_ns}-absent", TABLE)  # no namespace, no table: fine
