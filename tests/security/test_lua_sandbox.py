"""Lua health checks run in a sandbox: no way out, bounded time and memory (pure).

A check comes from the operator's fleetsync.yaml, but it reads objects whose fields
repository authors and controllers write, and it runs inside the hub's event loop. A
check must not reach the machine (files, processes, environment, code loading, Python),
must not change what other checks see, and must stop within its instruction budget and
the runtime's memory limit. Each case gives Unknown with a message naming the check, and
the same checks keep working afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.health import assess
from engine.health.lua import INSTRUCTION_LIMIT, LuaHealthChecks
from engine.model import HealthStatus

H = HealthStatus
ROOT = Path(__file__).resolve().parents[2]
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
FINE = 'return {status = "Healthy", message = "fine"}'


@dataclass(frozen=True)
class Check:
    group_kind: str
    script: str | None
    origin: str = "sandbox.lua"


def _run(script: str) -> tuple[H, str]:
    checks = LuaHealthChecks([Check("example.com/Widget", script), Check("example.com/Fine", FINE)])
    result = assess(WIDGET, checks)
    after = assess({**WIDGET, "kind": "Fine"}, checks)
    assert (after.status, after.message) == (H.HEALTHY, "fine"), "the runtime must survive"
    return result.status, result.message


# A child process that runs one script as ``_run`` does, with its address space capped, so
# that a broken guard fails the test (TimeoutExpired, MemoryError) instead of hanging the
# test run or exhausting the machine. 60 s is a safety net, not a measurement.
_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
sys.path.insert(0, sys.argv[2])
import tests.security.test_lua_sandbox as sandbox
status, message = sandbox._run(sys.argv[1])
print(json.dumps([str(status), message]))
"""


def _run_isolated(script: str) -> tuple[H, str]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, script, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status, message = json.loads(done.stdout)
    return H(status), message


@pytest.mark.parametrize(
    "script",
    [
        'os.execute("touch {marker}")',
        'os.remove("/tmp/anything")',
        'return {status = "Healthy", message = os.getenv("HOME")}',
        "os.exit(1)",
        'io.open("{marker}", "w")',
        'io.popen("id")',
        'require("os")',
        'load("return 1")()',
        'loadstring("return 1")()',
        'dofile("/etc/passwd")',
        'loadfile("/etc/passwd")',
        "debug.getregistry()",
        "package.loadlib('libc.so.6', 'system')",
        "coroutine.create(function() end)",
        'python.eval("1")',
        'getfenv(0).os.execute("id")',
        "setfenv(1, {})",
        "collectgarbage('stop')",
        "module('x')",
        "string.dump(function() end)",
        '("").dump(function() end)',
    ],
)
def test_lua_sandbox_refuses_what_reaches_outside(script: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    status, message = _run(script.replace("{marker}", str(marker)))
    assert status is H.UNKNOWN
    assert message.startswith("Health check for example.com/Widget (sandbox.lua) failed:")
    assert "a nil value" in message
    assert not marker.exists()


def test_lua_sandbox_real_globals_are_not_reachable_through_g() -> None:
    script = """
    local found = {}
    for _, name in ipairs({"os", "io", "debug", "package", "require", "load", "python"}) do
      if _G[name] ~= nil and (name ~= "os" or _G.os.execute ~= nil) then
        table.insert(found, name)
      end
    end
    return {status = "Healthy", message = "reachable:" .. table.concat(found, ",")}
    """
    assert _run(script) == (H.HEALTHY, "reachable:")


def test_lua_sandbox_locks_the_string_metatable() -> None:
    """Through it a check could reach the shared string table and change it for all."""
    script = """
    local mt = getmetatable("")
    if type(mt) == "table" then mt.__index.upper = function() return "hijacked" end end
    return {status = "Healthy", message = tostring(mt)}
    """
    assert _run(script) == (H.HEALTHY, "false")
    probe = 'return {status = "Healthy", message = ("a"):upper()}'
    assert _run(probe) == (H.HEALTHY, "A")


def test_lua_sandbox_refuses_finalizers() -> None:
    """A __gc finalizer would run later, outside any budget: a loop there hangs the hub."""
    status, message = _run_isolated("setmetatable({}, {__gc = function() while true do end end})")
    assert status is H.UNKNOWN
    assert "__gc is not allowed" in message


def test_lua_sandbox_refuses_precompiled_chunks() -> None:
    with pytest.raises(ConfigError, match="precompiled Lua is not accepted"):
        LuaHealthChecks([Check("example.com/Widget", "\x1bLuaR\x00\x01\x04")])


@pytest.mark.parametrize(
    "script",
    [
        "while true do end",
        "local i = 0 repeat i = i + 1 until false",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "for i = 1, 1e15 do local x = tostring(i) end",
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
    ],
)
def test_lua_sandbox_stops_a_check_that_never_ends(script: str) -> None:
    status, message = _run_isolated(script)
    assert status is H.UNKNOWN
    assert f"ran past its budget of {INSTRUCTION_LIMIT:,} instructions" in message


def test_lua_sandbox_reads_a_hostile_result_within_the_budget() -> None:
    """Reading the returned table must not call the check's metamethods outside the budget."""
    script = "return setmetatable({}, {__index = function() while true do end end})"
    checks = LuaHealthChecks([Check("example.com/Widget", script)])
    assert checks.assess(WIDGET) is None  # rawget: no status, the built-in rule decides


@pytest.mark.parametrize(
    "script",
    [
        "local function f(n) return 1 + f(n + 1) end return f(1)",
        "local function f(n) return 1 + f(n + 1) end while true do pcall(f, 1) end",
        'local function f(s) return string.gsub("x", "x", f) end f()',
        "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
        "local t = {} t.__index = t setmetatable(t, t) return t.missing",
    ],
)
def test_lua_sandbox_stops_deep_recursion(script: str) -> None:
    status, message = _run_isolated(script)
    assert status is H.UNKNOWN
    assert any(
        stop in message
        for stop in ("ran past its budget", "stack overflow", "needed more than", "loop in")
    ), message


@pytest.mark.parametrize(
    ("script", "stop"),
    [
        ('local s = string.rep("x", 2^40)', "string.rep: the result would exceed"),
        ('local s = ("x"):rep(2^30)', "string.rep: the result would exceed"),
        ('local s = string.rep("ab", 2^24, ",")', "string.rep: the result would exceed"),
        ('local s = "x" for i = 1, 40 do s = s .. s end', "needed more than 64 MiB"),
        ("local t = {} for i = 1, 1e9 do t[i] = {i} end", ""),
        ('local t = {} for i = 1, 64 do t[i] = string.rep("x", 2^24) end', "needed more than"),
    ],
)
def test_lua_sandbox_bounds_memory(script: str, stop: str) -> None:
    status, message = _run_isolated(script)
    assert status is H.UNKNOWN
    assert stop in message
    assert "needed more than" in message or "budget" in message or "string.rep" in message


def test_lua_sandbox_string_rep_of_nothing_does_not_loop() -> None:
    """string.rep("", n) loops n times in C, where no hook counts: seconds per call."""
    script = """
    local total = 0
    for i = 1, 1000 do total = total + #string.rep("", 2^31 - 1) end
    return {status = "Healthy", message = "n" .. total}
    """
    assert _run_isolated(script) == (H.HEALTHY, "n0")


def test_lua_sandbox_refuses_an_object_nested_without_end() -> None:
    """Objects come from the cluster; one nested deeper than a script needs is not copied."""
    nested: dict[str, object] = {"leaf": True}
    for _ in range(150):
        nested = {"child": nested}
    checks = LuaHealthChecks([Check("example.com/Widget", FINE)])
    result = checks.assess({**WIDGET, "spec": nested})
    assert result is not None
    assert result.status is H.UNKNOWN
    assert "nested too deeply" in result.message
