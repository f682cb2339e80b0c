"""`/v2/lbaas/listeners`: list, create, show, update, delete, and `stats`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
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
from statera.api.schemas.listeners import ListenerRootPOST, ListenerRootPUT
from statera.api.validation import parse_body
from statera.db.models import Listener, LoadBalancer
from statera.db.queries import load_balancers as lb_queries
from statera.services import listeners as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "Listener"

COLLECTION = p.Collection(
    name="listeners",
    columns=views.LISTENER_COLUMNS,
    id_column=Listener.id,
    created_column=Listener.created_at,
    attributes={
        "id": p.text(Listener.id),
        "name": p.text(Listener.name),
        "description": p.text(Listener.description),
        "project_id": p.text(Listener.project_id),
        "tenant_id": p.text(Listener.project_id),
        "provisioning_status": p.text(Listener.provisioning_status),
        "operating_status": p.text(Listener.operating_status),
        "admin_state_up": p.boolean(Listener.enabled),
        "protocol": p.text(Listener.protocol),
        "protocol_port": p.number(Listener.protocol_port),
        "connection_limit": p.number(Listener.connection_limit),
        "default_pool_id": p.text(Listener.default_pool_id),
        "loadbalancer_id": p.text(Listener.load_balancer_id),
        "timeout_client_data": p.number(Listener.timeout_client_data),
        "timeout_member_connect": p.number(Listener.timeout_member_connect),
        "timeout_member_data": p.number(Listener.timeout_member_data),
        "timeout_tcp_inspect": p.number(Listener.timeout_tcp_inspect),
        "default_tls_container_ref": p.constant(None),
        "client_ca_tls_container_ref": p.constant(None),
        "client_crl_container_ref": p.constant(None),
        "client_authentication": p.constant("NONE"),
        "tls_ciphers": p.constant(None),
        "hsts_max_age": p.constant(None),
        "hsts_include_subdomains": p.constant(False),
        "hsts_preload": p.constant(False),
        "created_at": p.timestamp(Listener.created_at),
        "updated_at": p.timestamp(Listener.updated_at, fallback=Listener.created_at),
    },
)


def _visible(request: Request, session: Session, listener_id: str, action: str = "get_one") -> Any:
    row = require(views.fetch(session, views.LISTENER_COLUMNS, listener_id), RESOURCE, listener_id)
    authorize(
        request, "listener", action, project_id=row.project_id, hide_as=(RESOURCE, listener_id)
    )
    return row


def _authorize(request: Request, session: Session, listener_id: str, action: str) -> None:
    project_id = owner(session, Listener, listener_id, RESOURCE)
    authorize(request, "listener", action, project_id=project_id, hide_as=(RESOURCE, listener_id))


@router.get("/lbaas/listeners")
@reads
def list_listeners(request: Request) -> Response:
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.listeners,
            scope=[
                Listener.provisioning_status != "DELETED",
                *list_scope(request, "listener", Listener.project_id),
            ],
        )


@router.post("/lbaas/listeners")
def create_listener(request: Request, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(ListenerRootPOST, raw).listener
    with ctx.database.write() as session:
        lb_id = body.loadbalancer_id
        authorize(
            request,
            "listener",
            "post",
            project_id=parent_owner(session, LoadBalancer, lb_id),
            hide_as=("Load Balancer", lb_id),
        )
        listener = service.create(session, settings=ctx.settings, values=body.model_dump())
        session.flush()
        doc = views.listeners(
            session, [views.fetch_written(session, views.LISTENER_COLUMNS, listener.id)]
        )[0]
    ctx.changed()
    return json_response({"listener": doc}, 201)


@router.get("/lbaas/listeners/{listener_id}")
@reads
def show_listener(request: Request, listener_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, listener_id)
        return one(request, "listener", views.listeners(session, [row])[0])


@router.put("/lbaas/listeners/{listener_id}")
def update_listener(request: Request, listener_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(ListenerRootPUT, raw).listener
    with ctx.database.write() as session:
        _authorize(request, session, listener_id, "put")
        service.update(
            session,
            settings=ctx.settings,
            listener_id=listener_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = views.listeners(
            session, [views.fetch_written(session, views.LISTENER_COLUMNS, listener_id)]
        )[0]
    ctx.changed()
    return json_response({"listener": doc})


@router.delete("/lbaas/listeners/{listener_id}")
def delete_listener(request: Request, listener_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, listener_id, "delete")
        service.delete(session, listener_id=listener_id)
    ctx.changed()
    return empty_response(204)


@router.get("/lbaas/listeners/{listener_id}/stats")
@reads
def listener_stats(request: Request, listener_id: str) -> Response:
    with context(request).database.read() as session:
        _visible(request, session, listener_id, "get_stats")
        return json_response({"stats": lb_queries.listener_stats(session, [listener_id])})
