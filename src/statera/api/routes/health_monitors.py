"""`/v2/lbaas/healthmonitors`: list, create, show, update, delete."""

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
from statera.api.schemas.health_monitors import HealthMonitorRootPOST, HealthMonitorRootPUT
from statera.api.validation import parse_body
from statera.db.models import HealthMonitor, Pool
from statera.services import health_monitors as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "Health Monitor"

COLLECTION = p.Collection(
    name="healthmonitors",
    columns=views.MONITOR_COLUMNS,
    id_column=HealthMonitor.id,
    created_column=HealthMonitor.created_at,
    attributes={
        "id": p.text(HealthMonitor.id),
        "name": p.text(HealthMonitor.name),
        "project_id": p.text(HealthMonitor.project_id),
        "tenant_id": p.text(HealthMonitor.project_id),
        "provisioning_status": p.text(HealthMonitor.provisioning_status),
        "operating_status": p.text(HealthMonitor.operating_status),
        "admin_state_up": p.boolean(HealthMonitor.enabled),
        "type": p.text(HealthMonitor.type),
        "delay": p.number(HealthMonitor.delay),
        "timeout": p.number(HealthMonitor.timeout),
        "max_retries": p.number(HealthMonitor.rise_threshold),
        "max_retries_down": p.number(HealthMonitor.fall_threshold),
        "http_method": p.text(HealthMonitor.http_method),
        "url_path": p.text(HealthMonitor.url_path),
        "expected_codes": p.text(HealthMonitor.expected_codes),
        "http_version": p.decimal(HealthMonitor.http_version),
        "domain_name": p.text(HealthMonitor.domain_name),
        "pool_id": p.text(HealthMonitor.pool_id),
        "created_at": p.timestamp(HealthMonitor.created_at),
        "updated_at": p.timestamp(HealthMonitor.updated_at, fallback=HealthMonitor.created_at),
    },
)


def _visible(request: Request, session: Session, hm_id: str, action: str = "get_one") -> Any:
    row = require(views.fetch(session, views.MONITOR_COLUMNS, hm_id), RESOURCE, hm_id)
    authorize(
        request, "healthmonitor", action, project_id=row.project_id, hide_as=(RESOURCE, hm_id)
    )
    return row


def _authorize(request: Request, session: Session, hm_id: str, action: str) -> None:
    project_id = owner(session, HealthMonitor, hm_id, RESOURCE)
    authorize(request, "healthmonitor", action, project_id=project_id, hide_as=(RESOURCE, hm_id))


@router.get("/lbaas/healthmonitors")
@reads
def list_health_monitors(request: Request) -> Response:
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.health_monitors,
            scope=[
                HealthMonitor.provisioning_status != "DELETED",
                *list_scope(request, "healthmonitor", HealthMonitor.project_id),
            ],
        )


@router.post("/lbaas/healthmonitors")
def create_health_monitor(request: Request, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(HealthMonitorRootPOST, raw).healthmonitor
    with ctx.database.write() as session:
        pool_id = body.pool_id
        authorize(
            request,
            "healthmonitor",
            "post",
            project_id=parent_owner(session, Pool, pool_id),
            hide_as=("Pool", pool_id),
        )
        hm = service.create(session, settings=ctx.settings, values=body.model_dump())
        session.flush()
        doc = views.health_monitors(
            session, [views.fetch_written(session, views.MONITOR_COLUMNS, hm.id)]
        )[0]
    ctx.changed()
    return json_response({"healthmonitor": doc}, 201)


@router.get("/lbaas/healthmonitors/{hm_id}")
@reads
def show_health_monitor(request: Request, hm_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, hm_id)
        return one(request, "healthmonitor", views.health_monitors(session, [row])[0])


@router.put("/lbaas/healthmonitors/{hm_id}")
def update_health_monitor(request: Request, hm_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(HealthMonitorRootPUT, raw).healthmonitor
    with ctx.database.write() as session:
        _authorize(request, session, hm_id, "put")
        service.update(
            session,
            settings=ctx.settings,
            hm_id=hm_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = views.health_monitors(
            session, [views.fetch_written(session, views.MONITOR_COLUMNS, hm_id)]
        )[0]
    ctx.changed()
    return json_response({"healthmonitor": doc})


@router.delete("/lbaas/healthmonitors/{hm_id}")
def delete_health_monitor(request: Request, hm_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, hm_id, "delete")
        service.delete(session, hm_id=hm_id)
    ctx.changed()
    return empty_response(204)
