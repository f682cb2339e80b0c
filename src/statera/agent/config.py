"""Read and check the agent's JSON configuration file (`AgentConfig`).

The compute driver writes this file when it builds an amphora; `__main__` reads
it once at startup. Every key is required and type-checked here, so that a bad
file stops the agent at once with a message naming the key, the value and the
expected type, instead of failing on the first request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from statera.protocol.agent_api import AgentConfig

_FIELDS: dict[str, type] = {
    "amphora_id": str,
    "bind_host": str,
    "bind_port": int,
    "base_dir": str,
    "haproxy_namespace": str,
    "haproxy_cmd": str,
    "server_cert": str,
    "server_key": str,
    "client_ca": str,
}
_MAY_BE_EMPTY = {"haproxy_namespace"}
# sun_path holds 108 bytes with the terminating NUL; the longest socket name is master.sock.
_UNIX_PATH_MAX = 107
_LONGEST_SOCKET_NAME = "master.sock"


class AgentConfigError(ValueError):
    """The configuration file cannot be used; the message says which key and why."""


def load_config(path: Path) -> AgentConfig:
    """Parse and check the file at `path`."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise AgentConfigError(f"{path}: not valid JSON: {exc}") from exc
    return parse_config(raw, source=str(path))


def parse_config(raw: Any, *, source: str = "<config>") -> AgentConfig:
    """Check a decoded JSON value against `AgentConfig` and return it."""
    if not isinstance(raw, dict):
        raise AgentConfigError(f"{source}: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise AgentConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
    for key, kind in _FIELDS.items():
        if key not in raw:
            raise AgentConfigError(f"{source}: {key}: required ({kind.__name__})")
        value = raw[key]
        # bool is an int subclass; a port of `true` is a mistake, not 1.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise AgentConfigError(
                f"{source}: {key} = {value!r}: expected {kind.__name__}, got {type(value).__name__}"
            )
        if kind is str and not value and key not in _MAY_BE_EMPTY:
            raise AgentConfigError(f"{source}: {key}: must not be empty")
    port = raw["bind_port"]
    if not 1 <= port <= 65535:
        raise AgentConfigError(f"{source}: bind_port = {port!r}: expected 1-65535")
    base = raw["base_dir"]
    if not Path(base).is_absolute():
        raise AgentConfigError(f"{source}: base_dir = {base!r}: expected an absolute path")
    longest = len(str(Path(base) / _LONGEST_SOCKET_NAME).encode())
    if longest > _UNIX_PATH_MAX:
        raise AgentConfigError(
            f"{source}: base_dir = {base!r}: too long for UNIX socket paths "
            f"({longest} > {_UNIX_PATH_MAX} bytes with {_LONGEST_SOCKET_NAME})"
        )
    config: AgentConfig = {
        "amphora_id": raw["amphora_id"],
        "bind_host": raw["bind_host"],
        "bind_port": port,
        "base_dir": base,
        "haproxy_namespace": raw["haproxy_namespace"],
        "haproxy_cmd": raw["haproxy_cmd"],
        "server_cert": raw["server_cert"],
        "server_key": raw["server_key"],
        "client_ca": raw["client_ca"],
    }
    return config
