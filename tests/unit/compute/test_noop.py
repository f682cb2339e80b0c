"""NoopComputeDriver: remembers amphorae in memory, touches nothing."""

from __future__ import annotations

from statera.compute.base import ComputeDriver
from statera.compute.noop import NoopComputeDriver


def test_noop_compute_driver_remembers_amphorae() -> None:
    driver: ComputeDriver = NoopComputeDriver()
    assert driver.create_amphora(amphora_id="a", mgmt_ip="1.2.3.4", agent_config={}, files={}) == (
        "noop-a"
    )
    driver.create_amphora(amphora_id="a", mgmt_ip="1.2.3.4", agent_config={}, files={})
    assert driver.list_amphorae() == ["a"]
    assert driver.amphora_exists("a")
    driver.delete_amphora("a")
    driver.delete_amphora("a")
    assert not driver.amphora_exists("a")
    assert driver.list_amphorae() == []
