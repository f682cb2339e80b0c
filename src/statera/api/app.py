"""The HTTP API: Octavia's v2 URLs, under `/v2` and its alias `/v2.0`.

`create_app` builds the FastAPI application from settings and a database.
Every accepted write commits one transaction that follows the reconciler
contract (`services/changes.py`) and then calls `on_change`, so a controller
in the same process wakes at once instead of at its next poll.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from statera import __version__
from statera.api import auth, errors, openapi
from statera.api.middleware import RequestMiddleware
from statera.api.routes import (
    amphorae,
    availability_zones,
    flavors,
    health_monitors,
    identity,
    l7policies,
    l7rules,
    listeners,
    load_balancers,
    members,
    neutron,
    pools,
    providers,
    quotas,
    versions,
)
from statera.api.routes.common import ApiContext
from statera.db.session import Database
from statera.settings import Settings

PREFIXES = ("/v2", "/v2.0")


def _nothing() -> None:
    return None


def _v2_router() -> APIRouter:
    router = APIRouter()
    for module in (
        load_balancers,
        listeners,
        pools,
        members,
        health_monitors,
        l7policies,
        l7rules,
        providers,
        flavors,
        availability_zones,
        amphorae,
        quotas,
    ):
        router.include_router(module.router)
    for path in ("", "/lbaas"):
        router.add_api_route(path, versions.bare_v2, methods=["GET"])
    return router


def create_app(
    settings: Settings, database: Database, *, on_change: Callable[[], None] = _nothing
) -> FastAPI:
    app = FastAPI(
        title="Statera",
        version=__version__,
        description="Load balancing as a service: OpenStack Octavia's v2 API.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.statera = ApiContext(settings=settings, database=database, on_change=on_change)
    app.state.auth = auth.build_auth(settings)
    errors.install(app)
    app.add_middleware(auth.AuthMiddleware, auth=app.state.auth)
    app.add_middleware(RequestMiddleware)
    app.include_router(versions.router)
    v2 = _v2_router()
    for prefix in PREFIXES:
        app.include_router(v2, prefix=prefix)
    app.include_router(neutron.router)  # the read-only Network API view (`/v2.0/networks`, ...)
    app.include_router(identity.router)  # 403 for the CLI's project lookups (no Keystone)
    openapi.install(app)  # `/v2/openapi.json`
    return app
