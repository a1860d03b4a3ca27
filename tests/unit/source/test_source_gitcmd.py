"""The git child's environment and the classification of git's failures (pure)."""

import os
from pathlib import Path

import pytest

from engine.source.errors import AuthenticationFailed, GitError, RemoteUnreachable, UnsafeObjects
from engine.source.gitcmd import GitResult, base_env, classify_failure


def test_base_env_isolates_git_from_the_user_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/somewhere/else")
    monkeypatch.setenv("GIT_ASKPASS", "/usr/bin/ksshaskpass")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent")
    env = base_env(Path("/cache/home"), allow_protocols="git:https")
    assert env["HOME"] == "/cache/home"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ALLOW_PROTOCOL"] == "git:https"
    assert not {"GIT_DIR", "GIT_ASKPASS", "SSH_AUTH_SOCK"} & set(env)


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("fatal: unable to connect to 127.0.0.1:\n127.0.0.1[0: 127.0.0.1]: "
         "errno=Connection refused", RemoteUnreachable),
        ("fatal: unable to access 'https://h/r/': Could not resolve host: h", RemoteUnreachable),
        ("fatal: Authentication failed for 'https://h/r/'", AuthenticationFailed),
        ("fatal: could not read Username for 'https://h': terminal prompts disabled",
         AuthenticationFailed),
        ("git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.",
         AuthenticationFailed),
        ("fatal: remote error: access denied or repository not exported: /x.git", GitError),
    ],
)  # fmt: skip
def test_failures_are_classified_from_stderr(stderr: str, kind: type[GitError]) -> None:
    error = classify_failure("fetch", GitResult(128, b"", stderr), repo="git://h/r")
    assert type(error) is kind
    assert str(error).startswith("git://h/r: git fetch failed (exit 128): ")


def test_an_fsck_refusal_is_a_permanent_unsafe_objects_error_naming_the_finding() -> None:
    stderr = ("error: object 86c93bddadab84a55d0d052a3a748191889e2f18: duplicateEntries: "
              "contains duplicate file entries\nfatal: fsck error in packed object\n"
              "fatal: index-pack failed\n")  # fmt: skip
    error = classify_failure("fetch", GitResult(128, b"", stderr), repo="https://***@h/r")
    assert isinstance(error, UnsafeObjects) and not error.temporary
    assert str(error) == ("https://***@h/r: refusing what the remote sent: git fsck found "
                          "duplicateEntries in object 86c93bddadab (contains duplicate file "
                          "entries)")  # fmt: skip
