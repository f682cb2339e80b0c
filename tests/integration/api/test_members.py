"""Members: defaults, duplicates, update, delete, and the batch update's semantics."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.api.helpers import (
    V2,
    activate,
    create_hm,
    create_lb,
    create_listener,
    create_member,
    create_pool,
    fault,
    lb_row,
    ok,
    statuses,
)

from statera.db.models import Listener, LoadBalancer, Member, Pool
from statera.settings import derived_id


@pytest.fixture
def objects(client: Any, database: Any) -> dict[str, Any]:
    lb = create_lb(client, database)
    listener = create_listener(client, database, lb["id"])
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"])
    return {"lb": lb, "listener": listener, "pool": pool}


def members_url(objects: dict[str, Any]) -> str:
    return f"{V2}/pools/{objects['pool']['id']}/members"


def test_defaults(client: Any, database: Any, objects: dict[str, Any]) -> None:
    member = create_member(
        client, database, objects["lb"]["id"], objects["pool"]["id"], active=False
    )
    expected = {
        "name": "",
        "operating_status": "NO_MONITOR",
        "provisioning_status": "PENDING_CREATE",
        "admin_state_up": True,
        "address": "10.0.0.100",
        "protocol_port": 8080,
        "weight": 1,
        "backup": False,
        "subnet_id": None,
        "project_id": "project-a",
        "tenant_id": "project-a",
        "updated_at": None,
        "monitor_address": None,
        "monitor_port": None,
        "tags": [],
        "vnic_type": "normal",
    }
    assert {k: member[k] for k in expected} == expected
    assert set(member) == {*expected, "id", "created_at"}
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"
    assert statuses(database, Listener)[objects["listener"]["id"]] == "PENDING_UPDATE"
    assert statuses(database, LoadBalancer)[objects["lb"]["id"]] == "PENDING_UPDATE"


def test_with_monitor_starts_offline(client: Any, database: Any, objects: dict[str, Any]) -> None:
    create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
    member = create_member(client, database, objects["lb"]["id"], objects["pool"]["id"])
    assert member["operating_status"] == "OFFLINE"


def test_every_field(client: Any, database: Any, objects: dict[str, Any]) -> None:
    member = create_member(
        client,
        database,
        objects["lb"]["id"],
        objects["pool"]["id"],
        name="m",
        address="fd00::5",
        protocol_port=1,
        weight=0,
        backup=True,
        admin_state_up=False,
        subnet_id="private-subnet",
        monitor_address="10.0.0.99",
        monitor_port=65535,
        tags=["a"],
        project_id="ignored",
        request_sriov=False,
    )
    assert member["address"] == "fd00::5" and member["weight"] == 0 and member["backup"] is True
    assert member["admin_state_up"] is False and member["subnet_id"] == derived_id(
        "subnet", "private"
    )
    assert member["monitor_address"] == "10.0.0.99" and member["monitor_port"] == 65535
    assert member["project_id"] == "project-a"


def test_duplicate_address_and_port_is_409(
    client: Any, database: Any, objects: dict[str, Any]
) -> None:
    create_member(client, database, objects["lb"]["id"], objects["pool"]["id"])
    body = {"member": {"address": "10.0.0.100", "protocol_port": 8080}}
    message = fault(client.post(members_url(objects), json=body), 409)
    assert (
        message
        == "Another member on this pool is already using ip 10.0.0.100 on protocol_port 8080"
    )
    body = {"member": {"address": "10.0.0.100", "protocol_port": 8081}}
    ok(client.post(members_url(objects), json=body), 201)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"address": "169.254.169.254"}, 400),
        ({"subnet_id": "nowhere"}, 400),
        ({"request_sriov": True}, 400),
    ],
)
def test_refused_members(
    client: Any, database: Any, objects: dict[str, Any], fields: Any, status: int
) -> None:
    body = {"member": {"address": "10.0.0.100", "protocol_port": 80, **fields}}
    fault(client.post(members_url(objects), json=body), status)
    assert statuses(database, Member) == {}


def test_update_and_null_defaults(client: Any, database: Any, objects: dict[str, Any]) -> None:
    member = create_member(
        client,
        database,
        objects["lb"]["id"],
        objects["pool"]["id"],
        weight=5,
        backup=True,
        monitor_port=1,
    )
    body = {
        "member": {"weight": None, "backup": None, "monitor_port": None, "name": "n", "tags": ["t"]}
    }
    updated = ok(client.put(f"{members_url(objects)}/{member['id']}", json=body))["member"]
    assert updated["weight"] == 1 and updated["backup"] is False and updated["monitor_port"] is None
    assert updated["name"] == "n" and updated["tags"] == ["t"]
    assert updated["provisioning_status"] == "PENDING_UPDATE"
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"


@pytest.mark.parametrize(
    "field", ["address", "protocol_port", "subnet_id", "project_id", "request_sriov"]
)
def test_immutable_fields_are_unknown_in_put(
    client: Any, database: Any, objects: dict[str, Any], field: str
) -> None:
    member = create_member(client, database, objects["lb"]["id"], objects["pool"]["id"])
    response = client.put(f"{members_url(objects)}/{member['id']}", json={"member": {field: 1}})
    assert fault(response, 400) == f"Unknown attribute for argument member: {field}"


def test_delete(client: Any, database: Any, objects: dict[str, Any]) -> None:
    member = create_member(client, database, objects["lb"]["id"], objects["pool"]["id"])
    assert client.delete(f"{members_url(objects)}/{member['id']}").status_code == 204
    assert statuses(database, Member)[member["id"]] == "PENDING_DELETE"
    assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"


def test_member_of_another_pool_is_404(client: Any, database: Any, objects: dict[str, Any]) -> None:
    member = create_member(client, database, objects["lb"]["id"], objects["pool"]["id"])
    other = create_pool(client, database, objects["lb"]["id"])
    url = f"{V2}/pools/{other['id']}/members/{member['id']}"
    assert fault(client.get(url), 404) == f"Member {member['id']} not found."
    fault(client.delete(url), 404)
    fault(client.get(f"{V2}/pools/nope/members"), 404)
    fault(
        client.post(
            f"{V2}/pools/nope/members", json={"member": {"address": "10.0.0.1", "protocol_port": 1}}
        ),
        404,
    )


class TestBatch:
    def put(
        self, client: Any, objects: dict[str, Any], members: list[dict[str, Any]], query: str = ""
    ) -> Any:
        return client.put(f"{members_url(objects)}{query}", json={"members": members})

    def members(
        self, client: Any, objects: dict[str, Any]
    ) -> dict[tuple[str, int], dict[str, Any]]:
        listed = ok(client.get(members_url(objects)))["members"]
        return {(m["address"], m["protocol_port"]): m for m in listed}

    def seed(self, client: Any, database: Any, objects: dict[str, Any]) -> dict[str, Any]:
        lb_id, pool_id = objects["lb"]["id"], objects["pool"]["id"]
        a = create_member(
            client,
            database,
            lb_id,
            pool_id,
            address="10.0.0.1",
            protocol_port=80,
            weight=3,
            name="a",
        )
        b = create_member(
            client, database, lb_id, pool_id, address="10.0.0.2", protocol_port=80, name="b"
        )
        return {"a": a, "b": b}

    def test_create_update_delete(
        self, client: Any, database: Any, objects: dict[str, Any], changes: list[int]
    ) -> None:
        seeded = self.seed(client, database, objects)
        generation = lb_row(database, objects["lb"]["id"]).generation
        response = self.put(
            client,
            objects,
            [
                {"address": "10.0.0.1", "protocol_port": 80, "weight": 7},
                {"address": "10.0.0.3", "protocol_port": 80},
            ],
        )
        assert response.status_code == 202 and response.content == b""
        members = self.members(client, objects)
        assert members[("10.0.0.1", 80)]["id"] == seeded["a"]["id"]
        assert members[("10.0.0.1", 80)]["weight"] == 7
        assert members[("10.0.0.1", 80)]["name"] == "a"
        assert members[("10.0.0.1", 80)]["provisioning_status"] == "PENDING_UPDATE"
        assert members[("10.0.0.2", 80)]["provisioning_status"] == "PENDING_DELETE"
        assert members[("10.0.0.3", 80)]["provisioning_status"] == "PENDING_CREATE"
        assert statuses(database, Pool)[objects["pool"]["id"]] == "PENDING_UPDATE"
        assert statuses(database, Listener)[objects["listener"]["id"]] == "PENDING_UPDATE"
        row = lb_row(database, objects["lb"]["id"])
        assert row.provisioning_status == "PENDING_UPDATE" and row.generation == generation + 1
        assert changes[-1] == 1

    def test_matched_member_resets_omitted_fields_to_defaults(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        self.seed(client, database, objects)
        self.put(
            client,
            objects,
            [
                {"address": "10.0.0.1", "protocol_port": 80},
                {"address": "10.0.0.2", "protocol_port": 80},
            ],
        )
        assert self.members(client, objects)[("10.0.0.1", 80)]["weight"] == 1

    def test_additive_only_keeps_absent_members(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        self.seed(client, database, objects)
        response = self.put(
            client, objects, [{"address": "10.0.0.3", "protocol_port": 80}], "?additive_only=true"
        )
        assert response.status_code == 202
        members = self.members(client, objects)
        assert members[("10.0.0.1", 80)]["provisioning_status"] == "ACTIVE"
        assert members[("10.0.0.2", 80)]["provisioning_status"] == "ACTIVE"
        assert members[("10.0.0.3", 80)]["provisioning_status"] == "PENDING_CREATE"

    def test_noop_changes_nothing(
        self, client: Any, database: Any, objects: dict[str, Any], changes: list[int]
    ) -> None:
        self.seed(client, database, objects)
        generation = lb_row(database, objects["lb"]["id"]).generation
        calls = len(changes)
        same = [
            {"address": "10.0.0.1", "protocol_port": 80, "weight": 3},
            {"address": "10.0.0.2", "protocol_port": 80},
        ]
        assert self.put(client, objects, same).status_code == 202
        assert self.put(client, objects, [], "?additive_only=true").status_code == 202
        row = lb_row(database, objects["lb"]["id"])
        assert row.provisioning_status == "ACTIVE" and row.generation == generation
        assert len(changes) == calls
        assert {m["provisioning_status"] for m in self.members(client, objects).values()} == {
            "ACTIVE"
        }

    def test_empty_list_deletes_all(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        self.seed(client, database, objects)
        assert self.put(client, objects, []).status_code == 202
        assert {m["provisioning_status"] for m in self.members(client, objects).values()} == {
            "PENDING_DELETE"
        }

    def test_same_member_twice_is_400(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        twice = [{"address": "10.0.0.9", "protocol_port": 80}] * 2
        assert "more than once" in fault(self.put(client, objects, twice), 400)
        assert statuses(database, Member) == {}

    def test_invalid_entry_is_400_and_changes_nothing(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        self.seed(client, database, objects)
        bad = [{"address": "10.0.0.9", "protocol_port": 0}]
        message = fault(self.put(client, objects, bad), 400)
        assert message.startswith("Invalid input for field/attribute protocol_port. Value: '0'.")
        assert {m["provisioning_status"] for m in self.members(client, objects).values()} == {
            "ACTIVE"
        }

    def test_while_pending_is_409(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        create_member(client, database, objects["lb"]["id"], objects["pool"]["id"], active=False)
        fault(self.put(client, objects, []), 409)

    def test_unknown_pool_is_404(self, client: Any) -> None:
        response = client.put(f"{V2}/pools/nope/members", json={"members": []})
        assert fault(response, 404) == "Pool nope not found."

    def test_new_members_follow_the_monitor(
        self, client: Any, database: Any, objects: dict[str, Any]
    ) -> None:
        create_hm(client, database, objects["lb"]["id"], objects["pool"]["id"])
        self.put(client, objects, [{"address": "10.0.0.7", "protocol_port": 80}])
        assert self.members(client, objects)[("10.0.0.7", 80)]["operating_status"] == "OFFLINE"
        activate(database)
