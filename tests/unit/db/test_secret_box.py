"""SecretBox: sealed payloads open only with their key and their secret id; the key file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from statera.db.secret_box import (
    KEY_BYTES,
    SecretBox,
    SecretUnreadable,
    load_or_create_key,
    secret_box,
)
from statera.settings import load_settings


def test_seal_and_open() -> None:
    box = SecretBox(os.urandom(KEY_BYTES))
    sealed = box.seal(b"payload", secret_id="s1")
    assert sealed[0] == 1 and b"payload" not in sealed
    assert box.open(sealed, secret_id="s1") == b"payload"
    assert box.seal(b"payload", secret_id="s1") != sealed  # a fresh nonce every time


def test_sealed_payload_is_bound_to_its_secret_and_key() -> None:
    box = SecretBox(os.urandom(KEY_BYTES))
    sealed = box.seal(b"payload", secret_id="s1")
    with pytest.raises(SecretUnreadable, match="s2"):
        box.open(sealed, secret_id="s2")
    with pytest.raises(SecretUnreadable):
        SecretBox(os.urandom(KEY_BYTES)).open(sealed, secret_id="s1")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretUnreadable):
        box.open(tampered, secret_id="s1")
    with pytest.raises(SecretUnreadable, match="format"):
        box.open(b"\x02" + sealed[1:], secret_id="s1")
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox(b"short")


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "pki" / "secrets.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_key(path)))]
    threads += [threading.Thread(target=lambda: keys.append(load_or_create_key(path)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secrets.key"]  # no temporary left
    assert load_or_create_key(path) == keys[0]


def test_bad_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    path.write_bytes(b"too short")
    with pytest.raises(ValueError, match="expected 32 bytes"):
        load_or_create_key(path)


def test_secret_box_of_settings_is_cached_per_path(state_dir: Path, tmp_path: Path) -> None:
    settings = load_settings(overrides=f"[DEFAULT]\nstate_dir = {state_dir}\n")
    box = secret_box(settings)
    assert secret_box(settings) is box
    assert (state_dir / "pki" / "secrets.key").exists()
    other = load_settings(
        overrides=f"[DEFAULT]\nstate_dir = {state_dir}\n"
        f"[certificates]\nsecret_key_file = {tmp_path}/other.key\n"
    )
    assert secret_box(other) is not box
    assert (tmp_path / "other.key").exists()
