"""`/v2/lbaas/loadbalancers`: list, create (single-call graph too), show, update, delete,
and the `status` tree and `stats` of one load balancer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.api import pagination as p
from statera.api import views
from statera.api.auth import authorize, list_scope, owner, request_context
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
from statera.api.schemas.load_balancers import LoadBalancerRootPOST, LoadBalancerRootPUT
from statera.api.validation import parse_body
from statera.db.models import Listener, LoadBalancer
from statera.db.queries import load_balancers as lb_queries
from statera.domain.errors import InvalidSpec
from statera.services import load_balancers as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
DELETED = "DELETED"
RESOURCE = "Load Balancer"
PROJECT_ID_MAX = 36

COLLECTION = p.Collection(
    name="loadbalancers",
    columns=views.LOAD_BALANCER_COLUMNS,
    id_column=LoadBalancer.id,
    created_column=LoadBalancer.created_at,
    attributes={
        "id": p.text(LoadBalancer.id),
        "name": p.text(LoadBalancer.name),
        "description": p.text(LoadBalancer.description),
        "project_id": p.text(LoadBalancer.project_id),
        "tenant_id": p.text(LoadBalancer.project_id),
        "provisioning_status": p.text(LoadBalancer.provisioning_status),
        "operating_status": p.text(LoadBalancer.operating_status),
        "admin_state_up": p.boolean(LoadBalancer.enabled),
        "vip_address": p.text(LoadBalancer.vip_address),
        "vip_port_id": p.text(LoadBalancer.vip_port_id),
        "vip_subnet_id": p.text(LoadBalancer.vip_subnet_id),
        "vip_network_id": p.text(LoadBalancer.vip_network_id),
        "vip_qos_policy_id": p.text(LoadBalancer.vip_qos_policy_id),
        "provider": p.text(LoadBalancer.provider),
        "flavor_id": p.text(LoadBalancer.flavor_id),
        "availability_zone": p.text(LoadBalancer.availability_zone),
        "vip_vnic_type": p.constant("normal"),
        "created_at": p.timestamp(LoadBalancer.created_at),
        "updated_at": p.timestamp(LoadBalancer.updated_at, fallback=LoadBalancer.created_at),
    },
)


def _visible(request: Request, session: Session, lb_id: str, action: str) -> Any:
    row = require(views.fetch(session, views.LOAD_BALANCER_COLUMNS, lb_id), RESOURCE, lb_id)
    authorize(request, "loadbalancer", action, project_id=row.project_id, hide_as=(RESOURCE, lb_id))
    return row


def _authorize(request: Request, session: Session, lb_id: str, action: str) -> None:
    project_id = owner(session, LoadBalancer, lb_id, RESOURCE)
    authorize(request, "loadbalancer", action, project_id=project_id, hide_as=(RESOURCE, lb_id))


@router.get("/lbaas/loadbalancers")
@reads
def list_load_balancers(request: Request) -> Response:
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.load_balancers,
            scope=[
                LoadBalancer.provisioning_status != DELETED,
                *list_scope(request, "loadbalancer", LoadBalancer.project_id),
            ],
        )


@router.post("/lbaas/loadbalancers")
def create_load_balancer(request: Request, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(LoadBalancerRootPOST, raw).loadbalancer
    values = body.model_dump()
    project_id = (
        values.pop("project_id")
        or values.pop("tenant_id", None)
        or request_context(request).project_id
    )
    values.pop("tenant_id", None)
    if not project_id:
        raise InvalidSpec("Missing project ID in request where one is required.")
    if len(project_id) > PROJECT_ID_MAX:
        raise InvalidSpec(
            f"Invalid input for field/attribute project_id. Value: '{project_id}'. "
            f"Value should have a maximum character requirement of {PROJECT_ID_MAX}"
        )
    authorize(request, "loadbalancer", "post", project_id=project_id)
    if values.get("vip_sg_ids"):
        authorize(request, "loadbalancer", "post:vip_sg_ids", project_id=project_id)
    graph = bool(values.get("listeners") or values.get("pools"))
    caller = request_context(request)
    with ctx.database.write() as session:
        lb = service.create(
            session,
            settings=ctx.settings,
            values=values,
            project_id=project_id,
            # A `vip_port_id` must name one of the caller's ports (an admin: anyone's).
            port_project=None if caller.is_admin else caller.project_id,
        )
        session.flush()
        row = views.fetch_written(session, views.LOAD_BALANCER_COLUMNS, lb.id)
        doc = (
            views.load_balancer_full(session, row)
            if graph
            else views.load_balancers(session, [row])[0]
        )
    ctx.changed()
    return json_response({"loadbalancer": doc}, 201)


@router.get("/lbaas/loadbalancers/{lb_id}")
@reads
def show_load_balancer(request: Request, lb_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, lb_id, "get_one")
        return one(request, "loadbalancer", views.load_balancers(session, [row])[0])


@router.put("/lbaas/loadbalancers/{lb_id}")
def update_load_balancer(request: Request, lb_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(LoadBalancerRootPUT, raw).loadbalancer
    with ctx.database.write() as session:
        _authorize(request, session, lb_id, "put")
        values = body.model_dump(exclude_unset=True)
        if values.get("vip_sg_ids"):
            _authorize(request, session, lb_id, "put:vip_sg_ids")
        caller = request_context(request)
        service.update(
            session,
            lb_id=lb_id,
            values=values,
            # Security groups are the caller's (an admin's: anyone's), as `vip_port_id`.
            sg_project=None if caller.is_admin else caller.project_id,
        )
        session.flush()
        doc = views.load_balancers(
            session, [views.fetch_written(session, views.LOAD_BALANCER_COLUMNS, lb_id)]
        )[0]
    ctx.changed()
    return json_response({"loadbalancer": doc})


@router.delete("/lbaas/loadbalancers/{lb_id}")
def delete_load_balancer(request: Request, lb_id: str) -> Response:
    ctx = context(request)
    cascade = p.parse_bool("cascade", request.query_params.get("cascade", "false"))
    with ctx.database.write() as session:
        _authorize(request, session, lb_id, "delete")
        service.delete(session, lb_id=lb_id, cascade=cascade)
    ctx.changed()
    return empty_response(204)


@router.get("/lbaas/loadbalancers/{lb_id}/status")
@router.get("/lbaas/loadbalancers/{lb_id}/statuses")
@reads
def load_balancer_status(request: Request, lb_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, lb_id, "get_status")
        return json_response({"statuses": views.status_tree(session, row)})


@router.get("/lbaas/loadbalancers/{lb_id}/stats")
@reads
def load_balancer_stats(request: Request, lb_id: str) -> Response:
    with context(request).database.read() as session:
        _visible(request, session, lb_id, "get_stats")
        listener_ids = list(
            session.scalars(select(Listener.id).where(Listener.load_balancer_id == lb_id))
        )
        return json_response({"stats": lb_queries.listener_stats(session, listener_ids)})


@router.put("/lbaas/loadbalancers/{lb_id}/failover")
def failover_load_balancer(request: Request, lb_id: str) -> Response:
    """Replace the load balancer's amphorae (from ACTIVE or ERROR; 202, no body)."""
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, lb_id, "put_failover")
        service.failover(session, lb_id=lb_id)
    ctx.changed()
    return empty_response(202)
