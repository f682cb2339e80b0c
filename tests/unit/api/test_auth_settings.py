"""Auth settings: strategy names, the tokens strategy's file, the keystone pass-through section."""

from __future__ import annotations

from pathlib import Path

import pytest

from statera.api import auth
from statera.api.auth import NoAuth, Tokens, build_auth, parse_token_file, token_digest
from statera.settings import SettingsError, load_settings


def test_unknown_strategy_names_the_key() -> None:
    with pytest.raises(SettingsError, match=r"\[api_settings\] auth_strategy = 'ldap'"):
        load_settings(overrides="[api_settings]\nauth_strategy = ldap\n")


def test_strategies_are_built_from_settings(tmp_path: Path) -> None:
    assert isinstance(build_auth(load_settings()).strategy, NoAuth)
    testing = load_settings(overrides="[api_settings]\nauth_strategy = testing\n")
    assert isinstance(build_auth(testing).strategy, auth.Testing)
    with pytest.raises(SettingsError, match="token_file: required"):
        build_auth(load_settings(overrides="[api_settings]\nauth_strategy = tokens\n"))
    path = tmp_path / "t.yaml"
    path.write_text(f"tokens:\n  - {{sha256: {token_digest('x')}, project_id: p}}\n")
    tokens = load_settings(
        overrides=f"[api_settings]\nauth_strategy = tokens\ntoken_file = {path}\n"
    )
    assert isinstance(build_auth(tokens).strategy, Tokens)


def test_noauth_context() -> None:
    ctx = NoAuth(default_project_id="admin").authenticate({"x-roles": "reader"})
    assert (ctx.project_id, ctx.is_admin, ctx.roles) == ("admin", True, frozenset({"reader"}))
    assert NoAuth(default_project_id="admin").authenticate({"x-project-id": "p"}).project_id == "p"


def test_keystone_section_is_passed_through() -> None:
    settings = load_settings(
        overrides="[keystone_authtoken]\nauth_url = http://ks:5000\nauth_type = password\n"
    )
    assert dict(settings.keystone_authtoken) == {
        "auth_url": "http://ks:5000",
        "auth_type": "password",
    }
    assert load_settings().keystone_authtoken == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "expected a mapping with a list `tokens`"),
        ("tokens: [1]", r"tokens\[0\]: expected a mapping"),
        ("tokens: [{sha256: abc, project_id: p}]", "64 hex digits"),
        (f"tokens: [{{sha256: {'a' * 64}}}]", "project_id is required"),
        (f"tokens: [{{sha256: {'a' * 64}, project_id: p, roles: 3}}]", "roles must be a list"),
        ("tokens: [", "token file"),
    ],
)
def test_bad_token_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message):
        parse_token_file(path)
