"""Class 3: local repositories and other local transports are refused unless allowed (pure).

``check_transport`` runs before any git process: a ``file://`` URL or a path reads any
repository on the hub's disk (other tenants' mirrors included), ``ext::`` runs a command,
and a host or user starting with ``-`` can become an option of ``ssh``.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidRepository
from engine.repourls import check_transport

LOCAL = [
    "file:///var/lib/fleetsync/git/mirrors/0123.git",
    "FILE:///srv/repo.git",
    "file://localhost/srv/repo.git",
    "file://hub/srv/repo",
    "/var/lib/fleetsync/git/mirrors/0123.git",
    "  /srv/repo.git  ",
]
NEVER = [
    "ext::sh -c touch% /tmp/pwned",
    "fd::3",
    "https::https://example.com/r.git",
    "relative/path",
    "./repo",
    "../other-tenant/repo.git",
    "repo.git",
    "ssh://-oProxyCommand=touch%20pwned/x",
    "-oProxyCommand=touch pwned@host:repo",
    "ssh://-oProxyCommand=x@host/repo",
    "https://host/repo\n.git",
    "ftp://example.com/repo.git",
    "https:///no-host",
    "https://exa mple.com/r",
    "git://host:notaport/r",
]
NETWORK = [
    "https://github.com/acme/repo.git",
    "http://127.0.0.1:8080/repo.git",
    "git://127.0.0.1:9418/repo.git",
    "ssh://git@github.com/acme/repo.git",
    "git@github.com:acme/repo.git",
    "git+ssh://git@host/r",
    "https://user:tok@[::1]:8443/r",
]


@pytest.mark.parametrize("address", LOCAL)
def test_local_repos_are_refused_with_how_to_allow_them(address: str) -> None:
    refused = r"local repositories .* git\.allowLocalRepos: true"
    with pytest.raises(InvalidRepository, match=refused):
        check_transport(address, allow_local=False)


@pytest.mark.parametrize("address", LOCAL)
def test_local_repos_pass_when_the_operator_allows_them(address: str) -> None:
    check_transport(address, allow_local=True)


@pytest.mark.parametrize("address", NEVER)
@pytest.mark.parametrize("allow_local", [False, True])
def test_local_repos_helpers_relative_paths_and_option_hosts_are_always_refused(
    address: str, allow_local: bool
) -> None:
    with pytest.raises(InvalidRepository):
        check_transport(address, allow_local=allow_local)


@pytest.mark.parametrize("address", NETWORK)
def test_local_repos_guard_lets_network_remotes_through(address: str) -> None:
    check_transport(address, allow_local=False)


def test_local_repos_refusal_never_shows_the_url_secret() -> None:
    with pytest.raises(InvalidRepository) as info:
        check_transport("ftp://bot:s3cret@host/r", allow_local=False)
    assert "s3cret" not in str(info.value) and "is not supported" in str(info.value)
