"""The agent's JSON config file and the file layout it implies."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from statera.agent.config import AgentConfigError, load_config, parse_config
from statera.agent.files import LbPaths, atomic_write, write_ping_wrapper


def good(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "amphora_id": "9a3e6c1f",
        "bind_host": "172.31.250.10",
        "bind_port": 9443,
        "base_dir": "/var/lib/statera/amphorae/9a3e6c1f",
        "haproxy_namespace": "st-amp-9a3e6c1f-haproxy",
        "haproxy_cmd": "/usr/sbin/haproxy",
        "server_cert": "/etc/statera/server.pem",
        "server_key": "/etc/statera/server.key",
        "client_ca": "/etc/statera/ca.pem",
    }
    config.update(overrides)
    return config


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(good()))
    assert load_config(path) == good()


def test_empty_namespace_is_allowed() -> None:
    assert parse_config(good(haproxy_namespace=""))["haproxy_namespace"] == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bind_port": "9443"}, "bind_port = '9443': expected int, got str"),
        ({"bind_port": True}, "bind_port = True: expected int, got bool"),
        ({"bind_port": 70000}, "bind_port = 70000: expected 1-65535"),
        ({"amphora_id": ""}, "amphora_id: must not be empty"),
        ({"base_dir": "relative/dir"}, "expected an absolute path"),
        ({"base_dir": "/" + "d" * 100}, "too long for UNIX socket paths"),
        ({"extra": 1}, "unknown key(s) extra"),
    ],
)
def test_bad_values_name_key_value_and_expectation(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(AgentConfigError) as info:
        parse_config(good(**overrides), source="agent.json")
    assert message in str(info.value)
    assert str(info.value).startswith("agent.json: ")


def test_missing_key_is_named() -> None:
    config = good()
    del config["client_ca"]
    with pytest.raises(AgentConfigError, match="client_ca: required"):
        parse_config(config)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(AgentConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(AgentConfigError, match="expected a JSON object"):
        load_config(tmp_path / "list.json")


def test_paths_are_flat_under_the_base_dir() -> None:
    paths = LbPaths(Path("/b"))
    assert paths.config == Path("/b/haproxy.cfg")
    assert paths.master_socket == Path("/b/master.sock")
    assert paths.stats_socket == Path("/b/haproxy.sock")
    assert paths.pid_file == Path("/b/haproxy.pid")
    assert paths.server_state == Path("/b/haproxy.state")
    assert paths.ping_wrapper == Path("/b/ping-wrapper.sh")
    assert paths.ping_wrapper not in paths.lb_files()
    assert all(p.parent == Path("/b") for p in paths.lb_files())


def test_atomic_write_sets_the_mode_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    atomic_write(target, "one")
    atomic_write(target, b"two", mode=0o640)
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_ping_wrapper_is_executable_and_uses_the_server_address(tmp_path: Path) -> None:
    paths = LbPaths(tmp_path)
    write_ping_wrapper(paths, ping="/usr/bin/ping")
    script = paths.ping_wrapper.read_text()
    assert paths.ping_wrapper.stat().st_mode & 0o755 == 0o755
    assert script.startswith("#!/bin/sh\n")
    assert '/usr/bin/ping -6 -q -n -w 1 -c 1 "$3"' in script
    assert '/usr/bin/ping -4 -q -n -w 1 -c 1 "$3"' in script


@pytest.mark.skipif(shutil.which("ping") is None, reason="needs ping")
@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_ping_wrapper_pings_loopback(tmp_path: Path, address: str) -> None:
    if ":" in address and not Path("/proc/net/if_inet6").exists():
        pytest.skip("no IPv6")
    paths = LbPaths(tmp_path)
    write_ping_wrapper(paths, ping=shutil.which("ping") or "ping")
    # HAProxy's arguments: <proxy_addr> <proxy_port> <server_addr> <server_port>
    result = subprocess.run(
        [str(paths.ping_wrapper), "0.0.0.0", "0", address, "80"], timeout=10, check=False
    )
    assert result.returncode == 0


def test_main_exit_statuses(tmp_path: Path) -> None:
    from statera.agent.__main__ import main

    assert main([]) == 2
    assert main(["--config", str(tmp_path / "missing.json")]) == 2
    path = tmp_path / "agent.json"
    path.write_text(
        json.dumps(good(server_cert=str(tmp_path / "nope.pem"), base_dir=str(tmp_path)))
    )
    assert main([f"--config={path}"]) == 1
