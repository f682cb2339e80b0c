"""Errors of the amphora agent, each tied to one HTTP status in `server.STATUS_FOR`.

The agent's modules raise these; only `server.py` turns them into responses
(`{"message", "details"}` JSON). `details` carries what an operator needs to fix
the problem, HAProxy's own error text included, so keep it verbatim.

    AgentError
    ├── BadRequest           400  malformed request, unknown amphora, bad runtime command
    │   ├── ConfigRejected   400  `haproxy -c` refused the uploaded configuration
    │   └── CommandFailed    400  HAProxy's runtime API answered a command with an error
    ├── NotFound             404  no such route or load balancer on this amphora
    ├── MethodNotAllowed     405  the path exists, the method does not
    ├── Conflict             409  the request does not fit the current state
    └── HaproxyFailed        500  HAProxy did not start, reload or stop as asked
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of the agent's errors; `message` is short, `details` may be long."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(AgentError):
    pass


class ConfigRejected(BadRequest):
    pass


class CommandFailed(BadRequest):
    pass


class NotFound(AgentError):
    pass


class MethodNotAllowed(AgentError):
    def __init__(self, allowed: list[str]) -> None:
        super().__init__("Method not allowed", f"allowed: {', '.join(allowed)}")
        self.allowed = allowed


class Conflict(AgentError):
    pass


class HaproxyFailed(AgentError):
    pass
