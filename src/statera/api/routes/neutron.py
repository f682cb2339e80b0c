"""A Neutron v2.0 view of the declared networks: networks, subnets and ports.

python-octaviaclient resolves `--vip-subnet-id private-subnet`, `--vip-network-id`,
`--vip-port-id` and member `--subnet-id` through the Network API (openstacksdk's
`network.subnets(id=...)`, then `(name=...)`) before it calls the load-balancer
API, so a client pointed at Statera for both services needs these. Networks and
subnets come from `Settings.networks`; ports are the `port` rows on those
networks (VIPs and amphora VRRP ports; management ports are not tenant-facing
and stay hidden). An administrator sees every port, anyone else only the
ports of their own project. Networks and subnets are read-only; a tenant may
create and delete its own ports (`POST /v2.0/ports`, `DELETE /v2.0/ports/<id>`),
so that it can pass one to Octavia's `vip_port_id` (`services/ports.py`).

The paths are served at `/v2.0/...` (Neutron's; openstacksdk appends `v2.0`
to a catalog's network endpoint) and at `/v2/...`: given a network endpoint
override of the server's root, keystoneauth reads the version document at `/`
and follows its `v2` link. Neither collides with Octavia's `/v2[.0]/lbaas/...`.
Errors use Neutron's body, `{"NeutronError": {"type", "message", "detail"}}`,
which openstacksdk turns into its exceptions. Filters follow Neutron: any
top-level attribute, repeated for "any of"; an unknown one is a 400.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from statera.api.auth import RequestContext, request_context
from statera.api.routes.common import context, empty_response, json_response, read_body
from statera.db.models import Port
from statera.domain.errors import Conflict, InvalidSpec, NotFound
from statera.services import ports as port_service
from statera.settings import NetworkSettings, Settings, SubnetSettings

router = APIRouter()

PREFIXES = ("/v2.0", "/v2")
MTU = 1500
NETWORK_OWNER = ""
"""Project of the declared networks: they belong to the operator and are shared."""

_RESERVED = frozenset({"fields", "limit", "marker", "page_reverse", "sort_key", "sort_dir"})
_TAG_FILTERS = frozenset({"tags", "tags-any", "not-tags", "not-tags-any"})
_PORT_FIXED_IP_FILTERS = frozenset({"ip_address", "subnet_id"})
"""openstacksdk's shorthands for `fixed_ips=ip_address=...` / `fixed_ips=subnet_id=...`."""


class NeutronError(Exception):
    """An error answered in Neutron's shape."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message

    def response(self) -> Response:
        body = {"NeutronError": {"type": self.kind, "message": self.message, "detail": ""}}
        return json_response(body, self.status)


# -- documents ------------------------------------------------------------------------------


def _common(project_id: str) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "tenant_id": project_id,
        "description": "",
        "tags": [],
        "revision_number": 0,
        "created_at": None,
        "updated_at": None,
    }


def network_doc(net: NetworkSettings) -> dict[str, Any]:
    return {
        "id": net.id,
        "name": net.name,
        "status": "ACTIVE",
        "admin_state_up": True,
        "shared": True,
        "subnets": [subnet.id for subnet in net.subnets],
        "port_security_enabled": True,
        "router:external": False,
        "mtu": MTU,
        "availability_zone_hints": [],
        "availability_zones": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "l2_adjacency": True,
        "qos_policy_id": None,
        "dns_domain": "",
        **_common(NETWORK_OWNER),
    }


def subnet_doc(subnet: SubnetSettings) -> dict[str, Any]:
    v6_mode = "static" if subnet.ip_version == 6 else None
    return {
        "id": subnet.id,
        "name": subnet.name,
        "network_id": subnet.network_id,
        "cidr": subnet.cidr,
        "gateway_ip": subnet.gateway,
        "ip_version": subnet.ip_version,
        "allocation_pools": [
            {"start": subnet.allocation_pool_start, "end": subnet.allocation_pool_end}
        ],
        "enable_dhcp": False,
        "dns_nameservers": [],
        "host_routes": [],
        "ipv6_address_mode": v6_mode,
        "ipv6_ra_mode": v6_mode,
        "subnetpool_id": None,
        "segment_id": None,
        "service_types": [],
        "dns_publish_fixed_ip": False,
        **_common(NETWORK_OWNER),
    }


def mac_address(port_id: str) -> str:
    """A stable MAC for a port, in Neutron's default base `fa:16:3e`."""
    digest = hashlib.sha256(port_id.encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def port_doc(row: Any) -> dict[str, Any]:
    port_id, network_id, subnet_id, ip_address, name, owner, device_id, project_id, created = row
    project = project_id or NETWORK_OWNER
    created_at = None if created is None else created.isoformat(timespec="seconds") + "Z"
    return {
        "id": port_id,
        "name": name or "",
        "network_id": network_id,
        "fixed_ips": [{"subnet_id": subnet_id, "ip_address": ip_address}],
        "mac_address": mac_address(port_id),
        "device_owner": owner or "",
        "device_id": device_id or "",
        "status": "ACTIVE",
        "admin_state_up": True,
        "port_security_enabled": True,
        "security_groups": [],
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "binding:vnic_type": "normal",
        "dns_name": "",
        "dns_assignment": [],
        "qos_policy_id": None,
        "propagate_uplink_status": False,
        **_common(project),
        "created_at": created_at,
        "updated_at": created_at,
    }


_PORT_COLUMNS = (
    Port.id,
    Port.network_id,
    Port.subnet_id,
    Port.ip_address,
    Port.name,
    Port.device_owner,
    Port.device_id,
    Port.project_id,
    Port.created_at,
)


def _settings(request: Request) -> Settings:
    return context(request).settings


def _row(port: Port) -> tuple[Any, ...]:
    return tuple(getattr(port, column.key) for column in _PORT_COLUMNS)


def _ports(request: Request, *, port_id: str | None = None) -> list[dict[str, Any]]:
    ctx = context(request)
    network_ids = [net.id for net in ctx.settings.networks]
    query = select(*_PORT_COLUMNS).where(Port.network_id.in_(network_ids))
    if port_id is not None:
        query = query.where(Port.id == port_id)
    caller = request_context(request)
    if not caller.is_admin:
        # A project sees its own ports (its VIPs), never another project's.
        query = query.where(Port.project_id == caller.project_id)
    with ctx.database.read() as session:
        rows = session.connection().execute(query).all()
    return [port_doc(r) for r in rows]


# -- list queries ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _matches(doc: dict[str, Any], key: str, wanted: Sequence[str]) -> bool:
    value = doc[key]
    if isinstance(value, bool):
        return _text(value) in {w.strip().lower() for w in wanted}
    if isinstance(value, list):
        return any(_text(v) in wanted for v in value)
    return _text(value) in wanted


def _fixed_ip_filter(doc: dict[str, Any], wanted: Sequence[str]) -> bool:
    """Neutron's `fixed_ips=ip_address=X` / `fixed_ips=subnet_id=Y` (all must hold)."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if not sep or key not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise NeutronError(400, "HTTPBadRequest", f"Invalid input for fixed_ips: {item!r}")
        if key == "ip_address_substr":
            if not any(value in ip["ip_address"] for ip in doc["fixed_ips"]):
                return False
        elif not any(ip[key] == value for ip in doc["fixed_ips"]):
            return False
    return True


def _filter(
    request: Request, docs: Iterable[dict[str, Any]], *, known: frozenset[str]
) -> list[dict[str, Any]]:
    params = request.query_params
    out = list(docs)
    keys = [k for k in dict.fromkeys(params.keys()) if k not in _RESERVED]
    for key in keys:
        wanted = params.getlist(key)
        if key in _TAG_FILTERS:
            tags = {t for w in wanted for t in w.split(",") if t}
            # Nothing declared here has tags: positive tag filters match nothing.
            if key in ("tags", "tags-any") and tags:
                out = []
            continue
        if key == "fixed_ips" and key in known:
            out = [d for d in out if _fixed_ip_filter(d, wanted)]
            continue
        if key in _PORT_FIXED_IP_FILTERS and "fixed_ips" in known:
            out = [d for d in out if _fixed_ip_filter(d, [f"{key}={w}" for w in wanted])]
            continue
        if key not in known:
            raise NeutronError(400, "HTTPBadRequest", f"[{key}] is invalid attribute for filtering")
        out = [d for d in out if _matches(d, key, wanted)]
    return out


def _sorted(
    request: Request, docs: list[dict[str, Any]], *, known: frozenset[str]
) -> list[dict[str, Any]]:
    params = request.query_params
    keys = params.getlist("sort_key")
    dirs = params.getlist("sort_dir")
    if len(dirs) > len(keys) or any(d not in ("asc", "desc") for d in dirs):
        raise NeutronError(400, "HTTPBadRequest", "Invalid sort_dir: use asc or desc per sort_key")
    order = [*zip(keys, [*dirs, *["asc"] * (len(keys) - len(dirs))], strict=True), ("id", "asc")]
    for key, direction in reversed(order):
        if key not in known:
            raise NeutronError(400, "HTTPBadRequest", f"[{key}] is invalid attribute for sort_key")
        docs = sorted(docs, key=lambda d: _text(d[key]), reverse=direction == "desc")
    return docs


def _fields(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
    if not fields:
        return doc
    return {k: v for k, v in doc.items() if k in fields}


def _page(
    request: Request, docs: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    params = request.query_params
    limit_text = params.get("limit")
    marker = params.get("marker")
    reverse = params.get("page_reverse", "false").lower() in ("true", "1", "yes")
    if marker is not None:
        ids = [d["id"] for d in docs]
        if marker not in ids:
            raise NeutronError(404, "HTTPNotFound", f"Marker {marker} could not be found.")
        at = ids.index(marker)
        docs = docs[:at] if reverse else docs[at + 1 :]
    if limit_text is None:
        return docs, []
    try:
        limit = int(limit_text)
    except ValueError:
        raise NeutronError(400, "HTTPBadRequest", f"Invalid limit: {limit_text!r}") from None
    if limit <= 0:
        return docs, []
    page = docs[-limit:] if reverse else docs[:limit]
    links: list[dict[str, str]] = []
    base = str(request.url.replace(query=""))
    kept = [(k, v) for k, v in params.multi_items() if k not in ("marker", "page_reverse")]
    if page and len(docs) > limit:
        edge = page[0]["id"] if reverse else page[-1]["id"]
        extra = [("page_reverse", "True")] if reverse else []
        links.append(
            {"href": f"{base}?{urlencode([*kept, ('marker', edge), *extra])}", "rel": "next"}
        )
    if page and marker is not None:
        edge = page[-1]["id"] if reverse else page[0]["id"]
        extra = [] if reverse else [("page_reverse", "True")]
        links.append(
            {
                "href": f"{base}?{urlencode([*kept, ('marker', edge), *extra])}",
                "rel": "previous",
            }
        )
    return page, links


def _list(
    request: Request,
    collection: str,
    load: Callable[[], list[dict[str, Any]]],
    *,
    known: frozenset[str],
) -> Response:
    try:
        docs = _sorted(request, _filter(request, load(), known=known), known=known)
        page, links = _page(request, docs)
    except NeutronError as exc:
        return exc.response()
    body: dict[str, Any] = {collection: [_fields(request, d) for d in page]}
    if links:
        body[f"{collection}_links"] = links
    return json_response(body)


def _show(
    request: Request, key: str, doc: dict[str, Any] | None, *, kind: str, object_id: str
) -> Response:
    if doc is None:
        label = kind.capitalize()
        return NeutronError(
            404, f"{label}NotFound", f"{label} {object_id} could not be found."
        ).response()
    return json_response({key: _fields(request, doc)})


# -- routes ---------------------------------------------------------------------------------

_SAMPLE = NetworkSettings(
    name="n",
    cidr="10.0.0.0/29",
    gateway="10.0.0.1",
    bridge="b",
    id="i",
    subnet_id="s",
    subnet_name="sn",
    allocation_pool_start="10.0.0.2",
    allocation_pool_end="10.0.0.6",
)
_NETWORK_KEYS = frozenset(network_doc(_SAMPLE))
_SUBNET_KEYS = frozenset(subnet_doc(_SAMPLE.primary))
_PORT_DEFAULTS = port_doc(("p", "n", "s", "10.0.0.2", "", "", "", None, None))
_PORT_KEYS = frozenset(_PORT_DEFAULTS)


def list_networks(request: Request) -> Response:
    nets = _settings(request).networks
    return _list(request, "networks", lambda: [network_doc(n) for n in nets], known=_NETWORK_KEYS)


def show_network(request: Request, network_id: str) -> Response:
    net = next((n for n in _settings(request).networks if n.id == network_id), None)
    doc = None if net is None else network_doc(net)
    return _show(request, "network", doc, kind="network", object_id=network_id)


def list_subnets(request: Request) -> Response:
    subnets = [s for n in _settings(request).networks for s in n.subnets]
    return _list(request, "subnets", lambda: [subnet_doc(s) for s in subnets], known=_SUBNET_KEYS)


def show_subnet(request: Request, subnet_id: str) -> Response:
    found = _settings(request).subnet_named(subnet_id)
    doc = None if found is None or found[1].id != subnet_id else subnet_doc(found[1])
    return _show(request, "subnet", doc, kind="subnet", object_id=subnet_id)


def list_ports(request: Request) -> Response:
    return _list(
        request,
        "ports",
        lambda: _ports(request),
        known=_PORT_KEYS,
    )


def show_port(request: Request, port_id: str) -> Response:
    found = _ports(request, port_id=port_id)
    return _show(request, "port", found[0] if found else None, kind="port", object_id=port_id)


def list_extensions(request: Request) -> Response:
    """No Neutron extensions: clients (`openstack port create`) look one up and do without."""
    return json_response({"extensions": []})


def show_extension(request: Request, alias: str) -> Response:
    return _show(request, "extension", None, kind="extension", object_id=alias)


Body = Annotated[bytes, Depends(read_body)]

_PORT_SET_ON_CREATE = frozenset({"name", "network_id", "fixed_ips", "project_id", "tenant_id"})
_PORT_READ_ONLY = frozenset({"id", "mac_address", "status", "created_at", "updated_at"})


def _bad_request(message: str) -> NeutronError:
    return NeutronError(400, "HTTPBadRequest", message)


def _port_body(raw: bytes) -> dict[str, Any]:
    """The `port` object of a create body; attributes this view cannot honour are 400s."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad_request("Malformed request body") from None
    port = body.get("port") if isinstance(body, dict) else None
    if not isinstance(port, dict):
        raise _bad_request("Resource body required")
    for key, value in port.items():
        if key in _PORT_SET_ON_CREATE:
            continue
        if key not in _PORT_DEFAULTS or key in _PORT_READ_ONLY:
            raise _bad_request(f"Unrecognized attribute(s) '{key}'")
        if value != _PORT_DEFAULTS[key]:
            # Defaults (admin_state_up true, no security groups, ...) are accepted as is.
            raise _bad_request(
                f"Invalid input for {key}. Reason: only {_PORT_DEFAULTS[key]!r} is supported "
                "by this Network view."
            )
    if not port.get("network_id"):
        raise _bad_request("Failed to parse request. Required attribute 'network_id' not specified")
    name = port.get("name") or ""
    if not isinstance(name, str) or len(name) > 255:
        raise _bad_request("Invalid input for name. Reason: a string of at most 255 characters.")
    return port


def _port_project(caller: RequestContext, port: dict[str, Any]) -> str:
    """Whose port: the caller's project; an administrator may name another one."""
    given = port.get("project_id") or port.get("tenant_id")
    if given and given != caller.project_id and not caller.is_admin:
        raise NeutronError(
            403, "PolicyNotAuthorized", "(rule:create_port) is disallowed by policy."
        )
    project = given or caller.project_id
    if not project or not isinstance(project, str):
        raise _bad_request("'project_id' is required: the request names no project.")
    return project


def _fixed_address(net: NetworkSettings, fixed_ips: Any) -> tuple[SubnetSettings, str | None]:
    """The subnet (by default the primary one) and the requested address, if any."""
    if fixed_ips is None:
        return net.primary, None
    if not isinstance(fixed_ips, list) or len(fixed_ips) != 1 or not isinstance(fixed_ips[0], dict):
        raise _bad_request(
            "Invalid input for fixed_ips. Reason: exactly one fixed IP is supported by this "
            "Network view."
        )
    entry = fixed_ips[0]
    unknown = set(entry) - {"subnet_id", "ip_address"}
    if unknown:
        raise _bad_request(f"Invalid input for fixed_ips. Reason: unknown keys {sorted(unknown)}.")
    subnet_id = entry.get("subnet_id")
    address = entry.get("ip_address")
    if address is not None and not isinstance(address, str):
        raise _bad_request("Invalid input for fixed_ips. Reason: ip_address must be a string.")
    subnet = net.primary
    if subnet_id is not None:
        found = next((s for s in net.subnets if s.id == subnet_id), None)
        if found is None:
            raise _bad_request(
                f"Invalid input for operation: Failed to create port on network {net.id}, "
                f"because fixed_ips included invalid subnet {subnet_id}."
            )
        subnet = found
    elif address is not None:
        # Neutron picks the subnet the address belongs to.
        subnet = next((s for s in net.subnets if port_service.in_subnet(s, address)), subnet)
    return subnet, address


def create_port(request: Request, raw: Body) -> Response:
    ctx = context(request)
    caller = request_context(request)
    try:
        body = _port_body(raw)
        project = _port_project(caller, body)
        net = next((n for n in ctx.settings.networks if n.id == body["network_id"]), None)
        if net is None:
            network_id = body["network_id"]
            raise NeutronError(404, "NetworkNotFound", f"Network {network_id} could not be found.")
        subnet, address = _fixed_address(net, body.get("fixed_ips"))
    except NeutronError as exc:
        return exc.response()
    try:
        with ctx.database.write() as session:
            port = port_service.create(
                session,
                subnet=subnet,
                address=address,
                name=body.get("name") or "",
                project_id=project,
            )
            doc = port_doc(_row(port))
    except Conflict as exc:
        if address is None:
            message = f"No more IP addresses available on network {net.id}."
            return NeutronError(409, "IpAddressGenerationFailure", message).response()
        return NeutronError(409, "IpAddressAlreadyAllocated", exc.message).response()
    except InvalidSpec as exc:
        return NeutronError(400, "InvalidIpForSubnet", exc.message).response()
    ctx.changed()
    return json_response({"port": doc}, 201)


def delete_port(request: Request, port_id: str) -> Response:
    ctx = context(request)
    caller = request_context(request)
    try:
        with ctx.database.write() as session:
            port_service.delete(
                session,
                settings=ctx.settings,
                port_id=port_id,
                project_id=None if caller.is_admin else caller.project_id,
            )
    except NotFound as exc:
        return NeutronError(404, "PortNotFound", exc.message).response()
    except Conflict as exc:
        return NeutronError(409, "PortInUse", exc.message).response()
    ctx.changed()
    return empty_response(204)


for _prefix in PREFIXES:
    router.add_api_route(f"{_prefix}/networks", list_networks, methods=["GET"])
    router.add_api_route(f"{_prefix}/networks/{{network_id}}", show_network, methods=["GET"])
    router.add_api_route(f"{_prefix}/subnets", list_subnets, methods=["GET"])
    router.add_api_route(f"{_prefix}/subnets/{{subnet_id}}", show_subnet, methods=["GET"])
    router.add_api_route(f"{_prefix}/extensions", list_extensions, methods=["GET"])
    router.add_api_route(f"{_prefix}/extensions/{{alias}}", show_extension, methods=["GET"])
    router.add_api_route(f"{_prefix}/ports", list_ports, methods=["GET"])
    router.add_api_route(f"{_prefix}/ports", create_port, methods=["POST"], status_code=201)
    router.add_api_route(f"{_prefix}/ports/{{port_id}}", show_port, methods=["GET"])
    router.add_api_route(
        f"{_prefix}/ports/{{port_id}}", delete_port, methods=["DELETE"], status_code=204
    )
