"""Password hashing with scrypt: salted, parameters stored with the hash, slow on purpose.

The stored form is `scrypt$n$r$p$salt$hash` (salt and hash base64), so the cost can be
raised later without breaking existing hashes. Hashing is CPU- and memory-heavy: the async
helpers run it in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets

# Django's scrypt defaults: ~16 MiB and ~35 ms per hash on the development machine.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
_SCHEME = "scrypt"
_MAXMEM = 128 * 2**20  # above 128 * N * r so raised parameters in stored hashes still verify
GENERATED_PASSWORD_BYTES = 18  # secrets.token_urlsafe: 24 characters, 144 bits


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password_sync(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """A fresh salted hash. Blocking (runs in a thread)."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=_MAXMEM
    )
    return f"{_SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password_sync(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; malformed hashes never match.
    Blocking (runs in a thread)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=_MAXMEM,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash no password is known for: verifying an unknown user costs what a known one does."""
    return hash_password_sync(secrets.token_urlsafe(32))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_sync, password)


def _check_sync(password: str, stored: str | None) -> bool:
    """Verify, or with no stored hash (unknown user) spend the same time and say no.
    Blocking (runs in a thread)."""
    if stored is None:
        verify_password_sync(password, dummy_hash())
        return False
    return verify_password_sync(password, stored)


async def verify_password(password: str, stored: str | None) -> bool:
    return await asyncio.to_thread(_check_sync, password, stored)


def generate_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
