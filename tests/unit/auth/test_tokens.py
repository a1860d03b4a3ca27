"""Tokens: only ours, only HS256, untampered, unexpired; the key file is private."""

import base64
import json
import stat
from pathlib import Path

import jwt
import pytest

from engine.auth.tokens import SESSION, BadToken, issue, load_key, verify

KEY = b"k" * 32
NOW = 1_800_000_000


def test_a_token_round_trips() -> None:
    token, claims = issue(KEY, account="alice", kind=SESSION, generation=3, now=NOW,
                          lifetime=60)
    found = verify(KEY, token, now=NOW + 59)
    assert found == claims and found.account == "alice" and found.generation == 3


def test_expired_and_tampered_tokens_are_refused() -> None:
    token, _ = issue(KEY, account="alice", kind=SESSION, generation=0, now=NOW, lifetime=60)
    with pytest.raises(BadToken, match="expired"):
        verify(KEY, token, now=NOW + 60)
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadToken):
        verify(KEY, f"{head}.{forged}.{signature}", now=NOW)
    with pytest.raises(BadToken):
        verify(b"x" * 32, token, now=NOW)


def test_alg_none_and_other_algorithms_are_refused() -> None:
    payload = {"iss": "fleetsync", "sub": "admin", "jti": "x", "kind": SESSION, "gen": 0,
               "iat": NOW, "exp": NOW + 60}
    unsigned = jwt.encode(payload, None, algorithm="none")
    with pytest.raises(BadToken):
        verify(KEY, unsigned, now=NOW)
    other = jwt.encode(payload, KEY * 2, algorithm="HS512")
    with pytest.raises(BadToken):
        verify(KEY, other, now=NOW)


def test_a_token_missing_a_claim_or_too_long_is_refused() -> None:
    no_expiry = jwt.encode({"iss": "fleetsync", "sub": "admin", "jti": "x", "iat": NOW},
                           KEY, algorithm="HS256")
    with pytest.raises(BadToken):
        verify(KEY, no_expiry, now=NOW)
    with pytest.raises(BadToken, match="too long"):
        verify(KEY, "a" * 5000, now=NOW)


def test_the_key_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "auth" / "session.key"
    key = load_key(path)
    assert load_key(path) == key and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
