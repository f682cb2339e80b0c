"""`/v2/lbaas/quotas`: the projects with overrides, one project's limits, defaults, set, reset.

Answers carry every field and its deprecated alias (`load_balancer`,
`health_monitor`), with the configured default wherever a project has no
override. PUT answers 202 with the project's limits; DELETE answers 202 with
the default limits (what the project has now), as Octavia's code does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from statera.api.auth import allowed, authorize, request_context
from statera.api.routes.common import context, json_response, read_body, reads
from statera.api.schemas.quotas import QuotaRootPUT
from statera.api.validation import parse_body
from statera.domain.errors import Forbidden, InvalidSpec
from statera.services import quotas as service

router = APIRouter()
Body = Annotated[bytes, Depends(read_body)]
PROJECT_ID_MAX = 36


def _project(project_id: str) -> str:
    if len(project_id) > PROJECT_ID_MAX:
        raise InvalidSpec(
            f"Invalid input for field/attribute project_id. Value: '{project_id}'. "
            f"Value should have a maximum character requirement of {PROJECT_ID_MAX}"
        )
    return project_id


def _limit(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidSpec(
            f"One or more arguments are either duplicate or invalid: limit={value}"
        ) from None


def _doc(limits: dict[str, int], project_id: str | None = None) -> dict[str, Any]:
    doc = service.with_aliases(limits)
    if project_id is not None:
        doc = {"project_id": project_id, **doc}
    return doc


@router.get("/lbaas/quotas")
@reads
def list_quotas(request: Request) -> Response:
    ctx = context(request)
    params = request.query_params
    wanted = params.get("project_id") or params.get("tenant_id")
    if not allowed(request, "quota", "get_all-global", project_id=None):
        own = request_context(request).project_id
        if own is None:
            raise Forbidden.by_policy()
        authorize(request, "quota", "get_all", project_id=own)
        if wanted is not None and wanted != own:
            return json_response({"quotas": [], "quotas_links": []})
        wanted = own
    limit = _limit(params.get("limit"))
    marker = params.get("marker")
    with ctx.database.read() as session:
        rows = service.overridden(session, project_id=wanted)
        docs = [
            _doc(service.effective_of(row, settings=ctx.settings.quotas), row.project_id)
            for row in rows
            if marker is None or row.project_id > marker
        ]
    if limit is not None and limit > 0:
        docs = docs[:limit]
    return json_response({"quotas": docs, "quotas_links": []})


@router.get("/lbaas/quotas/defaults")
@reads
def quota_defaults(request: Request) -> Response:
    authorize(request, "quota", "get_defaults", project_id=None)
    return json_response({"quota": _doc(service.defaults(context(request).settings.quotas))})


@router.get("/lbaas/quotas/{project_id}")
@reads
def show_quota(request: Request, project_id: str) -> Response:
    ctx = context(request)
    authorize(request, "quota", "get_one", project_id=_project(project_id))
    with ctx.database.read() as session:
        limits = service.limits(session, settings=ctx.settings.quotas, project_id=project_id)
    return json_response({"quota": _doc(limits)})


@router.get("/lbaas/quotas/{project_id}/default")
@reads
def project_quota_defaults(request: Request, project_id: str) -> Response:
    authorize(request, "quota", "get_defaults", project_id=_project(project_id))
    return json_response({"quota": _doc(service.defaults(context(request).settings.quotas))})


def _values(body: QuotaRootPUT) -> dict[str, int | None]:
    quota = body.quota
    given = quota.model_fields_set
    values: dict[str, int | None] = {}
    for field in given:
        canonical = service.DEPRECATED_ALIASES.get(field, field)
        value = getattr(quota, field)
        if canonical in values and values[canonical] != value:
            raise InvalidSpec(
                f"Invalid input for field/attribute {canonical}: it is also given as "
                f"{field} with another value."
            )
        values[canonical] = value
    return values


@router.put("/lbaas/quotas/{project_id}")
def update_quota(request: Request, project_id: str, raw: Body) -> Response:
    ctx = context(request)
    authorize(request, "quota", "put", project_id=_project(project_id))
    values = _values(parse_body(QuotaRootPUT, raw))
    with ctx.database.write() as session:
        limits = service.update(
            session, settings=ctx.settings.quotas, project_id=project_id, values=values
        )
    return json_response({"quota": _doc(limits)}, 202)


@router.delete("/lbaas/quotas/{project_id}")
def reset_quota(request: Request, project_id: str) -> Response:
    ctx = context(request)
    authorize(request, "quota", "delete", project_id=_project(project_id))
    with ctx.database.write() as session:
        service.reset(session, project_id=project_id)
    return json_response({"quota": _doc(service.defaults(ctx.settings.quotas))}, 202)
