"""`vip_sg_ids` (Octavia v2.29): the tenant's security groups guard the VIP.

Groups come from the Network view (`/v2.0/security-groups`); a load balancer
names them at create or update, the controller hands their rules to the
network driver for every amphora (the noop driver here records them; the
nftables enforcement is tested live in tests/e2e/test_vip_security_groups.py),
and a rule added to a group in use reaches the amphorae without any load
balancer call. Identity comes from X-Project-Id / X-Roles (`testing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.integration.api.helpers import V2, fault, ok
from tests.integration.api.test_neutron import neutron_error
from tests.integration.api.test_security_groups import ADMIN, MISSING, P1, P2, create_group
from tests.integration.api.test_security_groups import create_rule as add_rule
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    make_controller,
    run_until_idle,
)

from statera.controller.service import Controller
from statera.db import models
from statera.db.session import Database
from statera.network.noop import NoopNetworkDriver
from statera.settings import Settings


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


@pytest.fixture
def controller(settings: Settings, database: Database) -> Controller:
    return make_controller(settings, database, RecordingAmphora(), owner="test-host:1")


def network(controller: Controller) -> NoopNetworkDriver:
    driver = controller._drivers.network
    assert isinstance(driver, NoopNetworkDriver)
    return driver


def create_lb(client: Any, *, headers: dict[str, str] = P1, **fields: Any) -> Any:
    body = {"loadbalancer": {"vip_subnet_id": "private-subnet", **fields}}
    return client.post(f"{V2}/loadbalancers", json=body, headers=headers)


def update_lb(client: Any, lb_id: str, *, headers: dict[str, str] = P1, **fields: Any) -> Any:
    return client.put(f"{V2}/loadbalancers/{lb_id}", json={"loadbalancer": fields}, headers=headers)


def enforced_ports(controller: Controller) -> list[set[int | None]]:
    """For every amphora, the destination ports its ingress rules open."""
    return [
        {r.port_range_min for r in rules if r.direction == "ingress"}
        for rules, _vips in network(controller).security.values()
    ]


def test_groups_guard_the_vip_and_follow_rule_changes(
    client: Any, database: Database, controller: Controller
) -> None:
    web = create_group(client, name="web")
    add_rule(client, web["id"], protocol="tcp", port_range_min=80, port_range_max=80)
    lb = ok(create_lb(client, vip_sg_ids=[web["id"], web["id"]]), 201)["loadbalancer"]
    assert lb["vip_sg_ids"] == [web["id"]]
    run_until_idle(controller)
    ((_rules, vips),) = network(controller).security.values()
    assert vips == (lb["vip_address"],)
    assert enforced_ports(controller) == [{80}]
    # A rule added to the group reaches the amphora with no load balancer call.
    add_rule(client, web["id"], protocol="tcp", port_range_min=443, port_range_max=443)
    run_until_idle(controller)
    assert enforced_ports(controller) == [{80, 443}]
    shown = ok(client.get(f"{V2}/loadbalancers/{lb['id']}", headers=P1))["loadbalancer"]
    assert shown["provisioning_status"] == "ACTIVE" and shown["vip_sg_ids"] == [web["id"]]
    # In use: the group stays.
    neutron_error(
        client.delete(f"/v2.0/security-groups/{web['id']}", headers=P1), 409, "SecurityGroupInUse"
    )
    # Cleared: no filter any more, and the group may go.
    assert ok(update_lb(client, lb["id"], vip_sg_ids=[]))["loadbalancer"]["vip_sg_ids"] == []
    run_until_idle(controller)
    assert network(controller).security == {}
    assert client.delete(f"/v2.0/security-groups/{web['id']}", headers=P1).status_code == 204


def test_set_on_update(client: Any, controller: Controller) -> None:
    lb = ok(create_lb(client), 201)["loadbalancer"]
    run_until_idle(controller)
    assert network(controller).security == {}
    ssh = create_group(client, name="ssh")
    add_rule(client, ssh["id"], protocol="tcp", port_range_min=22, port_range_max=22)
    updated = ok(update_lb(client, lb["id"], vip_sg_ids=[ssh["id"]]))["loadbalancer"]
    assert updated["vip_sg_ids"] == [ssh["id"]]
    run_until_idle(controller)
    assert enforced_ports(controller) == [{22}]


@pytest.mark.parametrize("who", ["missing", "other project"])
def test_unknown_or_foreign_groups_are_400(client: Any, database: Database, who: str) -> None:
    sg_id = MISSING if who == "missing" else create_group(client, headers=P2)["id"]
    message = fault(create_lb(client, vip_sg_ids=[sg_id]), 400)
    assert message == f"Security Group {sg_id} not found."
    with database.read() as s:
        assert s.query(models.LoadBalancer).count() == 0
    # An administrator may use any project's group.
    if who == "other project":
        lb = ok(create_lb(client, headers=ADMIN, vip_sg_ids=[sg_id]), 201)["loadbalancer"]
        assert lb["vip_sg_ids"] == [sg_id]


def test_stateful_and_stateless_groups_do_not_mix(client: Any) -> None:
    a = create_group(client, name="a")
    b = create_group(client, name="b", stateful=False)
    message = fault(create_lb(client, vip_sg_ids=[a["id"], b["id"]]), 400)
    assert "all stateful or all stateless" in message


def test_allowed_cidrs_and_vip_sg_ids_exclude_each_other(
    client: Any, controller: Controller
) -> None:
    web = create_group(client)
    listener = {"protocol": "TCP", "protocol_port": 80, "allowed_cidrs": ["192.0.2.0/24"]}
    message = fault(create_lb(client, vip_sg_ids=[web["id"]], listeners=[listener]), 400)
    assert "Allowed CIDRs cannot be used with custom VIP security groups" in message
    guarded = ok(create_lb(client, vip_sg_ids=[web["id"]]), 201)["loadbalancer"]
    open_lb = ok(create_lb(client, listeners=[listener]), 201)["loadbalancer"]
    run_until_idle(controller)
    body = {"listener": {"loadbalancer_id": guarded["id"], **listener}}
    message = fault(client.post(f"{V2}/listeners", json=body, headers=P1), 400)
    assert "Allowed CIDRs cannot be used" in message
    message = fault(update_lb(client, open_lb["id"], vip_sg_ids=[web["id"]]), 400)
    assert "Allowed CIDRs cannot be used" in message
    shown = ok(client.get(f"{V2}/loadbalancers/{open_lb['id']}", headers=P1))["loadbalancer"]
    assert shown["vip_sg_ids"] == [] and shown["provisioning_status"] == "ACTIVE"


class TestPolicy:
    """`loadbalancer:post:vip_sg_ids` / `put:vip_sg_ids` are asked on top of post/put."""

    @pytest.fixture
    def settings_overrides(self, tmp_path: Path) -> str:
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            '"os_load-balancer_api:loadbalancer:post:vip_sg_ids": "role:admin"\n'
            '"os_load-balancer_api:loadbalancer:put:vip_sg_ids": "role:admin"\n'
        )
        return f"[api_settings]\nauth_strategy = testing\n[oslo_policy]\npolicy_file = {policy}\n"

    def test_a_member_without_the_rule_may_not_set_them(
        self, client: Any, controller: Controller
    ) -> None:
        web = create_group(client)
        assert create_lb(client, vip_sg_ids=[web["id"]]).status_code == 403
        lb = ok(create_lb(client), 201)["loadbalancer"]
        run_until_idle(controller)
        assert update_lb(client, lb["id"], vip_sg_ids=[web["id"]]).status_code == 403
        assert ok(update_lb(client, lb["id"], name="still-allowed"))["loadbalancer"]["name"]
        run_until_idle(controller)
        assert ok(update_lb(client, lb["id"], headers=ADMIN, vip_sg_ids=[web["id"]]))
