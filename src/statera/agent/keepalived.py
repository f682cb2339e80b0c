"""Apply a keepalived.conf and start, reload or stop the amphora's keepalived (VRRP only).

An ACTIVE_STANDBY amphora runs one keepalived in its tenant namespace, next to
HAProxy: unicast VRRP to the peer amphora, the VIPs on `eth1` while MASTER.
`apply_config` is the haproxy.py shape: write the candidate, check it with
`keepalived --config-test` (inside the namespace: keepalived checks that the
interface exists), swap it in. keepalived 2.2.7 exits 5 on any error or warning
and 0 otherwise, which makes the check usable; it does not check a missing
config file (exit 0), so the candidate is always written first.

`Keepalived` starts `keepalived --vrrp --dont-fork` detached by `setsid -f`, so
its log lines (`-l -D`, no syslog in an amphora) go to the agent's log while the
process outlives the agent; its pid file is the only record of it, and an agent
restarted while keepalived runs adopts it. We only signal a pid whose command line
names our config file. Stop is SIGTERM and a wait: a graceful stop sends priority
0 adverts, so the peer takes the VIPs over at once; a SIGKILLed keepalived would
leave the VIPs on this amphora.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from statera.agent.errors import AgentError, ConfigRejected
from statera.agent.files import LbPaths, atomic_write, read_text
from statera.agent.haproxy import Runner, process_running, run_subprocess
from statera.agent.logs import log
from statera.protocol.agent_api import VrrpState

CHECK_TIMEOUT_S = 30.0
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
KILL_TIMEOUT_S = 3.0
POLL_INTERVAL_S = 0.02
_MAX_DETAILS = 16 * 1024

_STATES: dict[str, VrrpState] = {"MASTER": "MASTER", "BACKUP": "BACKUP", "FAULT": "FAULT"}


class KeepalivedFailed(AgentError):
    """keepalived did not start or stop as asked (500, like HaproxyFailed)."""


class Spawner(Protocol):
    """Starts a long-running command detached from the agent; the seam tests replace."""

    def __call__(self, argv: list[str], *, log_to: IO[bytes] | None) -> None: ...


def spawn_detached(argv: list[str], *, log_to: IO[bytes] | None) -> None:
    """Run `argv` through `setsid -f`, output to `log_to` or the agent's stderr.

    setsid's parent exits at once and the command is reparented to init: the
    agent never has to reap it, and it survives an agent restart.
    """
    setsid = shutil.which("setsid") or "/usr/bin/setsid"
    out: IO[bytes] | int = log_to if log_to is not None else 2
    subprocess.run(
        [setsid, "-f", *argv],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        check=False,
        timeout=START_TIMEOUT_S,
    )


def apply_config(paths: LbPaths, text: str, *, run: Runner, command: list[str]) -> None:
    """Validate `text` with `<command> --config-test` and make it the active keepalived.conf.

    `command` is how keepalived runs (`ip netns exec <ns> keepalived`). Raises
    ConfigRejected with keepalived's output if the check fails; the refused text
    is kept as `keepalived.conf.rejected` and the active file is unchanged.
    """
    atomic_write(paths.keepalived_candidate, text)
    result = run(
        [*command, "--config-test", "-f", str(paths.keepalived_candidate)],
        timeout_s=CHECK_TIMEOUT_S,
    )
    if result.returncode != 0:
        os.replace(paths.keepalived_candidate, paths.keepalived_rejected)
        details = result.output.strip() or f"keepalived --config-test exited {result.returncode}"
        raise ConfigRejected("Invalid keepalived configuration", _truncate(details))
    os.replace(paths.keepalived_candidate, paths.keepalived_config)


class Keepalived:
    """The amphora's keepalived: start, reload, stop, adopt; not thread-safe (callers lock)."""

    def __init__(
        self,
        paths: LbPaths,
        *,
        keepalived_cmd: str,
        namespace: str,
        run: Runner = run_subprocess,
        spawn: Spawner = spawn_detached,
        log_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`log_file` receives keepalived's log; None means the agent's own stderr."""
        self.paths = paths
        self.keepalived_cmd = keepalived_cmd
        self.namespace = namespace
        self.log_file = log_file
        self._run = run
        self._spawn = spawn
        self._clock = clock

    def command(self) -> list[str]:
        """keepalived, inside the tenant namespace when there is one."""
        if self.namespace:
            ip = shutil.which("ip") or "/usr/sbin/ip"
            return [ip, "netns", "exec", self.namespace, self.keepalived_cmd]
        return [self.keepalived_cmd]

    def start_command(self) -> list[str]:
        paths = self.paths
        return [
            *self.command(),
            "--vrrp",
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "-f",
            str(paths.keepalived_config),
            "-p",
            str(paths.keepalived_pid),
            "-r",
            str(paths.vrrp_pid),
        ]

    def apply_config(self, text: str) -> None:
        apply_config(self.paths, text, run=self._run, command=self.command())

    def pid(self) -> int | None:
        """The pid of our running keepalived parent, from its pid file; None if not running."""
        return _our_pid(self.paths.keepalived_pid, self.paths.keepalived_config)

    def state(self) -> VrrpState | None:
        """The VRRP state the notify script last recorded; None unless keepalived runs."""
        if self.pid() is None:
            return None
        text = read_text(self.paths.vrrp_state)
        return _STATES.get(text.strip()) if text is not None else None

    def start(self) -> str:
        """Start keepalived with the active config, or reload the running one (idempotent)."""
        if not self.paths.keepalived_config.exists():
            raise KeepalivedFailed(
                "No keepalived configuration", f"{self.paths.keepalived_config} does not exist"
            )
        if self.pid() is not None:
            return self.reload()
        # keepalived refuses to start while its pid file names a live process, even an
        # unrelated one that recycled the pid: a file we did not vouch for must go.
        self.paths.keepalived_pid.unlink(missing_ok=True)
        self.paths.vrrp_pid.unlink(missing_ok=True)
        self.paths.vrrp_state.unlink(missing_ok=True)
        deadline = self._clock() + START_TIMEOUT_S
        if self.log_file is None:
            self._spawn(self.start_command(), log_to=None)
        else:
            with open(self.log_file, "ab") as log_to:
                self._spawn(self.start_command(), log_to=log_to)
        while True:
            pid = self.pid()
            vrrp = _our_pid(self.paths.vrrp_pid, self.paths.keepalived_config)
            if pid is not None and vrrp is not None:
                log(f"keepalived started: parent {pid}, vrrp {vrrp}")
                return f"keepalived started (pid {pid})"
            if self._clock() > deadline:
                raise KeepalivedFailed(
                    "keepalived did not start",
                    f"no running process in {self.paths.keepalived_pid} and "
                    f"{self.paths.vrrp_pid} after {START_TIMEOUT_S:g}s; see its log lines",
                )
            time.sleep(POLL_INTERVAL_S)

    def reload(self) -> str:
        """Make the running keepalived re-read its config (SIGHUP); start it if not running."""
        pid = self.pid()
        if pid is None:
            return self.start()
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            return self.start()
        log(f"keepalived reloaded: pid {pid}")
        return f"keepalived reloaded (pid {pid})"

    def stop(self) -> str:
        """Stop keepalived gracefully (SIGTERM; SIGKILL after a deadline); idempotent."""
        pid = self.pid()
        if pid is None:
            self._forget()
            return "keepalived is not running"
        with contextlib.suppress(ProcessLookupError):  # exited meanwhile: what we wanted
            os.kill(pid, signal.SIGTERM)
        if not self._gone(pid, self._clock() + STOP_TIMEOUT_S):
            log(f"keepalived {pid} ignored SIGTERM for {STOP_TIMEOUT_S:g}s; killing it")
            vrrp = _our_pid(self.paths.vrrp_pid, self.paths.keepalived_config)
            for victim in (pid, vrrp):
                if victim is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(victim, signal.SIGKILL)
            if not self._gone(pid, self._clock() + KILL_TIMEOUT_S):
                raise KeepalivedFailed("keepalived did not stop", f"pid {pid} survived SIGKILL")
        self._forget()
        log(f"keepalived stopped: pid {pid}")
        return f"keepalived stopped (pid {pid})"

    def _forget(self) -> None:
        for path in (self.paths.keepalived_pid, self.paths.vrrp_pid, self.paths.vrrp_state):
            path.unlink(missing_ok=True)

    def _gone(self, pid: int, deadline: float) -> bool:
        while process_running(pid):
            if self._clock() > deadline:
                return False
            time.sleep(POLL_INTERVAL_S)
        return True


def _our_pid(pid_file: Path, config: Path) -> int | None:
    """The pid in `pid_file` if that process runs and was started with `config`."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    if pid <= 1 or not process_running(pid):
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # A recycled pid belongs to some other program: never signal it.
    if str(config).encode() not in argv:
        return None
    return pid


def _truncate(text: str) -> str:
    if len(text) <= _MAX_DETAILS:
        return text
    return text[:_MAX_DETAILS] + f"\n... ({len(text) - _MAX_DETAILS} more characters)"
