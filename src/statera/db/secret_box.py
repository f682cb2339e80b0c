"""Encryption at rest of the key manager's secret payloads (`secrets.ciphertext`).

`SecretBox.seal` turns a payload into `version byte || 12-byte nonce ||
AES-256-GCM(payload)`, with the secret's id as associated data, so a sealed
payload copied onto another row does not open. The key is 32 random bytes in
`settings.secret_key_file` (`[certificates] secret_key_file`, by default
`<state_dir>/pki/secrets.key`), created on first use with mode 0600 and
published with `os.link`, so two processes racing to create it end up with the
same key. Every process that shares the database must share this file.

It lives beside the models because it is part of how a row is stored: the
API (`api/routes/key_manager.py`) seals, the services that read TLS material
(`services/certificates.py`) open. The invariant a reader could break: a
payload is never logged nor put in an exception message, here or by callers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from statera.settings import Settings

__all__ = ["KEY_BYTES", "SecretBox", "SecretUnreadable", "load_or_create_key", "secret_box"]

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = 1
"""First byte of every sealed payload; a later key or cipher change gets a new one."""


class SecretUnreadable(Exception):
    """A sealed payload that does not open with this key (wrong key, wrong row, damaged)."""


class SecretBox:
    """AES-256-GCM with one key; `seal` and `open` bind a payload to its secret's id."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the secret key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, payload: bytes, *, secret_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, payload, secret_id.encode())

    def open(self, sealed: bytes, *, secret_id: str) -> bytes:
        """The payload `seal` was given; SecretUnreadable if `sealed` is not one of ours."""
        if len(sealed) < 1 + NONCE_BYTES or sealed[0] != VERSION:
            raise SecretUnreadable(f"secret {secret_id}: unknown ciphertext format")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, secret_id.encode())
        except InvalidTag:
            raise SecretUnreadable(
                f"secret {secret_id}: does not decrypt with this secret key file"
            ) from None


def load_or_create_key(path: Path) -> bytes:
    """The key in `path`, created (32 random bytes, mode 0600) if the file is missing.

    The new key is written to a temporary file in the same directory and
    linked into place; if another process linked first, its key is read.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, os.urandom(KEY_BYTES))
            os.fsync(fd)
            os.close(fd)
            # If another process linked its key first, keep theirs.
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            os.unlink(temp)
        key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ValueError(f"secret key file {path}: expected {KEY_BYTES} bytes, found {len(key)}")
    return key


@functools.lru_cache(maxsize=8)
def _box_for(path: Path) -> SecretBox:
    return SecretBox(load_or_create_key(path))


def secret_box(settings: Settings) -> SecretBox:
    """The box of `settings.secret_key_file`, one per path for the life of the process."""
    return _box_for(settings.secret_key_file)
