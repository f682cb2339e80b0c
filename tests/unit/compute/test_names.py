"""Host names of an amphora: deterministic, prefixed, and short enough for Linux."""

from __future__ import annotations

import uuid

import pytest

from statera.compute.names import (
    IFNAME_MAX,
    AmphoraNames,
    amphora_id_of_namespace,
    check_ifname,
)
from statera.demo.backends import backend_namespace, backend_veth

AMP = "3f2a9c1e-0b4d-4e8f-9a7b-1c2d3e4f5a6b"


def test_the_naming_scheme() -> None:
    names = AmphoraNames("st", AMP)
    assert names.mgmt_namespace == f"st-amp-{AMP}"
    assert names.tenant_namespace == f"st-amp-{AMP}-haproxy"
    assert names.namespaces == (names.mgmt_namespace, names.tenant_namespace)
    assert names.mgmt_veth == "st3f2a9c1em"
    assert names.tenant_veth == "st3f2a9c1et"


@pytest.mark.parametrize("prefix", ["a", "st", "t3fa", "abcde", "z9999"])
def test_interface_names_fit_in_15_characters(prefix: str) -> None:
    for _ in range(50):
        names = AmphoraNames(prefix, str(uuid.uuid4()))
        assert len(names.mgmt_veth) <= IFNAME_MAX
        assert len(names.tenant_veth) <= IFNAME_MAX
    assert len(backend_veth(prefix, 999)) <= IFNAME_MAX


def test_ids_are_canonical_uuids() -> None:
    assert AmphoraNames("st", AMP.upper()).amphora_id == AMP
    assert AmphoraNames("st", AMP.replace("-", "")).mgmt_namespace == f"st-amp-{AMP}"
    with pytest.raises(ValueError, match="not a UUID"):
        AmphoraNames("st", "../../etc")


@pytest.mark.parametrize("prefix", ["", "abcdef", "9ab", "a-b", "AB", "a b"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="name prefix"):
        AmphoraNames(prefix, AMP)


def test_namespace_names_give_back_the_amphora_id() -> None:
    names = AmphoraNames("st", AMP)
    assert amphora_id_of_namespace("st", names.mgmt_namespace) == AMP
    assert amphora_id_of_namespace("st", names.tenant_namespace) == AMP
    assert amphora_id_of_namespace("s", names.mgmt_namespace) is None  # another prefix
    assert amphora_id_of_namespace("st", f"stx-amp-{AMP}") is None
    assert amphora_id_of_namespace("st", backend_namespace("st", 1)) is None
    assert amphora_id_of_namespace("st", f"st-amp-{AMP}-other") is None


def test_prefixes_of_different_lengths_never_share_an_interface_name() -> None:
    # "st" + 8 hex + 1 and "sta" + 8 hex + 1 differ in length, so they cannot collide.
    assert len(AmphoraNames("st", AMP).mgmt_veth) != len(AmphoraNames("sta", AMP).mgmt_veth)


def test_check_ifname() -> None:
    assert check_ifname("a" * 15) == "a" * 15
    for bad in ("", "a" * 16, "a/b", "a:b", " a"):
        with pytest.raises(ValueError):
            check_ifname(bad)
