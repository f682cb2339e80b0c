"""What can go wrong talking to an amphora agent, without a trace of httpx.

`client.py` translates every httpx exception here with `raise ... from exc`, so
callers (controller steps) decide temporary vs permanent from these classes
alone:

    AgentError
    ├── AgentUnreachable             no answer: connection, TLS or timeout failure (temporary)
    │   └── AgentCertificateRejected the peer's certificate is not this amphora's
    ├── AgentRejected                the agent answered an error status (4xx permanent, 5xx not)
    └── AgentResponseInvalid         the agent answered 2xx with a body we cannot read
"""

from __future__ import annotations

MAX_DETAIL_CHARS = 2000


def truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


class AgentError(Exception):
    """Base of every agent-client failure; `amphora_id` says which agent."""

    def __init__(self, message: str, *, amphora_id: str) -> None:
        super().__init__(message)
        self.amphora_id = amphora_id


class AgentUnreachable(AgentError):
    """No usable answer: refused, reset, timed out, or TLS failed."""


class AgentCertificateRejected(AgentUnreachable):
    """The TLS peer is not signed by Statera's CA or its name is not the amphora id."""


class AgentRejected(AgentError):
    """The agent answered with an error status; `detail` is its message and details, truncated."""

    def __init__(self, status: int, detail: str, *, amphora_id: str) -> None:
        super().__init__(
            f"agent of amphora {amphora_id} answered {status}: {detail}", amphora_id=amphora_id
        )
        self.status = status
        self.detail = detail


class AgentResponseInvalid(AgentError):
    """A success status with a body that does not match the protocol."""
