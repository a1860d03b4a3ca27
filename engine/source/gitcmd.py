"""Run one git command: clean environment, timeout that kills the process group, redaction.

Every git child runs in a new session with an environment built from scratch (a private
HOME, no system or global config, no terminal prompts, literal pathspecs), so that the
user's git configuration, credential helpers and SSH agent cannot interfere. A timeout or a
cancellation stops the whole process group (git plus ``git-remote-http``/``ssh``), and
waits for it. Failures become ``GitError`` subclasses whose text has every secret redacted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.abc import ByteReceiveStream, Process

from engine.errors import (
    AuthenticationFailed,
    GitError,
    GitOutputTooLarge,
    GitTimeout,
    RemoteUnreachable,
    SourceError,
    UnsafeObjects,
)
from engine.redaction import redact

log = logging.getLogger(__name__)

STDERR_LIMIT = 64 * 1024
KILL_GRACE = 0.5  # seconds between SIGTERM and SIGKILL of a git process group
_PASSTHROUGH = (
    "PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "GIT_SSL_CAINFO", "SSL_CERT_FILE", "SSL_CERT_DIR",
)  # fmt: skip
_AUTH_HINTS = (
    "authentication failed", "could not read username", "could not read password",
    "terminal prompts disabled", "permission denied (publickey", "returned error: 401",
    "returned error: 403", "invalid username or password", "host key verification failed",
)  # fmt: skip
_UNREACHABLE_HINTS = (
    "could not resolve host", "connection refused", "failed to connect", "unable to connect",
    "couldn't connect", "network is unreachable", "no route to host", "connection timed out",
    "connection reset", "could not read from remote repository", "unable to look up",
)  # fmt: skip
# what index-pack/unpack-objects print when fsck refuses a transferred object
_FSCK_FINDING = re.compile(r"error: object ([0-9a-f]{40,64}): (\w+): ([^\n]*)")
_FSCK_HINTS = ("fsck error in pack", "fsck error in packed object")


@dataclass(frozen=True)
class GitResult:
    """What a finished git command printed, and its exit code."""

    returncode: int
    stdout: bytes
    stderr: str


def base_env(home: Path, *, allow_protocols: str) -> dict[str, str]:
    """An environment isolated from the user's git setup; ``allow_protocols`` like ``git:https``."""
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_LITERAL_PATHSPECS="1",
        GIT_NO_REPLACE_OBJECTS="1",
        GIT_ALLOW_PROTOCOL=allow_protocols,
        LC_ALL="C",
        LANG="C",
    )
    return env


async def run_git(
    args: Sequence[str],
    *,
    repo: str,
    env: Mapping[str, str],
    time_limit: float,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    secrets: tuple[str, ...] = (),
    check: bool = True,
    config: Mapping[str, str] | None = None,
    max_stdout: int | None = None,
) -> GitResult:
    """Run ``git *args`` for at most ``time_limit`` seconds; raise ``GitError`` on failure.

    ``config`` is given as ``-c key=value`` options; ``max_stdout`` stops git (raising
    ``GitOutputTooLarge``) once it printed more, so that no listing can fill the memory.
    """
    options = [word for key, value in (config or {}).items() for word in ("-c", f"{key}={value}")]
    argv = ["git", *options, *args]
    log.debug("%s: running %s", repo, redact(" ".join(argv), secrets))
    stdout, stderr = bytearray(), bytearray()
    process = await anyio.open_process(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        with anyio.fail_after(time_limit):
            await _communicate(process, stdin, stdout, stderr, max_stdout)
            returncode = await process.wait()
    except TimeoutError:
        text = _decode(stderr, secrets)
        message = f"git {args[0]} timed out after {time_limit:g}s"
        raise GitTimeout(message, repo=repo, stderr=text) from None
    finally:
        with anyio.CancelScope(shield=True):
            await _reap(process)
    if max_stdout is not None and len(stdout) > max_stdout:
        raise GitOutputTooLarge(f"git {args[0]} printed more than {max_stdout} bytes", repo=repo)
    result = GitResult(returncode, bytes(stdout), _decode(stderr, secrets))
    if check and returncode != 0:
        raise classify_failure(args[0], result, repo=repo)
    return result


def classify_failure(command: str, result: GitResult, *, repo: str) -> SourceError:
    """The error class that a failed git command's stderr points to."""
    lowered = result.stderr.lower()
    if (refused := fsck_refusal(result.stderr, repo=repo)) is not None:
        return refused
    message = f"git {command} failed (exit {result.returncode})"
    if any(hint in lowered for hint in _AUTH_HINTS):
        return AuthenticationFailed(message, repo=repo, stderr=result.stderr)
    if any(hint in lowered for hint in _UNREACHABLE_HINTS):
        return RemoteUnreachable(message, repo=repo, stderr=result.stderr)
    return GitError(message, repo=repo, stderr=result.stderr)


def fsck_refusal(stderr: str, *, repo: str) -> UnsafeObjects | None:
    """The permanent error for a fetch whose objects git's fsck refused, if that is what failed."""
    findings = [f"{kind} in object {oid[:12]} ({text.strip()})"
                for oid, kind, text in _FSCK_FINDING.findall(stderr)]  # fmt: skip
    if not findings and not any(hint in stderr.lower() for hint in _FSCK_HINTS):
        return None
    found = "; ".join(findings[:5]) or stderr.strip().splitlines()[-1]
    return UnsafeObjects(f"refusing what the remote sent: git fsck found {found}", repo=repo)


async def _communicate(
    process: Process,
    stdin: bytes | None,
    stdout: bytearray,
    stderr: bytearray,
    max_stdout: int | None = None,
) -> None:
    async with anyio.create_task_group() as tg:
        if process.stdout is not None:
            tg.start_soon(_drain_bounded, process.stdout, stdout, max_stdout, process.pid)
        if process.stderr is not None:
            tg.start_soon(_drain, process.stderr, stderr, STDERR_LIMIT)
        if stdin is not None and process.stdin is not None:
            async with process.stdin:
                # if git exits early, its exit code and stderr tell why
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await process.stdin.send(stdin)


async def _drain(stream: ByteReceiveStream, sink: bytearray, limit: int | None) -> None:
    async for chunk in stream:
        if limit is None or len(sink) < limit:
            sink += chunk


async def _drain_bounded(
    stream: ByteReceiveStream, sink: bytearray, limit: int | None, pgid: int
) -> None:
    """Collect stdout; past ``limit`` bytes, kill git's process group and stop reading."""
    async for chunk in stream:
        sink += chunk
        if limit is not None and len(sink) > limit:
            _signal_group(pgid, signal.SIGKILL)
            return


async def _reap(process: Process) -> None:
    """Stop the process group if git is still running, then wait for it.

    SIGTERM first: git then removes its lock files and waits for its helpers
    (``git-remote-http``, ``ssh``); whatever is left after a grace period gets SIGKILL.
    """
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with anyio.move_on_after(KILL_GRACE):
            await process.wait()
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGKILL)
        await process.aclose()
        await _wait_group_gone(process.pid)
    await process.aclose()


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def _wait_group_gone(pgid: int) -> None:
    """Give helpers killed with git a moment to finish dying (bounded)."""
    for _ in range(int(KILL_GRACE / 0.01)):
        if not _group_alive(pgid):
            return
        await anyio.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs; orphaned zombies (awaiting init) do not count."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _decode(raw: bytearray, secrets: tuple[str, ...]) -> str:
    return redact(raw.decode("utf-8", "replace"), secrets)
