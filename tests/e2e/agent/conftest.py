"""Fixtures from agent_world.py (a real agent process, HAProxy, backends, a namespace)."""

from tests.e2e.agent.agent_world import amphora_factory, backend, namespace

__all__ = ["amphora_factory", "backend", "namespace"]
