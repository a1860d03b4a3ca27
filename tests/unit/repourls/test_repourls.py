"""URL normalisation, credential stripping and redaction (pure)."""

import pytest

from engine.redaction import redact, redact_url
from engine.repourls import file_url_path, is_file_url, normalise_url, split_credentials


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("https://GitHub.com/Acme/Repo.git", "https://github.com/Acme/Repo"),
        ("https://github.com/acme/repo/", "https://github.com/acme/repo"),
        ("https://user:tok@github.com/acme/repo.git", "https://github.com/acme/repo"),
        ("git@github.com:acme/repo.git", "ssh://github.com/acme/repo"),
        ("ssh://git@github.com/acme/repo", "ssh://github.com/acme/repo"),
        ("git://127.0.0.1:9418/repo.git", "git://127.0.0.1:9418/repo"),
        ("/srv/git/repo.git", "file:///srv/git/repo"),
        ("file:///srv/git/repo.git/", "file:///srv/git/repo"),
    ],
)
def test_normalise_url_gives_one_identity_per_remote(address: str, expected: str) -> None:
    assert normalise_url(address) == expected


def test_split_credentials_removes_http_userinfo_entirely() -> None:
    fetch = split_credentials("https://bot:s3cret@git.example.com:8443/acme/repo.git")
    assert fetch.url == "https://git.example.com:8443/acme/repo.git"
    assert (fetch.username, fetch.password) == ("bot", "s3cret")


def test_split_credentials_keeps_ssh_user_but_not_password() -> None:
    fetch = split_credentials("ssh://git:pw@host/repo.git")
    assert fetch.url == "ssh://git@host/repo.git"
    assert fetch.password == "pw"


def test_split_credentials_decodes_percent_escapes() -> None:
    assert split_credentials("https://u:a%40b@host/r").password == "a@b"


def test_token_only_as_user_name_is_removed_from_http_url() -> None:
    fetch = split_credentials("https://ghp_abc123@github.com/acme/repo")
    assert "ghp_abc123" not in fetch.url
    assert fetch.username == "ghp_abc123"


def test_redact_url_hides_userinfo() -> None:
    assert redact_url("https://u:s3cret@h/r.git") == "https://***@h/r.git"
    assert redact_url("https://h/r.git") == "https://h/r.git"


def test_redact_removes_secrets_and_urls_with_userinfo_from_text() -> None:
    text = "fatal: unable to access 'https://u:s3cret@h/r/': token s3cret refused (s3cret)"
    out = redact(text, ("s3cret",))
    assert "s3cret" not in out
    assert "https://***@h/r/" in out


def test_redact_removes_percent_encoded_secret() -> None:
    assert "a%40b" not in redact("x a%40b y", ("a@b",))


def test_file_urls_are_recognised() -> None:
    assert is_file_url("/srv/repo")
    assert is_file_url("file:///srv/repo")
    assert not is_file_url("https://h/r")
    assert file_url_path("file:///srv/my%20repo") == "/srv/my repo"


def test_not_a_url_is_refused_without_echoing_secrets() -> None:
    with pytest.raises(ValueError) as info:
        normalise_url("relative/path")
    assert "relative/path" in str(info.value)
