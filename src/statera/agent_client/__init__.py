"""The controller's client of amphora agents (mTLS REST over httpx); see client.AgentClient."""

from statera.agent_client.client import AgentAddress, AgentClient, HaproxyConfig
from statera.agent_client.errors import (
    AgentCertificateRejected,
    AgentError,
    AgentRejected,
    AgentResponseInvalid,
    AgentUnreachable,
)
from statera.agent_client.retry import Backoff, wait_until_reachable

__all__ = [
    "AgentAddress",
    "AgentCertificateRejected",
    "AgentClient",
    "AgentError",
    "AgentRejected",
    "AgentResponseInvalid",
    "AgentUnreachable",
    "Backoff",
    "HaproxyConfig",
    "wait_until_reachable",
]
