"""Transport-level behaviour: versions, aliases, request ids, content negotiation, faults."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.integration.api.helpers import V2, create_lb, fault, ok

from statera.api.routes.common import context

REQUEST_ID = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def test_version_document(client: Any) -> None:
    body = ok(client.get("/"))
    versions = body["versions"]
    assert [v["id"] for v in versions] == [f"v2.{i}" for i in range(31)]
    assert all(v["status"] == "SUPPORTED" for v in versions[:-1])
    assert versions[-1]["status"] == "CURRENT"
    assert versions[0]["updated"] == "2016-12-11T00:00:00Z"
    assert versions[-1]["updated"] == "2025-02-26T00:00:00Z"
    assert all(v["links"] == [{"href": "http://testserver/v2", "rel": "self"}] for v in versions)


@pytest.mark.parametrize("path", ["/v2", "/v2.0", "/v2/lbaas", "/v2.0/lbaas"])
def test_bare_v2(client: Any, path: str) -> None:
    assert ok(client.get(path)) == "v2"


def test_every_response_has_a_request_id(client: Any) -> None:
    seen = set()
    for response in (
        client.get("/"),
        client.get(f"{V2}/loadbalancers"),
        client.get(f"{V2}/loadbalancers/nope"),
        client.get("/nowhere"),
        client.get(f"{V2}/loadbalancers", headers={"Accept": "text/html"}),
    ):
        rid = response.headers["X-OpenStack-Request-ID"]
        assert REQUEST_ID.match(rid), rid
        seen.add(rid)
    assert len(seen) == 5


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/xml", "application/json;q=0", "text/plain, image/png"],
)
def test_accept_without_json_is_406(client: Any, accept: str) -> None:
    response = client.get(f"{V2}/loadbalancers", headers={"Accept": accept})
    assert response.status_code == 406
    error = response.json()["errors"][0]
    assert error["status"] == 406
    assert error["title"] == "Not Acceptable"
    assert error["request_id"] == response.headers["X-OpenStack-Request-ID"]


@pytest.mark.parametrize(
    "accept",
    ["application/json", "*/*", "application/*", "text/html, */*;q=0.1", "APPLICATION/JSON"],
)
def test_accept_with_json_is_served(client: Any, accept: str) -> None:
    ok(client.get(f"{V2}/loadbalancers", headers={"Accept": accept}))


def test_v2_0_is_an_alias_and_json_suffix_is_accepted(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    assert ok(client.get(f"/v2.0/lbaas/loadbalancers/{lb['id']}"))["loadbalancer"]["id"] == lb["id"]
    assert ok(client.get(f"{V2}/loadbalancers/{lb['id']}.json"))["loadbalancer"]["id"] == lb["id"]
    assert ok(client.get(f"{V2}/loadbalancers.json"))["loadbalancers"][0]["id"] == lb["id"]


def test_unknown_url_is_a_404_fault(client: Any) -> None:
    fault(client.get("/v2/lbaas/nothing"), 404)


def test_wrong_method_is_a_405_fault(client: Any) -> None:
    fault(client.request("PATCH", f"{V2}/loadbalancers"), 405)


@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"[1, 2"])
def test_malformed_body_is_400(client: Any, body: bytes) -> None:
    fault(client.post(f"{V2}/loadbalancers", content=body), 400)


def test_body_without_wrapper_is_400_naming_it(client: Any) -> None:
    message = fault(client.post(f"{V2}/loadbalancers", json={"vip_subnet_id": "x"}), 400)
    assert "loadbalancer" in message


def test_wrapper_of_wrong_type_is_400(client: Any) -> None:
    message = fault(client.post(f"{V2}/loadbalancers", json={"loadbalancer": [1]}), 400)
    assert message.startswith("Invalid input for field/attribute loadbalancer.")


def test_unexpected_error_is_a_logged_500_fault(
    client: Any, app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        is_sqlite = True

        def change_marker(self) -> None:
            return None

        def read(self) -> None:
            raise RuntimeError("secret internals")

        def write(self) -> None:
            raise RuntimeError("secret internals")

    ctx = context_of(app)
    object.__setattr__(ctx, "database", Broken())
    response = client.get(f"{V2}/loadbalancers")
    message = fault(response, 500)
    assert "secret" not in message and "Traceback" not in response.text
    assert "X-OpenStack-Request-ID" in response.headers
    assert any(r.exc_info and "secret internals" in str(r.exc_info[1]) for r in caplog.records)


def context_of(app: Any) -> Any:
    class FakeRequest:
        pass

    request = FakeRequest()
    request.app = app  # type: ignore[attr-defined]
    return context(request)  # type: ignore[arg-type]


def test_oversized_body_is_413(client: Any) -> None:
    body = b'{"loadbalancer": {"name": "' + b"x" * (1024 * 1024) + b'"}}'
    fault(client.post(f"{V2}/loadbalancers", content=body), 413)


@pytest.mark.parametrize("url", [f"{V2}/loadbalancers?name=%00", f"{V2}/loadbalancers/a%00b"])
def test_nul_in_url_is_400(client: Any, url: str) -> None:
    fault(client.get(url), 400)
