"""How many clusters change replica when the hub's replicas go from 10 to 9 and back
(``python loadtests/shard_moves.py [--clusters 100]``): fleetsync's rendezvous assignment
(``engine.shards``) against the two simplest alternatives, a hash modulo the replica count
(Argo CD's ``legacy`` sharding hashes cluster IDs this way) and round-robin over the sorted
clusters (Argo CD's ``round-robin``). Pure computation: the figures do not depend on the
machine. Prints a table and writes JSON to loadtests/results/."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.shards import assignment, moves

RESULTS = Path(__file__).resolve().parent / "results"


def by_modulo(clusters: list[str], replicas: list[str]) -> dict[str, str]:
    """A hash of the cluster modulo the number of replicas."""
    count = len(replicas)
    return {c: replicas[int(hashlib.sha256(c.encode()).hexdigest(), 16) % count]
            for c in clusters}  # fmt: skip


def by_round_robin(clusters: list[str], replicas: list[str]) -> dict[str, str]:
    """The sorted clusters dealt out to the replicas in turn."""
    return {c: replicas[i % len(replicas)] for i, c in enumerate(sorted(clusters))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=10)
    args = parser.parse_args(argv)
    clusters = [f"cluster-{i:04d}" for i in range(args.clusters)]
    full = [f"fleetsync-{i}" for i in range(args.replicas)]
    ways: dict[str, Callable[[list[str], list[str]], dict[str, str]]] = {
        "rendezvous, capped 1.25x (fleetsync)": lambda c, r: assignment(c, r),
        "rendezvous, uncapped": lambda c, r: assignment(c, r, balance=None),
        "hash modulo": by_modulo,
        "round-robin": by_round_robin,
    }
    found = {}
    for name, assign in ways.items():
        before = assign(clusters, full)
        leaves, joins, loads = [], [], []
        for gone in full:  # each replica leaving in turn, then coming back
            rest = [r for r in full if r != gone]
            after = assign(clusters, rest)
            leaves.append(moves(before, after))
            joins.append(moves(after, before))
            loads.append(max(list(after.values()).count(r) for r in rest))
        found[name] = {"leave_mean": sum(leaves) / len(leaves), "leave_max": max(leaves),
                       "join_mean": sum(joins) / len(joins),
                       "max_load_before": max(list(before.values()).count(r) for r in full),
                       "max_load_after": max(loads)}
    fair = args.clusters / args.replicas
    print(f"{args.clusters} clusters on {args.replicas} replicas (fair share {fair:.1f}); "
          f"each replica leaving in turn, then rejoining: clusters that change replica")
    print(f"  {'assignment':<38} {'leave mean':>10} {'max':>5} {'join mean':>10} "
          f"{'max load':>9} {'after':>6}")
    for name, row in found.items():
        print(f"  {name:<38} {row['leave_mean']:>10.1f} {row['leave_max']:>5} "
              f"{row['join_mean']:>10.1f} {row['max_load_before']:>9} {row['max_load_after']:>6}")
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"shard_moves-{when}.json").write_text(json.dumps(
        {"benchmark": "shard_moves", "when": when, "clusters": args.clusters,
         "replicas": args.replicas, "moves": found}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
