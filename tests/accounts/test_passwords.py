"""Password hashes: scrypt, salted, self-describing, constant-time checked."""

from __future__ import annotations

from service.accounts import passwords


def test_a_hash_stores_its_parameters_and_salt_and_verifies_only_the_password() -> None:
    # Given a hashed password
    stored = passwords.hash_password_sync("s3cret")
    # Then the stored form names scrypt and its cost, and never contains the password
    scheme, n, r, p, _salt, _key = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", passwords.N, passwords.R, passwords.P)
    assert "s3cret" not in stored
    # And only the same password verifies
    assert passwords.verify_password_sync("s3cret", stored)
    assert not passwords.verify_password_sync("s3cret ", stored)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert passwords.hash_password_sync("x") != passwords.hash_password_sync("x")


def test_hashes_with_other_parameters_still_verify() -> None:
    stored = passwords.hash_password_sync("x", n=2**10, r=4, p=2)
    assert passwords.verify_password_sync("x", stored)


def test_malformed_stored_hashes_never_match() -> None:
    for stored in ("", "plain", "bcrypt$1$2$3$c2FsdA==$a2V5", "scrypt$x$8$1$c2FsdA==$a2V5"):
        assert not passwords.verify_password_sync("x", stored)


async def test_an_unknown_user_is_refused_after_a_real_scrypt_check() -> None:
    # Given no stored hash, verification still runs scrypt against the dummy hash
    assert not await passwords.verify_password("anything", None)
    assert passwords.dummy_hash().startswith("scrypt$")
