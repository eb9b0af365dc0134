"""Field protection for the individual number (個人番号) and other identifiers.

The number is encrypted with AES-GCM before it reaches the database and stored
beside an HMAC-SHA256 used for lookups and joins (ARCHITECTURE.md). Keys come
from the environment (`KENSHIN_MY_NUMBER_KEY`, `KENSHIN_HMAC_KEY`: base64 of 32
bytes; a secrets backend in production). In development only, when they are
unset and no server is configured (the embedded default), keys are generated
once into the ignored work folder with mode 0600 so a
fresh machine runs without set-up; never in the repository.
"""

from __future__ import annotations

import base64
import functools
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kenshin.platform.db import work_dir

_NONCE_BYTES = 12


class KeyError_(RuntimeError):
    """A key is missing or malformed (the message never holds key material)."""


def _load_key(var: str) -> bytes:
    value = os.environ.get(var)
    if value is None:
        if os.environ.get("KENSHIN_DATABASE_URL"):
            # A configured server is a deployment: its keys must come from the
            # environment or a secrets backend, never be made up here.
            raise KeyError_(f"{var} is not set")
        path = work_dir() / "keys" / var.lower()
        if not path.exists():
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.b64encode(os.urandom(32)).decode())
        value = path.read_text().strip()
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        raise KeyError_(f"{var} is not base64") from None
    if len(key) != 32:
        raise KeyError_(f"{var} must be 32 bytes")
    return key


@dataclass(frozen=True)
class Protector:
    """Encrypts and keyed-hashes identifiers. `key_id` is stored as the first
    byte of every ciphertext so keys can be rotated (re-encrypted) later."""

    enc_key: bytes
    hmac_key: bytes
    key_id: int = 1

    def hmac(self, value: str, purpose: str) -> bytes:
        """Keyed hash of `value`; `purpose` (e.g. "my_number") separates the
        hashes of different identifiers made with the same key."""
        return hmac.digest(self.hmac_key, f"{purpose}\x1f{value}".encode(), "sha256")

    def hasher(self, purpose: str) -> Callable[[bytes], bytes]:
        """Keyed hash of raw bytes (a file line as received), the construction
        of `hmac`, with the purpose prefix encoded once (it runs per line)."""
        key, prefix = self.hmac_key, purpose.encode() + b"\x1f"
        return lambda data: hmac.digest(key, prefix + data, "sha256")

    def encrypt(self, value: str, owner: str) -> bytes:
        """AES-GCM with the owner's key (addressee id) as associated data, so a
        ciphertext moved to another person's row no longer decrypts."""
        nonce = os.urandom(_NONCE_BYTES)
        return bytes([self.key_id]) + nonce + AESGCM(self.enc_key).encrypt(nonce, value.encode(), owner.encode())

    def decrypt(self, blob: bytes, owner: str) -> str:
        if blob[0] != self.key_id:
            raise KeyError_("ciphertext was made with another key id")
        nonce, ct = blob[1:1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES:]
        return AESGCM(self.enc_key).decrypt(nonce, ct, owner.encode()).decode()


def key_id_from_env(var: str = "KENSHIN_MY_NUMBER_KEY_ID", default: int = 1) -> int:
    """The id of the encryption key (1..255): the first byte of what it encrypts.
    After `kenshin keys rotate`, the deployment sets the new key and its id."""
    value = os.environ.get(var)
    try:
        key_id = int(value) if value else default
    except ValueError:
        raise KeyError_(f"{var} is not a number") from None
    if not 1 <= key_id <= 255:
        raise KeyError_(f"{var} must be between 1 and 255")
    return key_id


@functools.cache
def protector() -> Protector:
    return Protector(_load_key("KENSHIN_MY_NUMBER_KEY"), _load_key("KENSHIN_HMAC_KEY"), key_id_from_env())
