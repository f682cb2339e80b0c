"""`/v2/lbaas/pools`: list, create, show, update, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from statera.api import pagination as p
from statera.api import views
from statera.api.auth import authorize, list_scope, owner, parent_owner
from statera.api.routes.common import (
    context,
    empty_response,
    json_response,
    list_response,
    one,
    read_body,
    reads,
    require,
)
from statera.api.schemas.pools import PoolRootPOST, PoolRootPUT
from statera.api.validation import parse_body
from statera.db.models import HealthMonitor, Listener, LoadBalancer, Pool
from statera.services import pools as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "Pool"

COLLECTION = p.Collection(
    name="pools",
    columns=views.POOL_COLUMNS,
    id_column=Pool.id,
    created_column=Pool.created_at,
    attributes={
        "id": p.text(Pool.id),
        "name": p.text(Pool.name),
        "description": p.text(Pool.description),
        "project_id": p.text(Pool.project_id),
        "tenant_id": p.text(Pool.project_id),
        "provisioning_status": p.text(Pool.provisioning_status),
        "operating_status": p.text(Pool.operating_status),
        "admin_state_up": p.boolean(Pool.enabled),
        "protocol": p.text(Pool.protocol),
        "lb_algorithm": p.text(Pool.lb_algorithm),
        "loadbalancer_id": p.text(Pool.load_balancer_id),
        "healthmonitor_id": p.Attribute(
            func.coalesce(
                select(HealthMonitor.id).where(HealthMonitor.pool_id == Pool.id).scalar_subquery(),
                literal(""),
            )
        ),
        "tls_enabled": p.boolean(Pool.tls_enabled),
        "tls_container_ref": p.constant(None),
        "ca_tls_container_ref": p.constant(None),
        "crl_container_ref": p.constant(None),
        "tls_ciphers": p.constant(None),
        "created_at": p.timestamp(Pool.created_at),
        "updated_at": p.timestamp(Pool.updated_at, fallback=Pool.created_at),
    },
)


def _visible(request: Request, session: Session, pool_id: str, action: str = "get_one") -> Any:
    row = require(views.fetch(session, views.POOL_COLUMNS, pool_id), RESOURCE, pool_id)
    authorize(request, "pool", action, project_id=row.project_id, hide_as=(RESOURCE, pool_id))
    return row


def _authorize(request: Request, session: Session, pool_id: str, action: str) -> None:
    project_id = owner(session, Pool, pool_id, RESOURCE)
    authorize(request, "pool", action, project_id=project_id, hide_as=(RESOURCE, pool_id))


@router.get("/lbaas/pools")
@reads
def list_pools(request: Request) -> Response:
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.pools,
            scope=[
                Pool.provisioning_status != "DELETED",
                *list_scope(request, "pool", Pool.project_id),
            ],
        )


@router.post("/lbaas/pools")
def create_pool(request: Request, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(PoolRootPOST, raw).pool
    with ctx.database.write() as session:
        if body.listener_id:
            parent: tuple[str, str] = ("Listener", body.listener_id)
            project_id = parent_owner(session, Listener, body.listener_id)
        else:
            parent = ("Load Balancer", str(body.loadbalancer_id))
            project_id = parent_owner(session, LoadBalancer, body.loadbalancer_id)
        authorize(request, "pool", "post", project_id=project_id, hide_as=parent)
        pool = service.create(session, settings=ctx.settings, values=body.model_dump())
        session.flush()
        doc = views.pools(session, [views.fetch_written(session, views.POOL_COLUMNS, pool.id)])[0]
    ctx.changed()
    return json_response({"pool": doc}, 201)


@router.get("/lbaas/pools/{pool_id}")
@reads
def show_pool(request: Request, pool_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, pool_id)
        return one(request, "pool", views.pools(session, [row])[0])


@router.put("/lbaas/pools/{pool_id}")
def update_pool(request: Request, pool_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(PoolRootPUT, raw).pool
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "put")
        service.update(
            session,
            settings=ctx.settings,
            pool_id=pool_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = views.pools(session, [views.fetch_written(session, views.POOL_COLUMNS, pool_id)])[0]
    ctx.changed()
    return json_response({"pool": doc})


@router.delete("/lbaas/pools/{pool_id}")
def delete_pool(request: Request, pool_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "delete")
        service.delete(session, pool_id=pool_id)
    ctx.changed()
    return empty_response(204)
