"""Builders for API tests: create objects through the API, play the controller's part."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from statera.db.models import HealthMonitor, Listener, LoadBalancer, Member, Pool
from statera.db.session import Database

V2 = "/v2/lbaas"
SUBNET = "private-subnet"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def fault(response: Any, status: int) -> str:
    """The faultstring of an error response, after checking its status and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
    assert body["faultcode"] == ("Server" if status >= 500 else "Client")
    assert body["debuginfo"] is None
    return str(body["faultstring"])


def activate(database: Database, lb_id: str | None = None) -> None:
    """Do what the controller does on success: everything ACTIVE, generation applied."""
    with database.write() as s:
        lbs = select(LoadBalancer.id)
        if lb_id is not None:
            lbs = lbs.where(LoadBalancer.id == lb_id)
        ids = list(s.scalars(lbs))
        pool_ids = select(Pool.id).where(Pool.load_balancer_id.in_(ids))
        for model, cond in (
            (Listener, Listener.load_balancer_id.in_(ids)),
            (Pool, Pool.load_balancer_id.in_(ids)),
            (Member, Member.pool_id.in_(pool_ids)),
            (HealthMonitor, HealthMonitor.pool_id.in_(pool_ids)),
        ):
            s.execute(
                update(model)
                .where(cond, model.provisioning_status != "PENDING_DELETE")
                .values(provisioning_status="ACTIVE")
            )
        s.execute(
            update(LoadBalancer)
            .where(LoadBalancer.id.in_(ids), LoadBalancer.provisioning_status != "DELETED")
            .values(
                provisioning_status="ACTIVE",
                applied_generation=LoadBalancer.generation,
                pending_since=None,
            )
        )


def lb_row(database: Database, lb_id: str) -> LoadBalancer:
    with database.read() as s:
        lb = s.get(LoadBalancer, lb_id)
        assert lb is not None
        s.expunge(lb)
        return lb


def create_lb(
    client: Any, database: Database, *, active: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {"vip_subnet_id": SUBNET, **fields}
    lb = ok(client.post(f"{V2}/loadbalancers", json={"loadbalancer": body}), 201)["loadbalancer"]
    if active:
        activate(database, lb["id"])
    return dict(lb)


def create_listener(
    client: Any, database: Database, lb_id: str, *, active: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {"loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80, **fields}
    listener = ok(client.post(f"{V2}/listeners", json={"listener": body}), 201)["listener"]
    if active:
        activate(database, lb_id)
    return dict(listener)


def create_pool(
    client: Any, database: Database, lb_id: str, *, active: bool = True, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", **fields}
    if "listener_id" not in body:
        body.setdefault("loadbalancer_id", lb_id)
    pool = ok(client.post(f"{V2}/pools", json={"pool": body}), 201)["pool"]
    if active:
        activate(database, lb_id)
    return dict(pool)


def create_member(
    client: Any, database: Database, lb_id: str, pool_id: str, *, active: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {"address": "10.0.0.100", "protocol_port": 8080, **fields}
    member = ok(client.post(f"{V2}/pools/{pool_id}/members", json={"member": body}), 201)["member"]
    if active:
        activate(database, lb_id)
    return dict(member)


def create_hm(
    client: Any, database: Database, lb_id: str, pool_id: str, *, active: bool = True, **fields: Any
) -> dict[str, Any]:
    body = {
        "pool_id": pool_id,
        "type": "HTTP",
        "delay": 5,
        "timeout": 3,
        "max_retries": 2,
        **fields,
    }
    hm = ok(client.post(f"{V2}/healthmonitors", json={"healthmonitor": body}), 201)["healthmonitor"]
    if active:
        activate(database, lb_id)
    return dict(hm)


def stack(client: Any, database: Database) -> dict[str, dict[str, Any]]:
    """An ACTIVE load balancer with a listener, its default pool, a member and a monitor."""
    lb = create_lb(client, database, name="lb")
    listener = create_listener(client, database, lb["id"], name="listener")
    pool = create_pool(client, database, lb["id"], listener_id=listener["id"], name="pool")
    member = create_member(client, database, lb["id"], pool["id"], name="member")
    hm = create_hm(client, database, lb["id"], pool["id"], name="hm")
    return {"lb": lb, "listener": listener, "pool": pool, "member": member, "hm": hm}


def statuses(database: Database, model: Any) -> dict[str, str]:
    with database.read() as s:
        return {r.id: r.provisioning_status for r in s.scalars(select(model))}
