"""NoopNetworkDriver: records plugs in memory, touches nothing."""

from __future__ import annotations

from statera.network.base import NetworkDriver
from statera.network.noop import NoopNetworkDriver, NoopPlug
from statera.settings import load_settings


def test_noop_network_driver_records_plugs() -> None:
    net = load_settings().networks[0]
    driver = NoopNetworkDriver()
    protocol: NetworkDriver = driver
    protocol.ensure_host_networks()
    assert driver.host_networks_ready
    protocol.plug_vip(amphora_id="a", network=net, vrrp_ip="10.0.0.5", vip="10.0.0.6")
    protocol.plug_vip(amphora_id="a", network=net, vrrp_ip="10.0.0.5", vip="10.0.0.6")
    assert driver.plugs == {"a": NoopPlug(network=net, vrrp_ip="10.0.0.5", vip="10.0.0.6")}
    protocol.unplug_vip("a")
    protocol.unplug_vip("a")
    assert driver.plugs == {}
    protocol.teardown_host_networks()
    assert not driver.host_networks_ready
