"""Placement simulation: 1,000 cameras over 32 Vigil nodes with the placement code that cluster mode runs.

Prints load balance (max/mean cameras per node), how many cameras move when one node dies and when one
joins, and the same over many random node sets (trials) so one lucky draw does not decide the figure.
Also times one placement of the whole fleet (process CPU time).

    python bench/placement.py [--cameras 1000] [--nodes 32] [--trials 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.cluster.placement import Placement, moved, place, ranking


def _fleet(cameras: int, nodes: int, trial: int) -> tuple[list[str], dict[str, float]]:
    cams = [f"cam-{i:04d}" for i in range(cameras)]
    return cams, {f"node-{trial}-{j:02d}": 1.0 for j in range(nodes)}


def _plain(cams: list[str], nodes: dict[str, float]) -> Placement:
    """Reference: plain weighted rendezvous hashing (every camera on its first choice), no quota, no stickiness."""
    return Placement({c: ranking(c, nodes)[0] for c in cams}, nodes)


def _plain_trial(cameras: int, nodes: int, trial: int) -> dict[str, float]:
    cams, fleet = _fleet(cameras, nodes, trial)
    start = _plain(cams, fleet)
    after_join = _plain(cams, {**fleet, f"node-{trial}-new": 1.0})
    return {"balance": _balance(start), "join_moved": len(moved(start, after_join))}


def _balance(p: Placement) -> float:
    loads = list(p.loads().values())
    return max(loads) / statistics.mean(loads)


def _trial(cameras: int, nodes: int, trial: int) -> dict[str, float]:
    cams, fleet = _fleet(cameras, nodes, trial)
    start = place(cams, fleet)
    dead = sorted(fleet)[trial % nodes]
    after_death = place(cams, {n: w for n, w in fleet.items() if n != dead}, start)
    death_moves = moved(start, after_death)
    grown = {**fleet, f"node-{trial}-new": 1.0}
    after_join = place(cams, grown, start)
    return {
        "balance": _balance(start), "balance_after_death": _balance(after_death),
        "balance_after_join": _balance(after_join),
        "death_moved": len(death_moves), "dead_owned": len(start.cameras_of(dead)),
        "death_moved_others": sum(1 for c in death_moves if start.owners[c] != dead),
        "join_moved": len(moved(start, after_join)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=32)
    parser.add_argument("--trials", type=int, default=50, help="independent node sets (node ids differ)")
    args = parser.parse_args()
    cpu0 = time.process_time()
    first = _trial(args.cameras, args.nodes, 0)
    cpu_one = time.process_time() - cpu0
    rows = [first] + [_trial(args.cameras, args.nodes, t) for t in range(1, args.trials)]
    limit = args.cameras / args.nodes
    out = sys.stdout
    out.write(f"{args.cameras} cameras over {args.nodes} equal nodes\n")
    out.write(f"trial 0: max/mean {first['balance']:.3f} (after death {first['balance_after_death']:.3f}, "
              f"after join {first['balance_after_join']:.3f}); death moved {first['death_moved']:.0f} "
              f"(dead node held {first['dead_owned']:.0f}, others moved {first['death_moved_others']:.0f}); "
              f"join moved {first['join_moved']:.0f} (limit N/{args.nodes} = {limit:.2f})\n")
    for key in ("balance", "balance_after_death", "balance_after_join", "join_moved", "death_moved_others"):
        values = [r[key] for r in rows]
        out.write(f"{args.trials} trials {key}: mean {statistics.mean(values):.3f}, max {max(values):.3f}\n")
    within = sum(r["join_moved"] <= limit for r in rows)
    exact = sum(r["death_moved"] == r["dead_owned"] and r["death_moved_others"] == 0 for r in rows)
    out.write(f"join within N/{args.nodes}: {within}/{args.trials}; death moved only the dead node's cameras: "
              f"{exact}/{args.trials}\n")
    plain = [_plain_trial(args.cameras, args.nodes, t) for t in range(args.trials)]
    balances = [r["balance"] for r in plain]
    out.write(f"reference, plain rendezvous (no quota): max/mean mean {statistics.mean(balances):.3f}"
              f" max {max(balances):.3f}; join moved mean "
              f"{statistics.mean(r['join_moved'] for r in plain):.2f} max {max(r['join_moved'] for r in plain):.0f}, "
              f"within N/{args.nodes} in {sum(r['join_moved'] <= limit for r in plain)}/{args.trials}\n")
    out.write(f"CPU for trial 0 (3 placements of {args.cameras} cameras): {cpu_one:.3f} s\n")
    return 0 if within == exact == args.trials else 1


if __name__ == "__main__":
    raise SystemExit(main())
