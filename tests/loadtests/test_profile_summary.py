"""The profile summary of a fleet run: own and inclusive time from py-spy's collapsed stacks."""

from __future__ import annotations

from loadtests.profile import ROOT, summarise

MAIN = f"<module> ({ROOT}/engine/cli/__main__.py:5)"
RUN = "run (asyncio/runners.py:118)"
SYNC = f"sync ({ROOT}/engine/apply/sync.py"
STACKS = "\n".join([
    f"{MAIN};{RUN};{SYNC}:40);normalise ({ROOT}/engine/diff/normalise.py:35) 30",
    f"{MAIN};{RUN};{SYNC}:41) 10",
    f"{MAIN};render (/venv/lib/python3.11/site-packages/yaml/loader.py:9) 60",
    "not a stack line",
    "_bootstrap (threading.py:1);_worker (/usr/lib/python3.11/concurrent/futures/thread.py:83) 7",
])


def test_own_and_inclusive_percentages_group_lines_of_one_function() -> None:
    found = summarise(STACKS)
    assert found["samples"] == 100 and found["waiting_samples"] == 7
    own = dict(found["own_percent"])
    assert own == {"render (yaml/loader.py)": 60.0, "normalise (engine/diff/normalise.py)": 30.0,
                   "sync (engine/apply/sync.py)": 10.0}
    inclusive = dict(found["inclusive_percent"])
    assert inclusive["<module> (engine/cli/__main__.py)"] == 100.0
    assert inclusive["sync (engine/apply/sync.py)"] == 40.0  # counted once per stack
    assert inclusive["run (asyncio/runners.py)"] == 40.0


def test_an_empty_profile_has_no_top() -> None:
    assert summarise("") == {"samples": 0, "waiting_samples": 0, "own_percent": [],
                             "inclusive_percent": []}


def test_stacks_under_their_threads_give_each_threads_share() -> None:
    found = summarise("\n".join([
        f"thread (101): MainThread;{MAIN};{RUN};{SYNC}:40) 30",
        f"thread (102): fleetsync-render_0;{MAIN};render (/venv/lib/python3.11/site-packages/"
        "yaml/loader.py:9) 10",
        "thread (0x7f01);_bootstrap (threading.py:1);_worker "
        "(/usr/lib/python3.11/concurrent/futures/thread.py:83) 5",
    ]))
    assert found["samples"] == 40 and found["waiting_samples"] == 5
    assert dict(found["threads_percent"]) == {"MainThread": 75.0, "fleetsync-render_0": 25.0}
    assert dict(found["own_percent"]) == {"sync (engine/apply/sync.py)": 75.0,
                                          "render (yaml/loader.py)": 25.0}
    assert "threads_percent" not in summarise(STACKS)
