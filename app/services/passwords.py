"""Password and secret hashing: argon2id with parameters chosen for a 2-core library server.

t=2, m=19 MiB, p=1 is OWASP's minimum argon2id setting: about 20-30 ms per verify here (see the
README), cheap enough for a SIP2 reconnect storm and for importing patrons with passwords, and far
beyond what an offline attacker can brute-force cheaply."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
# A real hash to verify against when the account does not exist, so timing does not reveal it.
_DUMMY_HASH = HASHER.hash("carrel-no-such-account")


def hash_password(plain: str) -> str:
    if not plain:
        raise ValueError("an empty password cannot be set")
    return HASHER.hash(plain)


def verify_password(stored_hash: str | None, plain: str) -> bool:
    """True when ``plain`` matches; False for a mismatch, a missing or a malformed hash."""
    if not plain:
        return False
    if not stored_hash:
        try:
            HASHER.verify(_DUMMY_HASH, plain)
        except VerificationError:
            pass
        return False
    try:
        return HASHER.verify(stored_hash, plain)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
