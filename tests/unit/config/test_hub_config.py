"""fleetsync.yaml: defaults, paths relative to the file, secrets by reference, precise errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.config.hub import AppsFromDir, AppsFromGit, SecretRef, load_config, parse_config
from engine.errors import ConfigError

FULL = """
clusters: clusters.yaml
dataDir: data
apps:
- apps/
- repo: https://git.example/platform/fleet-apps
  revision: main
  path: /apps/prod/
  projects: [platform]
server: {listen: '0.0.0.0:9090'}
webhook: {secretEnv: HOOK_SECRET}
git:
  pollInterval: 15s
  timeout: 2m
  credentials:
  - url: https://github.com/acme
    username: x-access-token
    passwordFile: secrets/token
  - url: ssh://git@github.com/acme
    sshKeyFile: keys/id_ed25519
    knownHostsFile: /etc/ssh/known_hosts
limits: {concurrency: 64, perCluster: 8}
render: {kustomizeBinary: bin/kustomize}
"""


def test_full_config(tmp_path: Path) -> None:
    config = parse_config(FULL, source=tmp_path / "fleetsync.yaml")
    assert config.clusters == tmp_path / "clusters.yaml"
    assert config.data_dir == tmp_path / "data"
    assert config.apps == (
        AppsFromDir(tmp_path / "apps"),
        AppsFromGit("https://git.example/platform/fleet-apps", "main", "apps/prod",
                    ("platform",)),
    )
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 9090)
    assert config.webhook_secret == SecretRef(env="HOOK_SECRET")
    assert (config.git.poll_interval, config.git.timeout) == (15.0, 120.0)
    https, ssh = config.git.credentials
    assert https.password == SecretRef(file=tmp_path / "secrets" / "token")
    assert (ssh.ssh_key_file, ssh.known_hosts_file) == (
        tmp_path / "keys" / "id_ed25519",
        Path("/etc/ssh/known_hosts"),
    )
    assert (config.limits.concurrency, config.limits.per_cluster) == (64, 8)
    assert config.kustomize_binary == tmp_path / "bin" / "kustomize"


def test_defaults(tmp_path: Path) -> None:
    config = parse_config("", source=tmp_path / "fleetsync.yaml")
    assert config.clusters == tmp_path / "clusters.yaml"
    assert config.data_dir == tmp_path / ".fleetsync"
    assert config.apps == ()
    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 8080)
    assert config.webhook_secret is None
    assert (config.git.poll_interval, config.git.timeout) == (30.0, 60.0)
    assert (config.limits.concurrency, config.limits.per_cluster) == (32, 4)
    assert config.kustomize_binary is None


def test_bare_kustomize_name_is_looked_up_on_path(tmp_path: Path) -> None:
    config = parse_config("render: {kustomizeBinary: kustomize}", source=tmp_path / "f.yaml")
    assert config.kustomize_binary == Path("kustomize")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("cluster: c.yaml", "cluster"),
        ("apps: apps/", "apps"),
        ("apps: [{repo: r, branch: main}]", "apps[0].branch"),
        ("apps: [{revision: main}]", "apps[0].revision"),
        ("apps: [{repo: r}]", "apps[0].projects"),
        ("apps: [{path: a, projects: [Team_A]}]", "apps[0].projects[0]"),
        ("apps: [{path: a, appProjects: 'yes'}]", "apps[0].appProjects"),
        ("server: {allowedHosts: ['evil.example/x']}", "server.allowedHosts[0]"),
        ("git: {allowLocalRepos: 1}", "git.allowLocalRepos"),
        ("limits: {treeBytes: 12Zi}", "limits.treeBytes"),
        ("limits: {treeFiles: 0}", "limits.treeFiles"),
        ("limits: {renderTimeout: 0}", "limits.renderTimeout"),
        ("limits: {deleteShare: 1.5}", "limits.deleteShare"),
        ("limits: {deleteShare: half}", "limits.deleteShare"),
        ("implicitDefaultProject: maybe", "implicitDefaultProject"),
        ("server: {listen: localhost}", "server.listen"),
        ("server: {listen: 'localhost:99999'}", "server.listen"),
        ("webhook: {secret: hunter2}", "webhook.secret"),
        ("webhook: {secretEnv: 'not a name'}", "webhook.secretEnv"),
        ("webhook: {secretEnv: A, secretFile: b}", "webhook.secretEnv"),
        ("git: {pollInterval: often}", "git.pollInterval"),
        ("git: {pollInterval: 0s}", "git.pollInterval"),
        ("git: {credentials: [{url: u, password: hunter2}]}", "git.credentials[0].password"),
        ("git: {credentials: [{url: u, username: me}]}", "git.credentials[0]"),
        ("git: {credentials: [{passwordEnv: T}]}", "git.credentials[0].url"),
        ("limits: {concurrency: 0}", "limits.concurrency"),
        ("limits: {perCluster: many}", "limits.perCluster"),
        ("render: {kustomize: x}", "render.kustomize"),
        ("- a list", ""),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source=tmp_path / "fleetsync.yaml")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'fleetsync.yaml'}: {field}"), message
    assert "hunter2" not in message


def test_ipv6_listen(tmp_path: Path) -> None:
    config = parse_config("server: {listen: '[::1]:8080'}", source=tmp_path / "f.yaml")
    assert (config.listen_host, config.listen_port) == ("::1", 8080)


def test_secrets_are_read_on_demand_and_never_shown(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cr3t-token\n")
    text = (
        "webhook: {secretEnv: HOOK}\n"
        "git: {credentials: [{url: https://g.example, passwordFile: token}]}\n"
    )
    (tmp_path / "fleetsync.yaml").write_text(text)
    config = load_config(tmp_path / "fleetsync.yaml", environ={"HOOK": "hook-value"})
    assert config.webhook_secret is not None
    assert config.webhook_secret.read({"HOOK": "hook-value"}) == "hook-value"
    password = config.git.credentials[0].password
    assert password is not None and password.read() == "s3cr3t-token"
    assert "s3cr3t" not in repr(config) and "hook-value" not in repr(config)


@pytest.mark.parametrize(
    ("text", "environ", "where"),
    [
        ("webhook: {secretEnv: HOOK}", {}, "webhook: environment variable HOOK is not set"),
        ("webhook: {secretFile: missing}", {}, "webhook: "),
        (
            "git: {credentials: [{url: u, passwordEnv: TOKEN}]}",
            {"OTHER": "x"},
            "git.credentials[0]: environment variable TOKEN",
        ),
    ],
)
def test_missing_secrets_fail_at_load(
    tmp_path: Path, text: str, environ: dict[str, str], where: str
) -> None:
    (tmp_path / "fleetsync.yaml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(f"fleetsync.yaml: {where}")):
        load_config(tmp_path / "fleetsync.yaml", environ=environ)


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fleetsync.yaml:3: invalid YAML: did not find"):
        parse_config("apps:\n  - [unclosed\nserver: {}\n", source=tmp_path / "fleetsync.yaml")


# 9 levels of 9 aliases: a few hundred bytes that would expand to 9**9 nodes.
ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["render: {kustomizeBinary: *a8}"]
) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ALIAS_BOMB, r"fleetsync.yaml:1: YAML document expands to more than"),
        ("health: " + "[" * 300 + "]" * 300 + "\n", r"fleetsync.yaml:\d+: .*nested deeper"),
        (b"dataDir: caf\xe9\n", r"fleetsync.yaml:1: not UTF-8 text"),
        ("dataDir: a\n---\ndataDir: b\n", r"fleetsync.yaml:3: a second YAML document"),
    ],
)
def test_config_is_read_by_the_guarded_yaml_loader(tmp_path: Path, text: str | bytes,
                                                   problem: str) -> None:
    path = tmp_path / "fleetsync.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError, match=problem):
        load_config(path)


def test_config_yaml_is_read_as_yaml_1_1_with_dates_as_text(tmp_path: Path) -> None:
    config = parse_config("git: {allowLocalRepos: yes}\ndataDir: 2026-12-01\n",
                          source=tmp_path / "fleetsync.yaml")  # fmt: skip
    assert config.git.allow_local_repos is True
    assert config.data_dir == tmp_path / "2026-12-01"


def test_trust_settings(tmp_path: Path) -> None:
    text = """
apps:
- path: tenants/a
  projects: [team-a]
  appProjects: false
- repo: git://127.0.0.1/apps
  projects: ["*"]
  appProjects: true
implicitDefaultProject: true
server: {listen: '127.0.0.1:8080', allowedHosts: [Hub.Example.COM.]}
git: {allowLocalRepos: true}
limits: {treeFiles: 500, treeBytes: 64Mi, renderTimeout: 5s, deleteShare: 0.1}
"""
    config = parse_config(text, source=tmp_path / "fleetsync.yaml")
    assert config.apps == (
        AppsFromDir(tmp_path / "tenants" / "a", ("team-a",), False),
        AppsFromGit("git://127.0.0.1/apps", "HEAD", "", ("*",), True),
    )
    assert config.implicit_default_project is True
    assert config.allowed_hosts == ("hub.example.com",)
    assert config.git.allow_local_repos is True
    assert (config.limits.tree_files, config.limits.tree_bytes) == (500, 64 * 1024 * 1024)
    assert config.limits.render_timeout == 5.0
    assert config.limits.delete_share == 0.1


def test_trust_defaults_are_closed(tmp_path: Path) -> None:
    config = parse_config("apps: [apps/]", source=tmp_path / "fleetsync.yaml")
    assert config.apps == (AppsFromDir(tmp_path / "apps", ("*",), True),)
    assert config.implicit_default_project is False
    assert config.git.allow_local_repos is False
    assert config.allowed_hosts == ()


HEALTH = """
health:
  customizations:
    cert-manager.io/Certificate: |
      hs = {status = "Healthy"}
      return hs
    argoproj.io_Rollout: {file: health/rollout.lua}
    resource.customizations.health.PodDisruptionBudget: 'return {status = "Healthy"}'
    "*.crossplane.io/*": {health.lua: 'return nil', useOpenLibs: true}
"""


def test_health_checks_in_group_kind_and_argo_cd_spellings(tmp_path: Path) -> None:
    config = parse_config(HEALTH, source=tmp_path / "fleetsync.yaml")
    keys = [c.group_kind for c in config.health_checks]
    assert keys == ["cert-manager.io/Certificate", "argoproj.io/Rollout", "PodDisruptionBudget",
                    "*.crossplane.io/*"]  # fmt: skip
    inline, from_file, core, glob = config.health_checks
    assert inline.script == 'hs = {status = "Healthy"}\nreturn hs\n'
    assert inline.origin == "fleetsync.yaml: health.customizations.cert-manager.io/Certificate"
    assert (from_file.script, from_file.file) == (None, tmp_path / "health" / "rollout.lua")
    assert from_file.origin == "health/rollout.lua"
    assert core.script == 'return {status = "Healthy"}'
    assert glob.script == "return nil"
    assert parse_config("", source=tmp_path / "f.yaml").health_checks == ()


def test_health_check_files_are_read_by_load_config(tmp_path: Path) -> None:
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "rollout.lua").write_text('return {status = "Progressing"}\n')
    (tmp_path / "fleetsync.yaml").write_text(HEALTH)
    config = load_config(tmp_path / "fleetsync.yaml")
    assert config.health_checks[1].script == 'return {status = "Progressing"}\n'
    assert all(c.script is not None for c in config.health_checks)


def test_an_unreadable_health_check_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "fleetsync.yaml").write_text(HEALTH)
    with pytest.raises(ConfigError, match=r"health/rollout.lua: cannot read the health check "
                       r"for argoproj.io/Rollout"):  # fmt: skip
        load_config(tmp_path / "fleetsync.yaml")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("health: {checks: {}}", "health.checks: unknown field"),
        ("health: {customizations: [a]}", "health.customizations"),
        ("health: {customizations: {'bad group!/Kind': x}}",
         "health.customizations.bad group!/Kind: must be group/Kind"),
        ("health: {customizations: {'example.com/': x}}", "must be group/Kind"),
        ("health: {customizations: {'a.io/Kind': x, 'a.io_Kind': y}}",
         "health.customizations.a.io_Kind: a second check for a.io/Kind"),
        ("health: {customizations: {'a.io/Kind': 3}}", "must be a Lua script or a mapping"),
        ("health: {customizations: {'a.io/Kind': {}}}", "give file or health.lua, one of them"),
        ("health: {customizations: {'a.io/Kind': {file: a.lua, health.lua: x}}}",
         "give file or health.lua"),
        ("health: {customizations: {'a.io/Kind': {script: x}}}",
         "health.customizations.a.io/Kind.script: unknown field"),
    ],
)  # fmt: skip
def test_health_check_errors_name_the_field(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(error)):
        parse_config(text, source=tmp_path / "fleetsync.yaml")


def test_a_postgres_store_takes_its_dsn_from_the_environment_or_a_file(tmp_path: Path) -> None:
    config = parse_config("store: {postgres: {dsnEnv: FLEETSYNC_DATABASE_URL}}",
                          source=tmp_path / "fleetsync.yaml")
    assert config.postgres_dsn is not None and config.postgres_dsn.env == "FLEETSYNC_DATABASE_URL"
    assert ("store.postgres", config.postgres_dsn) in config.secret_refs()
    assert parse_config("{}", source=tmp_path / "fleetsync.yaml").postgres_dsn is None
    for text, field in (("store: {postgres: {dsn: 'postgresql://u:pw@h/db'}}",
                         "store.postgres.dsn"),
                        ("store: {postgres: {}}", "store.postgres"),
                        ("store: {postgres: {dsnEnv: A, dsnFile: b}}", "store.postgres.dsnEnv")):
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            parse_config(text, source=tmp_path / "fleetsync.yaml")


def test_scale_out_names_the_lease_cluster_and_needs_a_shared_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POD_NAME", "fleetsync-2")
    store = "store: {postgres: {dsnEnv: FLEETSYNC_DATABASE_URL}}\n"
    config = parse_config(store + "scaleOut: {leaseCluster: in-cluster, leaseDuration: 10s}",
                          source=tmp_path / "fleetsync.yaml")
    assert config.scale_out is not None
    assert (config.scale_out.lease_cluster, config.scale_out.namespace,
            config.scale_out.identity, config.scale_out.lease_duration) == (
        "in-cluster", "fleetsync", "fleetsync-2", 10.0)
    for text, field in (("scaleOut: {leaseCluster: in-cluster}", "scaleOut"),
                        (store + "scaleOut: {namespace: x}", "scaleOut.leaseCluster"),
                        (store + "scaleOut: {leaseCluster: c, leaseDuration: 1s}",
                         "scaleOut.leaseDuration")):
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            parse_config(text, source=tmp_path / "fleetsync.yaml")
