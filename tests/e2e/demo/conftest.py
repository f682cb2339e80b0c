"""Fixtures from tests/e2e/network/hostnet.py: a unique prefix and subnets per test, full cleanup."""

from tests.e2e.network.hostnet import host_settings, network_driver

__all__ = ["host_settings", "network_driver"]
