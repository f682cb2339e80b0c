"""Run HAProxy runtime API commands (`set server b/s weight 3`, ...) on the stats socket.

The controller changes members without a reload this way. HAProxy answers in
plain text, so failures are recognised here: each command runs in its own
session after `set severity-output number`, which prefixes HAProxy's messages
with their syslog severity (`[3]: No such backend.`); severities 0-3 and the
"Unknown command" help (which HAProxy sends at severity 6) count as failures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from statera.agent import sockets
from statera.agent.errors import BadRequest, CommandFailed

MAX_COMMANDS = 256
MAX_COMMAND_LENGTH = 4096
_ERROR_LINE = re.compile(r"^\[[0-3]\]: ", re.MULTILINE)
_UNKNOWN = re.compile(r"^(\[\d\]: )?Unknown command", re.MULTILINE)


def check_commands(commands: object) -> list[str]:
    """The commands as a list of one-line strings, or BadRequest saying what is wrong."""
    if not isinstance(commands, list) or not commands:
        raise BadRequest("Invalid request", "`commands` must be a non-empty list of strings")
    if len(commands) > MAX_COMMANDS:
        raise BadRequest("Invalid request", f"at most {MAX_COMMANDS} commands per request")
    checked: list[str] = []
    for index, command in enumerate(commands):
        if not isinstance(command, str) or not command.strip():
            raise BadRequest("Invalid request", f"commands[{index}] must be a non-empty string")
        # `;` separates commands and a newline ends one: either would smuggle in another.
        if any(c in command for c in ";\n\r\0") or len(command) > MAX_COMMAND_LENGTH:
            raise BadRequest(
                "Invalid request",
                f"commands[{index}] must be one command: no ';', newline or NUL, "
                f"at most {MAX_COMMAND_LENGTH} characters",
            )
        checked.append(command.strip())
    return checked


def is_error(output: str) -> bool:
    """Whether HAProxy's reply (with severity output on) reports a failure."""
    return bool(_ERROR_LINE.search(output) or _UNKNOWN.search(output))


def run_commands(stats_socket: Path, commands: Sequence[str]) -> list[str]:
    """Run `commands` in order; stop at the first failure with CommandFailed(its output)."""
    outputs: list[str] = []
    for index, command in enumerate(commands):
        reply = sockets.query(stats_socket, f"set severity-output number;{command}")
        # The first line is the (empty) answer to `set severity-output`.
        output = reply[1:] if reply.startswith("\n") else reply
        output = output.rstrip("\n")
        if is_error(output):
            raise CommandFailed(f"Runtime command {index} failed: {command}", output)
        outputs.append(output)
    return outputs
