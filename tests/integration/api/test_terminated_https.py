"""TERMINATED_HTTPS listeners and pool TLS with certificates from the key manager.

Secrets are stored through `/v1` as a tenant does with `openstack secret store`;
the listener and pool APIs check each reference against it (Octavia's
`_validate_tls_refs` and `_validate_client_ca_and_crl_refs`), keep it as given,
and the controller's snapshot turns them into the PEM files the amphora gets.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_pool,
    fault,
    lb_row,
    ok,
    statuses,
)
from tests.tls_material import cert_pem, make_ca, make_crl, make_server_cert, pkcs12

from statera.db.models import Listener
from statera.db.snapshots import load_balancer_spec
from statera.services import certificates
from statera.services.certificates import secret_box
from statera.settings import ApiSettings

CA = make_ca("Test CA")
OTHER_CA = make_ca("Other CA")
WWW = make_server_cert(CA, ["www.example.test"])
API = make_server_cert(CA, ["api.example.test"])


def store(client: Any, payload: bytes, *, binary: bool = False, name: str = "s") -> str:
    body: dict[str, Any] = {"name": name}
    if binary:
        body |= {
            "payload": base64.b64encode(payload).decode(),
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64",
        }
    else:
        body |= {"payload": payload.decode(), "payload_content_type": "text/plain"}
    return str(ok(client.post("/v1/secrets", json=body), 201)["secret_ref"])


@pytest.fixture
def lb(client: Any, database: Any) -> dict[str, Any]:
    return create_lb(client, database)


@pytest.fixture
def www(client: Any) -> str:
    return store(client, pkcs12(*WWW), binary=True, name="www")


def post(client: Any, lb_id: str, **fields: Any) -> Any:
    body = {"protocol": "TERMINATED_HTTPS", "protocol_port": 443, "loadbalancer_id": lb_id}
    return client.post(f"{V2}/listeners", json={"listener": body | fields})


def test_create_with_a_pkcs12_secret_gets_octavias_defaults(
    client: Any, database: Any, lb: dict[str, Any], www: str
) -> None:
    listener = create_listener(
        client,
        database,
        lb["id"],
        protocol="TERMINATED_HTTPS",
        protocol_port=443,
        default_tls_container_ref=www,
    )
    api = ApiSettings()
    assert {
        k: listener[k]
        for k in (
            "default_tls_container_ref",
            "sni_container_refs",
            "client_ca_tls_container_ref",
            "client_authentication",
            "client_crl_container_ref",
            "tls_ciphers",
            "tls_versions",
            "alpn_protocols",
            "hsts_max_age",
            "hsts_include_subdomains",
            "hsts_preload",
        )
    } == {
        "default_tls_container_ref": www,
        "sni_container_refs": [],
        "client_ca_tls_container_ref": None,
        "client_authentication": "NONE",
        "client_crl_container_ref": None,
        "tls_ciphers": api.default_listener_ciphers,
        "tls_versions": ["TLSv1.2", "TLSv1.3"],
        "alpn_protocols": ["h2", "http/1.1", "http/1.0"],
        "hsts_max_age": None,
        "hsts_include_subdomains": False,
        "hsts_preload": False,
    }
    shown = ok(client.get(f"{V2}/listeners/{listener['id']}"))["listener"]
    assert shown["default_tls_container_ref"] == www


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {},
            "An SNI or default certificate container reference must be provided for "
            "TERMINATED_HTTPS protocol listeners.",
        ),
        (
            {"client_ca_tls_container_ref": "x"},
            "An SNI or default certificate container "
            "reference must be provided with a client CA container reference.",
        ),
        (
            {"default_tls_container_ref": "WWW", "client_authentication": "MANDATORY"},
            "Client authentication setting MANDATORY requires a client CA container reference.",
        ),
        (
            {"default_tls_container_ref": "WWW", "client_crl_container_ref": "x"},
            "A client authentication CA reference is required to specify a client "
            "authentication revocation list.",
        ),
        (
            {"default_tls_container_ref": "WWW", "hsts_preload": True},
            "hsts_include_subdomains and hsts_preload only make sense if hsts_max_age is set",
        ),
        ({"default_tls_container_ref": "WWW", "tls_versions": []}, "Empty TLS version list"),
        ({"default_tls_container_ref": "WWW", "alpn_protocols": []}, "Empty ALPN protocol list"),
    ],
)
def test_octavias_rules(
    client: Any, database: Any, lb: dict[str, Any], www: str, fields: Any, message: str
) -> None:
    fields = {k: (www if v == "WWW" else v) for k, v in fields.items()}
    assert message in fault(post(client, lb["id"], **fields), 400)
    assert statuses(database, Listener) == {}
    assert lb_row(database, lb["id"]).provisioning_status == "ACTIVE"


def test_unreadable_references_are_refused_and_change_nothing(
    client: Any, database: Any, lb: dict[str, Any], www: str
) -> None:
    missing = "http://127.0.0.1:9876/v1/secrets/5d6a9c4e-0b7e-4a77-9f0f-1a2b3c4d5e6f"
    message = fault(post(client, lb["id"], default_tls_container_ref=missing), 400)
    assert message.startswith("Could not retrieve certificate") and missing in message
    sni = fault(
        post(client, lb["id"], default_tls_container_ref=www, sni_container_refs=[missing]), 400
    )
    assert missing in sni
    # A CA secret that holds no certificate, and a CRL of another CA.
    not_a_ca = store(client, b"hello", name="not-a-ca")
    message = fault(
        post(client, lb["id"], default_tls_container_ref=www, client_ca_tls_container_ref=not_a_ca),
        400,
    )
    assert "certificate" in message.lower()
    ca = store(client, cert_pem(CA[0]), name="ca")
    crl = store(client, make_crl(OTHER_CA), name="crl")
    message = fault(
        post(
            client,
            lb["id"],
            default_tls_container_ref=www,
            client_ca_tls_container_ref=ca,
            client_crl_container_ref=crl,
        ),
        400,
    )
    assert "The CRL specified is not valid" in message
    assert statuses(database, Listener) == {}


def test_another_projects_secret_is_not_readable(
    app: Any, client: Any, database: Any, lb: dict[str, Any]
) -> None:
    from tests.conftest import Client

    other = Client(app, headers={"X-Project-Id": "project-b"})
    try:
        theirs = store(other, pkcs12(*WWW), binary=True)
    finally:
        other.close()
    assert "Could not retrieve certificate" in fault(
        post(client, lb["id"], default_tls_container_ref=theirs), 400
    )


def test_update_rotates_and_keeps_a_certificate(
    client: Any, database: Any, lb: dict[str, Any], www: str
) -> None:
    listener = create_listener(
        client,
        database,
        lb["id"],
        protocol="TERMINATED_HTTPS",
        protocol_port=443,
        default_tls_container_ref=www,
    )
    url = f"{V2}/listeners/{listener['id']}"
    api = store(client, pkcs12(*API), binary=True, name="api")
    updated = ok(
        client.put(
            url,
            json={
                "listener": {
                    "sni_container_refs": [api],
                    "hsts_max_age": 600,
                    "tls_versions": ["TLSv1.3"],
                }
            },
        )
    )["listener"]
    assert updated["sni_container_refs"] == [api]
    assert updated["default_tls_container_ref"] == www
    assert (updated["hsts_max_age"], updated["tls_versions"]) == (600, ["TLSv1.3"])
    activate(database)
    message = fault(
        client.put(
            url,
            json={
                "listener": {
                    "default_tls_container_ref": None,
                    "sni_container_refs": [],
                }
            },
        ),
        400,
    )
    assert "An SNI or default certificate container reference must be provided" in message
    ok(client.put(url, json={"listener": {"default_tls_container_ref": None}}))
    activate(database)
    # null puts Octavia's default back
    reset = ok(client.put(url, json={"listener": {"tls_versions": None}}))["listener"]
    assert reset["tls_versions"] == ["TLSv1.2", "TLSv1.3"]


@pytest.mark.parametrize(
    "settings_overrides", ["[api_settings]\nallow_tls_terminated_listeners = false\n"]
)
def test_terminated_https_may_be_disabled(
    client: Any, database: Any, lb: dict[str, Any], www: str
) -> None:
    message = fault(post(client, lb["id"], default_tls_container_ref=www), 400)
    assert message == "The selected protocol is not allowed in this deployment: TERMINATED_HTTPS"


def test_pool_certificates_are_checked_and_shown(
    client: Any, database: Any, lb: dict[str, Any], www: str
) -> None:
    ca = store(client, cert_pem(CA[0]), name="ca")
    crl = store(client, make_crl(CA), name="crl")
    pool = create_pool(
        client,
        database,
        lb["id"],
        tls_enabled=True,
        tls_container_ref=www,
        ca_tls_container_ref=ca,
        crl_container_ref=crl,
    )
    assert (pool["tls_container_ref"], pool["ca_tls_container_ref"], pool["crl_container_ref"]) == (
        www,
        ca,
        crl,
    )
    bad_crl = store(client, make_crl(OTHER_CA), name="bad-crl")
    url = f"{V2}/pools/{pool['id']}"
    assert "The CRL specified is not valid" in fault(
        client.put(url, json={"pool": {"crl_container_ref": bad_crl}}), 400
    )


def test_the_snapshot_carries_the_pem_files(
    client: Any, database: Any, settings: Any, lb: dict[str, Any], www: str
) -> None:
    """What the controller hands the amphora: each certificate once, named by content."""
    ca = store(client, cert_pem(CA[0]), name="ca")
    create_listener(
        client,
        database,
        lb["id"],
        protocol="TERMINATED_HTTPS",
        protocol_port=443,
        default_tls_container_ref=www,
        client_ca_tls_container_ref=ca,
        client_authentication="OPTIONAL",
    )
    box = secret_box(settings)

    with database.write() as s:
        spec = load_balancer_spec(
            s,
            lb_row_in(s, lb["id"]),
            tls_loader=lambda kind, ref, project: certificates.load_pem(
                s, kind, ref, project_id=project, box=box
            ),
        )
    tls = spec.listeners[0].tls
    assert tls is not None and tls.client_authentication == "OPTIONAL"
    files = dict(spec.tls_files)
    assert set(files) == {*tls.certificates, tls.client_ca}
    bundle = files[tls.certificates[0]]
    assert WWW[0].strip() in bundle and b"PRIVATE KEY" in bundle
    assert files[tls.client_ca or ""].strip() == cert_pem(CA[0]).strip()


def lb_row_in(s: Any, lb_id: str) -> Any:
    from statera.db.models import LoadBalancer

    return s.get(LoadBalancer, lb_id)
