"""Repeated GETs answered from the response cache never show stale or foreign data.

On SQLite a 200 answer is kept until anything commits (`Database.change_marker`);
these tests change the database behind the API's back, the way the controller
or another process does, and read again.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from tests.conftest import Client
from tests.integration.api.helpers import V2, create_lb, ok

from statera.db.models import LoadBalancer
from statera.db.session import Database


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


@pytest.fixture
def client(app: Any) -> Iterator[Client]:
    c = Client(app, headers={"X-Project-Id": "project-a", "X-Roles": "member"})
    try:
        yield c
    finally:
        c.close()


def _names(client: Any, **headers: str) -> list[str]:
    body = ok(client.get(f"{V2}/loadbalancers", headers=headers))
    return sorted(lb["name"] for lb in body["loadbalancers"])


def test_a_commit_by_another_connection_is_seen_at_once(client: Any, database: Database) -> None:
    lb = create_lb(client, database, name="before")
    assert _names(client) == ["before"]
    assert _names(client) == ["before"]  # the second answer may come from the cache
    with database.write() as session:  # as the controller would, on its own connection
        session.execute(update(LoadBalancer).values(operating_status="ONLINE"))
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}"))["loadbalancer"]
    assert shown["operating_status"] == "ONLINE"
    listed = ok(client.get(f"{V2}/loadbalancers"))["loadbalancers"]
    assert [x["operating_status"] for x in listed] == ["ONLINE"]


def test_a_commit_by_another_process_is_seen(client: Any, database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("the cache works on SQLite only")
    create_lb(client, database, name="mine")
    assert _names(client) == ["mine"]
    path = database.engine.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)  # not through SQLAlchemy at all
    try:
        other.execute("UPDATE load_balancer SET name = 'renamed elsewhere'")
    finally:
        other.close()
    assert _names(client) == ["renamed elsewhere"]


def test_writes_through_the_api_are_seen(client: Any, database: Database) -> None:
    lb = create_lb(client, database, name="a")
    assert _names(client) == ["a"]
    ok(client.put(f"{V2}/loadbalancers/{lb['id']}", json={"loadbalancer": {"name": "b"}}))
    assert _names(client) == ["b"]


def test_answers_are_never_shared_between_callers(client: Any, database: Database) -> None:
    create_lb(client, database, name="of-a")
    b = {"X-Project-Id": "project-b"}
    body = {"loadbalancer": {"name": "of-b", "vip_subnet_id": "private-subnet"}}
    ok(client.post(f"{V2}/loadbalancers", json=body, headers=b), 201)
    for _ in range(2):
        assert _names(client) == ["of-a"]
        assert _names(client, **b) == ["of-b"]
        assert _names(client, **{"X-Roles": "admin"}) == ["of-a", "of-b"]


def test_links_follow_the_base_url(client: Any, database: Database) -> None:
    for i in range(3):
        create_lb(client, database, name=f"lb{i}")
    for host in ("one.example", "two.example", "one.example"):
        body = ok(client.get(f"{V2}/loadbalancers?limit=1", headers={"Host": host}))
        assert body["loadbalancers_links"][0]["href"].startswith(f"http://{host}/")


def test_cache_can_be_turned_off(database: Database, settings: Any) -> None:
    from statera.api.app import create_app
    from statera.api.routes.common import ApiContext

    off = dataclasses.replace(
        settings, api=settings.api.model_copy(update={"response_cache_entries": 0})
    )
    ctx = create_app(off, database).state.statera
    assert isinstance(ctx, ApiContext) and ctx.responses is None
