"""keepalived.conf rendering: golden files per case, and every field's validation.

Regenerate the goldens with `STATERA_REGEN_GOLDEN=1 pytest tests/unit/rendering`,
then read the diff. `keepalived --config-test` needs the interface to exist, so
the goldens are checked by keepalived in tests/integration/agent/test_keepalived_live.py.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import pytest

from statera.domain.specs import AmphoraRuntime, VrrpSpec
from statera.rendering.errors import UnsafeValue, UnsupportedSpec
from statera.rendering.keepalived import render_keepalived

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "keepalived"
REGENERATE = os.environ.get("STATERA_REGEN_GOLDEN") == "1"


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"statera-golden/{name}"))


RUNTIME = AmphoraRuntime(amphora_id=uid("amphora"), base_dir=f"/var/lib/statera/amp-{uid('amp')}")
LB_ID = uid("vrrp-lb")


def master(**kw: object) -> VrrpSpec:
    fields: dict[str, object] = {
        "lb_id": LB_ID,
        "router_id": 42,
        "priority": 100,
        "own_ip": "192.0.2.11",
        "peer_ips": ("192.0.2.12",),
        "vip": "192.0.2.100",
        "vip_prefixes": (("192.0.2.100", 24),),
        "auth_pass": "Ab3dE5g7",
    }
    fields.update(kw)
    return VrrpSpec(**fields)  # type: ignore[arg-type]


CASES: dict[str, VrrpSpec] = {
    "master_dual_stack": master(
        additional_vips=("2001:db8:0:1::100",),
        vip_prefixes=(("192.0.2.100", 24), ("2001:db8:0:1::100", 64)),
    ),
    "backup_ipv4": master(priority=90, own_ip="192.0.2.12", peer_ips=("192.0.2.11",)),
    "ipv6_host_routes": master(
        own_ip="2001:db8::11",
        peer_ips=("2001:db8::12",),
        vip="2001:db8::100",
        additional_vips=("198.51.100.7",),
        vip_prefixes=(),
        advert_int=2,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    text = render_keepalived(CASES[name], runtime=RUNTIME)
    golden = GOLDEN_DIR / f"{name}.conf"
    if REGENERATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} missing: run with STATERA_REGEN_GOLDEN=1"
    assert text == golden.read_text()


def test_state_follows_priority_and_only_the_backup_has_nopreempt() -> None:
    """keepalived 2.2.7 clears `nopreempt` on a MASTER with a warning that fails
    `--config-test`, so it is rendered on the BACKUP only."""
    text = render_keepalived(master(), runtime=RUNTIME)
    assert "state MASTER" in text and "priority 100" in text and "nopreempt" not in text
    text = render_keepalived(master(priority=90), runtime=RUNTIME)
    assert "state BACKUP" in text and "priority 90" in text and "nopreempt" in text


def test_vips_and_prefixes() -> None:
    text = render_keepalived(CASES["master_dual_stack"], runtime=RUNTIME)
    assert "virtual_ipaddress {\n        192.0.2.100/24 dev eth1\n    }" in text
    assert "virtual_ipaddress_excluded {\n        2001:db8:0:1::100/64 dev eth1\n    }" in text
    text = render_keepalived(master(vip_prefixes=()), runtime=RUNTIME)
    assert "192.0.2.100/32 dev eth1" in text
    assert "virtual_ipaddress_excluded" not in text


def test_ipv6_instance_has_no_authentication() -> None:
    """VRRPv3 (the only version for IPv6) has no authentication; keepalived warns."""
    text = render_keepalived(CASES["ipv6_host_routes"], runtime=RUNTIME)
    assert "authentication" not in text and "auth_pass" not in text
    assert "2001:db8::100/128 dev eth1" in text
    assert "198.51.100.7/32 dev eth1" in text


def test_no_authentication_without_a_password() -> None:
    assert "authentication" not in render_keepalived(master(auth_pass=""), runtime=RUNTIME)


def test_scripts_live_in_base_dir() -> None:
    text = render_keepalived(master(), runtime=RUNTIME)
    assert f"script {RUNTIME.base_dir}/vrrp-check.sh\n" in text
    assert f"notify {RUNTIME.base_dir}/vrrp-notify.sh\n" in text
    assert "enable_script_security" in text and "script_user root" in text


def test_addresses_are_normalised() -> None:
    text = render_keepalived(
        master(
            own_ip="2001:DB8:0::11",
            peer_ips=("2001:db8:0000::12",),
            vip="2001:db8::0100",
            vip_prefixes=(("2001:db8::100", 64),),
        ),
        runtime=RUNTIME,
    )
    assert "unicast_src_ip 2001:db8::11\n" in text
    assert "        2001:db8::12\n" in text
    assert "2001:db8::100/64 dev eth1" in text


HOSTILE = "10.0.0.1\n}\nvrrp_script x {"

BAD_FIELDS: list[tuple[str, object, str]] = [
    ("lb_id", "not-a-uuid", "vrrp.lb_id"),
    ("router_id", 0, "vrrp.router_id"),
    ("router_id", 256, "vrrp.router_id"),
    ("router_id", True, "vrrp.router_id"),
    ("priority", 0, "vrrp.priority"),
    ("priority", 255, "vrrp.priority"),
    ("own_ip", HOSTILE, "vrrp.own_ip"),
    ("own_ip", "fe80::1%eth1", "vrrp.own_ip"),
    ("own_ip", "224.0.0.18", "vrrp.own_ip"),
    ("own_ip", "0.0.0.0", "vrrp.own_ip"),
    ("peer_ips", (), "vrrp.peer_ips"),
    ("peer_ips", ("192.0.2.11",), "vrrp.peer_ips"),
    ("peer_ips", ("192.0.2.12", "192.0.2.12"), "vrrp.peer_ips"),
    ("peer_ips", ("2001:db8::12",), "vrrp.peer_ips"),
    ("peer_ips", (HOSTILE,), "vrrp.peer_ips"),
    ("vip", "192.0.2.100 dev eth0", "vrrp.vip"),
    ("additional_vips", ("192.0.2.100",), "vrrp.additional_vips"),
    ("additional_vips", ("nonsense",), "vrrp.additional_vips"),
    ("vip_prefixes", (("192.0.2.100", 33),), "vrrp.vip_prefixes"),
    ("vip_prefixes", (("192.0.2.100", 0),), "vrrp.vip_prefixes"),
    ("vip_prefixes", (("192.0.2.100", "24"),), "vrrp.vip_prefixes"),
    ("vip_prefixes", (("192.0.2.200", 24),), "vrrp.vip_prefixes"),
    ("vip_prefixes", (("192.0.2.100", 24), ("192.0.2.100", 25)), "vrrp.vip_prefixes"),
    ("auth_pass", "toolong123", "vrrp.auth_pass"),
    ("auth_pass", "pa ss", "vrrp.auth_pass"),
    ("auth_pass", "pass\n}", "vrrp.auth_pass"),
    ("advert_int", 0, "vrrp.advert_int"),
    ("advert_int", 256, "vrrp.advert_int"),
    ("interface", "eth1 }", "vrrp.interface"),
    ("interface", "a-very-long-interface", "vrrp.interface"),
]


@pytest.mark.parametrize(("field", "value", "named"), BAD_FIELDS)
def test_bad_values_are_refused(field: str, value: object, named: str) -> None:
    spec = dataclasses.replace(master(), **{field: value})
    with pytest.raises(UnsafeValue) as caught:
        render_keepalived(spec, runtime=RUNTIME)
    assert caught.value.field == named


def test_ipv6_advert_int_is_bounded_by_vrrpv3() -> None:
    spec = CASES["ipv6_host_routes"]
    render_keepalived(dataclasses.replace(spec, advert_int=40), runtime=RUNTIME)
    with pytest.raises(UnsafeValue, match="advert_int"):
        render_keepalived(dataclasses.replace(spec, advert_int=41), runtime=RUNTIME)


def test_primary_vip_of_another_family_is_unsupported() -> None:
    with pytest.raises(UnsupportedSpec, match=r"vrrp\.vip"):
        render_keepalived(master(vip="2001:db8::100", vip_prefixes=()), runtime=RUNTIME)


@pytest.mark.parametrize(
    "runtime",
    [
        AmphoraRuntime(amphora_id="amp 1", base_dir="/var/lib/statera"),
        AmphoraRuntime(amphora_id=uid("amphora"), base_dir="relative/dir"),
        AmphoraRuntime(amphora_id=uid("amphora"), base_dir="/var/lib/../etc"),
        AmphoraRuntime(amphora_id=uid("amphora"), base_dir="/var/lib/statera dir"),
    ],
)
def test_bad_runtime_is_refused(runtime: AmphoraRuntime) -> None:
    with pytest.raises(UnsafeValue):
        render_keepalived(master(), runtime=runtime)
