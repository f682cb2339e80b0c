"""Retrying agent calls: the `Backoff` value object and `wait_until_reachable`.

A new amphora's agent takes a while to answer; the controller waits for it with
`wait_until_reachable` instead of a loop of its own. Each failed attempt is
logged with when the next one comes, and the last with "giving up". Time is
injected (`clock`, `sleep`), so tests run instantly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from statera.agent_client.client import AgentAddress, AgentClient
from statera.agent_client.errors import AgentUnreachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts (the last one repeats) and an overall deadline, in seconds."""

    delays_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    deadline_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.delays_s or any(d < 0 for d in self.delays_s):
            raise ValueError(f"delays_s must be non-empty and non-negative, got {self.delays_s}")
        if self.deadline_s < 0:
            raise ValueError(f"deadline_s must be non-negative, got {self.deadline_s}")

    def delay_after(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        return self.delays_s[min(attempt, len(self.delays_s)) - 1]


def wait_until_reachable(
    client: AgentClient,
    address: AgentAddress,
    *,
    backoff: Backoff,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Call `GET /` until the agent answers; return its API version.

    Retries only AgentUnreachable; an agent that answers with an error is
    reachable and its AgentRejected propagates. Raises the last AgentUnreachable
    once `backoff.deadline_s` has passed.
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return client.get_api_version(address)
        except AgentUnreachable as exc:
            remaining = backoff.deadline_s - (clock() - started)
            if remaining <= 0:
                log.warning(
                    "agent of amphora %s: attempt %d failed (%s); giving up after %.1fs",
                    address.amphora_id,
                    attempt,
                    exc,
                    clock() - started,
                )
                raise
            delay = min(backoff.delay_after(attempt), remaining)
            log.info(
                "agent of amphora %s: attempt %d failed (%s); will retry in %.1fs (%.1fs left)",
                address.amphora_id,
                attempt,
                exc,
                delay,
                remaining,
            )
            sleep(delay)
