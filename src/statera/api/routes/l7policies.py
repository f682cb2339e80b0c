"""`/v2/lbaas/l7policies`: list, create, show, update, delete (octavia-spec §1.10)."""

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
from statera.api.schemas.l7policies import L7PolicyRootPOST, L7PolicyRootPUT
from statera.api.validation import parse_body
from statera.db.models import L7Policy, Listener
from statera.services import l7policies as service
from statera.services import quotas

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "L7 Policy"

COLLECTION = p.Collection(
    name="l7policies",
    columns=views.L7POLICY_COLUMNS,
    id_column=L7Policy.id,
    created_column=L7Policy.created_at,
    attributes={
        "id": p.text(L7Policy.id),
        "name": p.text(L7Policy.name),
        "description": p.text(L7Policy.description),
        "project_id": p.text(L7Policy.project_id),
        "tenant_id": p.text(L7Policy.project_id),
        "provisioning_status": p.text(L7Policy.provisioning_status),
        "operating_status": p.text(L7Policy.operating_status),
        "admin_state_up": p.boolean(L7Policy.enabled),
        "action": p.text(L7Policy.action),
        "listener_id": p.text(L7Policy.listener_id),
        "redirect_pool_id": p.text(L7Policy.redirect_pool_id),
        "redirect_url": p.text(L7Policy.redirect_url),
        "redirect_prefix": p.text(L7Policy.redirect_prefix),
        "redirect_http_code": p.nullable_number(L7Policy.redirect_http_code),
        "position": p.number(L7Policy.position),
        "created_at": p.timestamp(L7Policy.created_at),
        "updated_at": p.timestamp(L7Policy.updated_at, fallback=L7Policy.created_at),
    },
)


def _visible(request: Request, session: Session, policy_id: str) -> Any:
    row = require(views.fetch(session, views.L7POLICY_COLUMNS, policy_id), RESOURCE, policy_id)
    authorize(
        request, "l7policy", "get_one", project_id=row.project_id, hide_as=(RESOURCE, policy_id)
    )
    return row


def _authorize(request: Request, session: Session, policy_id: str, action: str) -> None:
    project_id = owner(session, L7Policy, policy_id, RESOURCE)
    authorize(request, "l7policy", action, project_id=project_id, hide_as=(RESOURCE, policy_id))


def _doc(session: Session, policy_id: str) -> dict[str, Any]:
    row = views.fetch_written(session, views.L7POLICY_COLUMNS, policy_id)
    return views.l7policies(session, [row])[0]


@router.get("/lbaas/l7policies")
@reads
def list_l7policies(request: Request) -> Response:
    with context(request).database.read() as session:
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.l7policies,
            scope=[
                L7Policy.provisioning_status != "DELETED",
                *list_scope(request, "l7policy", L7Policy.project_id),
            ],
        )


@router.post("/lbaas/l7policies")
def create_l7policy(request: Request, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(L7PolicyRootPOST, raw).l7policy
    with ctx.database.write() as session:
        listener_id = body.listener_id
        authorize(
            request,
            "l7policy",
            "post",
            project_id=parent_owner(session, Listener, listener_id),
            hide_as=("Listener", listener_id),
        )
        policy = service.create(session, values=body.model_dump())
        quotas.enforce(
            session,
            settings=ctx.settings.quotas,
            project_id=policy.project_id,
            resources=[quotas.L7POLICY],
        )
        session.flush()
        doc = _doc(session, policy.id)
    ctx.changed()
    return json_response({"l7policy": doc}, 201)


@router.get("/lbaas/l7policies/{policy_id}")
@reads
def show_l7policy(request: Request, policy_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, policy_id)
        return one(request, "l7policy", views.l7policies(session, [row])[0])


@router.put("/lbaas/l7policies/{policy_id}")
def update_l7policy(request: Request, policy_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(L7PolicyRootPUT, raw).l7policy
    with ctx.database.write() as session:
        _authorize(request, session, policy_id, "put")
        service.update(session, policy_id=policy_id, values=body.model_dump(exclude_unset=True))
        session.flush()
        doc = _doc(session, policy_id)
    ctx.changed()
    return json_response({"l7policy": doc})


@router.delete("/lbaas/l7policies/{policy_id}")
def delete_l7policy(request: Request, policy_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, policy_id, "delete")
        service.delete(session, policy_id=policy_id)
    ctx.changed()
    return empty_response(204)
