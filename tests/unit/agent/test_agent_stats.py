"""`show stat` CSV → AmphoraStatusReport, on real HAProxy 2.6.12 replies (samples/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statera.agent.stats import (
    StatusReporter,
    listener_state,
    member_state,
    parse_show_stat,
)

SAMPLES = Path(__file__).parent / "samples"
LISTENER_1 = "5f3b7c1e-0000-4000-8000-000000000001"
LISTENER_2 = "5f3b7c1e-0000-4000-8000-000000000002"
POOL_1 = f"7a1d2c3b-0000-4000-8000-0000000000a1:{LISTENER_1}"
POOL_2 = f"7a1d2c3b-0000-4000-8000-0000000000a2:{LISTENER_2}"


def member(n: int) -> str:
    return f"0e6b1a9c-0000-4000-8000-00000000b00{n}"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def test_mixed_sample_maps_every_member_state() -> None:
    listeners, pools = parse_show_stat(sample("show_stat_mixed.csv"))

    assert set(listeners) == {LISTENER_1, LISTENER_2}
    assert set(pools) == {POOL_1, POOL_2}
    assert pools[POOL_1] == {
        "status": "UP",
        "members": {
            member(1): "UP",
            member(2): "DOWN",
            member(3): "no check",
            member(4): "MAINT",
            member(5): "DRAIN",
        },
    }
    assert pools[POOL_2] == {"status": "DOWN", "members": {member(6): "DOWN"}}


def test_listener_stats_come_from_the_frontend_row() -> None:
    listeners, _ = parse_show_stat(sample("show_stat_mixed.csv"))
    # FRONTEND row: scur 1, stot 4, bin 309, bout 348, ereq 0 (maxconn 1 is reached)
    assert listeners[LISTENER_1] == {
        "status": "FULL",
        "stats": {"tx": 348, "rx": 309, "conns": 1, "totconns": 4, "ereq": 0},
    }
    assert listeners[LISTENER_2] == {
        "status": "OPEN",
        "stats": {"tx": 0, "rx": 0, "conns": 0, "totconns": 0, "ereq": 0},
    }


def test_transitional_down_counts_as_down() -> None:
    _, pools = parse_show_stat(sample("show_stat_transition.csv"))
    assert pools[POOL_1]["members"][member(2)] == "DOWN"  # HAProxy shows "DOWN 1/2"
    assert pools[POOL_1]["members"][member(1)] == "UP"


def test_frontend_at_maxconn_is_full() -> None:
    listeners, _ = parse_show_stat(sample("show_stat_full.csv"))
    assert listeners[LISTENER_1]["status"] == "FULL"
    assert listeners[LISTENER_2]["status"] == "OPEN"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("UP", "UP"),
        ("UP 1/3", "UP"),
        ("DOWN", "DOWN"),
        ("DOWN 1/2", "DOWN"),
        ("no check", "no check"),
        ("MAINT", "MAINT"),
        ("MAINT(via)", "MAINT"),
        ("MAINT (resolution)", "MAINT"),
        ("DRAIN", "DRAIN"),
        ("NOLB", "DRAIN"),
        ("NOLB 1/2", "DRAIN"),
        ("", "DOWN"),
        ("something new", "DOWN"),
    ],
)
def test_member_state_follows_octavia(status: str, expected: str) -> None:
    assert member_state(status) == expected


def test_listener_state() -> None:
    assert listener_state("OPEN", current=0, limit=0) == "OPEN"
    assert listener_state("OPEN", current=5, limit=5) == "FULL"
    assert listener_state("FULL", current=0, limit=0) == "FULL"
    assert listener_state("STOP", current=0, limit=10) == "OPEN"


def test_backends_without_listener_suffix_are_not_pools() -> None:
    text = (
        "# pxname,svname,status,scur,slim\n"
        "stats,FRONTEND,OPEN,0,10\n"
        "stats,BACKEND,UP,0,10\n"
        "plain,s1,UP,0,\n"
    )
    listeners, pools = parse_show_stat(text)
    assert set(listeners) == {"stats"}
    assert pools == {}


def test_not_a_show_stat_reply_is_an_error() -> None:
    with pytest.raises(ValueError, match="show stat"):
        parse_show_stat("Unknown command\n")


def test_reports_are_numbered_and_empty_without_haproxy() -> None:
    reporter = StatusReporter("amp-1")
    first = reporter.report(None)
    second = reporter.report(sample("show_stat_mixed.csv"))
    assert first == {"id": "amp-1", "seq": 1, "ver": 2, "listeners": {}, "pools": {}}
    assert second["seq"] == 2
    assert set(second["pools"]) == {POOL_1, POOL_2}
