"""A real agent over mutual TLS on loopback, for the modules that set `AMPHORA` (its id)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.agent.agent_harness import (
    Pki,
    agent_config,
    agent_in_thread,
    make_pki,
    short_dir,
)

from statera.agent_client import AgentAddress, AgentClient


@pytest.fixture
def base_dir() -> Iterator[Path]:
    with short_dir() as path:
        yield path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def agent(request: pytest.FixtureRequest, pki: Pki, base_dir: Path) -> Iterator[AgentAddress]:
    amphora_id: str = request.module.AMPHORA
    with agent_in_thread(agent_config(pki, amphora_id=amphora_id, base_dir=base_dir)) as address:
        yield address


@pytest.fixture
def client(pki: Pki) -> Iterator[AgentClient]:
    with pki.client() as client:
        yield client
