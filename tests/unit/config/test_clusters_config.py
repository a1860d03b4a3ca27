"""Parsing and validation of clusters.yaml: every error names file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config.clusters import KubeconfigAuth, Limits, ServerAuth, load_file, parse
from engine.errors import ConfigError

SOURCE = Path("/etc/fleetsync/clusters.yaml")


def _parse(text: str) -> list:  # type: ignore[type-arg]
    return parse(text, source=SOURCE)


def test_kubeconfig_entry_resolves_path_relative_to_the_file() -> None:
    [spec] = _parse(
        "clusters:\n- {name: a, labels: {env: dev}, kubeconfig: a.kubeconfig, context: ctx}\n"
    )
    assert spec.name == "a"
    assert spec.labels == {"env": "dev"}
    assert spec.auth == KubeconfigAuth(Path("/etc/fleetsync/a.kubeconfig"), "ctx")
    assert spec.limits == Limits()


def test_app_shards_default_to_one_and_are_read() -> None:
    one, split = _parse("clusters:\n- {name: a, kubeconfig: k}\n"
                        "- {name: b, kubeconfig: k, appShards: 3}\n")
    assert (one.app_shards, split.app_shards) == (1, 3)


def test_what_fleetsync_local_up_writes_is_valid(tmp_path: Path) -> None:
    from engine.local.fleet import LocalCluster, write_registration

    clusters = [
        LocalCluster(
            "local-1", "https://127.0.0.1:1", tmp_path / "local-1.kubeconfig", {"env": "dev"}
        )
    ]
    write_registration(tmp_path / "clusters.yaml", clusters)
    [spec] = parse((tmp_path / "clusters.yaml").read_text(), source=tmp_path / "clusters.yaml")
    assert spec.auth == KubeconfigAuth(tmp_path / "local-1.kubeconfig", "local-1")


def test_server_entry_with_token_file_and_limits() -> None:
    [spec] = _parse("""
clusters:
- name: edge-1
  server: https://10.0.0.7:6443/
  caFile: ca.crt
  tokenFile: /run/token
  limits: {concurrentApplies: 2, qps: 5}
""")
    assert isinstance(spec.auth, ServerAuth)
    assert spec.auth.server == "https://10.0.0.7:6443"
    assert spec.auth.ca_file == Path("/etc/fleetsync/ca.crt")
    assert spec.auth.token_file == Path("/run/token")
    assert spec.limits == Limits(concurrent_applies=2, qps=5.0)


def test_client_certificate_entry() -> None:
    [spec] = _parse(
        "clusters:\n- {name: b, server: 'https://b', insecureSkipTLSVerify: true,"
        " certFile: b.crt, keyFile: b.key}\n"
    )
    assert isinstance(spec.auth, ServerAuth)
    assert spec.auth.insecure and spec.auth.key_file == Path("/etc/fleetsync/b.key")


def test_empty_file_registers_no_cluster() -> None:
    assert _parse("") == []
    assert _parse("clusters: []\n") == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{labels: {}}", "clusters[0]: name: is required"),
        ("{name: Bad_Name, kubeconfig: k}", "clusters[0] (Bad_Name): name: must be"),
        ("{name: a}", "clusters[0] (a): kubeconfig: give kubeconfig"),
        ("{name: a, kubeconfig: k, token: t}", "clusters[0] (a): token: cannot be combined"),
        ("{name: a, context: c, server: 'https://x', token: t}", "(a): context: needs kubeconfig"),
        ("{name: a, server: ftp://x, token: t}", "(a): server: must be an http(s) URL"),
        ("{name: a, server: 'https://x'}", "(a): token: give one of"),
        ("{name: a, server: 'https://x', token: t, tokenFile: f}", "(a): tokenFile: give one of"),
        ("{name: a, server: 'https://x', certFile: c}", "(a): keyFile: is required with certFile"),
        ("{name: a, server: 'https://x', token: t, caFile: c, caData: d}", "(a): caData: give"),
        ("{name: a, kubeconfig: k, limits: {qps: 0}}", "(a): limits.qps: must be a number > 0"),
        (
            "{name: a, kubeconfig: k, limits: {concurrentApplies: x}}",
            "(a): limits.concurrentApplies: must be an integer",
        ),
        ("{name: a, kubeconfig: k, limits: {burst: 3}}", "(a): limits.burst: unknown field"),
        ("{name: a, kubeconfig: k, colour: red}", "(a): colour: unknown field"),
        ("{name: a, kubeconfig: k, appShards: 0}", "(a): appShards: must be an integer from 1"),
        ("{name: a, kubeconfig: k, appShards: 65}", "(a): appShards: must be an integer from"),
        ("{name: a, kubeconfig: k, appShards: true}", "(a): appShards: must be an integer"),
        ("{name: a, kubeconfig: k, labels: [x]}", "(a): labels: must be a mapping"),
    ],
)
def test_invalid_entry_names_file_entry_and_field(entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(f"clusters:\n- {entry}\n")
    assert str(caught.value).startswith(f"{SOURCE}: ")
    assert expected in str(caught.value)


def test_duplicate_names_are_rejected_at_the_second_entry() -> None:
    with pytest.raises(ConfigError, match=r"clusters\[1\] \(a\): name: duplicate cluster 'a'"):
        _parse("clusters:\n- {name: a, kubeconfig: k}\n- {name: a, kubeconfig: k2}\n")


@pytest.mark.parametrize("text", ["clusters: {a: 1}\n", "- a\n", "other: 1\n", "clusters: [1]\n"])
def test_malformed_documents_are_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match=str(SOURCE)):
        _parse(text)


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"clusters.yaml:3: invalid YAML"):
        _parse("clusters:\n- {name: a\n")


def alias_bomb() -> bytes:
    """9 levels of 9 aliases: a few hundred bytes that would expand to 9**9 nodes."""
    lines = ["x0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"x{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("clusters: [{name: a, kubeconfig: k, labels: {env: *a8}}]")
    return "\n".join(lines).encode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (alias_bomb(), r"clusters.yaml:1: YAML document expands to more than"),
        (b"clusters: " + b"[" * 300 + b"]" * 300 + b"\n", r"clusters.yaml:\d+: .*nested deeper"),
        (b"clusters:\n- {name: caf\xe9, kubeconfig: k}\n", r"clusters.yaml:2: not UTF-8 text"),
        (b"clusters: []\n---\nclusters: []\n", r"clusters.yaml:3: a second YAML document"),
    ],
)
def test_registration_is_read_by_the_guarded_yaml_loader(tmp_path: Path, data: bytes,
                                                         problem: str) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=problem):
        load_file(path)


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    [spec] = _parse(
        "clusters:\n- {name: a, server: 'https://x', token: s3cr3t-token, caFile: ca}\n"
    )
    assert "s3cr3t" not in repr(spec)
    with pytest.raises(ConfigError) as caught:
        _parse(
            "clusters:\n- {name: a, server: 'https://x', token: s3cr3t-token,"
            " tokenEnv: s3cr3t-env}\n"
        )
    assert "s3cr3t" not in str(caught.value)


def test_in_cluster_reads_the_pod_s_environment_and_service_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.delenv("FLEETSYNC_SERVICE_ACCOUNT_DIR", raising=False)
    (spec,) = parse("clusters: [{inCluster: true, labels: {env: mgmt}}]", source=SOURCE)
    assert spec.name == "in-cluster" and spec.labels == {"env": "mgmt"}
    account = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    assert spec.auth == ServerAuth(server="https://10.96.0.1:443",
                                   ca_file=account / "ca.crt", token_file=account / "token")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("FLEETSYNC_SERVICE_ACCOUNT_DIR", "/projected")
    (spec,) = parse("clusters: [{inCluster: true, name: mgmt}]", source=SOURCE)
    assert isinstance(spec.auth, ServerAuth) and spec.name == "mgmt"
    assert spec.auth.server == "https://[fd00::1]:443"
    assert spec.auth.token_file == Path("/projected/token")


@pytest.mark.parametrize(
    ("entry", "field"),
    [("{inCluster: true, server: 'https://x'}", "server"),
     ("{inCluster: true, kubeconfig: k}", "kubeconfig"),
     ("{inCluster: 'yes'}", "inCluster")],
)
def test_in_cluster_takes_no_other_credentials(entry: str, field: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    with pytest.raises(ConfigError, match=field):
        parse(f"clusters: [{entry}]", source=SOURCE)


def test_in_cluster_outside_a_pod_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="does not run in a pod"):
        parse("clusters: [{inCluster: true}]", source=SOURCE)
