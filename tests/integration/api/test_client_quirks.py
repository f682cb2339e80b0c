"""What real clients send that Octavia (WSME) accepts, and Statera must accept too.

python-octaviaclient sends a listener's `connection_limit` as a string
(`--connection-limit 10` becomes `"10"`); WSME turns numeric strings into
ints for integer attributes, so Octavia accepts it.
"""

from __future__ import annotations

from typing import Any

from tests.integration.api.helpers import SUBNET, V2, activate, fault, ok

from statera.db.session import Database


def test_listener_connection_limit_as_string(client: Any, database: Database) -> None:
    body = {"loadbalancer": {"name": "lb", "vip_subnet_id": SUBNET}}
    lb = ok(client.post(f"{V2}/loadbalancers", json=body), 201)["loadbalancer"]
    activate(database, lb["id"])
    listener = {
        "protocol": "HTTP",
        "protocol_port": 80,
        "loadbalancer_id": lb["id"],
        "connection_limit": "10",
    }
    created = ok(client.post(f"{V2}/listeners", json={"listener": listener}), 201)["listener"]
    assert created["connection_limit"] == 10
    activate(database, lb["id"])
    url = f"{V2}/listeners/{created['id']}"
    updated = ok(client.put(url, json={"listener": {"connection_limit": "-1"}}))["listener"]
    assert updated["connection_limit"] == -1
    activate(database, lb["id"])
    assert "connection_limit" in fault(
        client.put(url, json={"listener": {"connection_limit": "ten"}}), 400
    )


def test_identity_lookups_are_forbidden_like_keystone(client: Any) -> None:
    """openstackclient takes a project id as given when Keystone answers 403."""
    for path in ("/projects/admin", "/projects?name=admin", "/v3/projects/admin"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == 403
