"""Apply a configuration to the amphora's HAProxy and start, reload or stop its master.

`apply_config` is the four-step apply of CONVENTIONS §12 minus the reload, which
the controller asks for separately (`PUT .../reload`): write the candidate, check
it with `haproxy -c`, swap it in with os.replace. A rejected candidate never
touches the active file, so the running HAProxy and its next reload are safe.

`Haproxy` drives one master-worker HAProxy (`-W -D -S master.sock`) inside the
tenant namespace. Its pid file is the only record of it: an agent restarted
while HAProxy runs adopts it, and we only ever signal a pid whose command line
names our config file. `start` and `reload` return once a new worker serves,
judged from the master's `show proc`, so a 202 means the new config is live.
`haproxy.cfg.lkg` is the config HAProxy last started or reloaded with; a failed
reload puts it back as the active file, so disk and process agree again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

from statera.agent import sockets
from statera.agent.errors import ConfigRejected, HaproxyFailed
from statera.agent.files import LbPaths, atomic_write
from statera.agent.logs import log

CHECK_TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0
RELOAD_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
KILL_TIMEOUT_S = 3.0
SERVING_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.02
_MAX_DETAILS = 16 * 1024

_T = TypeVar("_T")

# A daemonized master's stderr is /dev/null and HAProxy 2.6's master CLI has no
# `show startup-logs`, so the reason for a failed reload is not available to us.
RELOAD_FAILED_HINT = (
    "HAProxy's master could not apply the configuration although `haproxy -c` accepted it "
    "(typically an address that cannot be bound, or a missing file or resource). "
    "The agent restored the previous configuration as the active file."
)


class RunResult(NamedTuple):
    returncode: int
    output: str
    """stdout and stderr, interleaved."""


class Runner(Protocol):
    """Runs a command to completion; the seam tests replace to fake `haproxy -c`."""

    def __call__(self, argv: Sequence[str], *, timeout_s: float) -> RunResult: ...


def run_subprocess(argv: Sequence[str], *, timeout_s: float) -> RunResult:
    """Run `argv` in its own session, output to an in-memory file, killed after `timeout_s`.

    A file rather than a pipe: a daemonizing HAProxy may keep inherited pipe ends
    open, and reading a pipe to EOF would then wait for HAProxy to exit. memfd
    rather than `tempfile`, whose imports would cost every amphora memory.
    """
    with open(os.memfd_create("statera-agent-run"), "w+b") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return RunResult(127, f"cannot run {argv[0]}: {exc}")
        try:
            returncode = proc.wait(timeout=timeout_s)
            note = ""
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
            note = f"\n(killed after {timeout_s:g}s)"
        out.seek(0)
        return RunResult(returncode, out.read().decode("utf-8", errors="replace") + note)


def config_etag(text: bytes) -> str:
    """The ETag of a configuration, an MD5 hex digest as Octavia's agent sends."""
    return hashlib.md5(text, usedforsecurity=False).hexdigest()


def apply_config(paths: LbPaths, text: str, *, run: Runner, haproxy_cmd: str) -> str:
    """Validate `text` with `haproxy -c` and make it the active config; return its ETag.

    Raises ConfigRejected with HAProxy's output if the check fails; the refused
    text is kept as `haproxy.cfg.rejected` and the active config is unchanged.
    """
    atomic_write(paths.candidate, text)
    result = run([haproxy_cmd, "-c", "-f", str(paths.candidate)], timeout_s=CHECK_TIMEOUT_S)
    if result.returncode != 0:
        os.replace(paths.candidate, paths.rejected)
        raise ConfigRejected("Invalid request", _truncate(result.output))
    os.replace(paths.candidate, paths.config)
    return config_etag(text.encode())


class ProcTable(NamedTuple):
    """The master CLI's `show proc`: the master's reload counters and its workers' pids."""

    master_pid: int
    reloads: int
    failed_reloads: int
    workers: tuple[int, ...]
    old_workers: tuple[int, ...]


def parse_show_proc(text: str) -> ProcTable:
    master_pid = reloads = failed = -1
    section = "master"
    workers: list[int] = []
    old_workers: list[int] = []
    for line in text.splitlines():
        if line.startswith("#"):
            section = {"# workers": "workers", "# old workers": "old"}.get(line.strip(), "other")
            if line.startswith("#<PID>"):
                section = "master"
            continue
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        if section == "master" and fields[1] == "master":
            master_pid, reloads = int(fields[0]), int(fields[2])
            failed = 0
            if "[failed:" in line:
                failed = int(line.split("[failed:", 1)[1].split("]", 1)[0])
        elif section == "workers" and fields[1] == "worker":
            workers.append(int(fields[0]))
        elif section == "old" and fields[1] == "worker":
            old_workers.append(int(fields[0]))
    if master_pid < 0:
        raise ValueError(f"not a `show proc` reply: {text[:80]!r}")
    return ProcTable(master_pid, reloads, failed, tuple(workers), tuple(old_workers))


def process_running(pid: int) -> bool:
    """Whether `pid` exists and has not exited (a zombie waiting for its parent has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


class Haproxy:
    """The amphora's HAProxy master: start, reload, stop, adopt; not thread-safe (callers lock)."""

    def __init__(
        self,
        paths: LbPaths,
        *,
        haproxy_cmd: str,
        namespace: str,
        run: Runner = run_subprocess,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths = paths
        self.haproxy_cmd = haproxy_cmd
        self.namespace = namespace
        self._run = run
        self._clock = clock
        self._version: str | None = None

    def start_command(self) -> list[str]:
        paths = self.paths
        command = [
            self.haproxy_cmd,
            "-W",
            "-D",
            "-S",
            str(paths.master_socket),
            "-f",
            str(paths.config),
            "-p",
            str(paths.pid_file),
        ]
        if self.namespace:
            ip = shutil.which("ip") or "/usr/sbin/ip"
            return [ip, "netns", "exec", self.namespace, *command]
        return command

    def version(self) -> str:
        """HAProxy's version string (e.g. `2.6.12-1+deb12u4`), asked once."""
        if self._version is None:
            result = self._run([self.haproxy_cmd, "-v"], timeout_s=CHECK_TIMEOUT_S)
            words = result.output.split()
            if result.returncode == 0 and "version" in words:
                self._version = words[words.index("version") + 1]
            else:
                return "unknown"
        return self._version

    def apply_config(self, text: str) -> str:
        return apply_config(self.paths, text, run=self._run, haproxy_cmd=self.haproxy_cmd)

    def master_pid(self) -> int | None:
        """The pid of our running master, from the pid file; None if it is not running."""
        try:
            pid = int(self.paths.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        if pid <= 1 or not process_running(pid):
            return None
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            return None
        # A recycled pid belongs to some other program: never signal it.
        if str(self.paths.config).encode() not in argv:
            return None
        return pid

    def start(self) -> str:
        """Start HAProxy with the active config, or reload the running one (idempotent)."""
        if not self.paths.config.exists():
            raise HaproxyFailed("No configuration", f"{self.paths.config} does not exist")
        if self.master_pid() is not None:
            return self.reload()
        self.paths.pid_file.unlink(missing_ok=True)
        deadline = self._clock() + START_TIMEOUT_S
        result = self._run(self.start_command(), timeout_s=START_TIMEOUT_S)
        if result.returncode != 0:
            raise HaproxyFailed("HAProxy did not start", _truncate(result.output))
        pid = self._wait(deadline, self.master_pid, what="its pid file")
        table = self._wait(deadline, lambda: self._proc_table_with_worker(pid), what="a worker")
        self._wait_serving(table.workers[0], deadline)
        shutil.copyfile(self.paths.config, self.paths.last_known_good)
        log(f"haproxy started: master {pid}, worker {table.workers[0]}")
        return f"HAProxy started (master {pid})"

    def reload(self) -> str:
        """Reload the running HAProxy with the active config; start it if it is not running."""
        pid = self.master_pid()
        if pid is None:
            return self.start()
        deadline = self._clock() + RELOAD_TIMEOUT_S
        before = self._wait(deadline, self._proc_table, what="the master CLI")
        self._save_server_state()
        try:
            os.kill(pid, signal.SIGUSR2)
        except ProcessLookupError:
            raise HaproxyFailed("HAProxy exited before the reload", f"master {pid}") from None
        while True:
            table = self._proc_table()
            if table is not None and table.reloads > before.reloads:
                fresh = [w for w in table.workers if w not in before.workers]
                if fresh:
                    self._wait_serving(fresh[0], deadline)
                    shutil.copyfile(self.paths.config, self.paths.last_known_good)
                    log(f"haproxy reloaded: master {pid}, worker {fresh[0]}")
                    return f"HAProxy reloaded (master {pid}, worker {fresh[0]})"
                if table.failed_reloads > 0:
                    self._restore_last_known_good()
                    raise HaproxyFailed(
                        "HAProxy refused the new configuration and keeps the previous one",
                        f"{RELOAD_FAILED_HINT}\n{self._show_proc()}",
                    )
            if not process_running(pid):
                raise HaproxyFailed("HAProxy exited during reload", RELOAD_FAILED_HINT)
            if self._clock() > deadline:
                raise HaproxyFailed(
                    "HAProxy reload timed out", f"no new worker after {RELOAD_TIMEOUT_S:g}s"
                )
            time.sleep(POLL_INTERVAL_S)

    def stop(self) -> str:
        """Stop the master and its workers (SIGTERM, then SIGKILL after a deadline)."""
        pid = self.master_pid()
        if pid is None:
            self.paths.pid_file.unlink(missing_ok=True)
            return "HAProxy is not running"
        with contextlib.suppress(ProcessLookupError):  # exited meanwhile: what we wanted
            os.kill(pid, signal.SIGTERM)
        if not self._gone(pid, self._clock() + STOP_TIMEOUT_S):
            log(f"haproxy master {pid} ignored SIGTERM for {STOP_TIMEOUT_S:g}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not self._gone(pid, self._clock() + KILL_TIMEOUT_S):
                raise HaproxyFailed("HAProxy did not stop", f"master {pid} survived SIGKILL")
        self.paths.pid_file.unlink(missing_ok=True)
        log(f"haproxy stopped: master {pid}")
        return f"HAProxy stopped (master {pid})"

    def _gone(self, pid: int, deadline: float) -> bool:
        while process_running(pid):
            if self._clock() > deadline:
                return False
            time.sleep(POLL_INTERVAL_S)
        return True

    def _proc_table(self) -> ProcTable | None:
        try:
            return parse_show_proc(sockets.query(self.paths.master_socket, "show proc"))
        except (OSError, ValueError):
            return None  # the master re-executes itself on reload: the CLI comes back

    def _proc_table_with_worker(self, pid: int | None) -> ProcTable | None:
        if pid is not None and not process_running(pid):
            raise HaproxyFailed(
                "HAProxy exited while starting",
                f"master {pid} exited before its first worker ran; run `haproxy -c` and check "
                "the addresses it binds",
            )
        table = self._proc_table()
        return table if table is not None and table.workers else None

    def _wait_serving(self, worker: int, deadline: float) -> None:
        """Wait until the runtime API answers from `worker`: its event loop runs.

        Old workers stop listening once the new one is up, so the stats socket then
        reaches only the new worker. A config without the stats socket skips this.
        """
        deadline = min(deadline, self._clock() + SERVING_TIMEOUT_S)
        while self.paths.stats_socket.exists():
            try:
                info = sockets.query(self.paths.stats_socket, "show info", timeout_s=1.0)
            except OSError:
                info = ""
            if f"\nPid: {worker}\n" in info:
                return
            if self._clock() > deadline:
                log(f"haproxy worker {worker} not seen on the stats socket; continuing")
                return
            time.sleep(POLL_INTERVAL_S)

    def _save_server_state(self) -> None:
        """Dump servers' runtime state so the new worker keeps weights, drains and health."""
        try:
            state = sockets.query(self.paths.stats_socket, "show servers state")
        except OSError as exc:
            log(f"server state not saved before reload: {exc}")
            return
        atomic_write(self.paths.server_state, state.lstrip("\n"))

    def _restore_last_known_good(self) -> None:
        shutil.copyfile(self.paths.config, self.paths.rejected)
        if self.paths.last_known_good.exists():
            shutil.copyfile(self.paths.last_known_good, self.paths.config)

    def _show_proc(self) -> str:
        try:
            return sockets.query(self.paths.master_socket, "show proc").strip()
        except OSError as exc:
            return f"(show proc: {exc})"

    def _wait(self, deadline: float, probe: Callable[[], _T | None], *, what: str) -> _T:
        while True:
            value = probe()
            if value is not None:
                return value
            if self._clock() > deadline:
                raise HaproxyFailed("HAProxy did not become ready", f"timed out waiting for {what}")
            time.sleep(POLL_INTERVAL_S)


def _truncate(text: str) -> str:
    text = text.strip()
    if len(text) <= _MAX_DETAILS:
        return text
    return text[:_MAX_DETAILS] + f"\n... ({len(text) - _MAX_DETAILS} more characters)"
