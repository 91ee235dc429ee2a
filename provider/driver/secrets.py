"""Passphrase secrets, the way Pulumi's passphrase secrets provider keeps them.

A stack's secrets (``secure:`` config values and secret values in the state file) are AES-256-GCM
ciphertexts under a key derived from ``PULUMI_CONFIG_PASSPHRASE`` and a per-stack salt. The salt
travels as the ``encryptionsalt`` string ``v1:<b64 salt>:<ciphertext of "pulumi">``, so a wrong
passphrase is detected before anything is decrypted. ``pulumi-crypto`` implements the cipher
bit-for-bit as the CLI does; this module only decides where the passphrase and salt come from.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pulumi_crypto import PassphraseCipher, PulumiCryptoError

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"


class SecretsError(Exception):
    """The passphrase is missing or wrong, or a ciphertext does not decrypt."""


def passphrase_from_env() -> str | None:
    """The passphrase from ``PULUMI_CONFIG_PASSPHRASE`` or the file named by ``..._FILE``."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value is not None:
        return value
    path = os.environ.get(PASSPHRASE_FILE_ENV)
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().rstrip("\n")
    return None


class Crypter:
    """Encrypts and decrypts one stack's secrets; deriving the key costs ~1 s, so build it once."""

    def __init__(self, passphrase: str | None, salt_state: str | None = None) -> None:
        if passphrase is None:
            raise SecretsError(
                f"this stack has secrets: set {PASSPHRASE_ENV} (or {PASSPHRASE_FILE_ENV}) to its passphrase"
            )
        try:
            self._cipher = PassphraseCipher(passphrase, salt_state=salt_state)
        except PulumiCryptoError as exc:
            raise SecretsError(f"incorrect passphrase ({PASSPHRASE_ENV}): {exc}") from None
        except ValueError as exc:
            raise SecretsError(f"incorrect passphrase or corrupt encryption salt: {exc}") from None

    @property
    def salt_state(self) -> str:
        """The ``encryptionsalt`` string to persist beside the ciphertexts."""
        return self._cipher.salt_state

    def encrypt(self, plaintext: str) -> str:
        return self._cipher.encrypt(plaintext)

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._cipher.decrypt(ciphertext)
        except Exception as exc:  # the library raises several types for a bad tag
            raise SecretsError(f"cannot decrypt a secret (wrong passphrase?): {exc}") from None


def is_secret(value: Any) -> bool:
    """True for the wire form of a secret value: ``{SIG_KEY: SECRET_SIG, "value": ...}``."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def seal(value: Any, crypter: Crypter) -> Any:
    """Replace every wire secret ``{sig, value}`` in ``value`` by ``{sig, ciphertext}`` (JSON inside)."""
    if is_secret(value) and "value" in value:
        return {SIG_KEY: SECRET_SIG, "ciphertext": crypter.encrypt(json.dumps(value["value"]))}
    if isinstance(value, dict):
        return {k: seal(v, crypter) for k, v in value.items()}
    if isinstance(value, list):
        return [seal(v, crypter) for v in value]
    return value


def unseal(value: Any, crypter: Crypter) -> Any:
    """Inverse of :func:`seal`."""
    if is_secret(value) and "ciphertext" in value:
        return {SIG_KEY: SECRET_SIG, "value": json.loads(crypter.decrypt(value["ciphertext"]))}
    if isinstance(value, dict):
        return {k: unseal(v, crypter) for k, v in value.items()}
    if isinstance(value, list):
        return [unseal(v, crypter) for v in value]
    return value


def has_sealed(value: Any) -> bool:
    """Whether ``value`` holds any ciphertext (so a passphrase is needed to read it)."""
    if is_secret(value):
        return "ciphertext" in value
    if isinstance(value, dict):
        return any(has_sealed(v) for v in value.values())
    if isinstance(value, list):
        return any(has_sealed(v) for v in value)
    return False


def has_plain_secret(value: Any) -> bool:
    """Whether ``value`` holds any secret still in plaintext (so a passphrase is needed to store it)."""
    if is_secret(value):
        return "value" in value
    if isinstance(value, dict):
        return any(has_plain_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(has_plain_secret(v) for v in value)
    return False


def reveal(value: Any, mask: str | None = "[secret]") -> Any:
    """Plain value for display: secrets replaced by ``mask`` (or unwrapped when ``mask`` is None)."""
    if is_secret(value):
        return reveal(value.get("value"), mask) if mask is None else mask
    if isinstance(value, dict):
        return {k: reveal(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, mask) for v in value]
    return value
