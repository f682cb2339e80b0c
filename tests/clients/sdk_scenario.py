"""An openstacksdk program that builds a whole load balancer on Statera and waits for it.

Run by `test_sdk.py` with the clients' own interpreter (`.venv-clients/bin/python`),
never imported by pytest: `python sdk_scenario.py <statera base URL>`. It prints
one JSON document with what it saw, and exits non-zero on any failure.
"""

from __future__ import annotations

import json
import sys

import openstack  # type: ignore[import-not-found]

WAIT_S = 60


def main(base: str) -> None:
    conn = openstack.connection.Connection(
        auth_type="none",
        auth={"endpoint": base},
        load_balancer_endpoint_override=base,
        network_endpoint_override=base + "/",
    )
    lbaas = conn.load_balancer
    subnet = conn.network.find_subnet("private-subnet", ignore_missing=False)

    def active(lb_id: str) -> None:
        lbaas.wait_for_load_balancer(lb_id, status="ACTIVE", failures=["ERROR"], wait=WAIT_S)

    lb = lbaas.create_load_balancer(name="sdk-lb", vip_subnet_id=subnet.id)
    active(lb.id)
    listener = lbaas.create_listener(
        name="sdk-listener", protocol="HTTP", protocol_port=8080, load_balancer_id=lb.id
    )
    active(lb.id)
    pool = lbaas.create_pool(
        name="sdk-pool", protocol="HTTP", lb_algorithm="ROUND_ROBIN", listener_id=listener.id
    )
    active(lb.id)
    for i, address in enumerate(("10.0.0.210", "10.0.0.211")):
        lbaas.create_member(
            pool, name=f"sdk-m{i}", address=address, protocol_port=80, subnet_id=subnet.id
        )
        active(lb.id)
    monitor = lbaas.create_health_monitor(
        pool_id=pool.id, type="HTTP", delay=3, timeout=2, max_retries=2, url_path="/"
    )
    active(lb.id)
    lbaas.update_load_balancer(lb.id, description="built by openstacksdk")
    lb = lbaas.wait_for_load_balancer(lb.id, status="ACTIVE", failures=["ERROR"], wait=WAIT_S)
    members = sorted(m.address for m in lbaas.members(pool))
    stats = lbaas.get_load_balancer_statistics(lb.id)
    seen = {
        "lb": {"id": lb.id, "status": lb.provisioning_status, "description": lb.description},
        "vip_subnet_id": lb.vip_subnet_id,
        "subnet_id": subnet.id,
        "listener_port": lbaas.get_listener(listener.id).protocol_port,
        "pool_listeners": [x["id"] for x in lbaas.get_pool(pool.id).listeners],
        "members": members,
        "monitor_pool": lbaas.get_health_monitor(monitor.id).pools[0]["id"],
        "stats_total_connections": stats.total_connections,
        "found_by_name": lbaas.find_load_balancer("sdk-lb").id,
    }
    lbaas.delete_load_balancer(lb.id, cascade=True)
    lbaas.wait_for_delete(lbaas.get_load_balancer(lb.id), wait=WAIT_S)
    seen["after_delete"] = [x.id for x in lbaas.load_balancers(name="sdk-lb")]
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
