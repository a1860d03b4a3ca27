"""User health checks in Argo CD's format: Lua scripts run in a sandbox (pure: no I/O).

A check is what Argo CD users write under ``resource.customizations.health.<group_kind>``:
a script that reads the live object from the global ``obj`` and returns a table whose
``status`` is ``Healthy``, ``Progressing``, ``Degraded``, ``Suspended``, ``Missing`` or
``Unknown`` and whose ``message`` says why. A check that returns nothing (nil, or a table
without a status) leaves the verdict to fleetsync's built-in rule. Checks are matched by
``group/Kind`` (``Kind`` alone for the core group), then by the first declared glob
(``*.crossplane.io/*``).

The sandbox. Every run gets a fresh environment with Lua's base functions except those
that load code or reach outside (``load``, ``loadstring``, ``dofile``, ``loadfile``,
``require``, ``module``, ``collectgarbage``, ``getfenv``/``setfenv``), ``string`` without
``dump``, ``table``, ``math``, and of ``os`` only ``time``, ``date``, ``clock`` and
``difftime`` (as Argo CD's safe ``os``). No ``io``, ``debug``, ``package``, ``coroutine``
or Python. ``print`` does nothing. The string metatable is locked, so a script cannot
change what another one sees; metatables with ``__gc`` are refused (a finalizer would run
outside any budget). Scripts are loaded as text only (no bytecode). The object is copied
into plain Lua tables, with ``metadata.managedFields`` left out and a Secret's values
masked, so no Python object is reachable and no secret can end up in a message.

The budget. Each run may execute ``INSTRUCTION_LIMIT`` Lua instructions (counted by a
debug hook installed before scripts run, and never reachable by them; ``pcall`` cannot
swallow the stop), and all checks together may hold ``MEMORY_LIMIT`` bytes (the runtime's
allocator refuses more). ``string.rep`` is bounded, since it loops in C where no hook runs.
What is not bounded: a single call of a C string function whose cost grows faster than its
input (a pattern that backtracks badly over a long string); the scripts come from the
operator's ``fleetsync.yaml``. A failure, an invalid result or a stopped run is Unknown
with a message naming the check; nothing is raised.

The dialect. Argo CD runs gopher-lua (Lua 5.1 plus ``goto``); fleetsync runs Lua 5.2
through ``lupa``, which has ``goto`` and the same numbers (doubles), with Lua 5.1's
``unpack``, ``table.getn``, ``math.mod`` and ``string.gfind`` added, so scripts written for
Argo CD run unchanged unless they use ``setfenv``, ``loadstring`` or ``module``.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from lupa import lua52

from engine.errors import ConfigError
from engine.health.result import HealthResult, unknown
from engine.model import HealthStatus

INSTRUCTION_LIMIT = 1_000_000
MEMORY_LIMIT = 64 * 1024 * 1024
REP_LIMIT = 16 * 1024 * 1024  # bytes one string.rep may build
MESSAGE_LIMIT = 1024
_MAX_DEPTH = 100  # nesting of the object handed to a script
_MASK = "++++++++"
_CACHED_KINDS = 4096

# Trusted setup, run once per runtime before any script: the budget hook, the guarded
# pcall/xpcall, the environment factory, and the runner. It keeps its state in upvalues
# that no script can reach (scripts get neither debug nor these functions' upvalues).
_SETUP = r"""
local REP_LIMIT = ...
local STEP = 1000
local state = {armed = false, used = 0, limit = 0, over = false}
local stop = setmetatable({}, {__tostring = function() return "budget" end})
local error_, pcall_, xpcall_, type_, rawget_, tostring_, tonumber_ =
      error, pcall, xpcall, type, rawget, tostring, tonumber
local setmetatable_, sethook, setupvalue = setmetatable, debug.sethook, debug.setupvalue

local function hook()
  if not state.armed then return end
  state.used = state.used + STEP
  if state.used > state.limit then
    state.over = true
    error_(stop, 0)
  end
end
sethook(hook, "", STEP)

-- A script's pcall must not swallow the stop of its budget.
local function passed(...)
  if state.over then error_(stop, 0) end
  return ...
end
local function safe_pcall(...) return passed(pcall_(...)) end
local function safe_xpcall(...) return passed(xpcall_(...)) end

local function safe_setmetatable(t, mt)
  if type_(mt) == "table" and rawget_(mt, "__gc") ~= nil then
    error_("setmetatable: __gc is not allowed in a health check", 2)
  end
  return setmetatable_(t, mt)
end

-- string.rep loops in C, out of the hook's reach: bound what it may build.
local rep = string.rep
string.rep = function(s, n, sep)
  local size = (type_(s) == "string" or type_(s) == "number") and #tostring_(s) or 0
  size = size + ((type_(sep) == "string" or type_(sep) == "number") and #tostring_(sep) or 0)
  local count = tonumber_(n)
  if count ~= nil and (count ~= count or (count > 0 and size * count > REP_LIMIT)) then
    error_("string.rep: the result would exceed " .. REP_LIMIT .. " bytes", 2)
  end
  if count ~= nil and size == 0 then return "" end
  return rep(s, n, sep)
end
string.dump = nil
getmetatable("").__metatable = false

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end
local os_time, os_date, os_clock, os_difftime = os.time, os.date, os.clock, os.difftime
local base = {
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
  "select", "getmetatable", "tonumber", "tostring", "type", "_VERSION",
}
local G = _G

local function environment(obj)
  local env = {}
  for _, name in ipairs(base) do env[name] = G[name] end
  env.pcall, env.xpcall, env.setmetatable = safe_pcall, safe_xpcall, safe_setmetatable
  env.print = function() end
  env.unpack = table.unpack
  env.string, env.table, env.math = copy(string), copy(table), copy(math)
  env.string.gfind = string.gmatch
  env.table.getn = function(t) return #t end
  env.math.mod = math.fmod
  env.os = {time = os_time, date = os_date, clock = os_clock, difftime = os_difftime}
  env.obj = obj
  env._G = env
  return env
end

local function describe(err)
  if err == stop then return nil end
  return tostring_(err)
end

-- What a script returned, as plain values: status and message strings (or nil).
local function verdict(ok, result)
  if not ok then return "error", describe(result) end
  if result == nil then return "none" end
  if type_(result) ~= "table" then return "type", type_(result) end
  local status, message = rawget_(result, "status"), rawget_(result, "message")
  if type_(message) == "number" then message = tostring_(message) end
  if type_(message) ~= "string" then message = "" end
  if status == nil then return "none" end
  if type_(status) ~= "string" then return "invalid", type_(status) end
  return "status", status, message
end

local function evaluate(fn)
  return verdict(pcall_(fn))
end

local function compile(text, name)
  local fn, problem = load(text, "=" .. name, "t", {})
  return fn, problem
end

local function run(fn, obj)
  setupvalue(fn, 1, environment(obj))
  local ok, kind, a, b = pcall_(evaluate, fn)
  if state.over then return "budget" end
  if not ok then return "error", describe(kind) end
  return kind, a, b
end

return state, compile, run
"""


class CheckSource(Protocol):
    """One declared check (``engine.config.hub.HealthCheckConfig`` is one)."""

    @property
    def group_kind(self) -> str:
        """``group/Kind``, ``Kind`` for the core group, or a glob such as ``*.example.com/*``."""
        ...

    @property
    def script(self) -> str | None:
        """The Lua text; None when it was not read (an error here)."""
        ...

    @property
    def origin(self) -> str:
        """Where it was declared, for messages (a file, or fleetsync.yaml and the field)."""
        ...


class LuaHealthChecks:
    """Compiled user health checks, run in one sandboxed Lua runtime (``custom`` of ``assess``)."""

    def __init__(self, sources: Iterable[CheckSource]) -> None:
        """Compile every check; ConfigError naming the check when one is not valid Lua."""
        self._runtime = lua52.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            max_memory=MEMORY_LIMIT,
        )
        self._state, self._compile, self._run = self._runtime.execute(_SETUP, REP_LIMIT)
        self._lock = threading.Lock()
        self._exact: dict[str, _Check] = {}
        self._globs: list[_Check] = []
        self._found: dict[str, _Check | None] = {}
        for source in sources:
            check = self._load(source)
            if _is_glob(check.key):
                self._globs.append(check)
            else:
                self._exact[check.key] = check

    def __bool__(self) -> bool:
        return bool(self._exact or self._globs)

    def assess(self, obj: Mapping[str, Any]) -> HealthResult | None:
        """The verdict of the check for ``obj``'s kind; None without a check or a status."""
        check = self._check_for(_key(obj))
        if check is None:
            return None
        with self._lock:
            return self._evaluate(check, obj)

    def _load(self, source: CheckSource) -> _Check:
        where = f"{source.origin}: health check for {source.group_kind}"
        if source.script is None:
            raise ConfigError(f"{where}: the script was not read")
        if source.script.startswith("\x1b"):
            raise ConfigError(f"{where}: precompiled Lua is not accepted; give the source")
        try:
            compiled, problem = self._compile(source.script, source.group_kind)
        except lua52.LuaError as error:
            raise ConfigError(f"{where}: {error}") from None
        if compiled is None:
            raise ConfigError(f"{where}: not valid Lua: {problem}")
        return _Check(source.group_kind, source.origin, compiled)

    def _check_for(self, key: str) -> _Check | None:
        if key in self._exact:
            return self._exact[key]
        if key not in self._found:
            if len(self._found) >= _CACHED_KINDS:
                self._found.clear()
            found = (c for c in self._globs if fnmatch.fnmatchcase(key, c.key))
            self._found[key] = next(found, None)
        return self._found[key]

    def _evaluate(self, check: _Check, obj: Mapping[str, Any]) -> HealthResult | None:
        try:
            table = self._runtime.table_from(_plain_object(obj), recursive=True)
            self._arm()
            try:
                outcome = self._run(check.function, table)
            finally:
                self._state["armed"] = False
        except _TooDeep:
            return unknown(f"{check.title} was not run: the object is nested too deeply")
        except lua52.LuaMemoryError:
            outcome = ("error", "not enough memory")
        except lua52.LuaError as error:
            outcome = ("budget",) if self._state["over"] else ("error", str(error))
        if not isinstance(outcome, tuple):
            outcome = (outcome,)
        if outcome[0] in ("budget", "error"):
            # A run that failed may leave much garbage (a memory bomb): give it back now.
            self._runtime.gccollect()
        return _result(check, outcome)

    def _arm(self) -> None:
        # Set from Python, without running a Lua instruction the hook could stop.
        self._state["used"] = 0
        self._state["limit"] = INSTRUCTION_LIMIT
        self._state["over"] = False
        self._state["armed"] = True


class _Check:
    """One compiled check."""

    def __init__(self, key: str, origin: str, function: Any) -> None:
        self.key = key
        self.origin = origin
        self.function = function
        self.title = f"Health check for {key} ({origin})"


class _TooDeep(Exception):
    """The object is nested deeper than a script may be handed."""


def _result(check: _Check, outcome: tuple[Any, ...]) -> HealthResult | None:
    """A HealthResult from the runner's plain answer: (kind, detail, message)."""
    kind, detail, message = (*outcome, None, None, None)[:3]
    if kind == "none":
        return None
    if kind == "status":
        try:
            status = HealthStatus(detail)
        except ValueError:
            return unknown(f"{check.title} returned an invalid status {_short(str(detail))!r}")
        return HealthResult(status, _short(message or ""))
    if kind == "budget":
        limit = f"{INSTRUCTION_LIMIT:,}"
        return unknown(f"{check.title} stopped: it ran past its budget of {limit} instructions")
    if kind == "type":
        return unknown(f"{check.title} returned a {detail}, not a table with a status")
    if kind == "invalid":
        return unknown(f"{check.title} returned a status that is a {detail}, not a string")
    if detail is not None and "not enough memory" in str(detail):
        return unknown(f"{check.title} stopped: it needed more than {_mib(MEMORY_LIMIT)}")
    return unknown(f"{check.title} failed: {_short(str(detail or 'an error without message'))}")


def _plain_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` of plain JSON values, without managedFields, Secret values masked."""
    copied = _plain(obj, 0)
    assert isinstance(copied, dict)
    metadata = copied.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    if copied.get("kind") == "Secret" and copied.get("apiVersion") == "v1":
        for field in ("data", "stringData"):
            if isinstance(copied.get(field), dict):
                copied[field] = {key: _MASK for key in copied[field]}
    return copied


def _plain(value: Any, depth: int) -> Any:
    """Mappings, lists (None items left out), strings, booleans and numbers only."""
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value if v is not None]
    if isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return value if -(2**53) <= value <= 2**53 else float(value)
    return str(value)


def _key(obj: Mapping[str, Any]) -> str:
    """``group/Kind`` of an object, ``Kind`` for the core group (Argo CD's key)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    kind = kind if isinstance(kind, str) else ""
    return f"{group}/{kind}" if group else kind


def _is_glob(key: str) -> bool:
    return any(char in key for char in "*?[")


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB of memory"
