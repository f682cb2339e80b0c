"""Neutron security groups in the Network view: `/v2.0/security-groups` and `/security-group-rules`.

Octavia's `vip_sg_ids` names Neutron security groups; Statera has no Neutron,
so it serves them here, in Neutron's shape, for the clients that make them
(`openstack security group [rule] create`, openstacksdk). The handlers are thin:
`services/security_groups.py` checks values as Neutron does and keeps projects
apart; the filters, field selection, paging, error body and caller of the
ports view (`api/routes/neutron.py`) are used as they are. An administrator sees
and changes every project's groups; anyone else only their project's, and
another project's group is answered 404, as Neutron does. Writes follow the
ports' rule: the caller's project, or another one named by an administrator.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from statera.api.auth import RequestContext, request_context
from statera.api.routes.common import context, empty_response, json_response
from statera.api.routes.neutron import (
    PREFIXES,
    Body,
    NeutronError,
    _bad_request,
    _common,
    _fields,
    _list,
    _port_project,
)
from statera.db.models import SecurityGroup, SecurityGroupRule
from statera.domain.errors import Conflict, NotFound, StateraError
from statera.domain.security_groups import check_text
from statera.services import security_groups as sg_service

router = APIRouter()

# -- documents ------------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def rule_doc(rule: SecurityGroupRule) -> dict[str, Any]:
    prefix = rule.remote_ip_prefix
    created_at = _timestamp(rule.created_at)
    return {
        **_common(rule.project_id),
        "id": rule.id,
        "security_group_id": rule.security_group_id,
        "direction": rule.direction,
        "ethertype": rule.ethertype,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": prefix,
        "normalized_cidr": None if prefix is None else str(ipaddress.ip_interface(prefix).network),
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None,
        "belongs_to_default_sg": False,
        "description": rule.description,
        "created_at": created_at,
        "updated_at": created_at,
    }


def group_doc(group: SecurityGroup) -> dict[str, Any]:
    return {
        **_common(group.project_id),
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "stateful": group.stateful,
        "shared": False,
        "revision_number": group.revision_number,
        "created_at": _timestamp(group.created_at),
        "updated_at": _timestamp(group.updated_at or group.created_at),
        "security_group_rules": [
            rule_doc(r) for r in sorted(group.rules, key=lambda r: (r.created_at, r.id))
        ],
    }


_SAMPLE_GROUP = SecurityGroup(id="g", project_id="p", name="", description="", stateful=True)
_SAMPLE_GROUP.revision_number = 1
_SAMPLE_GROUP.rules = []
_SAMPLE_RULE = SecurityGroupRule(
    id="r", security_group_id="g", project_id="p", direction="ingress", ethertype="IPv4"
)
_GROUP_KEYS = frozenset(group_doc(_SAMPLE_GROUP))
_RULE_KEYS = frozenset(rule_doc(_SAMPLE_RULE))

_GROUP_POST = frozenset({"name", "description", "stateful", "project_id", "tenant_id"})
_GROUP_PUT = frozenset({"name", "description", "stateful"})
_RULE_POST = frozenset(
    {
        "security_group_id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
        "remote_address_group_id",
        "description",
        "project_id",
        "tenant_id",
    }
)


# -- requests -------------------------------------------------------------------------------


def _scope(caller: RequestContext) -> str | None:
    """The project whose objects the caller sees; None (all) for an administrator."""
    return None if caller.is_admin else (caller.project_id or "")


def _error(exc: StateraError) -> Response:
    """A service refusal in Neutron's shape; its `kind` is Neutron's exception name."""
    if isinstance(exc, NotFound):
        status, kind = 404, "HTTPNotFound"
    elif isinstance(exc, Conflict):
        status, kind = 409, "HTTPConflict"
    else:
        status, kind = 400, "HTTPBadRequest"
    return NeutronError(status, getattr(exc, "kind", kind), exc.message).response()


def _resource(
    raw: bytes, key: str, *, allowed: frozenset[str], known: frozenset[str], method: str
) -> dict[str, Any]:
    """The `key` object of a request body, with only attributes `method` may set."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad_request("Malformed request body") from None
    resource = body.get(key) if isinstance(body, dict) else None
    if not isinstance(resource, dict):
        raise _bad_request("Resource body required")
    for attribute in resource:
        if attribute in allowed:
            continue
        if attribute not in known:
            raise _bad_request(f"Unrecognized attribute(s) '{attribute}'")
        if method == "POST":
            raise _bad_request(f"Attribute '{attribute}' not allowed in POST")
        raise _bad_request(f"Cannot update read-only attribute {attribute}")
    return resource


def _required(resource: dict[str, Any], attribute: str) -> Any:
    if resource.get(attribute) is None:
        raise _bad_request(
            f"Failed to parse request. Required attribute '{attribute}' not specified"
        )
    return resource[attribute]


def _project(caller: RequestContext, resource: dict[str, Any], *, action: str) -> str:
    """Whose object: as for ports (`neutron._port_project`), with this action's policy name."""
    try:
        project = _port_project(caller, resource)
    except NeutronError as exc:
        if exc.status == 403:
            message = f"(rule:{action}) is disallowed by policy."
            raise NeutronError(403, exc.kind, message) from None
        raise
    try:
        return check_text("project_id", project)
    except StateraError as exc:
        raise _bad_request(exc.message) from None


# -- security groups ------------------------------------------------------------------------


def list_security_groups(request: Request) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))

    def load() -> list[dict[str, Any]]:
        with ctx.database.read() as session:
            return [group_doc(g) for g in sg_service.list_groups(session, project_id=scope)]

    return _list(request, "security_groups", load, known=_GROUP_KEYS)


def show_security_group(request: Request, security_group_id: str) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))
    try:
        with ctx.database.read() as session:
            group = sg_service.get_group(session, security_group_id, project_id=scope)
            doc = group_doc(group)
    except StateraError as exc:
        return _error(exc)
    return json_response({"security_group": _fields(request, doc)})


def create_security_group(request: Request, raw: Body) -> Response:
    ctx = context(request)
    caller = request_context(request)
    try:
        body = _resource(
            raw, "security_group", allowed=_GROUP_POST, known=_GROUP_KEYS, method="POST"
        )
        project = _project(caller, body, action="create_security_group")
    except NeutronError as exc:
        return exc.response()
    try:
        with ctx.database.write() as session:
            group = sg_service.create_group(
                session,
                project_id=project,
                name=body.get("name", ""),
                description=body.get("description", ""),
                stateful=body.get("stateful", True),
            )
            doc = group_doc(group)
    except StateraError as exc:
        return _error(exc)
    ctx.changed()
    return json_response({"security_group": doc}, 201)


def update_security_group(request: Request, security_group_id: str, raw: Body) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))
    try:
        body = _resource(raw, "security_group", allowed=_GROUP_PUT, known=_GROUP_KEYS, method="PUT")
    except NeutronError as exc:
        return exc.response()
    try:
        with ctx.database.write() as session:
            group = sg_service.update_group(session, security_group_id, project_id=scope, **body)
            doc = group_doc(group)
    except StateraError as exc:
        return _error(exc)
    ctx.changed()
    return json_response({"security_group": doc})


def delete_security_group(request: Request, security_group_id: str) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))
    try:
        with ctx.database.write() as session:
            sg_service.delete_group(session, security_group_id, project_id=scope)
    except StateraError as exc:
        return _error(exc)
    ctx.changed()
    return empty_response(204)


# -- security group rules -------------------------------------------------------------------


def list_security_group_rules(request: Request) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))

    def load() -> list[dict[str, Any]]:
        with ctx.database.read() as session:
            return [rule_doc(r) for r in sg_service.list_rules(session, project_id=scope)]

    return _list(request, "security_group_rules", load, known=_RULE_KEYS)


def show_security_group_rule(request: Request, rule_id: str) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))
    try:
        with ctx.database.read() as session:
            doc = rule_doc(sg_service.get_rule(session, rule_id, project_id=scope))
    except StateraError as exc:
        return _error(exc)
    return json_response({"security_group_rule": _fields(request, doc)})


def create_security_group_rule(request: Request, raw: Body) -> Response:
    ctx = context(request)
    caller = request_context(request)
    try:
        body = _resource(
            raw, "security_group_rule", allowed=_RULE_POST, known=_RULE_KEYS, method="POST"
        )
        if body.get("project_id") or body.get("tenant_id"):
            # A rule belongs to its group's project; naming another one needs an admin.
            _project(caller, body, action="create_security_group_rule")
        group_id = _required(body, "security_group_id")
        direction = _required(body, "direction")
        if body.get("remote_address_group_id") is not None:
            raise _bad_request(
                "Invalid input for remote_address_group_id. Reason: address groups are not "
                "supported by this Network view; use remote_ip_prefix."
            )
    except NeutronError as exc:
        return exc.response()
    try:
        with ctx.database.write() as session:
            rule = sg_service.create_rule(
                session,
                project_id=_scope(caller),
                security_group_id=str(group_id),
                direction=direction,
                ethertype=body.get("ethertype", "IPv4"),
                protocol=body.get("protocol"),
                port_range_min=body.get("port_range_min"),
                port_range_max=body.get("port_range_max"),
                remote_ip_prefix=body.get("remote_ip_prefix"),
                remote_group_id=body.get("remote_group_id"),
                description=body.get("description", ""),
            )
            doc = rule_doc(rule)
    except StateraError as exc:
        return _error(exc)
    ctx.changed()
    return json_response({"security_group_rule": doc}, 201)


def delete_security_group_rule(request: Request, rule_id: str) -> Response:
    ctx = context(request)
    scope = _scope(request_context(request))
    try:
        with ctx.database.write() as session:
            sg_service.delete_rule(session, rule_id, project_id=scope)
    except StateraError as exc:
        return _error(exc)
    ctx.changed()
    return empty_response(204)


for _prefix in PREFIXES:
    _groups = f"{_prefix}/security-groups"
    _one_group = f"{_groups}/{{security_group_id}}"
    _rules = f"{_prefix}/security-group-rules"
    _one_rule = f"{_rules}/{{rule_id}}"
    router.add_api_route(_groups, list_security_groups, methods=["GET"])
    router.add_api_route(_groups, create_security_group, methods=["POST"], status_code=201)
    router.add_api_route(_one_group, show_security_group, methods=["GET"])
    router.add_api_route(_one_group, update_security_group, methods=["PUT"])
    router.add_api_route(_one_group, delete_security_group, methods=["DELETE"], status_code=204)
    router.add_api_route(_rules, list_security_group_rules, methods=["GET"])
    router.add_api_route(_rules, create_security_group_rule, methods=["POST"], status_code=201)
    router.add_api_route(_one_rule, show_security_group_rule, methods=["GET"])
    router.add_api_route(_one_rule, delete_security_group_rule, methods=["DELETE"], status_code=204)
