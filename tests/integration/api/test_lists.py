"""List queries: pagination and links, sorting, filtering, fields, tags (Octavia §1.3)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.integration.api.helpers import (
    V2,
    activate,
    create_lb,
    create_listener,
    create_member,
    create_pool,
    fault,
    ok,
)


@pytest.fixture
def lbs(client: Any, database: Any) -> list[dict[str, Any]]:
    names = ["delta", "alpha", "charlie", "echo", "bravo"]
    tags = [["red"], ["red", "blue"], ["blue"], [], ["red", "green"]]
    out = [create_lb(client, database, name=n, tags=t) for n, t in zip(names, tags, strict=True)]
    ok(
        client.put(
            f"{V2}/loadbalancers/{out[3]['id']}", json={"loadbalancer": {"admin_state_up": False}}
        )
    )
    activate(database)
    return out


def names(body: dict[str, Any], key: str = "loadbalancers") -> list[str]:
    return [item["name"] for item in body[key]]


def query(link: dict[str, str]) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link["href"]).query)


def test_plain_list_has_empty_links(client: Any, lbs: Any) -> None:
    body = ok(client.get(f"{V2}/loadbalancers"))
    assert len(body["loadbalancers"]) == 5 and body["loadbalancers_links"] == []


def test_sort(client: Any, lbs: Any) -> None:
    body = ok(client.get(f"{V2}/loadbalancers?sort=name:asc"))
    assert names(body) == ["alpha", "bravo", "charlie", "delta", "echo"]
    body = ok(client.get(f"{V2}/loadbalancers?sort=name:desc"))
    assert names(body) == ["echo", "delta", "charlie", "bravo", "alpha"]
    body = ok(
        client.get(
            f"{V2}/loadbalancers?sort_key=admin_state_up&sort_key=name&sort_dir=asc&sort_dir=desc"
        )
    )
    assert names(body) == ["echo", "delta", "charlie", "bravo", "alpha"]
    body = ok(client.get(f"{V2}/loadbalancers?sort=admin_state_up:desc,name"))
    assert names(body) == ["alpha", "bravo", "charlie", "delta", "echo"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("sort=nope:asc", "Supplied sort key 'nope' is not valid."),
        ("sort=name:sideways", "Supplied sort direction 'sideways' is not valid."),
        ("sort_key=listeners", "Supplied sort key 'listeners' is not valid."),
        ("limit=abc", "Supplied pagination limit 'abc' is not valid."),
        ("marker=nope", "Supplied pagination marker 'nope' is not valid."),
        ("bogus=1", "One or more arguments are either duplicate or invalid: bogus"),
        (
            "admin_state_up=maybe",
            "One or more arguments are either duplicate or invalid: admin_state_up",
        ),
    ],
)
def test_bad_list_parameters_are_400(client: Any, lbs: Any, params: str, message: str) -> None:
    assert fault(client.get(f"{V2}/loadbalancers?{params}"), 400) == message


def test_pagination_walks_forward_and_back(client: Any, lbs: Any) -> None:
    first = ok(client.get(f"{V2}/loadbalancers?limit=2&sort=name"))
    assert names(first) == ["alpha", "bravo"]
    (next_link,) = first["loadbalancers_links"]
    assert next_link["rel"] == "next"
    assert next_link["href"].startswith("http://testserver/v2/lbaas/loadbalancers?")
    assert query(next_link) == {
        "limit": ["2"],
        "sort": ["name"],
        "marker": [first["loadbalancers"][1]["id"]],
    }
    second = ok(client.get(next_link["href"]))
    assert names(second) == ["charlie", "delta"]
    rels = {link["rel"]: link for link in second["loadbalancers_links"]}
    assert set(rels) == {"next", "previous"}
    assert query(rels["previous"])["page_reverse"] == ["True"]
    assert query(rels["previous"])["marker"] == [second["loadbalancers"][0]["id"]]
    third = ok(client.get(rels["next"]["href"]))
    assert names(third) == ["echo"]
    assert [link["rel"] for link in third["loadbalancers_links"]] == ["previous"]
    back = ok(client.get(rels["previous"]["href"]))
    assert names(back) == ["alpha", "bravo"]


def test_page_reverse(client: Any, lbs: Any) -> None:
    everything = ok(client.get(f"{V2}/loadbalancers?sort=name"))["loadbalancers"]
    marker = everything[3]["id"]  # delta
    body = ok(client.get(f"{V2}/loadbalancers?sort=name&limit=2&marker={marker}&page_reverse=true"))
    assert names(body) == ["bravo", "charlie"]


class TestLimitCap:
    @pytest.fixture
    def settings_overrides(self) -> str:
        return "[api_settings]\npagination_max_limit = 2\n"

    @pytest.mark.parametrize("limit", ["", "limit=100", "limit=0", "limit=-1", "limit=infinite"])
    def test_cap(self, client: Any, database: Any, limit: str) -> None:
        for _ in range(3):
            create_lb(client, database)
        body = ok(client.get(f"{V2}/loadbalancers?{limit}"))
        assert len(body["loadbalancers"]) == 2
        assert [link["rel"] for link in body["loadbalancers_links"]] == ["next"]
        assert query(body["loadbalancers_links"][0])["limit"] == ["2"]


class TestApiBaseUri:
    @pytest.fixture
    def settings_overrides(self) -> str:
        return "[api_settings]\napi_base_uri = https://lb.example.com/\n"

    def test_links_use_the_base(self, client: Any, database: Any) -> None:
        create_lb(client, database)
        body = ok(client.get(f"{V2}/loadbalancers?limit=1"))
        assert body["loadbalancers_links"][0]["href"].startswith(
            "https://lb.example.com/v2/lbaas/loadbalancers?limit=1"
        )


def test_filters(client: Any, lbs: Any) -> None:
    assert names(ok(client.get(f"{V2}/loadbalancers?name=alpha"))) == ["alpha"]
    both = ok(client.get(f"{V2}/loadbalancers?name=alpha&name=echo&sort=name"))
    assert names(both) == ["alpha", "echo"]
    assert names(ok(client.get(f"{V2}/loadbalancers?admin_state_up=false"))) == ["echo"]
    assert len(ok(client.get(f"{V2}/loadbalancers?admin_state_up=True"))["loadbalancers"]) == 4
    assert len(ok(client.get(f"{V2}/loadbalancers?project_id=project-a"))["loadbalancers"]) == 5
    assert ok(client.get(f"{V2}/loadbalancers?project_id=project-b"))["loadbalancers"] == []
    assert len(ok(client.get(f"{V2}/loadbalancers?tenant_id=project-a"))["loadbalancers"]) == 5
    vip = lbs[0]["vip_address"]
    assert names(ok(client.get(f"{V2}/loadbalancers?vip_address={vip}"))) == ["delta"]
    assert (
        len(ok(client.get(f"{V2}/loadbalancers?provisioning_status=ACTIVE"))["loadbalancers"]) == 5
    )
    assert names(ok(client.get(f"{V2}/loadbalancers?description=&name=bravo"))) == ["bravo"]
    assert len(ok(client.get(f"{V2}/loadbalancers?vip_vnic_type=normal"))["loadbalancers"]) == 5
    assert ok(client.get(f"{V2}/loadbalancers?vip_vnic_type=direct"))["loadbalancers"] == []


def test_filters_on_children(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    create_listener(client, database, lb["id"], protocol="TCP", protocol_port=22, name="ssh")
    create_listener(client, database, lb["id"], protocol_port=80, name="web", connection_limit=5)
    pool = create_pool(client, database, lb["id"], lb_algorithm="SOURCE_IP")
    create_member(client, database, lb["id"], pool["id"], address="10.0.0.5", weight=3, name="m1")
    create_member(
        client, database, lb["id"], pool["id"], address="10.0.0.6", backup=True, name="m2"
    )
    assert names(ok(client.get(f"{V2}/listeners?protocol_port=22")), "listeners") == ["ssh"]
    assert names(ok(client.get(f"{V2}/listeners?connection_limit=5")), "listeners") == ["web"]
    assert len(ok(client.get(f"{V2}/listeners?loadbalancer_id={lb['id']}"))["listeners"]) == 2
    fault(client.get(f"{V2}/listeners?protocol_port=abc"), 400)
    assert len(ok(client.get(f"{V2}/pools?lb_algorithm=SOURCE_IP"))["pools"]) == 1
    members_url = f"{V2}/pools/{pool['id']}/members"
    assert names(ok(client.get(f"{members_url}?backup=true")), "members") == ["m2"]
    assert names(ok(client.get(f"{members_url}?weight=3")), "members") == ["m1"]
    assert names(ok(client.get(f"{members_url}?sort=address:desc")), "members") == ["m2", "m1"]
    assert names(ok(client.get(f"{members_url}?limit=1&sort=name")), "members") == ["m1"]
    other = create_pool(client, database, lb["id"])
    assert ok(client.get(f"{V2}/pools/{other['id']}/members"))["members"] == []


def test_fields(client: Any, lbs: Any) -> None:
    body = ok(client.get(f"{V2}/loadbalancers?fields=id&fields=name&sort=name&limit=1"))
    assert body["loadbalancers"] == [{"id": lbs[1]["id"], "name": "alpha"}]
    assert query(body["loadbalancers_links"][0])["fields"] == ["id", "name"]
    body = ok(client.get(f"{V2}/loadbalancers?fields=name,vip_address&name=alpha"))
    assert body["loadbalancers"] == [{"name": "alpha", "vip_address": lbs[1]["vip_address"]}]
    one = ok(client.get(f"{V2}/loadbalancers/{lbs[0]['id']}?fields=name&fields=tags"))
    assert one == {"loadbalancer": {"name": "delta", "tags": ["red"]}}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("tags=red", ["alpha", "bravo", "delta"]),
        ("tags=red,blue", ["alpha"]),
        ("tags=red&tags=blue", ["alpha"]),
        ("tags-any=blue,green", ["alpha", "bravo", "charlie"]),
        ("not-tags=red,blue", ["bravo", "charlie", "delta", "echo"]),
        ("not-tags-any=red,blue", ["echo"]),
        ("tags=red&not-tags=green", ["alpha", "delta"]),
        ("tags=nothing", []),
    ],
)
def test_tag_filters(client: Any, lbs: Any, params: str, expected: list[str]) -> None:
    assert names(ok(client.get(f"{V2}/loadbalancers?{params}&sort=name"))) == expected


def test_tag_filters_on_children(client: Any, database: Any) -> None:
    lb = create_lb(client, database)
    pool = create_pool(client, database, lb["id"], tags=["x"], name="tagged")
    create_pool(client, database, lb["id"], name="plain")
    create_member(client, database, lb["id"], pool["id"], tags=["m"], name="mm")
    assert names(ok(client.get(f"{V2}/pools?tags=x")), "pools") == ["tagged"]
    assert names(ok(client.get(f"{V2}/pools?not-tags=x")), "pools") == ["plain"]
    assert names(ok(client.get(f"{V2}/pools/{pool['id']}/members?tags-any=m")), "members") == ["mm"]
