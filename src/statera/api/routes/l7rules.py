"""`/v2/lbaas/l7policies/{policy_id}/rules`: list, create, show, update, delete (§1.11).

The wrapper key is `rule` (Octavia's), not `l7rule`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from statera.api import pagination as p
from statera.api import views
from statera.api.auth import authorize, owner
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
from statera.api.schemas.l7policies import L7RuleRootPOST, L7RuleRootPUT
from statera.api.validation import parse_body
from statera.db.models import L7Policy, L7Rule
from statera.domain.errors import NotFound
from statera.services import l7rules as service
from statera.services import quotas

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "L7 Rule"

COLLECTION = p.Collection(
    name="rules",
    columns=views.L7RULE_COLUMNS,
    id_column=L7Rule.id,
    created_column=L7Rule.created_at,
    attributes={
        "id": p.text(L7Rule.id),
        "project_id": p.text(L7Rule.project_id),
        "tenant_id": p.text(L7Rule.project_id),
        "provisioning_status": p.text(L7Rule.provisioning_status),
        "operating_status": p.text(L7Rule.operating_status),
        "admin_state_up": p.boolean(L7Rule.enabled),
        "type": p.text(L7Rule.type),
        "compare_type": p.text(L7Rule.compare_type),
        "key": p.text(L7Rule.key),
        "value": p.text(L7Rule.value),
        "invert": p.boolean(L7Rule.invert),
        "created_at": p.timestamp(L7Rule.created_at),
        "updated_at": p.timestamp(L7Rule.updated_at, fallback=L7Rule.created_at),
    },
)


def _policy(request: Request, session: Session, policy_id: str, action: str) -> Any:
    """The L7 policy of the URL, after checking `l7rule:<action>` against its project."""
    row = require(views.fetch(session, views.L7POLICY_COLUMNS, policy_id), "L7 Policy", policy_id)
    authorize(
        request, "l7rule", action, project_id=row.project_id, hide_as=("L7 Policy", policy_id)
    )
    return row


def _authorize(request: Request, session: Session, policy_id: str, action: str) -> str:
    project_id = owner(session, L7Policy, policy_id, "L7 Policy")
    authorize(request, "l7rule", action, project_id=project_id, hide_as=("L7 Policy", policy_id))
    return project_id


def _visible(request: Request, session: Session, policy_id: str, rule_id: str) -> Any:
    _policy(request, session, policy_id, "get_one")
    row = require(views.fetch(session, views.L7RULE_COLUMNS, rule_id), RESOURCE, rule_id)
    if row.l7policy_id != policy_id:
        raise NotFound.of(RESOURCE, rule_id)
    return row


def _doc(session: Session, rule_id: str) -> dict[str, Any]:
    return views.l7rules(session, [views.fetch_written(session, views.L7RULE_COLUMNS, rule_id)])[0]


@router.get("/lbaas/l7policies/{policy_id}/rules")
@reads
def list_l7rules(request: Request, policy_id: str) -> Response:
    with context(request).database.read() as session:
        _policy(request, session, policy_id, "get_all")
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.l7rules,
            scope=[L7Rule.l7policy_id == policy_id, L7Rule.provisioning_status != "DELETED"],
        )


@router.post("/lbaas/l7policies/{policy_id}/rules")
def create_l7rule(request: Request, policy_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(L7RuleRootPOST, raw).rule
    with ctx.database.write() as session:
        project_id = _authorize(request, session, policy_id, "post")
        rule = service.create(session, policy_id=policy_id, values=body.model_dump())
        quotas.enforce(
            session, settings=ctx.settings.quotas, project_id=project_id, resources=[quotas.L7RULE]
        )
        session.flush()
        doc = _doc(session, rule.id)
    ctx.changed()
    return json_response({"rule": doc}, 201)


@router.get("/lbaas/l7policies/{policy_id}/rules/{rule_id}")
@reads
def show_l7rule(request: Request, policy_id: str, rule_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, policy_id, rule_id)
        return one(request, "rule", views.l7rules(session, [row])[0])


@router.put("/lbaas/l7policies/{policy_id}/rules/{rule_id}")
def update_l7rule(request: Request, policy_id: str, rule_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(L7RuleRootPUT, raw).rule
    with ctx.database.write() as session:
        _authorize(request, session, policy_id, "put")
        service.update(
            session,
            policy_id=policy_id,
            rule_id=rule_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = _doc(session, rule_id)
    ctx.changed()
    return json_response({"rule": doc})


@router.delete("/lbaas/l7policies/{policy_id}/rules/{rule_id}")
def delete_l7rule(request: Request, policy_id: str, rule_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, policy_id, "delete")
        service.delete(session, policy_id=policy_id, rule_id=rule_id)
    ctx.changed()
    return empty_response(204)
