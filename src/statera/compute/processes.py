"""Processes inside named network namespaces: start detached, find, stop.

A process belongs to a namespace when `/proc/PID/ns/net` is the namespace's nsfs
inode; that is how an amphora's agent, HAProxy and keepalived are found again
after a controller restart, and how `delete` makes sure nothing of an amphora
survives it. Processes are never looked up or killed by name. Signals go through
a pidfd opened after the namespace check, so a recycled PID is never signalled.

`spawn_detached` double-forks through a tiny launcher: the started process is not
a child of the caller (no zombies in a long-running controller), has its own
session, and outlives the caller.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path

from statera.compute.plumbing import HostPlumbingError, NamespaceIdentity, namespace_identity

_POLL_S = 0.02
_LAUNCH_TIMEOUT_S = 10.0

# Runs as `python -I -S -c _LAUNCHER LOG ARGV...`: starts ARGV in a new session with
# stdout/stderr appended to LOG, prints its PID and exits without waiting for it.
_LAUNCHER = """\
import os, subprocess, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                        start_new_session=True, cwd=os.path.dirname(sys.argv[1]))
sys.stdout.write(str(proc.pid))
sys.stdout.flush()
os._exit(0)
"""


def spawn_detached(argv: Sequence[str], *, log_path: Path, python: str = sys.executable) -> int:
    """Start `argv` detached (own session, stdin /dev/null, output appended to `log_path`).

    The working directory is `log_path`'s directory. Returns the new process's PID.
    """
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", _LAUNCHER, str(log_path), *argv],
            capture_output=True,
            text=True,
            timeout=_LAUNCH_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostPlumbingError(f"cannot start {argv[0]}: {exc}") from exc
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise HostPlumbingError(f"cannot start {' '.join(argv)}: {tail[0]}")
    return int(done.stdout)


def process_namespace(pid: int) -> NamespaceIdentity | None:
    """The network namespace of a live process, or None (gone, or a zombie)."""
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return (st.st_dev, st.st_ino)


def pid_in_namespace(pid: int, namespace: str) -> bool:
    """True if `pid` is alive (not a zombie) and inside the named namespace."""
    ident = namespace_identity(namespace)
    return ident is not None and process_namespace(pid) == ident


def pids_in_namespaces(identities: Collection[NamespaceIdentity]) -> list[int]:
    """PIDs of every live process whose network namespace is one of `identities`."""
    if not identities:
        return []
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            pid = int(entry.name)
            if process_namespace(pid) in identities:
                found.append(pid)
    return sorted(found)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _signal(pid: int, sig: signal.Signals, identities: Collection[NamespaceIdentity]) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        # The pidfd pins the process: check it is still one of ours, then signal it.
        if process_namespace(pid) in identities:
            signal.pidfd_send_signal(fd, sig)
    except ProcessLookupError:
        pass
    finally:
        os.close(fd)


def stop_namespace_processes(
    namespaces: Sequence[str], *, timeout_s: float = 5.0, kill_timeout_s: float = 5.0
) -> None:
    """Stop every process inside the named namespaces: SIGTERM, then SIGKILL after `timeout_s`.

    Processes that appear meanwhile (a supervisor restarting a child) get the same
    treatment. Raises HostPlumbingError if some survive SIGKILL for `kill_timeout_s`.
    """
    identities = {ident for ns in namespaces if (ident := namespace_identity(ns)) is not None}
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, kill_timeout_s)):
        signalled: set[int] = set()
        deadline = time.monotonic() + wait_s
        while True:
            pids = pids_in_namespaces(identities)
            if not pids:
                return
            for pid in pids:
                if pid not in signalled:
                    _signal(pid, sig, identities)
                    signalled.add(pid)
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
    left = pids_in_namespaces(identities)
    if left:
        raise HostPlumbingError(
            f"processes {left} in {', '.join(namespaces)} survived SIGKILL for {kill_timeout_s}s"
        )


def wait_until_in_namespace(pid: int, namespace: str, *, timeout_s: float) -> bool:
    """Wait until `pid` runs inside `namespace` (True) or has exited (False).

    Right after `ip netns exec` starts, the process is briefly still in the host's
    namespace; a check in that moment would wrongly see no agent.
    """
    target = namespace_identity(namespace)
    deadline = time.monotonic() + timeout_s
    while True:
        current = process_namespace(pid)
        if current is None:
            return False
        if current == target:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S / 4)


def read_pid_file(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(text) if text.isdigit() else None


def write_pid_file(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{pid}\n")
    os.replace(tmp, path)


def remove_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
