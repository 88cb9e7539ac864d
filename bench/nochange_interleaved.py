#!/usr/bin/env python3
"""No-change runs of several tools, interleaved: round after round, each tool once.

bench.py measures a cell's runs back to back, tool after tool, so a shared
machine's load that changes over a minute lands on one tool and not the other.
For small differences (rprov against the commit before it, or against a bare
`ssh host true`) this script alternates the tools in every round and reports
medians and the median of the per-round ratios. Uses bench.py's inventories,
fleet and run function; the fleet must be up (bench/fleet.sh up N) and, for
workload (b), the bench user and group present (see bench/run.sh).

    BENCH_RPROV_BASE=/path/to/old/rprov CARGO_TARGET_DIR=... \\
    NC_HOSTS="1 10" NC_WORKLOADS="a b" NC_ROUNDS=15 NC_TOOLS="rprov rprov-base ssh" \\
    bench/.venv/bin/python bench/nochange_interleaved.py > results.md
"""

import os
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

HOSTS = [int(x) for x in os.environ.get("NC_HOSTS", "1 10").split()]
WORKLOADS = os.environ.get("NC_WORKLOADS", "a b").split()
ROUNDS = int(os.environ.get("NC_ROUNDS", "15"))
TOOLS = os.environ.get("NC_TOOLS", "rprov rprov-base ssh").split()


def main():
    fleet = bench.fleet_hosts()
    print(f"# No-change runs, interleaved ({ROUNDS} rounds, tools {' '.join(TOOLS)})\n")
    print(f"rprov: {bench.RPROV}; rprov-base: {bench.RPROV_BASE}\n")
    print("| workload | hosts | tool | wall median s | wall min s | CPU median s | "
          "probe ms (median, per host) | ÷ ssh (median of rounds) | ÷ rprov (median of rounds) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in HOSTS:
        hosts = fleet[:n]
        for wl in WORKLOADS:
            runs = {t: [] for t in TOOLS}
            dirs = {}
            for t in TOOLS:
                d = bench.WORK / "runs" / f"nc-{wl}-{n}-{t}"
                root = bench.write_inventories(d, hosts, wl, t, set())
                shutil.rmtree(root, ignore_errors=True)
                if t != "ssh":
                    bench.one_run(t, d, wl, n, hosts, set())  # put the files in place
                dirs[t] = d
            for i in range(ROUNDS):
                for t in TOOLS:
                    r = bench.one_run(t, dirs[t], wl, n, hosts, set(), "nochange")
                    if r["rc"] != 0 or (r["changed"] or 0) != 0:
                        raise SystemExit(f"{wl} {n} {t}: not a clean no-change run: {r}")
                    runs[t].append(r)
                bench.log(f"{wl} {n} round {i + 1}: " + ", ".join(f"{t} {runs[t][-1]['wall_s']}" for t in TOOLS))
            for t in TOOLS:
                w = [r["wall_s"] for r in runs[t]]
                probe = [r["timings"]["probe_ms"] / n for r in runs[t] if r.get("timings")]

                def ratio(other):
                    if other not in runs or other == t:
                        return "–"
                    return f"{statistics.median(a['wall_s'] / b['wall_s'] for a, b in zip(runs[t], runs[other])):.2f}×"

                print(f"| {wl} | {n} | {t} | {statistics.median(w):.3f} | {min(w):.3f} | "
                      f"{statistics.median(r['cpu_s'] for r in runs[t]):.2f} | "
                      f"{statistics.median(probe):.0f} | {ratio('ssh')} | {ratio('rprov')} |"
                      if probe else
                      f"| {wl} | {n} | {t} | {statistics.median(w):.3f} | {min(w):.3f} | "
                      f"{statistics.median(r['cpu_s'] for r in runs[t]):.2f} | – | {ratio('ssh')} | {ratio('rprov')} |",
                      flush=True)


if __name__ == "__main__":
    main()
