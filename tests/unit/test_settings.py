"""Settings: defaults, the documented example file, and errors that name the key."""

from pathlib import Path

import pytest

from statera.settings import SettingsError, example_config, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "etc" / "statera.conf.example"


def test_defaults_need_no_file() -> None:
    s = load_settings()
    assert s.api.bind_host == "127.0.0.1"
    assert s.api.bind_port == 9876
    (net,) = s.networks
    assert (net.name, net.cidr, net.gateway, net.bridge) == (
        "private",
        "10.0.0.0/24",
        "10.0.0.1",
        "st-private",
    )
    assert net.subnet_name == "private-subnet"
    assert s.database_url == "sqlite:////var/lib/statera/statera.db"


def test_example_file_documents_every_option() -> None:
    assert EXAMPLE.read_text() == example_config(), (
        "etc/statera.conf.example is stale: regenerate it with "
        "`python -c 'from statera.settings import example_config; print(example_config(), end=\"\")'`"
    )


def test_example_file_loads_as_is() -> None:
    assert load_settings(EXAMPLE).api.bind_port == 9876


def test_network_ids_are_stable_and_findable_by_any_name(tmp_path: Path) -> None:
    cfg = tmp_path / "s.conf"
    cfg.write_text("[network:blue]\ncidr = 10.9.0.0/24\n")
    a, b = load_settings(cfg), load_settings(cfg)
    assert a.networks[0].id == b.networks[0].id
    net = a.networks[0]
    for key in ("blue", net.id, net.subnet_id, "blue-subnet"):
        assert a.network_named(key) == net
    assert net.gateway == "10.9.0.1"
    assert net.allocation_pool_start == "10.9.0.2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[api_settings]\nbind_port = 70000\n", "[api_settings] bind_port = '70000'"),
        ("[api_settings]\nbind_port = abc\n", "bind_port"),
        ("[api_settings]\nbogus = 1\n", "[api_settings] bogus: unknown option"),
        ("[nonsense]\n", "[nonsense]: unknown section"),
        ("[DEFAULT]\nname_prefix = TooLongPrefix\n", "name_prefix"),
        ("[DEFAULT]\nstate_dir = relative/dir\n", "state_dir"),
        ("[DEFAULT]\nstate_dir = /" + "x" * 60 + "\n", "at most 38 characters"),
        ("[network:x]\ncidr = 10.0.0.1/24\n", "[network:x] cidr"),
        ("[network:x]\ncidr = 10.0.0.0/24\ngateway = 10.1.0.1\n", "[network:x] gateway"),
        ("[network:averyveryverylongname]\ncidr = 10.0.0.0/24\n", "bridge"),
        ("[controller_worker]\ncompute_driver = nova\n", "compute_driver"),
        ("[network:x]\ncidr = fd00::/64\n", "use an IPv4 /29 or larger"),
        ("[subnet:s]\ncidr = 10.1.0.0/24\n", "[subnet:s] network: required"),
        ("[subnet:s]\nnetwork = nope\ncidr = 10.1.0.0/24\n", "no [network:nope] is declared"),
        ("[subnet:s]\nnetwork = private\ncidr = fd00::/126\n", "IPv6 /125 or larger"),
        ("[subnet:s]\nnetwork = private\ncidr = 10.0.0.128/25\n", "overlaps subnet private-subnet"),
        ("[subnet:s]\nnetwork = private\ncidr = fd00::/64\ncolour = red\n", "colour: unknown"),
        (
            "[subnet:s]\nnetwork = private\ncidr = fd00::/64\nallocation_pool_start = fd00::9\n"
            "allocation_pool_end = fd00::5\n",
            "is after the end",
        ),
        ("[subnet:private-subnet]\nnetwork = private\ncidr = fd00::/64\n", "also used by"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "s.conf"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert message in str(err.value)


def test_extra_subnets_belong_to_their_network(tmp_path: Path) -> None:
    cfg = tmp_path / "s.conf"
    cfg.write_text(
        "[network:blue]\ncidr = 10.9.0.0/24\n"
        "[subnet:blue-v6]\nnetwork = blue\ncidr = fd00:9::/64\n"
        "[subnet:blue-2]\nnetwork = blue\ncidr = 10.10.0.0/29\ngateway = 10.10.0.6\n"
    )
    settings = load_settings(cfg)
    (net,) = settings.networks
    assert [s.name for s in net.subnets] == ["blue-subnet", "blue-v6", "blue-2"]
    v6, small = net.subnets[1:]
    assert (v6.gateway, v6.allocation_pool_start, v6.allocation_pool_end) == (
        "fd00:9::1",
        "fd00:9::2",
        "fd00:9::ffff:ffff:ffff:ffff",
    )
    # A gateway at the top leaves the whole range below it to allocations.
    assert (small.allocation_pool_start, small.allocation_pool_end) == ("10.10.0.1", "10.10.0.6")
    assert {v6.network_id, small.network_id} == {net.id}
    for key in ("blue-v6", v6.id):
        assert settings.network_named(key) == net
        assert settings.subnet_named(key) == (net, v6)
    assert load_settings(cfg).subnet_named("blue-2") == (net, small)  # stable ids


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.conf")
