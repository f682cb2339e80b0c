"""`openstack secret ...` (python-barbicanclient) against Statera's key manager, no Keystone.

The environment is the one the load-balancer CLI uses (`OS_AUTH_TYPE=none`,
`OS_ENDPOINT=<statera>`): barbicanclient reads Barbican's version list at `/`
(asked with `OpenStack-API-Version: key-manager 1.1`) and then uses
`<statera>/secrets`, `<statera>/containers` (`api/routes/key_manager.py`), while
the hrefs it prints carry `/v1` as Barbican's do. The walk follows Octavia's
TLS cookbook: a PKCS#12 stored base64, then the older certificate container.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from tests.clients.cli import Cli
from tests.noop_server import NoopServer
from tests.tls_material import cert_pem, make_ca, make_server_cert, pkcs12


@pytest.fixture(scope="module")
def cli(clients_bin: Path, client_env: dict[str, str]) -> Cli:
    return Cli(clients_bin, client_env)


def test_secret_cookbook(cli: Cli, server: NoopServer, tmp_path: Path) -> None:
    cert, key = make_server_cert(make_ca("cookbook-ca"), ["www.example.com"])
    archive = pkcs12(cert, key)
    stored = cli.json(
        "secret", "store", "--name", "tls1", "-t", "application/octet-stream",
        "-e", "base64", "--payload", base64.b64encode(archive).decode(),
    )  # fmt: skip
    href = stored["Secret href"]
    assert href.startswith(f"{server.base}/v1/secrets/")

    listed = cli.json("secret", "list")
    assert [s["Secret href"] for s in listed if s["Name"] == "tls1"] == [href]
    shown = cli.json("secret", "get", href)
    assert shown["Name"] == "tls1"
    assert shown["Status"] == "ACTIVE"
    assert "application/octet-stream" in str(shown["Content types"])

    out = tmp_path / "server.p12"
    cli("secret", "get", href, "-t", "application/octet-stream", "--file", str(out))
    assert out.read_bytes() == archive

    # The older form: a certificate container of PEM secrets.
    cert_href = cli.json(
        "secret", "store", "--name", "cert", "-t", "text/plain", "--payload", cert.decode()
    )["Secret href"]
    key_href = cli.json(
        "secret", "store", "--name", "key", "-t", "text/plain", "--payload", key.decode()
    )["Secret href"]
    assert cli.json("secret", "get", "--payload", cert_href)["Payload"] == cert.decode().strip()
    container = cli.json(
        "secret", "container", "create", "--name", "tls-container", "--type", "certificate",
        "--secret", f"certificate={cert_href}", "--secret", f"private_key={key_href}",
    )  # fmt: skip
    container_href = container["Container href"]
    assert container_href.startswith(f"{server.base}/v1/containers/")
    # (`-f json` of a container trips on barbicanclient's datetime `Created`: ask for columns.)
    got = cli("secret", "container", "get", container_href, "-f", "value", "-c", "Type")
    assert got.strip() == "certificate"
    columns = ("-f", "value", "-c", "Certificate", "-c", "Private Key")
    refs = cli("secret", "container", "get", container_href, *columns).split()
    assert refs == [cert_href, key_href]
    names = cli("secret", "container", "list", "-f", "value", "-c", "Name")
    assert names.split() == ["tls-container"]

    cli("secret", "container", "delete", container_href)
    for ref in (href, cert_href, key_href):
        cli("secret", "delete", ref)
    assert cli.json("secret", "list") == []
    missing = cli.run("secret", "get", href)
    assert missing.returncode != 0
    assert "Sorry but your secret is in another castle" in missing.stderr


def test_terminated_https_cookbook(cli: Cli, server: NoopServer) -> None:
    """Octavia's "Deploy a TLS-terminated HTTPS load balancer", with Statera's key manager."""
    ca = make_ca("cookbook-ca")
    cert, key = make_server_cert(ca, ["www.example.com"])
    href = cli.json(
        "secret", "store", "--name", "tls_secret1", "-t", "application/octet-stream",
        "-e", "base64", "--payload", base64.b64encode(pkcs12(cert, key)).decode(),
    )["Secret href"]  # fmt: skip
    ca_href = cli.json(
        "secret", "store", "--name", "client_ca", "-t", "text/plain",
        "--payload", cert_pem(ca[0]).decode(),
    )["Secret href"]  # fmt: skip
    # The README's lookup of the href by name.
    found = cli("secret", "list", "-f", "value", "-c", "Secret href", "--name", "tls_secret1")
    assert found.strip() == href
    cli("loadbalancer", "create", "--name", "lb1", "--vip-subnet-id", "private-subnet", "--wait")
    listener = cli.json(
        "loadbalancer", "listener", "create", "--protocol-port", "443",
        "--protocol", "TERMINATED_HTTPS", "--name", "listener1",
        "--default-tls-container-ref", href, "--wait", "lb1",
    )  # fmt: skip
    assert listener["default_tls_container_ref"] == href
    assert listener["protocol"] == "TERMINATED_HTTPS"
    cli(
        "loadbalancer", "listener", "set", "--client-ca-tls-container-ref", ca_href,
        "--client-authentication", "OPTIONAL", "--wait", "listener1",
    )  # fmt: skip
    shown = cli.json("loadbalancer", "listener", "show", "listener1")
    assert (shown["client_ca_tls_container_ref"], shown["client_authentication"]) == (
        ca_href,
        "OPTIONAL",
    )
    pool = cli.json(
        "loadbalancer", "pool", "create", "--name", "pool1", "--lb-algorithm", "ROUND_ROBIN",
        "--listener", "listener1", "--protocol", "HTTP", "--enable-tls",
        "--ca-tls-container-ref", ca_href, "--wait",
    )  # fmt: skip
    assert (pool["tls_enabled"], pool["ca_tls_container_ref"]) == (True, ca_href)
    missing = href.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    error = cli.fails(
        "loadbalancer", "listener", "create", "--protocol-port", "8443",
        "--protocol", "TERMINATED_HTTPS", "--default-tls-container-ref", missing, "lb1",
    )  # fmt: skip
    assert "Could not retrieve certificate" in error
    cli("loadbalancer", "delete", "--cascade", "--wait", "lb1")
