"""AgentClient over httpx.MockTransport: paths, payloads, and httpx errors translated at the edge."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from statera.agent_client import (
    AgentAddress,
    AgentClient,
    AgentRejected,
    AgentResponseInvalid,
    AgentUnreachable,
    Backoff,
    wait_until_reachable,
)

ADDRESS = AgentAddress("amp-1", "192.0.2.10", 9443)
Handler = Callable[[httpx.Request], httpx.Response]
ClientFor = Callable[[Handler], AgentClient]


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


def make_client(handler: Handler, seen: list[httpx.Request]) -> AgentClient:
    def record(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    return AgentClient(
        ca_cert=Path("unused"),
        client_cert=Path("unused"),
        client_key=Path("unused"),
        timeout=httpx.Timeout(1.0),
        transport=httpx.MockTransport(record),
    )


@pytest.fixture
def client_for(seen: list[httpx.Request]) -> Iterator[ClientFor]:
    made: list[AgentClient] = []

    def build(handler: Handler) -> AgentClient:
        made.append(make_client(handler, seen))
        return made[-1]

    yield build
    for client in made:
        client.close()


def ok(payload: object, status: int = 200, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, json=payload, headers=headers)


def test_every_request_goes_to_the_ip_and_expects_the_amphora_id(
    client_for: ClientFor, seen: list[httpx.Request]
) -> None:
    client = client_for(ok({"api_version": "1.0"}))
    assert client.get_api_version(ADDRESS) == "1.0"
    request = seen[0]
    assert str(request.url) == "https://192.0.2.10:9443/"
    assert request.extensions["sni_hostname"] == "amp-1"


def test_ipv6_hosts_are_bracketed() -> None:
    assert AgentAddress("a", "fd00::5", 9443).base_url == "https://[fd00::5]:9443"


def test_upload_sends_text_and_returns_the_etag(
    client_for: ClientFor, seen: list[httpx.Request]
) -> None:
    client = client_for(ok({"message": "OK", "details": ""}, 202, ETag="abc123"))
    assert client.upload_haproxy_config(ADDRESS, lb_id="lb-1", config="global\n") == "abc123"
    request = seen[0]
    assert request.method == "PUT"
    assert request.url.path == "/1.0/loadbalancer/amp-1/lb-1/haproxy"
    assert request.content == b"global\n"


def test_get_config(client_for: ClientFor, seen: list[httpx.Request]) -> None:
    client = client_for(lambda r: httpx.Response(200, text="global\n", headers={"ETag": "e"}))
    config = client.get_haproxy_config(ADDRESS, lb_id="lb-1")
    assert (config.text, config.etag) == ("global\n", "e")
    assert seen[0].url.path == "/1.0/loadbalancer/lb-1/haproxy"


@pytest.mark.parametrize("action", ["start", "reload", "stop"])
def test_actions(client_for: ClientFor, seen: list[httpx.Request], action: str) -> None:
    client = client_for(ok({"message": "OK", "details": f"HAProxy {action}"}, 202))
    details = getattr(client, f"{action}_haproxy")(ADDRESS, lb_id="lb-1")
    assert details == f"HAProxy {action}"
    assert (seen[0].method, seen[0].url.path) == ("PUT", f"/1.0/loadbalancer/lb-1/{action}")


def test_delete_status_and_runtime(client_for: ClientFor, seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(200, json={"message": "OK", "details": ""})
        if request.url.path == "/1.0/status":
            report = {"id": "amp-1", "seq": 3, "ver": 2, "listeners": {}, "pools": {}}
            return httpx.Response(200, json=report)
        return httpx.Response(200, json={"outputs": ["", "[6]: New server registered."]})

    client = client_for(handler)
    client.delete_load_balancer(ADDRESS, lb_id="lb-1")
    assert client.get_status(ADDRESS)["seq"] == 3
    outputs = client.run_runtime_commands(ADDRESS, lb_id="lb-1", commands=["a", "b"])
    assert outputs == ["", "[6]: New server registered."]
    assert seen[0].url.path == "/1.0/listeners/lb-1"
    assert json.loads(seen[2].content) == {"commands": ["a", "b"]}


def test_error_status_becomes_agent_rejected_with_the_detail(client_for: ClientFor) -> None:
    body = {"message": "Invalid request", "details": "[ALERT] unknown keyword 'bogus'"}
    client = client_for(ok(body, 400))
    with pytest.raises(AgentRejected) as info:
        client.upload_haproxy_config(ADDRESS, lb_id="lb-1", config="bogus")
    assert info.value.status == 400
    assert info.value.detail == "Invalid request: [ALERT] unknown keyword 'bogus'"
    assert info.value.amphora_id == "amp-1"


def test_long_error_bodies_are_truncated(client_for: ClientFor) -> None:
    client = client_for(lambda r: httpx.Response(500, text="x" * 10_000))
    with pytest.raises(AgentRejected) as info:
        client.get_info(ADDRESS)
    assert len(info.value.detail) < 2100


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("garbage"),
    ],
)
def test_transport_errors_become_unreachable_and_are_chained(
    client_for: ClientFor, exc: Exception
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    client = client_for(fail)
    with pytest.raises(AgentUnreachable) as info:
        client.get_status(ADDRESS)
    assert info.value.__cause__ is exc
    assert "amp-1" in str(info.value)
    assert "httpx" not in type(info.value).__module__


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a list"]),
        httpx.Response(200, json={"seq": "1", "listeners": {}, "pools": {}}),
    ],
)
def test_bad_success_bodies_are_invalid_responses(
    client_for: ClientFor, response: httpx.Response
) -> None:
    client = client_for(lambda r: response)
    with pytest.raises(AgentResponseInvalid):
        client.get_status(ADDRESS)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_reachable_retries_with_the_backoff(
    client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([httpx.ConnectError("refused")] * 3)

    def handler(request: httpx.Request) -> httpx.Response:
        error = next(answers, None)
        if error is not None:
            raise error
        return httpx.Response(200, json={"api_version": "1.0"})

    time = FakeTime()
    caplog.set_level(logging.INFO, logger="statera.agent_client.retry")
    version = wait_until_reachable(
        client_for(handler),
        ADDRESS,
        backoff=Backoff(delays_s=(0.5, 1.0), deadline_s=60),
        clock=time.clock,
        sleep=time.sleep,
    )
    assert version == "1.0"
    assert time.sleeps == [0.5, 1.0, 1.0]  # the last delay repeats
    assert "attempt 1 failed" in caplog.text
    assert "will retry in 0.5s" in caplog.text


def test_wait_until_reachable_gives_up_at_the_deadline(
    client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    time = FakeTime()
    with pytest.raises(AgentUnreachable):
        wait_until_reachable(
            client_for(refuse),
            ADDRESS,
            backoff=Backoff(delays_s=(2.0,), deadline_s=5.0),
            clock=time.clock,
            sleep=time.sleep,
        )
    assert time.sleeps == [2.0, 2.0, 1.0]  # the last pause is cut to the deadline
    assert "giving up" in caplog.text


def test_wait_until_reachable_does_not_retry_a_rejection(client_for: ClientFor) -> None:
    time = FakeTime()
    with pytest.raises(AgentRejected):
        wait_until_reachable(
            client_for(ok({"message": "boom", "details": ""}, 500)),
            ADDRESS,
            backoff=Backoff(),
            clock=time.clock,
            sleep=time.sleep,
        )
    assert time.sleeps == []


@pytest.mark.parametrize("kwargs", [{"delays_s": ()}, {"delays_s": (-1.0,)}, {"deadline_s": -1.0}])
def test_backoff_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_backoff_is_frozen() -> None:
    backoff = Backoff()
    with pytest.raises(AttributeError):
        backoff.deadline_s = 1  # type: ignore[misc]


@pytest.mark.parametrize("lb_id", ["../status", "a/b", "", "x?y"])
def test_ids_that_would_change_the_path_are_refused(client_for: ClientFor, lb_id: str) -> None:
    client = client_for(ok({}))
    with pytest.raises(ValueError, match="not a valid id"):
        client.reload_haproxy(ADDRESS, lb_id=lb_id)


def test_certificate_upload_list_and_delete(
    client_for: ClientFor, seen: list[httpx.Request]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(200, json={"message": "OK"}, headers={"ETag": "md5-of-it"})
        if request.method == "DELETE":
            return httpx.Response(200, json={"message": "OK"})
        return httpx.Response(200, json={"certificates": {"site.pem": "abc"}})

    client = client_for(handler)
    pem = b"-----BEGIN CERTIFICATE-----\n"
    assert client.upload_certificate(ADDRESS, lb_id="lb-1", filename="site.pem", data=pem) == (
        "md5-of-it"
    )
    assert client.list_certificates(ADDRESS, lb_id="lb-1") == {"site.pem": "abc"}
    client.delete_certificate(ADDRESS, lb_id="lb-1", filename="site.pem")
    assert [(r.method, r.url.path) for r in seen] == [
        ("PUT", "/1.0/loadbalancer/amp-1/lb-1/certificates/site.pem"),
        ("GET", "/1.0/loadbalancer/lb-1/certificates"),
        ("DELETE", "/1.0/loadbalancer/lb-1/certificates/site.pem"),
    ]
    assert seen[0].content == pem


@pytest.mark.parametrize("filename", ["../x.pem", "a/b.pem", "x.key", "a..pem", "", "a%2f.pem"])
def test_certificate_names_that_would_change_the_path_are_refused(
    client_for: ClientFor, seen: list[httpx.Request], filename: str
) -> None:
    client = client_for(ok({}))
    with pytest.raises(ValueError, match="certificate file name"):
        client.upload_certificate(ADDRESS, lb_id="lb-1", filename=filename, data=b"")
    with pytest.raises(ValueError, match="certificate file name"):
        client.delete_certificate(ADDRESS, lb_id="lb-1", filename=filename)
    assert seen == []


@pytest.mark.parametrize(
    "payload", [{}, {"certificates": []}, {"certificates": {"a.pem": 3}}, {"certificates": None}]
)
def test_a_bad_certificate_listing_is_an_invalid_response(
    client_for: ClientFor, payload: object
) -> None:
    client = client_for(ok(payload))
    with pytest.raises(AgentResponseInvalid):
        client.list_certificates(ADDRESS, lb_id="lb-1")
