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
        "private", "10.0.0.0/24", "10.0.0.1", "st-private"
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
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "s.conf"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert message in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.conf")
