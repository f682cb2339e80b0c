"""`statera up`: the API, the controller and the status reader in one process.

Start-up order: check the host (one clear line per missing piece), create the
state directory, migrate the database, create the CA, start the controller
(which creates host bridges and resumes any unfinished work), then serve the
API until SIGINT/SIGTERM, and stop the controller cleanly. The amphorae keep
serving traffic while this process is down.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from statera.controller.drivers import make_drivers
from statera.controller.reconciler import Reconciler
from statera.controller.service import Controller
from statera.db import migrate
from statera.db.base import utcnow
from statera.db.session import Database
from statera.settings import Settings

log = logging.getLogger(__name__)

AGENT_CERT_VALIDITY_S = 30 * 24 * 3600  # Octavia's cert_validity_time


class HostNotReady(RuntimeError):
    """The host lacks something Statera needs; the message is one line per problem."""


def preflight(settings: Settings) -> None:
    if settings.controller.compute_driver != "compute_netns_driver":
        return
    from statera.compute.preflight import check_host

    problems = check_host(settings)
    if problems:
        raise HostNotReady("\n".join(problems))


def build_controller(settings: Settings, database: Database) -> Controller:
    drivers = make_drivers(settings)
    issue_cert = None
    if settings.controller.amphora_driver == "amphora_haproxy_rest_driver":
        from statera.pki.authority import CertificateAuthority

        ca = CertificateAuthority.load_or_create(settings.default.state_dir / "pki")

        def issue_cert(amphora_id: str) -> tuple[bytes, bytes, bytes, datetime]:
            issued = ca.issue(amphora_id, validity_s=AGENT_CERT_VALIDITY_S, server=True)
            expires = utcnow() + timedelta(seconds=AGENT_CERT_VALIDITY_S)
            return issued.cert_pem, issued.key_pem, ca.ca_cert_pem, expires

    reconciler = Reconciler(
        settings=settings, database=database, drivers=drivers, issue_cert=issue_cert
    )
    return Controller(settings=settings, database=database, drivers=drivers, reconciler=reconciler)


def run(settings: Settings) -> None:
    import uvicorn

    from statera.api.app import create_app

    preflight(settings)
    settings.default.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database(settings.database_url)
    migrate.upgrade(settings.database_url)
    controller = build_controller(settings, database)
    controller.start()
    app = create_app(settings, database, on_change=controller.wake)
    config = uvicorn.Config(
        app,
        host=settings.api.bind_host,
        port=settings.api.bind_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    log.info(
        "Statera API on http://%s:%d (config: %s, database: %s)",
        settings.api.bind_host,
        settings.api.bind_port,
        settings.source,
        database.engine.url.render_as_string(hide_password=True),
    )
    try:
        server.run()
    finally:
        log.info("stopping the controller")
        controller.stop()
        database.dispose()
        log.info("stopped; amphorae keep serving")
