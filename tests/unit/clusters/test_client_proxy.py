"""A cluster client reads the environment's proxy once, when it is made (aiohttp no longer
looks for netrc and proxies on every request), and still honours NO_PROXY."""

from __future__ import annotations

import pytest

from engine.clusters.client import _environment_proxy


def test_the_environment_proxy_is_used_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert _environment_proxy("https://10.0.0.1:6443") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert _environment_proxy("https://10.0.0.1:6443") == "http://proxy.example:3128"
    monkeypatch.setenv("NO_PROXY", "10.0.0.1,.internal")
    assert _environment_proxy("https://10.0.0.1:6443") is None
    assert _environment_proxy("https://api.cluster.internal") is None
    assert _environment_proxy("https://api.example.com") == "http://proxy.example:3128"
