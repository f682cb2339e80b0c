"""`/v2/lbaas/pools/{pool_id}/members`: list, create, batch update, show, update, delete."""

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
from statera.api.schemas.members import MemberRootPOST, MemberRootPUT, MembersRootPUT
from statera.api.validation import parse_body
from statera.db.models import Member, Pool
from statera.domain.errors import NotFound
from statera.services import members as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
RESOURCE = "Member"

COLLECTION = p.Collection(
    name="members",
    columns=views.MEMBER_COLUMNS,
    id_column=Member.id,
    created_column=Member.created_at,
    attributes={
        "id": p.text(Member.id),
        "name": p.text(Member.name),
        "project_id": p.text(Member.project_id),
        "tenant_id": p.text(Member.project_id),
        "provisioning_status": p.text(Member.provisioning_status),
        "operating_status": p.text(Member.operating_status),
        "admin_state_up": p.boolean(Member.enabled),
        "address": p.text(Member.address),
        "protocol_port": p.number(Member.protocol_port),
        "weight": p.number(Member.weight),
        "backup": p.boolean(Member.backup),
        "subnet_id": p.text(Member.subnet_id),
        "monitor_address": p.text(Member.monitor_address),
        "monitor_port": p.nullable_number(Member.monitor_port),
        "vnic_type": p.constant("normal"),
        "created_at": p.timestamp(Member.created_at),
        "updated_at": p.timestamp(Member.updated_at, fallback=Member.created_at),
    },
)


def _pool(request: Request, session: Session, pool_id: str, action: str) -> Any:
    """The pool of the URL, after checking `member:<action>` against its project."""
    row = require(views.fetch(session, views.POOL_COLUMNS, pool_id), "Pool", pool_id)
    authorize(request, "member", action, project_id=row.project_id, hide_as=("Pool", pool_id))
    return row


def _authorize(request: Request, session: Session, pool_id: str, action: str) -> None:
    project_id = owner(session, Pool, pool_id, "Pool")
    authorize(request, "member", action, project_id=project_id, hide_as=("Pool", pool_id))


def _visible(request: Request, session: Session, pool_id: str, member_id: str) -> Any:
    _pool(request, session, pool_id, "get_one")
    row = require(views.fetch(session, views.MEMBER_COLUMNS, member_id), RESOURCE, member_id)
    if row.pool_id != pool_id:
        raise NotFound.of(RESOURCE, member_id)
    return row


@router.get("/lbaas/pools/{pool_id}/members")
@reads
def list_members(request: Request, pool_id: str) -> Response:
    with context(request).database.read() as session:
        _pool(request, session, pool_id, "get_all")
        return list_response(
            request,
            session,
            COLLECTION,
            view=views.members,
            scope=[Member.pool_id == pool_id, Member.provisioning_status != "DELETED"],
        )


@router.post("/lbaas/pools/{pool_id}/members")
def create_member(request: Request, pool_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(MemberRootPOST, raw).member
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "post")
        member = service.create(
            session, settings=ctx.settings, pool_id=pool_id, values=body.model_dump()
        )
        session.flush()
        doc = views.members(
            session, [views.fetch_written(session, views.MEMBER_COLUMNS, member.id)]
        )[0]
    ctx.changed()
    return json_response({"member": doc}, 201)


@router.put("/lbaas/pools/{pool_id}/members")
def batch_update_members(request: Request, pool_id: str, raw: Body) -> Response:
    ctx = context(request)
    additive_only = p.parse_bool(
        "additive_only", request.query_params.get("additive_only", "false")
    )
    body = parse_body(MembersRootPUT, raw)
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "put")
        changed = service.batch_update(
            session,
            settings=ctx.settings,
            pool_id=pool_id,
            members=[m.model_dump() for m in body.members],
            additive_only=additive_only,
        )
    if changed:
        ctx.changed()
    return empty_response(202)


@router.get("/lbaas/pools/{pool_id}/members/{member_id}")
@reads
def show_member(request: Request, pool_id: str, member_id: str) -> Response:
    with context(request).database.read() as session:
        row = _visible(request, session, pool_id, member_id)
        return one(request, "member", views.members(session, [row])[0])


@router.put("/lbaas/pools/{pool_id}/members/{member_id}")
def update_member(request: Request, pool_id: str, member_id: str, raw: Body) -> Response:
    ctx = context(request)
    body = parse_body(MemberRootPUT, raw).member
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "put")
        service.update(
            session,
            pool_id=pool_id,
            member_id=member_id,
            values=body.model_dump(exclude_unset=True),
        )
        session.flush()
        doc = views.members(
            session, [views.fetch_written(session, views.MEMBER_COLUMNS, member_id)]
        )[0]
    ctx.changed()
    return json_response({"member": doc})


@router.delete("/lbaas/pools/{pool_id}/members/{member_id}")
def delete_member(request: Request, pool_id: str, member_id: str) -> Response:
    ctx = context(request)
    with ctx.database.write() as session:
        _authorize(request, session, pool_id, "delete")
        service.delete(session, pool_id=pool_id, member_id=member_id)
    ctx.changed()
    return empty_response(204)
