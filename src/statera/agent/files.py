"""The on-disk layout of one amphora's HAProxy and the atomic write every file goes through.

All of an amphora's files live flat in its `base_dir` (one load balancer per
amphora), except the TLS files of the load balancer, which live in `certs/`
(0700, files 0600): the rendered haproxy.cfg names the same sockets, state file
and `certs/<name>` paths, so the controller's renderer and `LbPaths` must agree. Writers never leave a half
file behind: `atomic_write` writes a temporary sibling, fsyncs and renames.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import threading
from pathlib import Path
from typing import NamedTuple

from statera.protocol.agent_api import is_certificate_name

PING_WRAPPER = """#!/bin/sh
# External check for PING health monitors, written by the Statera agent.
# HAProxy runs it as: ping-wrapper.sh <proxy_addr> <proxy_port> <server_addr> <server_port>
case "$3" in
  *:*) exec {ping} -6 -q -n -w 1 -c 1 "$3" >/dev/null 2>&1 ;;
  *) exec {ping} -4 -q -n -w 1 -c 1 "$3" >/dev/null 2>&1 ;;
esac
"""


VRRP_CHECK_SCRIPT = """#!/bin/sh
# keepalived's vrrp_script, written by the Statera agent: exit 0 while this
# amphora's HAProxy master runs, i.e. its pid file names a live process
# started with our configuration (a recycled pid or a zombie does not count).
{{ read -r pid < {pid_file}; }} 2>/dev/null || exit 1
case "$pid" in ''|*[!0-9]*) exit 1 ;; esac
tr '\\0' '\\n' < /proc/"$pid"/cmdline 2>/dev/null | grep -qxF -- {config}
"""

VRRP_NOTIFY_SCRIPT = """#!/bin/sh
# keepalived's notify script, written by the Statera agent. keepalived runs it as
# <script> INSTANCE <name> MASTER|BACKUP|FAULT|STOP <priority>; the state goes to
# a file the agent reports in GET /1.0/status (renamed into place, never half-written).
case "$3" in MASTER|BACKUP|FAULT|STOP) ;; *) exit 0 ;; esac
printf '%s\\n' "$3" > {state}.$$ && mv -f {state}.$$ {state}
"""


class LbPaths(NamedTuple):
    """Where the files of the amphora's HAProxy live; all under `base`."""

    base: Path

    @property
    def config(self) -> Path:
        """The active configuration: validated, what HAProxy loads on start and reload."""
        return self.base / "haproxy.cfg"

    @property
    def candidate(self) -> Path:
        return self.base / "haproxy.cfg.new"

    @property
    def last_known_good(self) -> Path:
        """The configuration HAProxy last started or reloaded with successfully."""
        return self.base / "haproxy.cfg.lkg"

    @property
    def rejected(self) -> Path:
        """The last configuration `haproxy -c` or a reload refused, kept for diagnosis."""
        return self.base / "haproxy.cfg.rejected"

    @property
    def master_socket(self) -> Path:
        return self.base / "master.sock"

    @property
    def stats_socket(self) -> Path:
        """`stats socket <this> mode 600 level admin` in the rendered config."""
        return self.base / "haproxy.sock"

    @property
    def pid_file(self) -> Path:
        return self.base / "haproxy.pid"

    @property
    def server_state(self) -> Path:
        """`server-state-file <this>` in the rendered config; dumped before each reload."""
        return self.base / "haproxy.state"

    @property
    def lb_marker(self) -> Path:
        """Holds the id of the load balancer this amphora serves."""
        return self.base / "lb_id"

    @property
    def ping_wrapper(self) -> Path:
        """`external-check command <this>` for PING monitors."""
        return self.base / "ping-wrapper.sh"

    @property
    def keepalived_config(self) -> Path:
        """keepalived's active configuration (`-f`), checked by `keepalived --config-test`."""
        return self.base / "keepalived.conf"

    @property
    def keepalived_candidate(self) -> Path:
        return self.base / "keepalived.conf.new"

    @property
    def keepalived_rejected(self) -> Path:
        """The last configuration `keepalived --config-test` refused, kept for diagnosis."""
        return self.base / "keepalived.conf.rejected"

    @property
    def keepalived_pid(self) -> Path:
        """keepalived's parent process (`-p`); the agent signals this pid."""
        return self.base / "keepalived.pid"

    @property
    def vrrp_pid(self) -> Path:
        """keepalived's VRRP child process (`-r`)."""
        return self.base / "vrrp.pid"

    @property
    def vrrp_check_script(self) -> Path:
        """`vrrp_script` of keepalived.conf (`rendering.keepalived.CHECK_SCRIPT`)."""
        return self.base / "vrrp-check.sh"

    @property
    def vrrp_notify_script(self) -> Path:
        """`notify` of keepalived.conf (`rendering.keepalived.NOTIFY_SCRIPT`)."""
        return self.base / "vrrp-notify.sh"

    @property
    def vrrp_state(self) -> Path:
        """The last VRRP state the notify script recorded: MASTER, BACKUP, FAULT or STOP."""
        return self.base / "vrrp.state"

    @property
    def udp_config(self) -> Path:
        """The last UdpConfig applied (JSON), re-applied when the agent restarts."""
        return self.base / "udp.json"

    @property
    def certs_dir(self) -> Path:
        """The load balancer's certificates, keys, CAs and CRLs; `crt <this>/<name>` etc."""
        return self.base / "certs"

    def certificate(self, name: str) -> Path:
        """The path of a TLS file; `name` must pass `protocol.agent_api.is_certificate_name`."""
        if not is_certificate_name(name):
            raise ValueError(f"not a certificate file name: {name!r}")
        return self.certs_dir / name

    def lb_files(self) -> tuple[Path, ...]:
        """Every file a DELETE of the load balancer removes (not the agent's own files);
        `certs_dir` goes with them."""
        return (
            self.config,
            self.candidate,
            self.last_known_good,
            self.rejected,
            self.master_socket,
            self.stats_socket,
            self.pid_file,
            self.server_state,
            self.lb_marker,
            self.keepalived_config,
            self.keepalived_candidate,
            self.keepalived_rejected,
            self.keepalived_pid,
            self.vrrp_pid,
            self.vrrp_state,
            self.udp_config,
        )


def atomic_write(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    raw = data.encode() if isinstance(data, str) else data
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)  # the umask may have narrowed the mode given to open
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def read_text(path: Path) -> str | None:
    """The file's text, or None if it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_ping_wrapper(paths: LbPaths, *, ping: str) -> None:
    atomic_write(paths.ping_wrapper, PING_WRAPPER.format(ping=ping), mode=0o755)


def write_vrrp_scripts(paths: LbPaths) -> None:
    """Write keepalived's check and notify scripts, 0700: with `enable_script_security`
    keepalived runs them (as root) only if no one but root can change them."""
    atomic_write(
        paths.vrrp_check_script,
        VRRP_CHECK_SCRIPT.format(
            pid_file=shlex.quote(str(paths.pid_file)), config=shlex.quote(str(paths.config))
        ),
        mode=0o700,
    )
    atomic_write(
        paths.vrrp_notify_script,
        VRRP_NOTIFY_SCRIPT.format(state=shlex.quote(str(paths.vrrp_state))),
        mode=0o700,
    )


def ensure_certs_dir(paths: LbPaths) -> Path:
    """Create `certs/` as 0700 (whatever the umask) and return it."""
    paths.certs_dir.mkdir(mode=0o700, exist_ok=True)
    paths.certs_dir.chmod(0o700)
    return paths.certs_dir


def stored_certificates(paths: LbPaths) -> dict[str, bytes]:
    """Name -> content of every TLS file in `certs/` (temporary files left out)."""
    try:
        entries = list(paths.certs_dir.iterdir())
    except FileNotFoundError:
        return {}
    found: dict[str, bytes] = {}
    for entry in sorted(entries):
        if is_certificate_name(entry.name) and entry.is_file():
            try:
                found[entry.name] = entry.read_bytes()
            except FileNotFoundError:  # deleted meanwhile
                continue
    return found


def remove_certs_dir(paths: LbPaths) -> None:
    """Remove `certs/` and everything in it; absent is fine."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(paths.certs_dir)
