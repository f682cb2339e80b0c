"""`/v2/octavia/amphorae`: the amphora admin API (Octavia §1.14).

List and show every field of the amphora table (DELETED amphorae are hidden,
as in Octavia), `stats` per listener from the accumulated counters, and the
three actions, each answered 202 and done by the controller: `failover`
(replace the amphora), `config` (re-render and re-push the load balancer's
HAProxy configuration; see `services/amphorae.push_config`) and DELETE of an
amphora in ERROR. Policy (Octavia's defaults): every call is admin-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from statera.api import pagination as p
from statera.api import views
from statera.api.auth import authorize
from statera.api.routes.common import (
    context,
    empty_response,
    json_response,
    list_response,
    one,
    reads,
)
from statera.db.models import Amphora, Listener, ListenerStatistics
from statera.domain.enums import AmphoraStatus
from statera.domain.errors import NotFound
from statera.services import amphorae as service

router = APIRouter()
RESOURCE = "Amphora"
DELETED = AmphoraStatus.DELETED.value

AMPHORA_COLUMNS: views.Columns = (
    Amphora.id,
    Amphora.load_balancer_id,
    Amphora.compute_id,
    Amphora.lb_network_ip,
    Amphora.vrrp_ip,
    Amphora.ha_ip,
    Amphora.vrrp_port_id,
    Amphora.ha_port_id,
    Amphora.cert_expiration,
    Amphora.cert_busy,
    Amphora.role,
    Amphora.status,
    Amphora.vrrp_interface,
    Amphora.vrrp_id,
    Amphora.vrrp_priority,
    Amphora.cached_zone,
    Amphora.created_at,
    Amphora.updated_at,
    Amphora.image_id,
    Amphora.compute_flavor,
)

COLLECTION = p.Collection(
    name="amphorae",
    columns=AMPHORA_COLUMNS,
    id_column=Amphora.id,
    created_column=Amphora.created_at,
    attributes={
        "id": p.text(Amphora.id),
        "loadbalancer_id": p.text(Amphora.load_balancer_id),
        "compute_id": p.text(Amphora.compute_id),
        "lb_network_ip": p.text(Amphora.lb_network_ip),
        "vrrp_ip": p.text(Amphora.vrrp_ip),
        "ha_ip": p.text(Amphora.ha_ip),
        "vrrp_port_id": p.text(Amphora.vrrp_port_id),
        "ha_port_id": p.text(Amphora.ha_port_id),
        "cert_expiration": p.timestamp(Amphora.cert_expiration, fallback=Amphora.created_at),
        "cert_busy": p.boolean(Amphora.cert_busy),
        "role": p.text(Amphora.role),
        "status": p.text(Amphora.status),
        "vrrp_interface": p.text(Amphora.vrrp_interface),
        "vrrp_id": p.nullable_number(Amphora.vrrp_id),
        "vrrp_priority": p.nullable_number(Amphora.vrrp_priority),
        "cached_zone": p.text(Amphora.cached_zone),
        "created_at": p.timestamp(Amphora.created_at),
        "updated_at": p.timestamp(Amphora.updated_at, fallback=Amphora.created_at),
        "image_id": p.text(Amphora.image_id),
        "compute_flavor": p.text(Amphora.compute_flavor),
    },
)


def amphora_views(_session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for (
        id_,
        lb_id,
        compute_id,
        lb_network_ip,
        vrrp_ip,
        ha_ip,
        vrrp_port_id,
        ha_port_id,
        cert_expiration,
        cert_busy,
        role,
        status,
        vrrp_interface,
        vrrp_id,
        vrrp_priority,
        cached_zone,
        created_at,
        updated_at,
        image_id,
        compute_flavor,
    ) in rows:
        out.append(
            {
                "id": id_,
                "loadbalancer_id": lb_id,
                "compute_id": compute_id,
                "lb_network_ip": lb_network_ip,
                "vrrp_ip": vrrp_ip,
                "ha_ip": ha_ip,
                "vrrp_port_id": vrrp_port_id,
                "ha_port_id": ha_port_id,
                "cert_expiration": views.timestamp(cert_expiration),
                "cert_busy": bool(cert_busy),
                "role": role,
                "status": status,
                "vrrp_interface": vrrp_interface,
                "vrrp_id": vrrp_id,
                "vrrp_priority": vrrp_priority,
                "cached_zone": cached_zone,
                "created_at": views.timestamp(created_at),
                "updated_at": views.timestamp(updated_at),
                "image_id": image_id,
                "compute_flavor": compute_flavor,
            }
        )
    return out


def _visible(session: Session, amphora_id: str) -> Any:
    row = views.fetch(session, AMPHORA_COLUMNS, amphora_id)
    if row is None or row[11] == DELETED:  # status
        raise NotFound.of(RESOURCE, amphora_id)
    return row


@router.get("/octavia/amphorae")
@reads
def list_amphorae(request: Request) -> Response:
    authorize(request, "amphora", "get_all", project_id=None)
    with context(request).database.read() as session:
        return list_response(
            request, session, COLLECTION, view=amphora_views, scope=[Amphora.status != DELETED]
        )


@router.get("/octavia/amphorae/{amphora_id}")
@reads
def show_amphora(request: Request, amphora_id: str) -> Response:
    authorize(request, "amphora", "get_one", project_id=None)
    with context(request).database.read() as session:
        row = _visible(session, amphora_id)
        return one(request, "amphora", amphora_views(session, [row])[0])


@router.get("/octavia/amphorae/{amphora_id}/stats")
@reads
def amphora_stats(request: Request, amphora_id: str) -> Response:
    authorize(request, "amphora", "get_stats", project_id=None)
    with context(request).database.read() as session:
        _visible(session, amphora_id)
        rows = session.execute(
            select(ListenerStatistics, Listener.load_balancer_id)
            .join(Listener, Listener.id == ListenerStatistics.listener_id)
            .where(ListenerStatistics.amphora_id == amphora_id)
            .order_by(Listener.created_at, Listener.id)
        ).all()
        stats = [
            {
                "id": amphora_id,
                "listener_id": st.listener_id,
                "loadbalancer_id": lb_id,
                "active_connections": st.active_connections,
                "bytes_in": st.bytes_in,
                "bytes_out": st.bytes_out,
                "request_errors": st.request_errors,
                "total_connections": st.total_connections,
            }
            for st, lb_id in rows
        ]
    return json_response({"amphora_stats": stats})


@router.put("/octavia/amphorae/{amphora_id}/config")
def configure_amphora(request: Request, amphora_id: str) -> Response:
    authorize(request, "amphora", "put_config", project_id=None)
    ctx = context(request)
    with ctx.database.write() as session:
        service.push_config(session, amphora_id=amphora_id)
    ctx.changed()
    return empty_response(202)


@router.put("/octavia/amphorae/{amphora_id}/failover")
def failover_amphora(request: Request, amphora_id: str) -> Response:
    authorize(request, "amphora", "put_failover", project_id=None)
    ctx = context(request)
    with ctx.database.write() as session:
        service.failover(session, amphora_id=amphora_id)
    ctx.changed()
    return empty_response(202)


@router.delete("/octavia/amphorae/{amphora_id}")
def delete_amphora(request: Request, amphora_id: str) -> Response:
    authorize(request, "amphora", "delete", project_id=None)
    ctx = context(request)
    with ctx.database.write() as session:
        service.delete(session, amphora_id=amphora_id)
    ctx.changed()
    return empty_response(204)
