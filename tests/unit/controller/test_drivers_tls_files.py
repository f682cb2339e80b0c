"""RestAmphora.apply_config syncs TLS files around the config: upload missing or changed
files first, delete unnamed ones once the new config is live.

The agent is a small in-memory fake behind httpx.MockTransport; the real
endpoints are covered by tests/integration/agent/test_agent_certificates.py.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from statera.controller.drivers import AmphoraEndpoint, RestAmphora
from statera.domain.errors import PermanentError, TemporaryError

AMP = AmphoraEndpoint(amphora_id="amp-1", host="192.0.2.10", port=9443)
LB = "lb-1"
SECRET = b"-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n"


class FakeAgent:
    """Stores certificates in memory and records each request as `METHOD last-segment`."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.calls: list[str] = []
        self.reject: set[str] = set()
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        name = path.rsplit("/", 1)[-1]
        self.calls.append(f"{request.method} {name}")
        if path.endswith("/certificates"):
            listing = {n: hashlib.md5(d).hexdigest() for n, d in self.stored.items()}
            return httpx.Response(200, json={"certificates": listing})
        if "/certificates/" in path and request.method == "PUT":
            if name in self.reject:
                return httpx.Response(
                    400, json={"message": "Invalid certificate", "details": f"{name}: not PEM"}
                )
            self.stored[name] = request.content
            return httpx.Response(
                200,
                json={"message": "OK"},
                headers={"ETag": hashlib.md5(request.content).hexdigest()},
            )
        if "/certificates/" in path and request.method == "DELETE":
            self.stored.pop(name, None)
            return httpx.Response(200, json={"message": "OK"})
        if path.endswith("/haproxy"):
            return httpx.Response(202, json={"message": "OK"}, headers={"ETag": "x"})
        if path.endswith("/start"):
            return httpx.Response(202, json={"message": "OK", "details": "started"})
        if path.startswith("/1.0/runtime/"):
            commands = json.loads(request.content)["commands"]
            return httpx.Response(200, json={"outputs": [""] * len(commands)})
        return httpx.Response(404, json={"message": "Not found", "details": path})


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


def test_files_go_up_before_the_config(driver: RestAmphora, agent: FakeAgent) -> None:
    files = (("site.pem", SECRET), ("ca.pem", b"-----BEGIN CERTIFICATE-----\n"))
    driver.apply_config(AMP, lb_id=LB, config="cfg", runtime=None, files=files)
    assert agent.calls == [
        "GET certificates",
        "PUT site.pem",
        "PUT ca.pem",
        "PUT haproxy",
        "PUT start",
    ]
    assert agent.stored == dict(files)


def test_unchanged_files_are_not_sent_again_and_runtime_still_applies(
    driver: RestAmphora, agent: FakeAgent
) -> None:
    agent.stored = {"site.pem": SECRET}
    driver.apply_config(
        AMP,
        lb_id=LB,
        config="cfg",
        runtime=["set server b/s weight 2"],
        files=(("site.pem", SECRET),),
    )
    assert agent.calls == ["GET certificates", "PUT haproxy", "PUT " + LB]


def test_changed_files_reload_and_stale_ones_go_after_the_config(
    driver: RestAmphora, agent: FakeAgent
) -> None:
    agent.stored = {"site.pem": b"old", "gone.pem": b"old"}
    driver.apply_config(
        AMP,
        lb_id=LB,
        config="cfg",
        runtime=["set server b/s weight 2"],
        files=(("site.pem", SECRET),),
    )
    # New content is only read on a reload, so the runtime commands give way to it.
    assert agent.calls == [
        "GET certificates",
        "PUT site.pem",
        "PUT haproxy",
        "PUT start",
        "DELETE gone.pem",
    ]
    assert agent.stored == {"site.pem": SECRET}


def test_no_files_removes_every_stored_one(driver: RestAmphora, agent: FakeAgent) -> None:
    agent.stored = {"a.pem": b"x"}
    driver.apply_config(AMP, lb_id=LB, config="cfg", runtime=None)
    assert agent.calls[-1] == "DELETE a.pem"
    assert agent.stored == {}


def test_a_rejected_file_is_permanent_and_named_without_its_content(
    driver: RestAmphora, agent: FakeAgent
) -> None:
    agent.reject = {"site.pem"}
    with pytest.raises(PermanentError) as info:
        driver.apply_config(
            AMP, lb_id=LB, config="cfg", runtime=None, files=(("site.pem", SECRET),)
        )
    assert "site.pem" in str(info.value)
    assert "secret-key-material" not in str(info.value)
    assert "PUT haproxy" not in agent.calls  # the config that needs it is not sent


@pytest.mark.parametrize("name", ["../x.pem", "x.key", "a b.pem"])
def test_a_bad_name_is_permanent(driver: RestAmphora, agent: FakeAgent, name: str) -> None:
    with pytest.raises(PermanentError, match="TLS file name"):
        driver.apply_config(AMP, lb_id=LB, config="cfg", runtime=None, files=((name, SECRET),))
    assert agent.calls == []


def test_conflicting_duplicates_are_permanent(driver: RestAmphora) -> None:
    files = (("a.pem", b"one"), ("a.pem", b"two"))
    with pytest.raises(PermanentError, match="twice"):
        driver.apply_config(AMP, lb_id=LB, config="cfg", runtime=None, files=files)


def test_an_unreachable_agent_is_temporary(driver: RestAmphora, agent: FakeAgent) -> None:
    agent.down = True
    with pytest.raises(TemporaryError):
        driver.apply_config(AMP, lb_id=LB, config="cfg", runtime=None, files=(("a.pem", SECRET),))
