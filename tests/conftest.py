"""Settings for the whole suite.

Password hashes use argon2id at the lowest cost in tests (``cheap_hashing``): the
production parameters spend 64 MiB and a good part of a second per hash on purpose, and
nearly every test of the API logs in. ``tests/unit/auth/test_passwords.py`` checks the
production parameters with ``real_hashing``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from engine.auth import passwords


@pytest.fixture(autouse=True)
def cheap_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hash passwords cheaply, unless the test asks for ``real_hashing``."""
    if "real_hashing" in request.fixturenames:
        yield
        return
    real = passwords.HASHER
    passwords.HASHER = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    try:
        yield
    finally:
        passwords.HASHER = real


@pytest.fixture
def real_hashing() -> None:
    """Keep the production hash parameters in this test."""
