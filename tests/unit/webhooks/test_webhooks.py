"""Webhook payloads: provider detection, secret checks, repository URLs and ref."""

from __future__ import annotations

import json

import pytest

from engine.webhooks import (
    Provider,
    WebhookError,
    detect_provider,
    hmac_sha256,
    is_push,
    parse_push,
    verify,
)

SECRET = "s3cr3t"
GITHUB = {
    "ref": "refs/heads/main",
    "repository": {
        "clone_url": "https://github.com/Acme/Deploy.git",
        "ssh_url": "git@github.com:Acme/Deploy.git",
        "html_url": "https://github.com/Acme/Deploy",
        "url": "https://github.com/Acme/Deploy",
    },
}
GITLAB = {
    "object_kind": "push",
    "ref": "refs/heads/main",
    "project": {
        "git_http_url": "https://gitlab.example.com/acme/deploy.git",
        "git_ssh_url": "git@gitlab.example.com:acme/deploy.git",
        "web_url": "https://gitlab.example.com/acme/deploy",
    },
}
GITEA = {"ref": "refs/tags/v1", "repository": {
    "clone_url": "http://gitea.local:3000/acme/deploy.git",
    "ssh_url": "ssh://git@gitea.local:2222/acme/deploy.git"}}  # fmt: skip


def test_gitea_is_recognised_before_the_github_headers_it_also_sends() -> None:
    headers = {"X-Gitea-Event": "push", "X-GitHub-Event": "push"}
    assert detect_provider(headers) is Provider.GITEA
    assert detect_provider({"x-gitlab-event": "Push Hook"}) is Provider.GITLAB
    assert detect_provider({"X-GitHub-Event": "ping"}) is Provider.GITHUB
    with pytest.raises(WebhookError):
        detect_provider({"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("provider", "headers", "push"),
    [(Provider.GITHUB, {"X-GitHub-Event": "ping"}, False),
     (Provider.GITLAB, {"X-Gitlab-Event": "Tag Push Hook"}, True),
     (Provider.GITLAB, {"X-Gitlab-Event": "Merge Request Hook"}, False),
     (Provider.GITEA, {"X-Gitea-Event": "push"}, True)],
)  # fmt: skip
def test_only_push_events_are_pushes(
    provider: Provider, headers: dict[str, str], push: bool
) -> None:
    assert is_push(provider, headers) is push


def test_github_signature_accepts_the_right_hmac_and_rejects_others() -> None:
    body = json.dumps(GITHUB).encode()
    good = {"X-Hub-Signature-256": "sha256=" + hmac_sha256(SECRET, body)}
    assert verify(Provider.GITHUB, good, body, SECRET)
    assert not verify(Provider.GITHUB, good, body + b" ", SECRET)
    assert not verify(Provider.GITHUB, good, body, "other")
    assert not verify(Provider.GITHUB, {}, body, SECRET)
    bare = {"X-Hub-Signature-256": hmac_sha256(SECRET, body)}  # without the sha256= prefix
    assert not verify(Provider.GITHUB, bare, body, SECRET)


def test_gitlab_token_must_equal_the_secret() -> None:
    assert verify(Provider.GITLAB, {"X-Gitlab-Token": SECRET}, b"{}", SECRET)
    assert not verify(Provider.GITLAB, {"X-Gitlab-Token": SECRET + "x"}, b"{}", SECRET)
    assert not verify(Provider.GITLAB, {}, b"{}", SECRET)


def test_gitea_signature_is_a_bare_hex_hmac() -> None:
    body = json.dumps(GITEA).encode()
    assert verify(Provider.GITEA, {"X-Gitea-Signature": hmac_sha256(SECRET, body)}, body, SECRET)
    assert not verify(Provider.GITEA, {"X-Gitea-Signature": "00" * 32}, body, SECRET)


def test_github_push_names_the_repo_by_every_url_normalised() -> None:
    event = parse_push(Provider.GITHUB, json.dumps(GITHUB).encode())
    assert event.ref == "refs/heads/main"
    assert event.repo_urls == {"https://github.com/Acme/Deploy", "ssh://github.com/Acme/Deploy"}


def test_github_form_encoded_payload_is_read() -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(GITHUB)}).encode()
    event = parse_push(Provider.GITHUB, body, content_type="application/x-www-form-urlencoded")
    assert "https://github.com/Acme/Deploy" in event.repo_urls


def test_gitlab_and_gitea_push_urls() -> None:
    gitlab = parse_push(Provider.GITLAB, json.dumps(GITLAB).encode())
    assert gitlab.repo_urls == {"https://gitlab.example.com/acme/deploy",
                                "ssh://gitlab.example.com/acme/deploy"}  # fmt: skip
    gitea = parse_push(Provider.GITEA, json.dumps(GITEA).encode())
    assert gitea.ref == "refs/tags/v1"
    assert gitea.repo_urls == {"http://gitea.local:3000/acme/deploy",
                               "ssh://gitea.local:2222/acme/deploy"}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", json.dumps({"repository": GITHUB["repository"]}).encode(),
     json.dumps({"ref": "refs/heads/main", "repository": {}}).encode()],
)  # fmt: skip
def test_malformed_payloads_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookError) as err:
        parse_push(Provider.GITHUB, body)
    assert err.value.status == 400
