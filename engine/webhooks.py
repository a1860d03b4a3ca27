"""Push webhooks of GitHub, GitLab and Gitea: which provider, is it authentic, what moved.

Pure functions over headers and the raw body; the HTTP handler lives in engine.api.webhook.

- GitHub: ``X-GitHub-Event: push``, ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``.
- GitLab: ``X-Gitlab-Event: Push Hook`` (or ``Tag Push Hook``), ``X-Gitlab-Token: <secret>``.
- Gitea: ``X-Gitea-Event: push``, ``X-Gitea-Signature: <hex HMAC-SHA256>``. Gitea also
  sends GitHub's headers, so it is recognised first.

Every comparison with the secret is constant-time. A repository is named by every URL the
payload gives (HTTPS, SSH, web), normalised as ``engine.repourls`` does, so that an app that
spells its ``repoURL`` either way is found. A payload is parsed by orjson, which refuses
nesting deeper than ``MAX_DEPTH`` (a 400, never a recursion error). A request this hub
refuses is a ``WebhookError`` carrying its HTTP status.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from engine.errors import WebhookError
from engine.repourls import normalise_url

MAX_BODY_BYTES = 1024 * 1024
# orjson refuses documents nested deeper than this (the stdlib parser recursed until
# RecursionError, a 500 with a traceback).
MAX_DEPTH = 1024


class Provider(enum.StrEnum):
    """A Git hosting service that sends push webhooks."""

    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"


_EVENT_HEADER = {
    Provider.GITEA: "x-gitea-event",
    Provider.GITLAB: "x-gitlab-event",
    Provider.GITHUB: "x-github-event",
}
_PUSH_EVENTS = {
    Provider.GITEA: {"push"},
    Provider.GITLAB: {"push hook", "tag push hook"},
    Provider.GITHUB: {"push"},
}
_URL_FIELDS = {
    Provider.GITHUB: ("clone_url", "ssh_url", "html_url", "git_url", "url"),
    Provider.GITEA: ("clone_url", "ssh_url", "html_url"),
    Provider.GITLAB: ("git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url", "url",
                      "homepage"),
}  # fmt: skip


@dataclass(frozen=True)
class PushEvent:
    """What a push moved: the repository (all its normalised URLs) and the ref."""

    provider: Provider
    repo_urls: frozenset[str]
    ref: str


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def detect_provider(headers: Mapping[str, str]) -> Provider:
    """The provider that sent the request, from its event header."""
    lowered = _lower(headers)
    for provider, header in _EVENT_HEADER.items():
        if header in lowered:
            return provider
    raise WebhookError("no X-GitHub-Event, X-Gitlab-Event or X-Gitea-Event header")


def is_push(provider: Provider, headers: Mapping[str, str]) -> bool:
    """Whether the event is a push (other events, e.g. GitHub's ping, are acknowledged only)."""
    event = _lower(headers).get(_EVENT_HEADER[provider], "")
    return event.strip().lower() in _PUSH_EVENTS[provider]


def hmac_sha256(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` keyed by ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(provider: Provider, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """Whether the request carries proof of ``secret`` in the provider's way."""
    lowered = _lower(headers)
    if provider is Provider.GITLAB:
        token = lowered.get("x-gitlab-token", "")
        return hmac.compare_digest(token.encode(), secret.encode())
    if provider is Provider.GITHUB:
        given = lowered.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac_sha256(secret, body)
    else:
        given = lowered.get("x-gitea-signature", "")
        expected = hmac_sha256(secret, body)
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def parse_push(provider: Provider, body: bytes, *, content_type: str = "") -> PushEvent:
    """The repository URLs and ref of a push payload (JSON, or GitHub's form encoding)."""
    document = _decode(body, content_type)
    ref = document.get("ref")
    if not isinstance(ref, str) or not ref:
        raise WebhookError("the push payload has no ref")
    urls: set[str] = set()
    for section in ("repository", "project"):
        block = document.get(section)
        if isinstance(block, dict):
            urls |= _urls(block, _URL_FIELDS[provider])
    if not urls:
        raise WebhookError("the push payload names no repository URL")
    return PushEvent(provider, frozenset(urls), ref)


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON object of a payload; nesting is bounded by orjson (``MAX_DEPTH`` levels)."""
    try:
        if "x-www-form-urlencoded" in content_type.lower():
            body = parse_qs(body.decode("utf-8")).get("payload", [""])[0].encode()
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit"):
            raise WebhookError(f"the payload is nested deeper than {MAX_DEPTH} levels") from None
        raise WebhookError(f"the payload is not JSON: {exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookError(f"the payload is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise WebhookError("the payload is not a JSON object")
    return document


def _urls(block: Mapping[str, Any], fields: tuple[str, ...]) -> set[str]:
    found = set()
    for name in fields:
        value = block.get(name)
        if not isinstance(value, str) or not value or value.startswith("https://api."):
            continue
        try:
            found.add(normalise_url(value))
        except ValueError:
            continue
    return found
