"""The controller with L7 policies and rules: activation, purging, errors, reloads.

Same recording drivers as `test_reconcile.py`: the rendered configuration and
whether it came with runtime commands (None = reload) are what is checked.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.controller.test_reconcile import (
    RecordingAmphora,
    make_controller,
    run_until_idle,
)

from statera.controller.service import Controller
from statera.db import models
from statera.db.session import Database
from statera.domain.errors import PermanentError
from statera.settings import Settings

V2 = "/v2/lbaas"


@pytest.fixture
def settings_overrides() -> str:
    return "[controller_worker]\nbuild_timeout = 30\n"


@pytest.fixture
def recorder() -> RecordingAmphora:
    return RecordingAmphora()


@pytest.fixture
def controller(settings: Settings, database: Database, recorder: RecordingAmphora) -> Controller:
    return make_controller(settings, database, recorder, owner="test-host:l7")


def body() -> dict[str, Any]:
    rule = {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}
    return {
        "loadbalancer": {
            "vip_subnet_id": "private-subnet",
            "pools": [
                {
                    "name": "api",
                    "protocol": "HTTP",
                    "lb_algorithm": "ROUND_ROBIN",
                    "members": [{"address": "10.0.0.60", "protocol_port": 80}],
                }
            ],
            "listeners": [
                {
                    "protocol": "HTTP",
                    "protocol_port": 80,
                    "default_pool": {
                        "name": "web",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                    },
                    "l7policies": [
                        {
                            "name": "api",
                            "action": "REDIRECT_TO_POOL",
                            "redirect_pool": {"name": "api"},
                            "rules": [rule],
                        },
                        {
                            "name": "deny",
                            "action": "REJECT",
                            "rules": [
                                {
                                    "type": "HEADER",
                                    "compare_type": "EQUAL_TO",
                                    "key": "X-Block",
                                    "value": "yes",
                                }
                            ],
                        },
                        {
                            "name": "off",
                            "action": "REJECT",
                            "admin_state_up": False,
                            "rules": [rule],
                        },
                    ],
                }
            ],
        }
    }


def rows(database: Database, model: Any) -> dict[str, tuple[str, str]]:
    with database.read() as s:
        return {r.id: (r.provisioning_status, r.operating_status) for r in s.scalars(select(model))}


def create(client: Any, controller: Controller) -> dict[str, Any]:
    lb = client.post(f"{V2}/loadbalancers", json=body()).json()["loadbalancer"]
    run_until_idle(controller)
    return dict(lb)


def test_policies_go_active_online_and_are_rendered(
    client: Any, controller: Controller, recorder: RecordingAmphora, database: Database
) -> None:
    lb = create(client, controller)
    policies = {p["name"]: p for p in lb["listeners"][0]["l7policies"]}
    states = rows(database, models.L7Policy)
    assert states[policies["api"]["id"]] == ("ACTIVE", "ONLINE")
    assert states[policies["deny"]["id"]] == ("ACTIVE", "ONLINE")
    assert states[policies["off"]["id"]] == ("ACTIVE", "OFFLINE")
    assert set(rows(database, models.L7Rule).values()) == {("ACTIVE", "ONLINE")}
    config = recorder.configs[-1][1]
    api_pool = next(p["id"] for p in lb["pools"] if p["name"] == "api")
    listener_id = lb["listeners"][0]["id"]
    assert f"use_backend {api_pool}:{listener_id} if " in config
    assert f"backend {api_pool}:{listener_id}" in config
    assert "http-request deny if " in config
    assert config.count("acl ") == 2  # the disabled policy's rule is not rendered


def test_rule_changes_reload_and_deletes_are_purged(
    client: Any, controller: Controller, recorder: RecordingAmphora, database: Database
) -> None:
    lb = create(client, controller)
    policy = next(p for p in lb["listeners"][0]["l7policies"] if p["name"] == "deny")
    rules_url = f"{V2}/l7policies/{policy['id']}/rules"
    rule = client.post(
        rules_url,
        json={"rule": {"type": "COOKIE", "compare_type": "EQUAL_TO", "key": "k", "value": "v"}},
    ).json()["rule"]
    run_until_idle(controller)
    assert rows(database, models.L7Rule)[rule["id"]] == ("ACTIVE", "ONLINE")
    assert recorder.configs[-1][2] is None  # an L7 change is a reload, not runtime commands
    assert "req.cook(k) -m str -- v" in recorder.configs[-1][1]

    assert client.delete(f"{rules_url}/{rule['id']}").status_code == 204
    run_until_idle(controller)
    assert rule["id"] not in rows(database, models.L7Rule)
    assert "req.cook(k)" not in recorder.configs[-1][1]

    assert client.delete(f"{V2}/l7policies/{policy['id']}").status_code == 204
    run_until_idle(controller)
    assert policy["id"] not in rows(database, models.L7Policy)
    remaining = [
        p["position"] for p in client.get(f"{V2}/l7policies?sort=position").json()["l7policies"]
    ]
    assert remaining == [1, 2]
    assert (
        client.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"]["provisioning_status"]
        == "ACTIVE"
    )

    assert client.delete(f"{V2}/listeners/{lb['listeners'][0]['id']}").status_code == 204
    run_until_idle(controller)
    assert rows(database, models.L7Policy) == {}
    assert rows(database, models.L7Rule) == {}


def test_cascade_delete_removes_l7(client: Any, controller: Controller, database: Database) -> None:
    lb = create(client, controller)
    assert client.delete(f"{V2}/loadbalancers/{lb['id']}?cascade=true").status_code == 204
    run_until_idle(controller)
    assert rows(database, models.L7Policy) == {}
    assert rows(database, models.L7Rule) == {}


def test_failure_marks_pending_l7_error(
    client: Any, controller: Controller, recorder: RecordingAmphora, database: Database
) -> None:
    lb = create(client, controller)
    recorder.fail_with = PermanentError("agent refused the configuration")
    listener_id = lb["listeners"][0]["id"]
    policy = client.post(
        f"{V2}/l7policies", json={"l7policy": {"listener_id": listener_id, "action": "REJECT"}}
    ).json()["l7policy"]
    run_until_idle(controller)
    assert rows(database, models.L7Policy)[policy["id"]][0] == "ERROR"
