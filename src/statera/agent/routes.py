"""Thin handlers of the agent's endpoints: parse the request, call haproxy/stats, shape the reply.

`server.py` owns the route table and the error-to-status table; each handler
here takes the `Agent` (this amphora's state) and a parsed `Request` and returns
a `Response` or raises an `AgentError`. Handlers that change HAProxy or its
files hold `Agent.lock`, so two controller requests never interleave a
validate, swap and reload.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path
from typing import NamedTuple, Protocol

from statera.agent import runtime_commands, sockets
from statera.agent.errors import BadRequest, Conflict, HaproxyFailed, NotFound
from statera.agent.files import (
    LbPaths,
    atomic_write,
    ensure_certs_dir,
    read_text,
    remove_certs_dir,
    stored_certificates,
    write_ping_wrapper,
    write_vrrp_scripts,
)
from statera.agent.haproxy import Haproxy, config_etag
from statera.agent.keepalived import Keepalived
from statera.agent.logs import log
from statera.agent.stats import StatusReporter
from statera.agent.udp import Udp, parse_udp_config
from statera.protocol.agent_api import (
    API_VERSION,
    AgentConfig,
    AgentInfo,
    AmphoraStatusReport,
    CertificateChecksum,
    CertificateList,
    RuntimeResult,
    is_certificate_name,
)

_PEM_MARKER = b"-----BEGIN "


class Request(NamedTuple):
    method: str
    path: str
    params: dict[str, str]
    """Named segments of the route's path (`lb_id`, `amphora_id`, `action`)."""
    body: bytes = b""


class Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_response(
    status: int, payload: object, *, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return Response(status, json.dumps(payload).encode(), headers=headers)


class Agent:
    """Everything one amphora's agent knows: its config, HAProxy, file layout and report counter."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        haproxy: Haproxy | None = None,
        keepalived: Keepalived | None = None,
        udp: Udp | None = None,
    ) -> None:
        self.config = config
        self.amphora_id = config["amphora_id"]
        self.paths = LbPaths(Path(config["base_dir"]))
        self.haproxy = haproxy or Haproxy(
            self.paths, haproxy_cmd=config["haproxy_cmd"], namespace=config["haproxy_namespace"]
        )
        self.keepalived = keepalived or Keepalived(
            self.paths,
            keepalived_cmd=shutil.which("keepalived") or "/usr/sbin/keepalived",
            namespace=config["haproxy_namespace"],
        )
        self.udp = udp or Udp(self.paths, namespace=config["haproxy_namespace"])
        self.status = StatusReporter(self.amphora_id)
        self.lock = threading.Lock()

    def prepare(self) -> None:
        """Create the base directory, the ping wrapper and keepalived's scripts; note a
        HAProxy or keepalived left running.

        The directory is 0711: HAProxy workers that drop privileges (`user nobody`)
        must still reach ping-wrapper.sh; every other file in it is 0600.
        """
        self.paths.base.mkdir(parents=True, exist_ok=True)
        self.paths.base.chmod(0o711)
        write_ping_wrapper(self.paths, ping=shutil.which("ping") or "/usr/bin/ping")
        write_vrrp_scripts(self.paths)
        pid = self.haproxy.master_pid()
        if pid is not None:
            log(f"adopted running haproxy master {pid} for load balancer {self.current_lb()}")
        pid = self.keepalived.pid()
        if pid is not None:
            log(f"adopted running keepalived {pid} (VRRP state {self.keepalived.state()})")
        self.udp.restore()

    def current_lb(self) -> str | None:
        text = read_text(self.paths.lb_marker)
        if text is None or not text.strip():
            return None
        return text.strip()

    def require_lb(self, lb_id: str) -> None:
        if self.current_lb() != lb_id:
            raise NotFound(
                "Load balancer not found",
                f"No load balancer {lb_id} on amphora {self.amphora_id}",
            )

    def require_amphora(self, amphora_id: str) -> None:
        if amphora_id != self.amphora_id:
            raise BadRequest(
                "Wrong amphora", f"this agent is amphora {self.amphora_id}, not {amphora_id}"
            )

    def require_free_or(self, lb_id: str) -> str | None:
        """The current load balancer if it is `lb_id` or None; Conflict for another one."""
        current = self.current_lb()
        if current is not None and current != lb_id:
            raise Conflict(
                "Amphora in use",
                f"amphora {self.amphora_id} serves load balancer {current}; "
                f"DELETE /{API_VERSION}/listeners/{current} first",
            )
        return current


def get_root(agent: Agent, request: Request) -> Response:
    return json_response(200, {"api_version": API_VERSION})


def get_info(agent: Agent, request: Request) -> Response:
    info: AgentInfo = {
        "hostname": socket.gethostname(),
        "haproxy_version": agent.haproxy.version(),
        "api_version": API_VERSION,
        "amphora_id": agent.amphora_id,
    }
    return json_response(200, info)


def put_haproxy_config(agent: Agent, request: Request) -> Response:
    amphora_id, lb_id = request.params["amphora_id"], request.params["lb_id"]
    agent.require_amphora(amphora_id)
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("Invalid request", f"the configuration is not UTF-8: {exc}") from exc
    with agent.lock:
        current = agent.require_free_or(lb_id)
        etag = agent.haproxy.apply_config(text)
        if current is None:
            atomic_write(agent.paths.lb_marker, lb_id)
    return json_response(
        202,
        {"message": "OK", "details": "Configuration file is valid"},
        headers=(("ETag", etag),),
    )


def get_haproxy_config(agent: Agent, request: Request) -> Response:
    agent.require_lb(request.params["lb_id"])
    try:
        data = agent.paths.config.read_bytes()
    except FileNotFoundError:
        raise NotFound("Configuration not found", str(agent.paths.config)) from None
    return Response(
        200, data, content_type="text/plain; charset=utf-8", headers=(("ETag", config_etag(data)),)
    )


class _Process(Protocol):
    def start(self) -> str: ...
    def reload(self) -> str: ...
    def stop(self) -> str: ...


def _act(agent: Agent, process: _Process, action: str) -> Response:
    """start (reloads when running), reload or stop (the route allows only these)."""
    with agent.lock:
        if action == "start":
            details = process.start()
        elif action == "reload":
            details = process.reload()
        else:
            details = process.stop()
    return json_response(202, {"message": "OK", "details": details})


def put_action(agent: Agent, request: Request) -> Response:
    agent.require_lb(request.params["lb_id"])
    return _act(agent, agent.haproxy, request.params["action"])


def delete_listeners(agent: Agent, request: Request) -> Response:
    """Stop HAProxy and keepalived and remove the load balancer's files; deleting twice
    answers 200 again."""
    lb_id = request.params["lb_id"]
    with agent.lock:
        current = agent.current_lb()
        if current is not None and current != lb_id:
            agent.require_lb(lb_id)
        # keepalived first: its goodbye advert hands the VIP to the peer at once, while
        # this HAProxy still serves what is in flight.
        vrrp_details = agent.keepalived.stop()
        details = agent.haproxy.stop()
        if agent.udp.config["listeners"]:
            agent.udp.remove()
            details = f"{details}; UDP listeners removed"
        if vrrp_details != "keepalived is not running":
            details = f"{details}; {vrrp_details}"
        for path in agent.paths.lb_files():
            path.unlink(missing_ok=True)
        remove_certs_dir(agent.paths)
    return json_response(200, {"message": "OK", "details": details})


def _certificate_name(request: Request) -> str:
    name = request.params["filename"]
    if not is_certificate_name(name):  # the route's pattern allows `..` inside a name
        raise BadRequest("Invalid file name", f"{name!r} is not [A-Za-z0-9_.-]+.pem without ..")
    return name


def _require_certificates_of(agent: Agent, lb_id: str) -> None:
    """Certificates are readable for the amphora's load balancer, or any before it has one."""
    current = agent.current_lb()
    if current is not None and current != lb_id:
        agent.require_lb(lb_id)


def put_certificate(agent: Agent, request: Request) -> Response:
    """Store one PEM file (certificate with key, CA or CRL) for `haproxy.cfg` to name.

    The first upload may come before the first configuration: on an amphora that
    serves no load balancer yet, it claims the amphora for `lb_id`, as a config
    upload would. Written atomically, 0600, so HAProxy never reads half a key.
    """
    amphora_id, lb_id = request.params["amphora_id"], request.params["lb_id"]
    agent.require_amphora(amphora_id)
    name = _certificate_name(request)
    data = request.body
    if _PEM_MARKER not in data:
        # Never echo the body: it may hold a private key.
        raise BadRequest("Invalid certificate", f"{name}: the body is not PEM ({len(data)} bytes)")
    with agent.lock:
        current = agent.require_free_or(lb_id)
        atomic_write(ensure_certs_dir(agent.paths) / name, data, mode=0o600)
        if current is None:
            atomic_write(agent.paths.lb_marker, lb_id)
    return json_response(200, {"message": "OK"}, headers=(("ETag", config_etag(data)),))


def get_certificate(agent: Agent, request: Request) -> Response:
    _require_certificates_of(agent, request.params["lb_id"])
    name = _certificate_name(request)
    try:
        data = agent.paths.certificate(name).read_bytes()
    except FileNotFoundError:
        raise NotFound("Certificate not found", name) from None
    checksum: CertificateChecksum = {"md5sum": config_etag(data)}
    return json_response(200, checksum)


def delete_certificate(agent: Agent, request: Request) -> Response:
    """Remove one TLS file; deleting an absent one answers 200 too."""
    _require_certificates_of(agent, request.params["lb_id"])
    name = _certificate_name(request)
    with agent.lock:
        agent.paths.certificate(name).unlink(missing_ok=True)
    return json_response(200, {"message": "OK"})


def list_certificates(agent: Agent, request: Request) -> Response:
    """Name -> MD5 of every TLS file stored, so the controller can sync exactly."""
    _require_certificates_of(agent, request.params["lb_id"])
    with agent.lock:
        stored = stored_certificates(agent.paths)
    listing: CertificateList = {
        "certificates": {name: config_etag(data) for name, data in stored.items()}
    }
    return json_response(200, listing)


def get_status(agent: Agent, request: Request) -> Response:
    show_stat: str | None = None
    if agent.haproxy.master_pid() is not None:
        try:
            show_stat = sockets.query(agent.paths.stats_socket, "show stat")
        except OSError as exc:
            raise HaproxyFailed("HAProxy's stats socket does not answer", str(exc)) from exc
    report: AmphoraStatusReport = agent.status.report(show_stat, udp=agent.udp.report())
    if agent.paths.keepalived_config.exists():
        report["vrrp_state"] = agent.keepalived.state()
    return json_response(200, report)


def put_runtime(agent: Agent, request: Request) -> Response:
    agent.require_lb(request.params["lb_id"])
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise BadRequest("Invalid request", f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadRequest("Invalid request", 'expected {"commands": [...]}')
    commands = runtime_commands.check_commands(payload.get("commands"))
    with agent.lock:
        if agent.haproxy.master_pid() is None:
            raise Conflict("HAProxy is not running", "start it before sending runtime commands")
        try:
            outputs = runtime_commands.run_commands(agent.paths.stats_socket, commands)
        except sockets.SocketUnavailable as exc:
            raise HaproxyFailed("HAProxy's stats socket does not answer", str(exc)) from exc
    result: RuntimeResult = {"outputs": outputs}
    return json_response(200, result)


def put_vrrp_config(agent: Agent, request: Request) -> Response:
    """Check a keepalived.conf (`keepalived --config-test`) and make it the active one.

    The scripts it names are written again first: `--config-test` refuses a
    config whose scripts are missing or writable by anyone but root.
    """
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("Invalid request", f"the configuration is not UTF-8: {exc}") from exc
    with agent.lock:
        write_vrrp_scripts(agent.paths)
        agent.keepalived.apply_config(text)
    return json_response(200, {"message": "OK", "details": "keepalived configuration is valid"})


def put_vrrp_action(agent: Agent, request: Request) -> Response:
    return _act(agent, agent.keepalived, request.params["action"])


def put_udp_config(agent: Agent, request: Request) -> Response:
    """Replace the UDP listeners (nftables in the tenant namespace) with the body's UdpConfig.

    Like a HAProxy config upload, the first one claims a free amphora for `lb_id`;
    an empty listener list removes the table.
    """
    amphora_id, lb_id = request.params["amphora_id"], request.params["lb_id"]
    agent.require_amphora(amphora_id)
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise BadRequest("Invalid request", f"the body is not JSON: {exc}") from exc
    config = parse_udp_config(payload)
    with agent.lock:
        current = agent.require_free_or(lb_id)
        agent.udp.apply(config)
        if current is None and config["listeners"]:
            atomic_write(agent.paths.lb_marker, lb_id)
    count = len(config["listeners"])
    return json_response(200, {"message": "OK", "details": f"{count} UDP listener(s) applied"})
