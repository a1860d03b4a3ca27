"""``fleetsync.yaml``: the hub's own configuration (parsing and validation, no network).

    clusters: clusters.yaml            # the registration file (default: clusters.yaml)
    dataDir: /var/lib/fleetsync        # SQLite store, git mirrors, caches (default: .fleetsync)
    apps:                              # where Applications and AppProjects come from
    - apps/                            # a directory (recursive) or a file of YAML
    - path: tenants/team-a             # the same, with the projects its apps may use
      projects: [team-a]               # default for a local path: any project ("*")
      appProjects: false               # may it define AppProjects? (local default: true)
    - repo: https://git.example/platform/fleet-apps   # or a directory in a Git repository
      revision: main                   # default HEAD
      path: apps/prod                  # default: the repository root
      projects: [platform]             # required for a Git source
      appProjects: false               # default false for a Git source
    implicitDefaultProject: false      # true: an undefined project "default" allows all
    server:
      listen: 127.0.0.1:8080           # default; "[::1]:8080" for IPv6
      allowedHosts: [fleetsync.example.com]  # Host names it answers to besides IPs/localhost
    webhook:
      secretEnv: FLEETSYNC_WEBHOOK_SECRET   # or secretFile: webhook.secret
    git:
      pollInterval: 30s                # default 30s: one ls-remote per repository
      timeout: 60s                     # per network git command (default 60s)
      allowLocalRepos: false           # true: file:// URLs and local paths may be repoURLs
      credentials:                     # by URL prefix; the longest matching prefix wins
      - url: https://github.com/acme
        username: x-access-token       # default for a token
        passwordEnv: GITHUB_TOKEN      # or passwordFile
      - url: ssh://git@github.com/acme
        sshKeyFile: keys/id_ed25519
        knownHostsFile: keys/known_hosts
    limits:
      concurrency: 32                  # reconciles at once, whole hub (default 32)
      perCluster: 4                    # reconciles at once per cluster (default 4)
      treeFiles: 20000                 # files in one commit tree written to disk
      treeBytes: 128Mi                 # bytes in one commit tree (Ki, Mi, Gi or a number)
      renderTimeout: 60s               # one render (native or kustomize binary)
      deleteShare: 0.25                # cascade deletions of more apps at once are held
    render:
      kustomizeBinary: /usr/local/bin/kustomize   # optional fallback renderer
      helmBinary: /usr/local/bin/helm  # renders Helm charts (fleetsync local build makes one)
    health:
      customizations:                  # Argo CD's Lua health checks, by group/Kind
        cert-manager.io/Certificate: |   # or Argo CD's spelling cert-manager.io_Certificate
          hs = {} ... return hs
        argoproj.io/Rollout: {file: health/rollout.lua}
        "*.crossplane.io/*": {health.lua: "..."}   # a glob; the first match wins
    auth: ...                          # accounts and RBAC (engine.config.auth)
    store:                             # default: the SQLite file <dataDir>/fleetsync.db
      postgres: {dsnEnv: FLEETSYNC_DATABASE_URL}   # or dsnFile: a libpq DSN or URL
    scaleOut:                          # one replica of several (needs store.postgres)
      leaseCluster: in-cluster         # the registered cluster holding the replicas' Leases
      namespace: fleetsync             # their namespace (default fleetsync)
      identityEnv: POD_NAME            # this replica's name (default $POD_NAME, else host)
      leaseDuration: 15s

Relative paths are relative to the directory of ``fleetsync.yaml``; a ``kustomizeBinary``
without ``/`` is looked up on ``PATH``. Durations are ``30s``, ``2m`` or a number of
seconds. Secrets are never written in this file: a ``password``, ``secret`` or ``token``
key is an error; ``SecretRef`` names an environment variable or a file and reads it when
asked (so a rotated file is picked up), and no ``repr`` or error message shows a value.
Every error names the file and the field. Unknown keys are errors: this is fleetsync's own
format and a typo must not pass unnoticed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.apps.fields import Fields
from engine.config.auth import AuthConfig, parse_auth
from engine.config.documents import yaml_document
from engine.errors import ConfigError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INLINE_SECRETS = {"password", "secret", "token"}
_TOP = {
    "clusters", "dataDir", "apps", "implicitDefaultProject", "server", "webhook", "git",
    "limits", "render", "health", "auth", "store", "scaleOut",
}  # fmt: skip


@dataclass(frozen=True)
class SecretRef:
    """Where a secret is: an environment variable or a file. Holds no secret itself."""

    env: str | None = None
    file: Path | None = None

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret, read now (ConfigError naming the variable or file if absent)."""
        if self.env is not None:
            value = (os.environ if environ is None else environ).get(self.env)
            if not value:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise ConfigError(f"{self.file}: cannot read secret file") from None


@dataclass(frozen=True)
class GitCredential:
    """Credentials for every repository under ``url`` (a URL prefix)."""

    url: str
    username: str | None = None
    password: SecretRef | None = None
    ssh_key_file: Path | None = None
    known_hosts_file: Path | None = None


@dataclass(frozen=True)
class GitConfig:
    """Polling and credentials for Git sources."""

    poll_interval: float = 30.0
    timeout: float = 60.0
    credentials: tuple[GitCredential, ...] = ()
    allow_local_repos: bool = False


@dataclass(frozen=True)
class AppsFromDir:
    """Applications read from a local file or directory (searched recursively).

    ``projects`` are the AppProjects its Applications may name (``*``: any);
    ``app_projects`` says whether AppProject documents found there are accepted.
    """

    path: Path
    projects: tuple[str, ...] = ("*",)
    app_projects: bool = True


@dataclass(frozen=True)
class AppsFromGit:
    """Applications read from a directory of a Git repository (apps managed by GitOps).

    Whoever can push there writes Applications, so the operator names the projects they
    may use, and AppProjects are accepted from it only when ``app_projects`` says so.
    """

    repo: str
    revision: str = "HEAD"
    path: str = ""
    projects: tuple[str, ...] = ()
    app_projects: bool = False


AppsSource = AppsFromDir | AppsFromGit


@dataclass(frozen=True)
class Limits:
    """Concurrent reconciles: for the whole hub, and per cluster unless clusters.yaml says."""

    concurrency: int = 32
    per_cluster: int = 4
    tree_files: int = 20_000
    tree_bytes: int = 128 * 1024 * 1024
    render_timeout: float = 60.0
    delete_share: float = 0.25


@dataclass(frozen=True)
class HealthCheckConfig:
    """A user health check (Lua, Argo CD's format) for the kinds ``group_kind`` names.

    ``group_kind`` is ``group/Kind``, ``Kind`` for the core group, or a glob; ``script`` is
    the Lua text (None until ``load_config`` read ``file``); ``origin`` names where it was
    declared, for messages.
    """

    group_kind: str
    script: str | None
    origin: str
    file: Path | None = None


@dataclass(frozen=True)
class ScaleOut:
    """One replica of several: where their Leases live, who this one is, how long a Lease
    lasts (``engine.hub.ownership``)."""

    lease_cluster: str
    namespace: str
    identity: str
    lease_duration: float = 15.0


@dataclass(frozen=True)
class HubConfig:
    """The validated ``fleetsync.yaml``; every path is absolute."""

    source: Path
    clusters: Path
    data_dir: Path
    apps: tuple[AppsSource, ...] = ()
    implicit_default_project: bool = False
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    allowed_hosts: tuple[str, ...] = ()
    webhook_secret: SecretRef | None = None
    git: GitConfig = field(default_factory=GitConfig)
    limits: Limits = field(default_factory=Limits)
    kustomize_binary: Path | None = None
    helm_binary: Path | None = None
    health_checks: tuple[HealthCheckConfig, ...] = ()
    auth: AuthConfig = field(default_factory=AuthConfig)
    postgres_dsn: SecretRef | None = None  # None: the SQLite file in dataDir
    scale_out: ScaleOut | None = None  # None: this hub reconciles every cluster

    def secret_refs(self) -> tuple[tuple[str, SecretRef], ...]:
        """Every secret reference with the field that declares it."""
        refs = [("webhook", self.webhook_secret)] if self.webhook_secret else []
        refs += [("store.postgres", self.postgres_dsn)] if self.postgres_dsn else []
        refs += [
            (f"git.credentials[{i}]", c.password)
            for i, c in enumerate(self.git.credentials)
            if c.password
        ]
        return tuple(refs)


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> HubConfig:
    """Read and validate ``path``; also check that every secret it references is there."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    config = parse_config(data, source=path.absolute())
    config = replace(config, health_checks=tuple(_read_check(c) for c in config.health_checks))
    for where, ref in config.secret_refs():
        try:
            ref.read(environ)
        except ConfigError as err:
            raise ConfigError(f"{config.source}: {where}: {err}") from None
    return config


def parse_config(text: str | bytes, *, source: Path) -> HubConfig:
    """Validate the text of a ``fleetsync.yaml`` at ``source`` (pure: reads no secret);
    bytes must be UTF-8."""
    fields = Fields(str(source), "")
    doc = _yaml_mapping(text, fields)
    base = source.parent
    extra = sorted(set(doc) - _TOP)
    if extra:
        raise fields.error(extra[0], f"unknown field (expected {', '.join(sorted(_TOP))})")
    server = doc.get("server")
    server_section = {} if isinstance(server, str) else _section(
        doc, "server", {"listen", "allowedHosts"}, fields)
    listen = server if isinstance(server, str) else server_section.get("listen")
    host, port = _listen(listen, fields)
    render = _section(doc, "render", {"kustomizeBinary", "helmBinary"}, fields)
    postgres_dsn = _store(doc, base, fields)
    return HubConfig(
        source=source,
        clusters=_path(base, fields.string(doc, "clusters", "") or "clusters.yaml"),
        data_dir=_path(base, fields.string(doc, "dataDir", "") or ".fleetsync"),
        apps=_apps(doc, base, fields),
        implicit_default_project=fields.boolean(doc, "implicitDefaultProject", "", False),
        listen_host=host,
        listen_port=port,
        allowed_hosts=_hosts(server_section, fields),
        webhook_secret=_webhook(doc, base, fields),
        git=_git(doc, base, fields),
        limits=_limits(doc, fields),
        kustomize_binary=_binary(base, fields.string(render, "kustomizeBinary", "render")),
        helm_binary=_binary(base, fields.string(render, "helmBinary", "render")),
        health_checks=_health_checks(doc, base, fields),
        auth=parse_auth(doc, fields),
        postgres_dsn=postgres_dsn,
        scale_out=_scale_out(doc, fields, shared=postgres_dsn is not None),
    )


def _yaml_mapping(text: str | bytes, fields: Fields) -> dict[str, Any]:
    doc = yaml_document(text, source=fields.source)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise fields.error("", "must be a mapping")
    return doc


def _section(doc: Mapping[str, Any], key: str, known: set[str], fields: Fields) -> dict[str, Any]:
    raw = fields.mapping(doc, key, "")
    inline = sorted(set(raw) & _INLINE_SECRETS)
    if inline:
        raise fields.error(
            f"{key}.{inline[0]}", "secrets are not written inline; use an ...Env or ...File field"
        )
    extra = sorted(set(raw) - known)
    if extra:
        raise fields.error(
            f"{key}.{extra[0]}", f"unknown field (expected {', '.join(sorted(known))})"
        )
    return raw


def _path(base: Path, value: str) -> Path:
    return (base / Path(value).expanduser()).absolute()


def _binary(base: Path, value: str) -> Path | None:
    if not value:
        return None
    return _path(base, value) if "/" in value else Path(value)


def _apps(doc: Mapping[str, Any], base: Path, fields: Fields) -> tuple[AppsSource, ...]:
    entries: list[AppsSource] = []
    for index, raw in enumerate(fields.items(doc, "apps", "")):
        path = f"apps[{index}]"
        if isinstance(raw, str) and raw:
            entries.append(AppsFromDir(_path(base, raw)))
            continue
        if not isinstance(raw, dict):
            raise fields.error(path, "must be a path or a mapping with repo or path")
        known = _GIT_APPS_FIELDS if "repo" in raw else _DIR_APPS_FIELDS
        extra = sorted(set(raw) - known)
        if extra:
            raise fields.error(
                f"{path}.{extra[0]}", f"unknown field (expected {', '.join(sorted(known))})"
            )
        entries.append(_git_apps(raw, path, fields) if "repo" in raw
                       else _dir_apps(raw, base, path, fields))  # fmt: skip
    return tuple(entries)


_GIT_APPS_FIELDS = {"repo", "revision", "path", "projects", "appProjects"}
_DIR_APPS_FIELDS = {"path", "projects", "appProjects"}


def _git_apps(raw: Mapping[str, Any], path: str, fields: Fields) -> AppsFromGit:
    projects = _project_names(raw, path, fields)
    if projects is None:
        raise fields.error(f"{path}.projects", "is required for a Git source: name the "
                           "AppProjects its Applications may use (\"*\" for any)")  # fmt: skip
    return AppsFromGit(
        repo=fields.required(raw, "repo", path),
        revision=fields.string(raw, "revision", path) or "HEAD",
        path=fields.string(raw, "path", path).strip("/"),
        projects=projects,
        app_projects=fields.boolean(raw, "appProjects", path, False),
    )


def _dir_apps(raw: Mapping[str, Any], base: Path, path: str, fields: Fields) -> AppsFromDir:
    projects = _project_names(raw, path, fields)
    return AppsFromDir(
        path=_path(base, fields.required(raw, "path", path)),
        projects=("*",) if projects is None else projects,
        app_projects=fields.boolean(raw, "appProjects", path, True),
    )


def _project_names(raw: Mapping[str, Any], path: str, fields: Fields) -> tuple[str, ...] | None:
    if raw.get("projects") is None:
        return None
    names = fields.strings(raw, "projects", path)
    for index, name in enumerate(names):
        if name != "*" and not _PROJECT_NAME.match(name):
            raise fields.error(f"{path}.projects[{index}]", "must be a project name or \"*\"")
    return names


_PROJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")  # fmt: skip


def _hosts(server: Mapping[str, Any], fields: Fields) -> tuple[str, ...]:
    names = fields.strings(server, "allowedHosts", "server")
    for index, name in enumerate(names):
        if not _HOST_NAME.match(name):
            raise fields.error(f"server.allowedHosts[{index}]", f"{name!r} is not a host name")
    return tuple(n.lower().rstrip(".") for n in names)


def _listen(value: Any, fields: Fields) -> tuple[str, int]:
    if value is None:
        return "127.0.0.1", 8080
    match = re.fullmatch(
        r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:\s]+)):(?P<port>\d+)", str(value)
    )
    port = int(match["port"]) if match else 0
    if match is None or not 0 < port < 65536:
        raise fields.error("server.listen", f"{value!r} is not HOST:PORT")
    return match["v6"] or match["host"], port


def _secret(
    raw: Mapping[str, Any], stem: str, base: Path, fields: Fields, path: str
) -> SecretRef | None:
    env = fields.string(raw, f"{stem}Env", path)
    file = fields.string(raw, f"{stem}File", path)
    if env and file:
        raise fields.error(f"{path}.{stem}Env", f"give {stem}Env or {stem}File, not both")
    if env and not _ENV_NAME.match(env):
        raise fields.error(f"{path}.{stem}Env", "must be an environment variable name")
    if env:
        return SecretRef(env=env)
    return SecretRef(file=_path(base, file)) if file else None


def _webhook(doc: Mapping[str, Any], base: Path, fields: Fields) -> SecretRef | None:
    raw = _section(doc, "webhook", {"secretEnv", "secretFile"}, fields)
    return _secret(raw, "secret", base, fields, "webhook")


def _store(doc: Mapping[str, Any], base: Path, fields: Fields) -> SecretRef | None:
    raw = _section(doc, "store", {"postgres"}, fields)
    if raw.get("postgres") is None:
        return None
    postgres = fields.mapping(raw, "postgres", "store")
    unknown = sorted(set(postgres) - {"dsnEnv", "dsnFile"})
    if unknown:
        raise fields.error(f"store.postgres.{unknown[0]}", "unknown field (dsnEnv or dsnFile: "
                                                           "the DSN holds a password)")
    ref = _secret(postgres, "dsn", base, fields, "store.postgres")
    if ref is None:
        raise fields.error("store.postgres", "needs dsnEnv or dsnFile")
    return ref


def _scale_out(doc: Mapping[str, Any], fields: Fields, *, shared: bool) -> ScaleOut | None:
    raw = _section(doc, "scaleOut", {"leaseCluster", "namespace", "identityEnv",
                                     "leaseDuration"}, fields)  # fmt: skip
    if not raw:
        return None
    if not shared:
        raise fields.error("scaleOut", "needs store.postgres: the replicas share their state")
    cluster = fields.required(raw, "leaseCluster", "scaleOut")
    namespace = fields.string(raw, "namespace", "scaleOut", default="fleetsync")
    variable = fields.string(raw, "identityEnv", "scaleOut", default="POD_NAME")
    identity = os.environ.get(variable) or os.uname().nodename
    duration = fields.duration(raw, "leaseDuration", "scaleOut") or 15.0
    if duration < 3:
        raise fields.error("scaleOut.leaseDuration", "must be at least 3s")
    return ScaleOut(cluster, namespace, identity, duration)


def _git(doc: Mapping[str, Any], base: Path, fields: Fields) -> GitConfig:
    raw = _section(doc, "git", {"pollInterval", "timeout", "credentials", "allowLocalRepos"},
                   fields)
    poll = fields.duration(raw, "pollInterval", "git")
    timeout = fields.duration(raw, "timeout", "git")
    for key, value in (("pollInterval", poll), ("timeout", timeout)):
        if value is not None and value <= 0:
            raise fields.error(f"git.{key}", "must be positive")
    return GitConfig(
        poll_interval=30.0 if poll is None else poll,
        timeout=60.0 if timeout is None else timeout,
        credentials=tuple(
            _credential(entry, index, base, fields)
            for index, entry in enumerate(fields.items(raw, "credentials", "git"))
        ),
        allow_local_repos=fields.boolean(raw, "allowLocalRepos", "git", False),
    )


_CREDENTIAL_FIELDS = {
    "url",
    "username",
    "passwordEnv",
    "passwordFile",
    "sshKeyFile",
    "knownHostsFile",
}


def _credential(raw: Any, index: int, base: Path, fields: Fields) -> GitCredential:
    path = f"git.credentials[{index}]"
    if not isinstance(raw, dict):
        raise fields.error(path, "must be a mapping with url and credentials")
    inline = sorted(set(raw) & _INLINE_SECRETS)
    if inline:
        raise fields.error(
            f"{path}.{inline[0]}", "secrets are not written inline; use passwordEnv or passwordFile"
        )
    extra = sorted(set(raw) - _CREDENTIAL_FIELDS)
    if extra:
        raise fields.error(
            f"{path}.{extra[0]}",
            f"unknown field (expected {', '.join(sorted(_CREDENTIAL_FIELDS))})",
        )
    key_file = fields.string(raw, "sshKeyFile", path)
    known_hosts = fields.string(raw, "knownHostsFile", path)
    credential = GitCredential(
        url=fields.required(raw, "url", path),
        username=fields.string(raw, "username", path) or None,
        password=_secret(raw, "password", base, fields, path),
        ssh_key_file=_path(base, key_file) if key_file else None,
        known_hosts_file=_path(base, known_hosts) if known_hosts else None,
    )
    if credential.password is None and credential.ssh_key_file is None:
        raise fields.error(path, "needs passwordEnv, passwordFile or sshKeyFile")
    return credential


_LIMITS = {"concurrency", "perCluster", "treeFiles", "treeBytes", "renderTimeout",
           "deleteShare"}
_BYTE_UNITS = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def _limits(doc: Mapping[str, Any], fields: Fields) -> Limits:
    raw = _section(doc, "limits", _LIMITS, fields)
    values: dict[str, Any] = {}
    for key, attr in (("concurrency", "concurrency"), ("perCluster", "per_cluster"),
                      ("treeFiles", "tree_files")):  # fmt: skip
        value = fields.integer(raw, key, "limits")
        if value is not None and value < 1:
            raise fields.error(f"limits.{key}", "must be at least 1")
        if value is not None:
            values[attr] = value
    if raw.get("treeBytes") is not None:
        values["tree_bytes"] = _bytes(raw["treeBytes"], "limits.treeBytes", fields)
    timeout = fields.duration(raw, "renderTimeout", "limits")
    if timeout is not None:
        if timeout <= 0:
            raise fields.error("limits.renderTimeout", "must be positive")
        values["render_timeout"] = timeout
    share = raw.get("deleteShare")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise fields.error("limits.deleteShare", f"{share!r} is not a number from 0 to 1")
        values["delete_share"] = float(share)
    return Limits(**values)


def _bytes(value: Any, path: str, fields: Fields) -> int:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(value)) if not isinstance(value, bool) else None
    if match is None or int(match[1]) < 1:
        raise fields.error(path, f"{value!r} is not a size like 128Mi, 512Ki or a byte count")
    return int(match[1]) * _BYTE_UNITS[match[2] or ""]


_ARGO_HEALTH_PREFIX = "resource.customizations.health."
_CHECK_FIELDS = {"file", "health.lua", "useOpenLibs"}
_GROUP = re.compile(r"^[a-z0-9*?]([-a-z0-9.*?]*[a-z0-9*?])?$")
_KIND = re.compile(r"^[A-Za-z0-9*?]+$")


def _health_checks(
    doc: Mapping[str, Any], base: Path, fields: Fields
) -> tuple[HealthCheckConfig, ...]:
    """``health.customizations``: Lua health checks by group/Kind, inline or from a file."""
    raw = _section(doc, "health", {"customizations"}, fields)
    checks: dict[str, HealthCheckConfig] = {}
    for key, value in fields.mapping(raw, "customizations", "health").items():
        path = f"health.customizations.{key}"
        group_kind = _group_kind(str(key), path, fields)
        if group_kind in checks:
            raise fields.error(path, f"a second check for {group_kind} "
                               f"(also {checks[group_kind].origin})")  # fmt: skip
        checks[group_kind] = _check(group_kind, value, base, path, fields)
    return tuple(checks.values())


def _group_kind(key: str, path: str, fields: Fields) -> str:
    """Argo CD's key (``group_Kind``, ``Kind``, even with its ``resource.customizations.health.``
    prefix) or ``group/Kind``, as ``group/Kind`` (``Kind`` for the core group)."""
    name = key.removeprefix(_ARGO_HEALTH_PREFIX)
    group, sep, kind = name.rpartition("/") if "/" in name else name.rpartition("_")
    if (sep and not _GROUP.match(group)) or not _KIND.match(kind):
        raise fields.error(path, "must be group/Kind, group_Kind (Argo CD's spelling) or Kind")
    return f"{group}/{kind}" if sep else kind


def _check(group_kind: str, value: Any, base: Path, path: str, fields: Fields) -> HealthCheckConfig:
    origin = f"{Path(fields.source).name}: {path}"  # shown in health messages: no full path
    if isinstance(value, str):
        return HealthCheckConfig(group_kind, value, origin)
    if not isinstance(value, dict):
        raise fields.error(path, "must be a Lua script or a mapping with file or health.lua")
    extra = sorted(set(value) - _CHECK_FIELDS)
    if extra:
        expected = ", ".join(sorted(_CHECK_FIELDS))
        raise fields.error(f"{path}.{extra[0]}", f"unknown field (expected {expected})")
    # useOpenLibs (Argo CD) is accepted: string, table and math are always there.
    fields.boolean(value, "useOpenLibs", path, False)
    inline, file = value.get("health.lua"), value.get("file")
    if (inline is None) == (file is None):
        raise fields.error(path, "give file or health.lua, one of them")
    if inline is not None:
        return HealthCheckConfig(group_kind, fields.string(value, "health.lua", path), origin)
    name = fields.required(value, "file", path)
    return HealthCheckConfig(group_kind, None, name, file=_path(base, name))


def _read_check(check: HealthCheckConfig) -> HealthCheckConfig:
    """The check with the text of its file, if it names one."""
    if check.file is None:
        return check
    try:
        text = check.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ConfigError(f"{check.file}: cannot read the health check for "
                          f"{check.group_kind}: {reason}") from None  # fmt: skip
    return replace(check, script=text)
