"""Who made the newest change users declare: every managedFields entry counts but the
``status`` subresource's, so a write through ``scale`` is a change like an edit. The API
server stamps no time on a write through ``scale`` (entries below copy the local clusters')."""

from __future__ import annotations

from typing import Any

import pytest

from engine.diff.attribution import (
    OwnWrite,
    changed_by_fleetsync,
    latest_writers,
    other_writer,
    own_write,
)
from engine.diff.format import describe
from engine.model.diffs import Attribution

T0, T1, T2 = "2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z", "2026-12-01T10:09:00Z"


def _entry(manager: str, time: str | None, subresource: str | None = None,
           operation: str = "Update", fields: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"manager": manager, "operation": operation,
                             "fieldsType": "FieldsV1", "fieldsV1": fields or {"f:spec": {}}}
    if time is not None:
        entry["time"] = time
    if subresource is not None:
        entry["subresource"] = subresource
    return entry


def _live(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "managedFields": list(entries)}}


def _apply(time: str, *, replicas: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"f:selector": {}, **({"f:replicas": {}} if replicas else {})}
    return _entry("fleetsync", time, operation="Apply", fields={"f:spec": spec})


BEFORE = OwnWrite(T0, 3)  # fleetsync's apply at T0 owned spec, selector and replicas


SCALE = _entry("kubectl", None, "scale")
STATUS = _entry("kube-controller-manager", T2, "status")


@pytest.mark.parametrize(
    ("entries", "ours"),
    [
        pytest.param([_apply(T1, replicas=True)], True, id="own-apply-moved-its-time"),
        pytest.param([_apply(T1, replicas=True), STATUS], True,
                     id="newer-status-report-is-not-a-change"),
        pytest.param([_apply(T0), SCALE], False, id="scale-subresource-without-time"),
        pytest.param([_apply(T0), _entry("kubectl", T1, "scale")], False,
                     id="scale-subresource-with-time"),
        pytest.param([_apply(T0, replicas=True), _entry("kubectl-edit", T1)], False, id="edit"),
        pytest.param([_apply(T0)], False, id="owned-field-removed-by-someone"),
        pytest.param([_apply(T1, replicas=True), _entry("kubectl-edit", T1)], False,
                     id="edit-in-the-same-second-as-own-apply"),
        pytest.param([_apply(T1), SCALE], True, id="own-apply-beside-an-old-scale"),
        pytest.param([], False, id="no-entries"),
    ],
)
def test_changed_by_fleetsync_only_when_its_own_entry_moved_and_is_newest(
    entries: list[dict[str, Any]], ours: bool
) -> None:
    assert changed_by_fleetsync(_live(*entries), before=BEFORE) is ours


def test_own_apply_in_the_same_second_is_told_by_the_fields_it_took_back() -> None:
    scaled = _live(_apply(T0), SCALE)
    healed = _live(_apply(T0, replicas=True))
    assert not changed_by_fleetsync(scaled, before=BEFORE)
    assert changed_by_fleetsync(healed, before=own_write(scaled))


def test_latest_writers_skip_only_the_status_subresource() -> None:
    live = _live(_apply(T0), _entry("kubectl", T1, "scale"), STATUS)
    assert [(w.manager, w.subresource) for w in latest_writers(live)] == [("kubectl", "scale")]
    assert own_write(_live(_apply(T0, replicas=True), STATUS, SCALE)) == BEFORE


@pytest.mark.parametrize(
    ("entries", "name"),
    [
        pytest.param([_apply(T1), SCALE, STATUS], "kubectl via the scale subresource",
                     id="untimed-scale"),
        pytest.param([_apply(T0), SCALE, _entry("kubectl-edit", T1)], "kubectl-edit",
                     id="newest-timed-edit-first"),
        pytest.param([_apply(T1), STATUS], None, id="only-fleetsync-and-status"),
    ],
)
def test_other_writer_names_who_most_likely_made_the_change(
    entries: list[dict[str, Any]], name: str | None
) -> None:
    writer = other_writer(_live(*entries))
    assert (str(writer) if writer else None) == name


def test_describe_names_the_subresource_a_field_was_changed_through() -> None:
    scaled = Attribution(".spec.replicas", "kubectl", "Update", T1, "scale")
    edited = Attribution(".spec.paused", "kubectl-edit", "Update", None)
    assert describe(scaled) == (
        f".spec.replicas changed by kubectl via the scale subresource (Update) at {T1}"
    )
    assert describe(edited) == ".spec.paused changed by kubectl-edit (Update)"
