"""Passwords: argon2id hashes; an unknown account fails like a wrong password."""

from engine.auth.passwords import (
    MAX_PASSWORD,
    hash_password,
    new_password,
    password_problem,
    verify_password,
)


def test_a_password_verifies_against_its_hash_only(real_hashing: None) -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong horse")
    assert not verify_password(None, "correct horse")  # an unknown account
    assert not verify_password("not a hash", "correct horse")


def test_overlong_passwords_are_refused_before_hashing() -> None:
    stored = hash_password("x" * MAX_PASSWORD)
    assert verify_password(stored, "x" * MAX_PASSWORD)
    assert not verify_password(stored, "x" * (MAX_PASSWORD + 1))
    assert password_problem("x" * (MAX_PASSWORD + 1)) is not None
    assert password_problem("short") is not None
    assert password_problem(new_password()) is None
