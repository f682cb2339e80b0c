"""The HTTP API: Octavia's v2 URLs, under `/v2` and its alias `/v2.0`.

`create_app` builds the FastAPI application from settings and a database.
Every accepted write commits one transaction that follows the reconciler
contract (`services/changes.py`) and then calls `on_change`, so a controller
in the same process wakes at once instead of at its next poll.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from statera import __version__
from statera.api import auth, errors, openapi
from statera.api.middleware import RequestMiddleware
from statera.api.response_cache import ResponseCache
from statera.api.routes import (
    amphorae,
    availability_zones,
    flavors,
    health_monitors,
    identity,
    key_manager,
    l7policies,
    l7rules,
    listeners,
    load_balancers,
    members,
    neutron,
    neutron_security_groups,
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


V2_MODULES = (
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
)


def _add_routes(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """`router`'s routes on the app itself, flat.

    `include_router` keeps each included router as a nested level that is
    matched twice per request; with some 170 routes that cost more than a
    whole list request. Flat routes are matched once, in order, so the
    busiest (load balancers) come first.
    """
    for route in router.routes:
        assert isinstance(route, APIRoute), route
        app.add_api_route(
            prefix + route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            name=route.name,
            include_in_schema=route.include_in_schema,
        )


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
    entries = settings.api.response_cache_entries
    app.state.statera = ApiContext(
        settings=settings,
        database=database,
        on_change=on_change,
        responses=ResponseCache(entries) if entries > 0 else None,
    )
    app.state.auth = auth.build_auth(settings)
    errors.install(app)
    app.add_middleware(auth.AuthMiddleware, auth=app.state.auth)
    app.add_middleware(RequestMiddleware)
    _add_routes(app, key_manager.router)  # Barbican's `/v1` (and `/` for key-manager clients)
    _add_routes(app, versions.router)
    for prefix in PREFIXES:
        for module in V2_MODULES:
            _add_routes(app, module.router, prefix)
        for path in ("", "/lbaas"):
            app.add_api_route(prefix + path, versions.bare_v2, methods=["GET"])
    _add_routes(app, neutron.router)  # the read-only Network API view (`/v2.0/networks`, ...)
    _add_routes(app, neutron_security_groups.router)  # `/v2.0/security-groups`, `-rules`
    _add_routes(app, identity.router)  # 403 for the CLI's project lookups (no Keystone)
    openapi.install(app)  # `/v2/openapi.json`
    return app
