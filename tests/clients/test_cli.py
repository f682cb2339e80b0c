"""`openstack loadbalancer ...` (python-octaviaclient) against a running Statera, no Keystone.

The invocation is the README's: `OS_AUTH_TYPE=none`, `OS_ENDPOINT=<statera>`,
`OS_NETWORK_ENDPOINT_OVERRIDE=<statera>/`, so the CLI's network lookups
(`--vip-subnet-id private-subnet`, member `--subnet-id`) go to Statera's
Neutron view. The walkthrough follows Octavia's basic cookbook, every write
with `--wait`; each command is a real subprocess with a deadline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.clients.cli import Cli


@pytest.fixture(scope="module")
def cli(clients_bin: Path, client_env: dict[str, str]) -> Cli:
    return Cli(clients_bin, client_env)


def test_network_view_through_openstackclient(cli: Cli) -> None:
    nets = cli.json("network", "list")
    assert [n["Name"] for n in nets] == ["private"]
    subnet = cli.json("subnet", "show", "private-subnet")
    assert subnet["cidr"] == "10.0.0.0/24"
    assert subnet["network_id"] == nets[0]["ID"]
    v6 = cli.json("subnet", "show", "private-v6-subnet")
    assert sorted(cli.json("network", "show", "private")["subnets"]) == sorted(
        [subnet["id"], v6["id"]]
    )


@pytest.mark.timeout(900)
def test_walkthrough(cli: Cli) -> None:
    subnet_id = cli.json("subnet", "show", "private-subnet")["id"]
    lb = cli.json(
        "loadbalancer", "create", "--name", "lb1", "--vip-subnet-id", "private-subnet", "--wait"
    )
    assert lb["vip_subnet_id"] == subnet_id
    assert lb["provisioning_status"] == "ACTIVE"
    lb_id = lb["id"]

    listener = cli.json(
        "loadbalancer", "listener", "create", "--name", "listener1", "--protocol", "HTTP",
        "--protocol-port", "80", "--wait", "lb1",
    )  # fmt: skip
    assert listener["protocol_port"] == 80
    pool = cli.json(
        "loadbalancer", "pool", "create", "--name", "pool1", "--lb-algorithm", "ROUND_ROBIN",
        "--listener", "listener1", "--protocol", "HTTP", "--wait",
    )  # fmt: skip
    assert pool["lb_algorithm"] == "ROUND_ROBIN"
    m1 = cli.json(
        "loadbalancer", "member", "create", "--name", "m1", "--subnet-id", "private-subnet",
        "--address", "10.0.0.200", "--protocol-port", "8080", "--wait", "pool1",
    )  # fmt: skip
    assert m1["subnet_id"] == subnet_id
    m2 = cli.json(
        "loadbalancer", "member", "create", "--name", "m2", "--address", "10.0.0.201",
        "--protocol-port", "8080", "--weight", "3", "--wait", "pool1",
    )  # fmt: skip
    assert m2["weight"] == 3
    hm = cli.json(
        "loadbalancer", "healthmonitor", "create", "--name", "hm1", "--delay", "5",
        "--max-retries", "4", "--timeout", "10", "--type", "HTTP", "--url-path", "/healthcheck",
        "--wait", "pool1",
    )  # fmt: skip
    assert hm["url_path"] == "/healthcheck"

    shown = cli.json("loadbalancer", "show", "lb1")
    assert shown["provisioning_status"] == "ACTIVE"
    assert listener["id"] in str(shown["listeners"])

    status = json.loads(cli("loadbalancer", "status", "show", "lb1"))["loadbalancer"]
    assert status["id"] == lb_id
    tree_pool = status["listeners"][0]["pools"][0]
    assert tree_pool["health_monitor"]["id"] == hm["id"]
    assert sorted(m["address"] for m in tree_pool["members"]) == ["10.0.0.200", "10.0.0.201"]

    stats = cli.json("loadbalancer", "stats", "show", "lb1")
    assert set(stats) >= {"active_connections", "bytes_in", "bytes_out", "total_connections"}
    assert cli.json("loadbalancer", "listener", "stats", "show", "listener1")["bytes_in"] == 0

    # list, with the filters the CLI turns into query parameters
    assert [x["id"] for x in cli.json("loadbalancer", "list", "--name", "lb1")] == [lb_id]
    assert [x["id"] for x in cli.json("loadbalancer", "listener", "list")] == [listener["id"]]
    assert [x["id"] for x in cli.json("loadbalancer", "pool", "list")] == [pool["id"]]
    members = cli.json("loadbalancer", "member", "list", "pool1")
    assert sorted(x["id"] for x in members) == sorted([m1["id"], m2["id"]])
    assert [x["id"] for x in cli.json("loadbalancer", "healthmonitor", "list")] == [hm["id"]]

    # set / unset, each waiting for ACTIVE again
    cli("loadbalancer", "set", "--description", "web tier", "--wait", "lb1")
    assert cli.json("loadbalancer", "show", "lb1")["description"] == "web tier"
    cli("loadbalancer", "unset", "--description", "--wait", "lb1")
    assert cli.json("loadbalancer", "show", "lb1")["description"] == ""

    cli("loadbalancer", "listener", "set", "--connection-limit", "100", "--wait", "listener1")
    assert cli.json("loadbalancer", "listener", "show", "listener1")["connection_limit"] == 100
    cli("loadbalancer", "listener", "unset", "--connection-limit", "--wait", "listener1")
    assert cli.json("loadbalancer", "listener", "show", "listener1")["connection_limit"] == -1

    cli("loadbalancer", "pool", "set", "--lb-algorithm", "LEAST_CONNECTIONS", "--wait", "pool1")
    assert cli.json("loadbalancer", "pool", "show", "pool1")["lb_algorithm"] == (
        "LEAST_CONNECTIONS"
    )
    cli("loadbalancer", "pool", "set", "--description", "backends", "--wait", "pool1")
    cli("loadbalancer", "pool", "unset", "--description", "--wait", "pool1")
    assert cli.json("loadbalancer", "pool", "show", "pool1")["description"] == ""

    cli("loadbalancer", "member", "set", "--weight", "7", "--wait", "pool1", "m2")
    assert cli.json("loadbalancer", "member", "show", "pool1", "m2")["weight"] == 7
    cli("loadbalancer", "member", "unset", "--weight", "--wait", "pool1", "m2")
    assert cli.json("loadbalancer", "member", "show", "pool1", "m2")["weight"] == 1

    cli("loadbalancer", "healthmonitor", "set", "--delay", "7", "--wait", "hm1")
    assert cli.json("loadbalancer", "healthmonitor", "show", "hm1")["delay"] == 7
    cli("loadbalancer", "healthmonitor", "unset", "--url-path", "--wait", "hm1")
    assert cli.json("loadbalancer", "healthmonitor", "show", "hm1")["url_path"] == "/"

    # the VIP port is visible through the Network API too
    ports = cli.json("port", "list", "--device-id", lb_id)
    assert [p["ID"] for p in ports] == [lb["vip_port_id"]]

    # delete, child first, each waiting
    cli("loadbalancer", "healthmonitor", "delete", "--wait", "hm1")
    cli("loadbalancer", "member", "delete", "--wait", "pool1", "m1")
    assert [x["id"] for x in cli.json("loadbalancer", "member", "list", "pool1")] == [m2["id"]]
    cli("loadbalancer", "pool", "delete", "--wait", "pool1")
    cli("loadbalancer", "listener", "delete", "--wait", "listener1")
    cli("loadbalancer", "delete", "--wait", "lb1")
    assert cli.json("loadbalancer", "list") == []
    assert "Unable to locate lb1" in cli.fails("loadbalancer", "show", "lb1")


def test_vip_network_by_name_and_cascade_delete(cli: Cli) -> None:
    network_id = cli.json("network", "show", "private")["id"]
    lb = cli.json(
        "loadbalancer", "create", "--name", "lb2", "--vip-network-id", "private", "--wait"
    )
    assert lb["vip_network_id"] == network_id
    cli(
        "loadbalancer", "listener", "create", "--name", "l2", "--protocol", "TCP",
        "--protocol-port", "5000", "--wait", "lb2",
    )  # fmt: skip
    cli("loadbalancer", "delete", "--cascade", "--wait", "lb2")
    assert cli.json("loadbalancer", "listener", "list") == []


def test_additional_vip_on_a_subnet_by_name(cli: Cli) -> None:
    v6 = cli.json("subnet", "show", "private-v6-subnet")
    assert v6["ip_version"] == 6
    lb = cli.json(
        "loadbalancer", "create", "--name", "dual", "--vip-subnet-id", "private-subnet",
        "--additional-vip", "subnet-id=private-v6-subnet", "--wait",
    )  # fmt: skip
    assert lb["additional_vips"] == [{"subnet_id": v6["id"], "ip_address": "fd00:5a::2"}]
    cli("loadbalancer", "delete", "--wait", "dual")


def test_vip_security_groups_by_name(cli: Cli) -> None:
    sg = cli.json("security", "group", "create", "web")
    rule = cli.json(
        "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", "web"
    )
    assert (rule["port_range_min"], rule["port_range_max"]) == (80, 80)
    lb = cli.json(
        "loadbalancer", "create", "--name", "guarded", "--vip-subnet-id", "private-subnet",
        "--vip-sg-id", "web", "--wait",
    )  # fmt: skip
    assert lb["vip_sg_ids"] == [sg["id"]]
    assert "in use" in cli.fails("security", "group", "delete", "web")
    cli("loadbalancer", "unset", "--vip-sg-id", "--wait", "guarded")
    assert cli.json("loadbalancer", "show", "guarded")["vip_sg_ids"] == []
    cli("security", "group", "delete", "web")
    cli("loadbalancer", "delete", "--wait", "guarded")


def test_errors_reach_the_user(cli: Cli) -> None:
    assert "Unable to locate no-such-subnet" in cli.fails(
        "loadbalancer", "create", "--name", "bad", "--vip-subnet-id", "no-such-subnet"
    )
    assert cli.json("loadbalancer", "list", "--name", "bad") == []


@pytest.mark.timeout(900)
def test_l7_policies_and_rules(cli: Cli) -> None:
    cli("loadbalancer", "create", "--name", "lb7", "--vip-subnet-id", "private-subnet", "--wait")
    cli(
        "loadbalancer", "listener", "create", "--name", "l7l", "--protocol", "HTTP",
        "--protocol-port", "80", "--wait", "lb7",
    )  # fmt: skip
    pool = cli.json(
        "loadbalancer", "pool", "create", "--name", "l7p", "--lb-algorithm", "ROUND_ROBIN",
        "--loadbalancer", "lb7", "--protocol", "HTTP", "--wait",
    )  # fmt: skip
    policy = cli.json(
        "loadbalancer", "l7policy", "create", "--name", "api", "--action", "REDIRECT_TO_POOL",
        "--redirect-pool", "l7p", "--wait", "l7l",
    )  # fmt: skip
    assert policy["redirect_pool_id"] == pool["id"]
    rule = cli.json(
        "loadbalancer", "l7rule", "create", "--compare-type", "STARTS_WITH", "--type", "PATH",
        "--value", "/api", "--wait", "api",
    )  # fmt: skip
    assert rule["value"] == "/api"
    assert [r["id"] for r in cli.json("loadbalancer", "l7rule", "list", "api")] == [rule["id"]]
    cli("loadbalancer", "l7rule", "set", "--value", "/v2", "--wait", "api", rule["id"])
    assert cli.json("loadbalancer", "l7rule", "show", "api", rule["id"])["value"] == "/v2"
    cli("loadbalancer", "l7policy", "set", "--description", "api calls", "--wait", "api")
    cli("loadbalancer", "l7policy", "unset", "--description", "--wait", "api")
    assert cli.json("loadbalancer", "l7policy", "show", "api")["description"] == ""
    assert [p["name"] for p in cli.json("loadbalancer", "l7policy", "list")] == ["api"]
    cli("loadbalancer", "l7rule", "delete", "--wait", "api", rule["id"])
    cli("loadbalancer", "l7policy", "delete", "--wait", "api")
    assert cli.json("loadbalancer", "l7policy", "list") == []
    cli("loadbalancer", "delete", "--cascade", "--wait", "lb7")


def test_quotas(cli: Cli) -> None:
    defaults = cli.json("loadbalancer", "quota", "defaults", "show")
    assert defaults["load_balancer"] == -1
    # Without Keystone the project is taken as given (Statera answers the CLI's
    # identity lookup with Keystone's 403, as a cloud does for a non-admin user).
    assert (
        cli.json("loadbalancer", "quota", "set", "--loadbalancer", "5", "proj-q")["load_balancer"]
        == 5
    )
    assert cli.json("loadbalancer", "quota", "show", "proj-q")["load_balancer"] == 5
    assert "proj-q" in cli("loadbalancer", "quota", "list")
    cli("loadbalancer", "quota", "reset", "proj-q")
    assert cli.json("loadbalancer", "quota", "show", "proj-q")["load_balancer"] == -1


def test_flavors_and_availability_zones(cli: Cli) -> None:
    profile = cli.json(
        "loadbalancer", "flavorprofile", "create", "--name", "fp-single", "--provider", "amphora",
        "--flavor-data", '{"loadbalancer_topology": "SINGLE"}',
    )  # fmt: skip
    flavor = cli.json(
        "loadbalancer", "flavor", "create", "--name", "single", "--flavorprofile", "fp-single",
        "--enable",
    )  # fmt: skip
    assert flavor["flavor_profile_id"] == profile["id"]
    cli("loadbalancer", "flavor", "set", "--description", "one amphora", "single")
    assert cli.json("loadbalancer", "flavor", "show", "single")["description"] == "one amphora"
    assert [f["name"] for f in cli.json("loadbalancer", "flavor", "list")] == ["single"]
    assert [p["name"] for p in cli.json("loadbalancer", "flavorprofile", "list")] == ["fp-single"]
    azp = cli.json(
        "loadbalancer", "availabilityzoneprofile", "create", "--name", "azp", "--provider",
        "amphora", "--availability-zone-data", "{}",
    )  # fmt: skip
    az = cli.json(
        "loadbalancer", "availabilityzone", "create", "--name", "zone-a",
        "--availabilityzoneprofile", "azp",
    )  # fmt: skip
    assert az["availability_zone_profile_id"] == azp["id"]
    assert [z["name"] for z in cli.json("loadbalancer", "availabilityzone", "list")] == ["zone-a"]
    cli("loadbalancer", "availabilityzone", "delete", "zone-a")
    cli("loadbalancer", "availabilityzoneprofile", "delete", "azp")
    cli("loadbalancer", "flavor", "delete", "single")
    cli("loadbalancer", "flavorprofile", "delete", "fp-single")
    assert cli.json("loadbalancer", "flavor", "list") == []


@pytest.mark.timeout(900)
def test_amphorae_providers_and_failover(cli: Cli) -> None:
    providers = {p["name"] for p in cli.json("loadbalancer", "provider", "list")}
    assert "amphora" in providers
    capabilities = cli.json("loadbalancer", "provider", "capability", "list", "amphora")
    assert any(c["name"] == "loadbalancer_topology" for c in capabilities)
    lb = cli.json(
        "loadbalancer", "create", "--name", "lb3", "--vip-subnet-id", "private-subnet", "--wait"
    )
    amphorae = cli.json("loadbalancer", "amphora", "list", "--loadbalancer", lb["id"])
    assert [a["loadbalancer_id"] for a in amphorae] == [lb["id"]]
    amp_id = amphorae[0]["id"]
    assert cli.json("loadbalancer", "amphora", "show", amp_id)["loadbalancer_id"] == lb["id"]
    assert "total_connections" in cli.json("loadbalancer", "amphora", "stats", "show", amp_id)
    cli("loadbalancer", "amphora", "failover", "--wait", amp_id)
    cli("loadbalancer", "failover", "--wait", "lb3")
    assert cli.json("loadbalancer", "show", "lb3")["provisioning_status"] == "ACTIVE"
    cli("loadbalancer", "delete", "--wait", "lb3")


@pytest.mark.timeout(900)
def test_active_standby_flavor_and_udp(cli: Cli) -> None:
    """An ACTIVE_STANDBY flavor gives a MASTER and a BACKUP amphora; the README's UDP
    commands build a UDP listener, pool, member and UDP-CONNECT monitor."""
    cli(
        "loadbalancer", "flavorprofile", "create", "--name", "fp-ha", "--provider", "amphora",
        "--flavor-data", '{"loadbalancer_topology": "ACTIVE_STANDBY"}',
    )  # fmt: skip
    cli("loadbalancer", "flavor", "create", "--name", "ha", "--flavorprofile", "fp-ha", "--enable")
    lb = cli.json(
        "loadbalancer", "create", "--name", "lb-ha", "--vip-subnet-id", "private-subnet",
        "--flavor", "ha", "--wait",
    )  # fmt: skip
    amphorae = cli.json("loadbalancer", "amphora", "list", "--loadbalancer", lb["id"])
    assert sorted(a["role"] for a in amphorae) == ["BACKUP", "MASTER"]

    cli(
        "loadbalancer", "listener", "create", "--name", "dns", "--protocol", "UDP",
        "--protocol-port", "53", "--wait", "lb-ha",
    )  # fmt: skip
    cli(
        "loadbalancer", "pool", "create", "--name", "dns", "--listener", "dns", "--protocol",
        "UDP", "--lb-algorithm", "SOURCE_IP", "--wait",
    )  # fmt: skip
    cli(
        "loadbalancer", "member", "create", "--address", "10.0.0.254", "--protocol-port", "53",
        "--wait", "dns",
    )  # fmt: skip
    hm = cli.json(
        "loadbalancer", "healthmonitor", "create", "--type", "UDP-CONNECT", "--delay", "3",
        "--timeout", "2", "--max-retries", "2", "--wait", "dns",
    )  # fmt: skip
    assert hm["type"] == "UDP-CONNECT"
    error = cli.fails("loadbalancer", "pool", "set", "--lb-algorithm", "LEAST_CONNECTIONS", "dns")
    assert "LEAST_CONNECTIONS is not yet supported for UDP pools" in error
    cli("loadbalancer", "delete", "--cascade", "--wait", "lb-ha")
    cli("loadbalancer", "flavor", "delete", "ha")
    cli("loadbalancer", "flavorprofile", "delete", "fp-ha")
