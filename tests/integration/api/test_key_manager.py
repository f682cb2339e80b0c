"""The key manager at `/v1` (Barbican's shapes): secrets, containers, errors, projects, at rest.

Identity comes from X-Project-Id / X-Roles (the `testing` strategy). These pin
what python-barbicanclient and Octavia's TLS cookbook rely on: `secret_ref` /
`container_ref` hrefs under `/v1`, metadata with `content_types`, payloads
given back byte for byte in their own media type, Barbican's error body and
messages, one project never seeing another's objects (404), a reader seeing
metadata but not payloads (403), and payloads stored encrypted.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.api.helpers import ok
from tests.tls_material import make_ca, make_server_cert, pkcs12

from statera.db.models import Secret
from statera.db.session import Database

P1 = {"X-Project-Id": "p1", "X-Roles": "member", "X-User-Id": "alice"}
P2 = {"X-Project-Id": "p2", "X-Roles": "member"}
READER = {"X-Project-Id": "p1", "X-Roles": "reader"}
ADMIN = {"X-Project-Id": "ops", "X-Roles": "admin"}
MISSING = "b4ca07d1-a31e-43e2-891a-7d14f419f342"
SECRET_404 = "Not Found. Sorry but your secret is in another castle."


@pytest.fixture
def settings_overrides() -> str:
    return "[api_settings]\nauth_strategy = testing\n"


def barbican_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "title", "description"}, body
    assert body["code"] == status
    return str(body["description"])


def store(client: Any, headers: dict[str, str] = P1, **fields: Any) -> str:
    body = {"name": "tls1", "payload": "s3cret", "payload_content_type": "text/plain", **fields}
    created = ok(client.post("/v1/secrets", json=body, headers=headers), 201)
    assert set(created) == {"secret_ref"}
    ref = str(created["secret_ref"])
    assert ref.startswith("http://testserver/v1/secrets/")
    return ref


def path(ref: str) -> str:
    return ref.removeprefix("http://testserver")


def test_version_documents(client: Any) -> None:
    v1 = ok(client.get("/v1"))["version"]
    assert v1["id"] == "v1" and v1["status"] == "CURRENT"
    assert (v1["min_version"], v1["max_version"]) == ("1.0", "1.1")
    root = client.get("/", headers={"OpenStack-API-Version": "key-manager 1.1"})
    assert root.status_code == 300
    assert root.json()["versions"]["values"][0]["id"] == "v1"
    octavia = ok(client.get("/"))  # anyone else still gets Octavia's document
    assert octavia["versions"][-1]["links"][0]["href"].endswith("/v2")


def test_secret_crud_with_binary_payload(client: Any, changes: list[int]) -> None:
    ca = make_ca("ca")
    archive = pkcs12(*make_server_cert(ca, ["www.example.com"]))
    ref = store(
        client,
        payload=base64.b64encode(archive).decode(),
        payload_content_type="application/octet-stream",
        payload_content_encoding="base64",
        secret_type="opaque",
        algorithm="aes",
        bit_length=256,
        mode="cbc",
    )
    assert changes
    meta = ok(client.get(path(ref), headers=P1))
    assert meta["secret_ref"] == ref
    assert meta["name"] == "tls1"
    assert meta["status"] == "ACTIVE"
    assert meta["content_types"] == {"default": "application/octet-stream"}
    assert (meta["algorithm"], meta["bit_length"], meta["mode"]) == ("aes", 256, "cbc")
    assert meta["creator_id"] == "alice"
    assert meta["expiration"] is None and meta["created"]
    payload = client.get(
        path(ref) + "/payload", headers={**P1, "Accept": "application/octet-stream"}
    )
    assert payload.status_code == 200
    assert payload.content == archive
    assert payload.headers["content-type"] == "application/octet-stream"
    # Barbican's older way: the secret itself with a non-JSON Accept.
    old = client.get(path(ref), headers={**P1, "Accept": "application/octet-stream"})
    assert old.content == archive
    listing = ok(client.get("/v1/secrets", headers=P1))
    assert listing["total"] == 1
    assert [s["secret_ref"] for s in listing["secrets"]] == [ref]
    assert client.delete(path(ref), headers=P1).status_code == 204
    assert barbican_error(client.get(path(ref), headers=P1), 404) == SECRET_404
    assert ok(client.get("/v1/secrets", headers=P1)) == {"secrets": [], "total": 0}


def test_text_payload_and_root_aliases(client: Any) -> None:
    ref = store(client, payload="-----BEGIN CERTIFICATE-----\nabc\n")
    secret_id = ref.rsplit("/", 1)[1]
    got = client.get(f"/secrets/{secret_id}/payload", headers={**P1, "Accept": "text/plain"})
    assert got.status_code == 200
    assert got.text == "-----BEGIN CERTIFICATE-----\nabc"  # stripped, as Barbican does
    assert got.headers["content-type"].startswith("text/plain")
    assert ok(client.get("/secrets/", headers=P1))["total"] == 1
    wrong = client.get(path(ref) + "/payload", headers={**P1, "Accept": "application/pkcs8"})
    assert barbican_error(wrong, 406) == "Secret Accept of 'application/pkcs8' not supported"


def test_two_step_create(client: Any) -> None:
    ref = ok(client.post("/v1/secrets", json={"name": "later"}, headers=P1), 201)["secret_ref"]
    meta = ok(client.get(path(ref), headers=P1))
    assert "content_types" not in meta
    no_payload = client.get(path(ref) + "/payload", headers=P1)
    assert barbican_error(no_payload, 404) == "Not Found. Sorry but your secret has no payload."
    put = client.put(
        path(ref),
        content=b"raw\x00bytes",
        headers={**P1, "Content-Type": "application/octet-stream"},
    )
    assert put.status_code == 204, put.text
    got = client.get(path(ref) + "/payload", headers={**P1, "Accept": "application/octet-stream"})
    assert got.content == b"raw\x00bytes"
    again = client.put(path(ref), content=b"x", headers={**P1, "Content-Type": "text/plain"})
    assert barbican_error(again, 409) == "Secret already has data, cannot modify it."
    ref2 = ok(client.post("/v1/secrets", json={}, headers=P1), 201)["secret_ref"]
    as_json = client.put(
        path(ref2), content=b"{}", headers={**P1, "Content-Type": "application/json"}
    )
    assert (
        barbican_error(as_json, 415)
        == "Content-Type of 'application/json' is not supported for PUT."
    )
    encoded = client.put(
        path(ref2),
        content=base64.b64encode(b"\x01\x02"),
        headers={**P1, "Content-Type": "application/octet-stream", "Content-Encoding": "base64"},
    )
    assert encoded.status_code == 204
    got = client.get(path(ref2) + "/payload", headers={**P1, "Accept": "*/*"})
    assert got.content == b"\x01\x02"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"payload_content_type": "application/octet-stream"},
            "payload_content_encoding is not one of ['base64', 'binary']. "
            "Invalid property: 'payload_content_encoding'",
        ),
        (
            {"payload_content_type": None},
            "If 'payload' is supplied, 'payload_content_type' must also be supplied.. "
            "Invalid property: 'payload_content_type'",
        ),
        (
            {"payload_content_type": "image/png"},
            "payload_content_type is not one of ['text/plain', 'text/plain;charset=utf-8', "
            "'text/plain; charset=utf-8', 'application/octet-stream', 'application/pkcs8', "
            "'application/pkix-cert']. Invalid property: 'payload_content_type'",
        ),
        (
            {"payload_content_encoding": "base64"},
            "payload_content_encoding is not one of None. "
            "Invalid property: 'payload_content_encoding'",
        ),
        (
            {"payload": "   "},
            "If 'payload' specified, must be non empty. Invalid property: 'payload'",
        ),
        (
            {"secret_type": "password"},
            "'password' is not one of ['symmetric', 'passphrase', 'private', 'public', "
            "'certificate', 'opaque']. Invalid property: 'secret_type'",
        ),
        ({"bit_length": 0}, "0 is less than the minimum of 1. Invalid property: 'bit_length'"),
        ({"bit_length": "256"}, "'256' is not of type 'integer'. Invalid property: 'bit_length'"),
        (
            {"expiration": "2001-01-01T00:00:00Z"},
            "'expiration' is before current time. Invalid property: 'expiration'",
        ),
        ({"expiration": "soon"}, "Invalid date for 'expiration'. Invalid property: 'expiration'"),
        (
            {
                "payload": "!!!",
                "payload_content_type": "application/octet-stream",
                "payload_content_encoding": "base64",
            },
            "Invalid payload for payload_content_encoding. Invalid property: 'payload'",
        ),
    ],
)
def test_secret_validation(client: Any, fields: dict[str, Any], message: str) -> None:
    body = {"payload": "x", "payload_content_type": "text/plain", **fields}
    if body["payload_content_type"] is None:
        del body["payload_content_type"]
    got = barbican_error(client.post("/v1/secrets", json=body, headers=P1), 400)
    assert got == f"Provided object does not match schema 'Secret': {message}"


def test_secret_limits_and_malformed(client: Any) -> None:
    big = {"payload": "x" * 20001, "payload_content_type": "text/plain"}
    too_big = client.post("/v1/secrets", json=big, headers=P1)
    assert barbican_error(too_big, 413) == "Provided information too large to process"
    bad = client.post(
        "/v1/secrets", content=b"{", headers={**P1, "Content-Type": "application/json"}
    )
    assert barbican_error(bad, 400) == "Malformed JSON"
    only_type = {"payload_content_type": "text/plain"}
    assert "payload must be provided" in barbican_error(
        client.post("/v1/secrets", json=only_type, headers=P1), 400
    )


def test_listing_pages_and_filters(client: Any) -> None:
    refs = [store(client, name=f"s{i}") for i in range(5)]
    page = ok(client.get("/v1/secrets?limit=2&offset=2", headers=P1))
    assert page["total"] == 5
    assert [s["secret_ref"] for s in page["secrets"]] == refs[2:4]
    assert page["next"] == "http://testserver/v1/secrets?limit=2&offset=4"
    assert page["previous"] == "http://testserver/v1/secrets?limit=2&offset=0"
    named = ok(client.get("/v1/secrets?name=s3", headers=P1))
    assert [s["name"] for s in named["secrets"]] == ["s3"]


def test_projects_are_isolated(client: Any) -> None:
    ref = store(client)
    container = ok(
        client.post(
            "/v1/containers",
            json={
                "type": "generic",
                "name": "c",
                "secret_refs": [{"name": "a", "secret_ref": ref}],
            },
            headers=P1,
        ),
        201,
    )["container_ref"]
    for url in (path(ref), path(ref) + "/payload"):
        assert barbican_error(client.get(url, headers=P2), 404) == SECRET_404
    assert barbican_error(client.delete(path(ref), headers=P2), 404) == SECRET_404
    assert ok(client.get("/v1/secrets", headers=P2))["total"] == 0
    assert barbican_error(client.get(path(container), headers=P2), 404) == (
        "Not Found. Sorry but your container is in another castle."
    )
    assert ok(client.get("/v1/containers", headers=P2))["total"] == 0
    # Another project's secret cannot go into a container either.
    stolen = client.post(
        "/v1/containers",
        json={"type": "generic", "secret_refs": [{"name": "x", "secret_ref": ref}]},
        headers=P2,
    )
    assert barbican_error(stolen, 404) == "Secret provided for 'x' doesn't exist."
    # An administrator reads any project's secret.
    got = client.get(path(ref) + "/payload", headers={**ADMIN, "Accept": "text/plain"})
    assert got.text == "s3cret"


def test_reader_sees_metadata_but_not_payloads(client: Any) -> None:
    ref = store(client)
    assert ok(client.get(path(ref), headers=READER))["name"] == "tls1"
    assert ok(client.get("/v1/secrets", headers=READER))["total"] == 1
    denied = client.get(path(ref) + "/payload", headers=READER)
    assert barbican_error(denied, 403) == (
        "Secret payload retrieval attempt not allowed - please review your user/project privileges"
    )
    old_way = client.get(path(ref), headers={**READER, "Accept": "text/plain"})
    assert old_way.status_code == 403
    assert client.delete(path(ref), headers=READER).status_code == 403
    body = {"payload": "x", "payload_content_type": "text/plain"}
    assert barbican_error(client.post("/v1/secrets", json=body, headers=READER), 403) == (
        "Secret creation attempt not allowed - please review your user/project privileges"
    )


def test_payload_is_encrypted_at_rest(client: Any, database: Database) -> None:
    marker = "PLAINTEXT-MARKER-1234567890"
    ref = store(client, payload=marker)
    secret_id = ref.rsplit("/", 1)[1]
    with database.read() as s:
        raw = s.scalar(select(Secret.ciphertext).where(Secret.id == secret_id))
    assert raw is not None
    assert marker.encode() not in raw
    assert base64.b64encode(marker.encode()) not in raw
    assert raw[0] == 1 and len(raw) == 1 + 12 + len(marker) + 16


def test_certificate_container_crud(client: Any) -> None:
    cert = store(client, name="cert", payload="cert-pem")
    key = store(client, name="key", payload="key-pem")
    body = {
        "type": "certificate",
        "name": "tls",
        "secret_refs": [
            {"name": "certificate", "secret_ref": cert},
            {"name": "private_key", "secret_ref": key},
        ],
    }
    ref = ok(client.post("/v1/containers", json=body, headers=P1), 201)["container_ref"]
    assert ref.startswith("http://testserver/v1/containers/")
    shown = ok(client.get(path(ref), headers=P1))
    assert shown["type"] == "certificate" and shown["name"] == "tls"
    assert shown["status"] == "ACTIVE"
    assert shown["secret_refs"] == body["secret_refs"]
    listing = ok(client.get("/v1/containers", headers=P1))
    assert listing["total"] == 1 and listing["containers"][0]["container_ref"] == ref
    # Deleting a secret leaves the reference dangling, as in Barbican.
    assert client.delete(path(key), headers=P1).status_code == 204
    assert ok(client.get(path(ref), headers=P1))["secret_refs"][1]["secret_ref"] == key
    assert client.delete(path(ref), headers=P1).status_code == 204
    assert client.get(path(ref), headers=P1).status_code == 404
    assert client.get(path(cert), headers=P1).status_code == 200


@pytest.mark.parametrize(
    ("container_type", "names", "message"),
    [
        (
            "certificate",
            ["certificate", "key"],
            "only 'private_key', 'certificate' , 'private_key_passphrase',  or 'intermediates' "
            "reference names are allowed for Certificate type",
        ),
        (
            "certificate",
            ["private_key"],
            "The minimum required reference name is 'certificate' for Certificate type",
        ),
        (
            "rsa",
            ["private_key", "certificate"],
            "only 'private_key', 'public_key' and 'private_key_passphrase' reference names are "
            "allowed for RSA type",
        ),
        (
            "rsa",
            ["private_key"],
            "The minimum required reference names are 'public_key' and'private_key' for RSA type",
        ),
        ("box", ["a"], "'box' is not one of ['generic', 'rsa', 'certificate']"),
    ],
)
def test_container_validation(
    client: Any, container_type: str, names: list[str], message: str
) -> None:
    refs = [{"name": n, "secret_ref": store(client, name=n)} for n in names]
    body = {"type": container_type, "secret_refs": refs}
    got = barbican_error(client.post("/v1/containers", json=body, headers=P1), 400)
    assert got.startswith(f"Provided object does not match schema 'Container': {message}. ")


def test_container_references_must_exist(client: Any) -> None:
    body = {
        "type": "certificate",
        "secret_refs": [{"name": "certificate", "secret_ref": f"http://x/v1/secrets/{MISSING}"}],
    }
    got = barbican_error(client.post("/v1/containers", json=body, headers=P1), 404)
    assert got == "Secret provided for 'certificate' doesn't exist."
    dup = {
        "type": "generic",
        "secret_refs": [{"name": "a", "secret_ref": "x"}, {"name": "a", "secret_ref": "y"}],
    }
    assert "Duplicate reference names are not allowed" in barbican_error(
        client.post("/v1/containers", json=dup, headers=P1), 400
    )
