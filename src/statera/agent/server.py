"""The agent's HTTPS server: mutual TLS, the route table, and errors as JSON.

`ROUTES` below is the whole API of the agent (octavia-spec §4.3 and the comment
block in `protocol/agent_api.py`); `STATUS_FOR` is the only place that maps the
agent's errors to HTTP statuses. Every reply, errors included, is JSON
`{"message", "details"}` unless it is a config text.

TLS: the server requires a client certificate signed by `client_ca` (only the
controller's cert carries clientAuth) and speaks TLS 1.2 or newer. The handshake
runs in the connection's own thread, so a slow client cannot stall `accept`.
Standard library only: this process runs once per amphora (see agent/__init__).
"""

from __future__ import annotations

import re
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from statera.agent import routes
from statera.agent.errors import (
    AgentError,
    BadRequest,
    CommandFailed,
    ConfigRejected,
    Conflict,
    HaproxyFailed,
    MethodNotAllowed,
    NotFound,
)
from statera.agent.keepalived import KeepalivedFailed
from statera.agent.logs import log
from statera.agent.routes import Agent, Request, Response, json_response
from statera.agent.udp import UdpFailed
from statera.protocol.agent_api import CERTIFICATE_NAME, AgentConfig

MAX_BODY_BYTES = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 120.0
"""A keep-alive connection idle this long is closed (and its thread ends)."""

Handler = Callable[[Agent, Request], Response]

_SEGMENT = {
    "lb_id": r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
    "amphora_id": r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
    "action": r"start|stop|reload",
    "filename": CERTIFICATE_NAME.pattern,
}


class Route(NamedTuple):
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]


def _route(method: str, template: str, handler: Handler) -> Route:
    regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m[1]}>{_SEGMENT[m[1]]})", template)
    return Route(method, template, handler, re.compile(f"^{regex}$"))


ROUTES: tuple[Route, ...] = (
    _route("GET", "/", routes.get_root),
    _route("GET", "/1.0/info", routes.get_info),
    _route("PUT", "/1.0/loadbalancer/{amphora_id}/{lb_id}/haproxy", routes.put_haproxy_config),
    _route("GET", "/1.0/loadbalancer/{lb_id}/haproxy", routes.get_haproxy_config),
    _route("PUT", "/1.0/loadbalancer/{amphora_id}/{lb_id}/udp", routes.put_udp_config),
    _route("PUT", "/1.0/loadbalancer/{lb_id}/{action}", routes.put_action),
    _route("DELETE", "/1.0/listeners/{lb_id}", routes.delete_listeners),
    _route("GET", "/1.0/status", routes.get_status),
    _route("PUT", "/1.0/runtime/{lb_id}", routes.put_runtime),
    _route(
        "PUT",
        "/1.0/loadbalancer/{amphora_id}/{lb_id}/certificates/{filename}",
        routes.put_certificate,
    ),
    _route("GET", "/1.0/loadbalancer/{lb_id}/certificates/{filename}", routes.get_certificate),
    _route(
        "DELETE", "/1.0/loadbalancer/{lb_id}/certificates/{filename}", routes.delete_certificate
    ),
    _route("GET", "/1.0/loadbalancer/{lb_id}/certificates", routes.list_certificates),
    _route("PUT", "/1.0/vrrp/upload", routes.put_vrrp_config),
    _route("PUT", "/1.0/vrrp/{action}", routes.put_vrrp_action),
)

STATUS_FOR: dict[type[AgentError], int] = {
    ConfigRejected: 400,
    CommandFailed: 400,
    BadRequest: 400,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    HaproxyFailed: 500,
    KeepalivedFailed: 500,
    UdpFailed: 500,
}


def status_for(exc: AgentError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_FOR:
            return STATUS_FOR[kind]
    return 500


def error_response(exc: AgentError) -> Response:
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(exc, MethodNotAllowed):
        headers = (("Allow", ", ".join(exc.allowed)),)
    return json_response(
        status_for(exc), {"message": exc.message, "details": exc.details}, headers=headers
    )


def match(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for `method` and `path`, or NotFound / MethodNotAllowed."""
    allowed: list[str] = []
    for route in ROUTES:
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict()
        allowed.append(route.method)
    if allowed:
        raise MethodNotAllowed(allowed)
    raise NotFound("Not found", f"no endpoint {method} {path}")


def server_ssl_context(*, server_cert: str, server_key: str, client_ca: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(server_cert, server_key)
    context.load_verify_locations(cafile=client_ca)
    return context


class AgentRequestHandler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive, each request dispatched through ROUTES."""

    server: AgentServer
    protocol_version = "HTTP/1.1"
    server_version = "statera-agent"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        try:
            # Read the body before routing: bytes left unread would poison the next request.
            body = self._read_body()
            route, params = match(self.command, path)
            response = route.handler(self.server.agent, Request(self.command, path, params, body))
        except AgentError as exc:
            response = error_response(exc)
        except Exception as exc:
            import traceback  # only on this rare path: it costs memory in every amphora

            log(f"internal error on {self.command} {path}: {traceback.format_exc()}")
            response = json_response(500, {"message": "Internal error", "details": repr(exc)})
        self._send(response)
        elapsed_ms = (time.monotonic() - started) * 1000
        log(
            f'{self.client_address[0]} "{self.command} {path}" {response.status} '
            f"{len(response.body)} {elapsed_ms:.0f}ms"
        )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            raise BadRequest("Invalid request", "send the body with Content-Length, not chunked")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise BadRequest("Invalid request", f"bad Content-Length {length_header!r}") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest("Invalid request", f"body must be 0-{MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """HTTP-level errors (bad request line, unsupported method) in the agent's JSON shape."""
        self.close_connection = True
        reason = message or self.responses.get(code, ("Error",))[0]
        self._send(json_response(code, {"message": reason, "details": explain or ""}))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # `_dispatch` logs one line per request, with its duration

    def log_message(self, format: str, *args: Any) -> None:
        log(f"{self.client_address[0]} {format % args}")


class AgentServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose connections are wrapped in TLS inside their own thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], *, agent: Agent, ssl_context: ssl.SSLContext
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.agent = agent
        self.ssl_context = ssl_context
        super().__init__(address, AgentRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn): slow and useless here.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = (
            str(self.server_address[0]),
            int(self.server_address[1]),
        )

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line (not socketserver's traceback) for a connection that broke mid-way."""
        log(f"{client_address[0]} connection error: {sys.exc_info()[1]!r}")

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ValueError) as exc:
            log(f"{client_address[0]} TLS handshake failed: {exc}")
            return
        try:
            tls.settimeout(IDLE_TIMEOUT_S)
            AgentRequestHandler(tls, client_address, self)
        finally:
            tls.close()


def serve(config: AgentConfig) -> None:
    """Serve until SIGTERM or SIGINT; HAProxy keeps running after the agent exits."""
    agent = Agent(config)
    agent.prepare()
    context = server_ssl_context(
        server_cert=config["server_cert"],
        server_key=config["server_key"],
        client_ca=config["client_ca"],
    )
    server = AgentServer(
        (config["bind_host"], config["bind_port"]), agent=agent, ssl_context=context
    )

    def stop(signum: int, frame: object) -> None:
        log(f"signal {signal.Signals(signum).name}: shutting down")
        # shutdown() waits for serve_forever, which runs in this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"amphora {agent.amphora_id} listening on {server.server_name}:{server.server_port}")
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
        agent.udp.stop()  # the nftables table stays: UDP keeps flowing without the agent
    log("stopped")
