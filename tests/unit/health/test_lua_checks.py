"""User health checks in Argo CD's Lua format: realistic scripts, matching, results, errors.

The scripts are written for these tests in the shape Argo CD users write theirs (``hs``
table, ``obj`` global, Lua 5.1 idioms such as ``table.getn`` and ``goto continue``).
What the sandbox refuses is proven in tests/security/test_lua_sandbox.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config.hub import load_config
from engine.errors import ConfigError
from engine.health import assess
from engine.health.lua import LuaHealthChecks
from engine.model import HealthStatus

H = HealthStatus


@dataclass(frozen=True)
class Check:
    group_kind: str
    script: str | None
    origin: str = "checks.lua"


CERTIFICATE = """
-- Degraded when the certificate failed, Progressing while cert-manager works on it.
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for cert-manager"
  return hs
end
for i, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    if condition.status == "True" then
      hs.status = "Healthy"
      hs.message = "Certificate valid until " .. (obj.status.notAfter or "?")
    elseif string.find(condition.message or "", "rate limit", 1, true) then
      hs.status = "Progressing"
      hs.message = "Rate limited by the ACME server; cert-manager retries"
    else
      hs.status = "Degraded"
      hs.message = condition.reason .. ": " .. condition.message
    end
  end
end
return hs
"""

ROLLOUT = """
-- Paused rollouts are Suspended; otherwise compare replicas (Lua 5.1 idioms on purpose).
local hs = {}
local status = obj.status or {}
if status.pauseConditions ~= nil and table.getn(status.pauseConditions) > 0 then
  hs.status = "Suspended"
  hs.message = "Paused: " .. status.pauseConditions[1].reason
  return hs
end
local generation = tonumber(status.observedGeneration)
if generation ~= nil and generation < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Spec not observed yet"
  return hs
end
local wanted, ready = obj.spec.replicas or 1, status.readyReplicas or 0
for _, condition in ipairs(status.conditions or {}) do
  if condition.type ~= "Progressing" then goto continue end
  if condition.reason == "RolloutAborted" then
    hs.status = "Degraded"
    hs.message = condition.message
    return hs
  end
  ::continue::
end
if ready < wanted then
  hs.status = "Progressing"
  hs.message = string.format("%d of %d replicas ready", ready, wanted)
  return hs
end
hs.status = "Healthy"
hs.message = string.format("%d replicas ready", ready)
return hs
"""

CROSSPLANE = """
hs = {status = "Progressing", message = "Provisioning"}
for _, c in ipairs(obj.status and obj.status.conditions or {}) do
  if c.type == "Synced" and c.status == "False" then
    return {status = "Degraded", message = c.message}
  end
  if c.type == "Ready" and c.status == "True" then
    hs.status = "Healthy"
    hs.message = "Ready"
  end
end
return hs
"""


def _certificate(ready: str, message: str = "", reason: str = "Ready") -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web-tls", "namespace": "shop"},
        "status": {
            "notAfter": "2027-02-28T10:00:00Z",
            "conditions": [
                {"type": "Ready", "status": ready, "reason": reason, "message": message}
            ],
        },
    }


def _rollout(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "generation": 5},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": "5", **status},
    }


@pytest.fixture(scope="module")
def checks() -> LuaHealthChecks:
    return LuaHealthChecks(
        [
            Check("cert-manager.io/Certificate", CERTIFICATE),
            Check("argoproj.io/Rollout", ROLLOUT),
            Check("*.crossplane.io/*", CROSSPLANE),
            Check("*.aws.crossplane.io/*", 'return {status = "Degraded", message = "never"}'),
        ]
    )


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        (_certificate("True"), H.HEALTHY, "Certificate valid until 2027-02-28T10:00:00Z"),
        (_certificate("False", "429: rate limit exceeded", "Failed"), H.PROGRESSING, "retries"),
        (_certificate("False", "DNS01 challenge failed", "Failed"), H.DEGRADED,
         "Failed: DNS01 challenge failed"),
        (_rollout(readyReplicas=3), H.HEALTHY, "3 replicas ready"),
        (_rollout(readyReplicas=1), H.PROGRESSING, "1 of 3 replicas ready"),
        (_rollout(observedGeneration="4", readyReplicas=3), H.PROGRESSING, "Spec not observed"),
        (_rollout(pauseConditions=[{"reason": "CanaryPauseStep"}]), H.SUSPENDED,
         "Paused: CanaryPauseStep"),
        (_rollout(conditions=[{"type": "Available", "status": "True"},
                              {"type": "Progressing", "reason": "RolloutAborted",
                               "message": "Rollout aborted update to revision 5"}]),
         H.DEGRADED, "Rollout aborted update to revision 5"),
    ],
)  # fmt: skip
def test_realistic_checks_give_their_verdict(
    checks: LuaHealthChecks, obj: dict[str, Any], status: H, message: str
) -> None:
    result = assess(obj, checks)
    assert result.status is status, result.message
    assert message in result.message


def test_a_glob_matches_kinds_of_many_groups_and_the_first_declared_wins(
    checks: LuaHealthChecks,
) -> None:
    bucket = {
        "apiVersion": "s3.aws.crossplane.io/v1beta1",
        "kind": "Bucket",
        "metadata": {"name": "assets"},
        "status": {"conditions": [{"type": "Synced", "status": "True"},
                                  {"type": "Ready", "status": "True"}]},
    }  # fmt: skip
    assert assess(bucket, checks).message == "Ready"
    broken = copy.deepcopy(bucket)
    broken["status"]["conditions"][0] = {"type": "Synced", "status": "False", "message": "no"}
    assert assess(broken, checks).status is H.DEGRADED
    assert checks.assess({"apiVersion": "example.com/v1", "kind": "Bucket"}) is None


def test_an_exact_group_kind_wins_over_a_glob_declared_before_it() -> None:
    checks = LuaHealthChecks(
        [
            Check("*.example.com/*", 'return {status = "Degraded", message = "glob"}'),
            Check("shop.example.com/Cart", 'return {status = "Healthy", message = "exact"}'),
        ]
    )
    cart = {"apiVersion": "shop.example.com/v1", "kind": "Cart"}
    assert assess(cart, checks).message == "exact"
    assert assess({**cart, "kind": "Order"}, checks).message == "glob"


def test_a_user_check_wins_over_the_built_in_rule_of_its_kind() -> None:
    """Here a team calls a paused Deployment Healthy (the built-in rule says Suspended)."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"paused": True, "replicas": 1},
    }
    script = 'if obj.spec.paused then return {status="Healthy", message="paused on purpose"} end'
    checks = LuaHealthChecks([Check("apps/Deployment", script)])
    assert assess(deployment).status is H.SUSPENDED
    assert assess(deployment, checks).status is H.HEALTHY
    unpaused = {**deployment, "spec": {"replicas": 1}}
    assert assess(unpaused, checks) == assess(unpaused)  # no status: the built-in rule decides


def test_a_core_kind_is_named_by_kind_alone() -> None:
    script = """
    if obj.data ~= nil and obj.data.ready == "false" then
      return {status = "Progressing", message = "ready is false"}
    end
    return {status = "Healthy"}
    """
    checks = LuaHealthChecks([Check("ConfigMap", script)])
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags"}}
    waiting = {**config_map, "data": {"ready": "false"}}
    assert assess(waiting, checks).status is H.PROGRESSING
    assert assess(config_map, checks).status is H.HEALTHY
    assert checks.assess({"apiVersion": "example.com/v1", "kind": "ConfigMap"}) is None


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("local x = obj.spec.replicas + 1",
         "Health check for example.com/Widget (checks.lua) failed: example.com/Widget:1: "
         "attempt to index field 'spec' (a nil value)"),
        ('error("no replicas field")', "failed: example.com/Widget:1: no replicas field"),
        ('return {status = "healthy"}', "returned an invalid status 'healthy'"),
        ("return {status = 3}", "returned a status that is a number, not a string"),
        ('return "Healthy"', "returned a string, not a table with a status"),
    ],
)  # fmt: skip
def test_a_failing_check_is_unknown_and_names_the_check(script: str, message: str) -> None:
    checks = LuaHealthChecks([Check("example.com/Widget", script)])
    result = assess({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {}}, checks)
    assert result.status is H.UNKNOWN
    assert message in result.message


@pytest.mark.parametrize("script", ["return nil", "return {}", 'return {message = "no status"}'])
def test_a_check_without_a_status_leaves_the_verdict_to_the_built_in_rule(script: str) -> None:
    checks = LuaHealthChecks([Check("batch/CronJob", script)])
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup"},
               "spec": {"suspend": True}}  # fmt: skip
    assert checks.assess(cronjob) is None
    assert assess(cronjob, checks) == assess(cronjob)


def test_every_status_of_the_contract_is_accepted_and_the_message_is_kept() -> None:
    for status in H:
        checks = LuaHealthChecks(
            [Check("example.com/Widget", f'return {{status = "{status}", message = 42}}')]
        )
        result = checks.assess({"apiVersion": "example.com/v1", "kind": "Widget"})
        assert result is not None
        assert (result.status, result.message) == (status, "42")


def test_a_long_message_is_cut() -> None:
    checks = LuaHealthChecks(
        [Check("example.com/Widget", 'return {status="Degraded", message=string.rep("x", 5000)}')]
    )
    result = checks.assess({"apiVersion": "example.com/v1", "kind": "Widget"})
    assert result is not None
    assert result.message.endswith("...") and len(result.message) == 1024


def test_lua_5_1_idioms_of_argo_cd_scripts_run() -> None:
    script = """
    local parts = {}
    for word in string.gfind("a b c", "%a") do table.insert(parts, word) end
    local first, second = unpack({"x", "y"})
    return {status = "Healthy", message = table.getn(parts) .. first .. second
            .. math.mod(7, 3) .. os.date("!%Y", 0) .. tostring(os.time() > 0)}
    """
    checks = LuaHealthChecks([Check("example.com/Widget", script)])
    result = checks.assess({"apiVersion": "example.com/v1", "kind": "Widget"})
    assert result is not None
    assert result.message == "3xy11970true"


def test_the_object_is_handed_over_as_plain_lua_values() -> None:
    script = """
    local c = obj.status.conditions
    return {status = "Healthy", message = table.concat({
      type(obj.spec.replicas), type(obj.spec.paused), #c, c[2].type,
      tostring(obj.spec.gone), type(obj.metadata.managedFields), tostring(obj.spec.ratio)}, ",")}
    """
    checks = LuaHealthChecks([Check("example.com/Widget", script)])
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "managedFields": [{"manager": "kubectl"}]},
        "spec": {"replicas": 3, "paused": False, "gone": None, "ratio": 0.5},
        "status": {"conditions": [{"type": "A"}, None, {"type": "B"}]},
    }
    result = checks.assess(obj)
    assert result is not None
    assert result.message == "number,boolean,2,B,nil,nil,0.5"


def test_a_secret_reaches_a_check_with_its_values_masked() -> None:
    checks = LuaHealthChecks(
        [Check("Secret", 'return {status = "Degraded", message = obj.data.token}')]
    )
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api"},
              "data": {"token": "c2VjcmV0LXRva2Vu"}}  # fmt: skip
    result = checks.assess(secret)
    assert result is not None
    assert result.message == "++++++++"
    assert secret["data"]["token"] == "c2VjcmV0LXRva2Vu"


def test_runs_share_nothing() -> None:
    """Globals, library tables and the object a run changes are fresh for the next run."""
    script = """
    counter = (counter or 0) + 1
    local upper = string.upper("a")
    string.upper = nil
    table.insert = nil
    obj.metadata.name = "changed"
    return {status = "Healthy", message = counter .. upper .. ("b"):upper()}
    """
    checks = LuaHealthChecks([Check("example.com/Widget", script)])
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    for _ in range(3):
        result = checks.assess(obj)
        assert result is not None
        assert result.message == "1AB"
    assert obj["metadata"]["name"] == "w"


def test_checks_come_from_fleetsync_yaml_in_either_spelling(tmp_path: Path) -> None:
    (tmp_path / "health").mkdir()
    (tmp_path / "health" / "rollout.lua").write_text(ROLLOUT)
    (tmp_path / "fleetsync.yaml").write_text(
        "health:\n"
        "  customizations:\n"
        "    argoproj.io_Rollout: {file: health/rollout.lua}\n"
        "    cert-manager.io/Certificate: |\n"
        + "".join(f"      {line}\n" for line in CERTIFICATE.splitlines())
    )
    checks = LuaHealthChecks(load_config(tmp_path / "fleetsync.yaml").health_checks)
    assert assess(_rollout(readyReplicas=1), checks).message == "1 of 3 replicas ready"
    assert assess(_certificate("True"), checks).status is H.HEALTHY


def test_a_check_that_is_not_lua_is_refused_at_start_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"checks.lua: health check for example.com/Widget: "
                       r"not valid Lua: example.com/Widget:2:"):  # fmt: skip
        LuaHealthChecks([Check("example.com/Widget", "hs = {}\nif then end")])
    with pytest.raises(ConfigError, match="the script was not read"):
        LuaHealthChecks([Check("example.com/Widget", None)])


_KEYS = st.sampled_from(
    ["status", "conditions", "type", "reason", "message", "notAfter", "pauseConditions",
     "readyReplicas"]
)  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(status=_json, spec=_json)
def test_checks_never_raise_on_malformed_objects(
    checks: LuaHealthChecks, status: object, spec: object
) -> None:
    for api_version, kind in (("cert-manager.io/v1", "Certificate"),
                              ("argoproj.io/v1alpha1", "Rollout")):  # fmt: skip
        obj = {"apiVersion": api_version, "kind": kind, "metadata": {"generation": 5},
               "spec": spec, "status": status}  # fmt: skip
        result = assess(obj, checks)
        assert isinstance(result.status, HealthStatus)
        assert isinstance(result.message, str)
