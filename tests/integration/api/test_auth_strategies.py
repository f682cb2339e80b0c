"""The auth strategies: noauth's default project, tokens (file rotation without restart),
and an operator's policy file overriding rules."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import Client
from tests.integration.api.helpers import V2, fault, ok

from statera.api.app import create_app
from statera.api.auth import token_digest
from statera.settings import ApiSettings, OsloPolicySettings, Settings, SettingsError

LB_BODY = {"loadbalancer": {"vip_subnet_id": "private-subnet"}}
DENIED = "Policy does not allow this request to be performed."
UNAUTHENTICATED = "The request you have made requires authentication."


class TestNoAuth:
    @pytest.fixture
    def settings_overrides(self) -> str:
        return "[api_settings]\ndefault_project_id = demo\n"

    def test_default_project_and_everyone_is_admin(self, app: Any, database: Any) -> None:
        bare = Client(app)
        try:
            lb = ok(bare.post(f"{V2}/loadbalancers", json=LB_BODY), 201)["loadbalancer"]
            assert lb["project_id"] == "demo"
            named = bare.post(f"{V2}/loadbalancers", json=LB_BODY, headers={"X-Project-Id": "p7"})
            assert ok(named, 201)["loadbalancer"]["project_id"] == "p7"
            # Every caller is admin: any project sees every project's objects.
            listed = ok(bare.get(f"{V2}/loadbalancers", headers={"X-Project-Id": "other"}))
            assert len(listed["loadbalancers"]) == 2
            assert ok(bare.get(f"{V2}/quotas", headers={"X-Project-Id": "x"}))["quotas"] == []
        finally:
            bare.close()


def write_tokens(path: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the token file atomically, as an operator's tooling should."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"tokens": entries}))
    os.replace(tmp, path)


class TestTokens:
    @pytest.fixture
    def token_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "tokens.yaml"
        write_tokens(
            path,
            [
                {"sha256": token_digest("alice-secret"), "project_id": "p1", "roles": ["member"]},
                {
                    "sha256": token_digest("ops-secret"),
                    "project_id": "ops",
                    "user_id": "ops",
                    "roles": "admin",
                },
            ],
        )
        return path

    @pytest.fixture
    def settings_overrides(self, token_file: Path) -> str:
        return f"[api_settings]\nauth_strategy = tokens\ntoken_file = {token_file}\n"

    @pytest.fixture
    def bare(self, app: Any) -> Any:
        c = Client(app)
        yield c
        c.close()

    def test_tokens_identify_project_and_roles(self, bare: Client) -> None:
        alice = {"X-Auth-Token": "alice-secret"}
        lb = ok(bare.post(f"{V2}/loadbalancers", json=LB_BODY, headers=alice), 201)["loadbalancer"]
        assert lb["project_id"] == "p1"
        # A forged X-Project-Id header does not change whose token it is.
        forged = {**alice, "X-Project-Id": "ops", "X-Roles": "admin"}
        assert fault(bare.get(f"{V2}/quotas/ops", headers=forged), 403) == DENIED
        assert ok(bare.get(f"{V2}/quotas/ops", headers={"X-Auth-Token": "ops-secret"}))
        # Authorization: Bearer works too.
        bearer = {"Authorization": "Bearer alice-secret"}
        assert len(ok(bare.get(f"{V2}/loadbalancers", headers=bearer))["loadbalancers"]) == 1

    def test_missing_or_unknown_token_is_401(self, bare: Client) -> None:
        assert fault(bare.get(f"{V2}/loadbalancers"), 401) == UNAUTHENTICATED
        response = bare.get(f"{V2}/loadbalancers", headers={"X-Auth-Token": "nope"})
        assert fault(response, 401) == UNAUTHENTICATED
        # The version document needs no token.
        assert bare.get("/").status_code == 200

    def test_rotation_without_restart(self, bare: Client, token_file: Path) -> None:
        old = {"X-Auth-Token": "alice-secret"}
        new = {"X-Auth-Token": "alice-rotated"}
        assert ok(bare.get(f"{V2}/loadbalancers", headers=old))
        assert fault(bare.get(f"{V2}/loadbalancers", headers=new), 401)
        write_tokens(
            token_file,
            [{"sha256": token_digest("alice-rotated"), "project_id": "p1", "roles": ["reader"]}],
        )
        assert fault(bare.get(f"{V2}/loadbalancers", headers=old), 401) == UNAUTHENTICATED
        assert ok(bare.get(f"{V2}/loadbalancers", headers=new))
        # The new entry's roles apply: a reader cannot create.
        assert fault(bare.post(f"{V2}/loadbalancers", json=LB_BODY, headers=new), 403) == DENIED

    def test_broken_file_keeps_the_last_good_tokens(self, bare: Client, token_file: Path) -> None:
        tmp = token_file.with_suffix(".tmp")
        tmp.write_text("tokens: [{sha256: nothex, project_id: p1}]\n")
        os.replace(tmp, token_file)
        assert ok(bare.get(f"{V2}/loadbalancers", headers={"X-Auth-Token": "alice-secret"}))

    def test_a_bad_file_at_start_is_refused(
        self, settings: Settings, database: Any, token_file: Path
    ) -> None:
        token_file.write_text(json.dumps({"tokens": [{"sha256": "ab", "project_id": "p"}]}))
        with pytest.raises(SettingsError, match=r"tokens\[0\]: sha256 must be 64 hex digits"):
            create_app(settings, database)


class TestPolicyFile:
    @pytest.fixture
    def policy_file(self, tmp_path: Path) -> Path:
        path = tmp_path / "policy.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    # Only "lb-creator" may create; nobody may delete, not even admins.
                    "os_load-balancer_api:loadbalancer:post": "role:lb-creator",
                    "os_load-balancer_api:loadbalancer:delete": "!",
                    # Readers of any project may list globally.
                    "load-balancer:read-global": "role:reader or rule:load-balancer:admin",
                }
            )
        )
        return path

    @pytest.fixture
    def settings_overrides(self, policy_file: Path) -> str:
        return (
            f"[api_settings]\nauth_strategy = testing\n[oslo_policy]\npolicy_file = {policy_file}\n"
        )

    def test_overrides_replace_rules(self, client: Client, database: Any) -> None:
        member = {"X-Project-Id": "p1", "X-Roles": "member"}
        creator = {"X-Project-Id": "p1", "X-Roles": "lb-creator"}
        admin = {"X-Project-Id": "p1", "X-Roles": "admin"}
        assert fault(client.post(f"{V2}/loadbalancers", json=LB_BODY, headers=member), 403)
        lb = ok(client.post(f"{V2}/loadbalancers", json=LB_BODY, headers=creator), 201)
        lb_id = lb["loadbalancer"]["id"]
        response = client.delete(f"{V2}/loadbalancers/{lb_id}", headers=admin)
        assert fault(response, 403) == DENIED
        reader_elsewhere = {"X-Project-Id": "p2", "X-Roles": "reader"}
        listed = ok(client.get(f"{V2}/loadbalancers", headers=reader_elsewhere))
        assert [x["id"] for x in listed["loadbalancers"]] == [lb_id]

    def test_a_broken_policy_file_is_refused(
        self, settings: Settings, database: Any, policy_file: Path
    ) -> None:
        policy_file.write_text('"load-balancer:read": "role:x or or"\n')
        with pytest.raises(SettingsError, match="policy_file"):
            create_app(settings, database)


def test_json_policy_file(tmp_path: Path, settings: Settings, database: Any) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"os_load-balancer_api:loadbalancer:get_all": "!"}))
    configured = replace(
        settings,
        api=ApiSettings(auth_strategy="testing"),
        oslo_policy=OsloPolicySettings(policy_file=str(path)),
    )
    c = Client(create_app(configured, database))
    try:
        headers = {"X-Project-Id": "p1", "X-Roles": "member"}
        assert fault(c.get(f"{V2}/loadbalancers", headers=headers), 403) == DENIED
        assert ok(c.get(f"{V2}/quotas/p1", headers=headers))
    finally:
        c.close()
