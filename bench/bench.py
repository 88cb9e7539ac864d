#!/usr/bin/env python3
"""Side-by-side benchmark driver (issue 6). Started by bench/run.sh, which builds
rprov, makes the venv and starts the sshd fleet first; see bench/README.md.

For every host count, workload and tool it measures a first run (fresh target
directory) and runs with nothing to change, and records per run: wall time,
controller CPU (user+sys of the tool's process tree) and peak RSS from
/usr/bin/time, and remote commands per host counted from each target sshd's
VERBOSE log ("Starting session: command for USER"), the same way for every tool.
After each tool's first run it hashes the target trees and checks that all tools
produced the same files. Writes bench/results/YYYY-MM-DD-<host>.{md,json}.
"""

import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = Path(os.environ.get("BENCH_WORK", BENCH / "work"))
FLEET = WORK / "fleet"
VENV = BENCH / ".venv"
# run.sh builds with `cargo build --release`, which honours CARGO_TARGET_DIR.
RPROV = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "rprov"
# Another rprov binary to compare with in the same run (tool `rprov-base`), e.g. one
# built from the commit before a change: BENCH_RPROV_BASE=/path/to/rprov.
RPROV_BASE = os.environ.get("BENCH_RPROV_BASE")
USER = os.environ.get("BENCH_USER", "rprovtest")
EXEC_MARKERS = ("Starting session: command ", "Starting session: forced-command ")
# One line per login (key authentication) in sshd's log: what reusing masters saves.
LOGIN_MARKER = "Accepted publickey for "

HOSTS = [int(x) for x in os.environ.get("BENCH_HOSTS", "1 10 50").split()]
TOOLS = os.environ.get("BENCH_TOOLS", "rprov ansible mitogen pyinfra ssh").split()
if RPROV_BASE and "rprov-base" not in TOOLS:
    TOOLS.insert(1, "rprov-base")
TOOL_ORDER = ["rprov", "rprov-persist", "rprov-base", "ansible", "mitogen", "pyinfra", "ssh"]
# The tools that are rprov: same command line, same JSON report and --timings.
RPROV_TOOLS = ("rprov", "rprov-persist", "rprov-base")
# Tool `rprov-persist` is rprov with `--persist PERSIST_S` (ssh masters kept between
# runs). Its first runs start cold, as every tool's do, and leave the masters up; its
# no-change runs use them instead of logging in: the second and later runs of a
# fleet within PERSIST_S of the last one. The masters are closed when its cell ends.
PERSIST_S = 600
# Its masters' sockets: `rprov-cp` below this XDG_RUNTIME_DIR (a short path, as unix
# socket paths are; made 0700 by mkdtemp), so the bench finds and closes them.
PERSIST_XDG = None
WORKLOADS = os.environ.get("BENCH_WORKLOADS", "a b").split()
REPS = int(os.environ.get("BENCH_REPS", "5"))
# Round-trip times to simulate (ms): 0 is the fleet as it is; more puts every tool's
# connections through bench/delay_proxy.py, half of it in each direction.
RTTS = [int(x) for x in os.environ.get("BENCH_RTT_MS", "0").split()]
PROXY_BASE_PORT = 40000
# A cell (tool, workload, hosts, phase) stops repeating once it has spent this many
# seconds (at least one run always happens). Keeps the slow peers bounded.
CELL_BUDGET = float(os.environ.get("BENCH_CELL_BUDGET", "45"))
# Cells not run at all, "tool:hosts:phase" or "tool:workload:hosts:phase" (phase
# first|nochange), e.g. the minutes-long first run of plain ansible at 50 hosts.
SKIP = set(os.environ.get("BENCH_SKIP", "").split())
# Tags left out for every tool in workload (b) because rprov lacks the module.
TAG_MODULES = {"group": "group", "user": "user", "apt": "apt", "lineinfile": "lineinfile",
               "file": "file", "copy": "copy"}


def skipped(tool, wl, n, phase):
    return f"{tool}:{n}:{phase}" in SKIP or f"{tool}:{wl}:{n}:{phase}" in SKIP


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), text=True, capture_output=True, **kw)


def fleet_hosts():
    hosts = []
    for line in (FLEET / "hosts.txt").read_text().splitlines():
        name, addr, logf = line.split()
        hosts.append({"name": name, "addr": addr, "log": Path(logf)})
    return hosts


def exec_counts(hosts):
    """Per host: (exec requests, logins) sshd has logged so far."""
    out = {}
    for h in hosts:
        text = h["log"].read_text(errors="replace")
        out[h["name"]] = (sum(text.count(m) for m in EXEC_MARKERS), text.count(LOGIN_MARKER))
    return out


def rprov_modules():
    r = sh([str(RPROV), "modules"])
    return {line.split()[0] for line in r.stdout.splitlines() if line.strip()}


# ---------------------------------------------------------------- inventories

def write_inventories(d, hosts, wl, tool, skip_tags):
    d.mkdir(parents=True, exist_ok=True)
    root = f"/tmp/bench-{wl}/{tool}"
    key = FLEET / "client_ed25519"
    kh = hosts[0].get("known_hosts", FLEET / "known_hosts")
    ini = ["[all]"] + [f"{h['name']} ansible_host={h['addr']} ansible_port={h.get('port', 22)}" for h in hosts]
    ini += ["", "[all:vars]", f"ansible_user={USER}", f"ansible_ssh_private_key_file={key}",
            f"ansible_ssh_common_args='-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'",
            "ansible_python_interpreter=/usr/bin/python3", f"bench_root={root}"]
    (d / "hosts.ini").write_text("\n".join(ini) + "\n")
    cp = d / "cp"
    cp.mkdir(exist_ok=True)
    (d / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {len(hosts)}\n"
        "host_key_checking = True\n"
        "interpreter_python = /usr/bin/python3\n"
        "retry_files_enabled = False\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        "ssh_args = -o ControlMaster=auto -o ControlPersist=60s\n"
        f"control_path_dir = {cp}\n"
    )
    py = [
        f"_data = dict(ssh_user={USER!r}, ssh_key={str(key)!r}, ssh_known_hosts_file={str(kh)!r},",
        f"             ssh_strict_host_key_checking='yes', bench_root={root!r}, bench_skip={sorted(skip_tags)!r})",
        "hosts = [",
    ] + [f"    ({h['name']!r}, dict(ssh_hostname={h['addr']!r}, ssh_port={h.get('port', 22)}, **_data)),"
         for h in hosts] + ["]"]
    (d / "inventory.py").write_text("\n".join(py) + "\n")
    # Tool `ssh`, the floor every tool stands on: one login running `true` on
    # each host at once, with the same key, host keys and options.
    logins = [f"ssh -i {key} -o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes "
              f"-o BatchMode=yes -p {h.get('port', 22)} {USER}@{h['addr']} true &" for h in hosts]
    (d / "ssh-true.sh").write_text("\n".join(["st=0"] + logins + ["for j in $(jobs -p); do wait $j || st=1; done", "exit $st"]) + "\n")
    return root


def command_for(tool, d, wl, n, skip_tags):
    wdir = BENCH / "workloads" / wl
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)
    env["PATH"] = f"{VENV / 'bin'}:{env['PATH']}"
    if tool in RPROV_TOOLS:
        if tool == "rprov-base" and not RPROV_BASE:
            raise SystemExit("tool rprov-base needs BENCH_RPROV_BASE=/path/to/an/rprov/binary")
        binary = Path(RPROV_BASE) if tool == "rprov-base" else RPROV
        cmd = [str(binary), "apply", "-i", str(d / "hosts.ini"), "playbook.yml", "--output", "json",
               "--timings", "--forks", str(n)]
        # Every other tool's runs start cold: no master of an earlier run is reused.
        env.pop("RPROV_PERSIST", None)
        if tool == "rprov-persist":
            cmd += ["--persist", str(PERSIST_S)]
            env["XDG_RUNTIME_DIR"] = str(persist_xdg())
        if skip_tags:
            cmd += ["--skip-tags", ",".join(sorted(skip_tags))]
    elif tool in ("ansible", "mitogen"):
        env["ANSIBLE_CONFIG"] = str(d / "ansible.cfg")
        env["ANSIBLE_NOCOLOR"] = "1"
        if tool == "mitogen":
            import ansible_mitogen  # noqa: in the venv
            env["ANSIBLE_STRATEGY_PLUGINS"] = str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")
            env["ANSIBLE_STRATEGY"] = "mitogen_linear"
        cmd = [str(VENV / "bin" / "ansible-playbook"), "-i", str(d / "hosts.ini"), "playbook.yml"]
        if skip_tags:
            cmd += ["--skip-tags", ",".join(sorted(skip_tags))]
    elif tool == "pyinfra":
        cmd = [str(VENV / "bin" / "pyinfra"), str(d / "inventory.py"), "deploy.py", "-y",
               "--parallel", str(n)]
    elif tool == "ssh":
        cmd = ["sh", str(d / "ssh-true.sh")]
    else:
        raise SystemExit(f"unknown tool {tool}")
    return cmd, wdir, env


def changed_count(tool, out):
    """Total 'changed' over hosts, from each tool's own report (None if unparsed)."""
    if tool in RPROV_TOOLS:
        for line in reversed(out.splitlines()):
            if line.startswith("{") and '"recap"' in line:
                recap = json.loads(line)["recap"]
                return sum(v.get("changed", 0) for v in recap.values()), \
                    sum(v.get("failed", 0) + v.get("unreachable", 0) for v in recap.values())
    if tool in ("ansible", "mitogen"):
        ch = [int(x) for x in re.findall(r"changed=(\d+)", out)]
        bad = [int(a) + int(b) for a, b in re.findall(r"unreachable=(\d+)\s+failed=(\d+)", out)]
        if ch:
            return sum(ch), sum(bad)
    if tool == "ssh":
        return 0, 0
    if tool == "pyinfra":
        m = re.search(r"Grand total\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)", out)
        if m:
            num = lambda s: 0 if s == "-" else int(s)  # noqa: E731
            return num(m.group(2)), num(m.group(3))
    return None, None


# The per-phase fields of rprov's `--timings` line summed over hosts (see
# src/report/timings.rs for what counts where); load_ms and wall_ms are per run.
PHASE_FIELDS = ("connect_ms", "connections", "probe_ms", "probes", "apply_ms", "actions", "local_ms", "total_ms")


def rprov_timings(stdout):
    """The `{"timings": …}` line of `rprov --output json --timings` (just before the
    recap) as per-phase totals over hosts, or None when there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"timings"'):
            t = json.loads(line)["timings"]
            hosts = t.get("hosts", {})
            out = {"load_ms": t.get("load_ms"), "wall_ms": t.get("wall_ms"), "hosts": len(hosts)}
            for k in PHASE_FIELDS:
                out[k] = sum(h.get(k, 0) for h in hosts.values())
            return out
    return None


def close_masters(d):
    """Ends ansible's ControlPersist masters so every measured run starts cold, as
    rprov's and pyinfra's do (each opens its connections afresh)."""
    for sock in (d / "cp").glob("*"):
        sh(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "bench-host"])
        try:
            sock.unlink()
        except OSError:
            pass


def persist_xdg():
    """The XDG_RUNTIME_DIR of tool `rprov-persist`'s runs, made on first use."""
    global PERSIST_XDG
    if PERSIST_XDG is None:
        PERSIST_XDG = Path(tempfile.mkdtemp(prefix="rpb-", dir="/tmp"))
    return PERSIST_XDG


def close_persisted():
    """Ends the masters tool `rprov-persist` kept (`ssh -O exit` on each socket, all
    at once), so that its first runs start cold and no other tool's run shares the
    machine with them. Returns how many there were."""
    if PERSIST_XDG is None:
        return 0
    socks = [s for s in (PERSIST_XDG / "rprov-cp").glob("*") if not s.name.startswith(".")]
    procs = [subprocess.Popen(["ssh", "-O", "exit", "-o", f"ControlPath={s}", "bench-host"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for s in socks]
    for p in procs:
        p.wait()
    for s in socks:
        try:
            s.unlink()
        except OSError:
            pass
    return len(socks)


def one_run(tool, d, wl, n, hosts, skip_tags, phase="first"):
    cmd, wdir, env = command_for(tool, d, wl, n, skip_tags)
    close_masters(d)
    if tool == "rprov-persist" and phase == "first":
        close_persisted()
    before = exec_counts(hosts)
    load = os.getloadavg()[0]
    tfile = d / "time.txt"
    full = ["/usr/bin/time", "-o", str(tfile), "-f", "%e %U %S %M"] + cmd
    t0 = time.perf_counter()
    r = subprocess.run(full, cwd=wdir, env=env, text=True, capture_output=True)
    wall = time.perf_counter() - t0
    time.sleep(0.2)  # let sshd flush its log
    after = exec_counts(hosts)
    close_masters(d)
    fields = tfile.read_text().strip().splitlines()[-1].split()
    _, user, sys_, rss = fields
    per_host = [after[h["name"]][0] - before[h["name"]][0] for h in hosts]
    logins = sum(after[h["name"]][1] - before[h["name"]][1] for h in hosts)
    out = r.stdout + r.stderr
    (d / "last.log").write_text(out)
    changed, bad = changed_count(tool, out)
    run = {
        "wall_s": round(wall, 3),
        "cpu_s": round(float(user) + float(sys_), 2),
        "peak_rss_mb": round(int(rss) / 1024, 1),
        "cmds_per_host_mean": round(sum(per_host) / len(per_host), 1),
        "cmds_per_host_max": max(per_host),
        "logins": logins,
        "changed": changed,
        "failed": bad,
        "rc": r.returncode,
        "load1_before": round(load, 2),
    }
    if tool in RPROV_TOOLS:
        run["timings"] = rprov_timings(r.stdout)
    return run


def tree_listing(root, hosts):
    """'type mode owner path' for every entry plus the sha256 of every file, per host."""
    lines = []
    for h in hosts:
        base = Path(root) / h["name"]
        r = sh(f"cd {base} && find . -printf '%y %m %u %p\\n' | sort -k4 && "
               "find . -type f -print0 | sort -z | xargs -0 -r sha256sum")
        lines.append(f"## {h['name']}\n{r.stdout}")
    return "\n".join(lines)


def stats(runs):
    walls = [r["wall_s"] for r in runs]
    return {
        "reps": len(runs),
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_min_s": round(min(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "cpu_median_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cmds_per_host": statistics.median(r["cmds_per_host_mean"] for r in runs),
        "cmds_per_host_max": max(r["cmds_per_host_max"] for r in runs),
        "logins": [r.get("logins") for r in runs],
        "changed": [r["changed"] for r in runs],
        "failed_runs": sum(1 for r in runs if r["rc"] != 0 or r["failed"]),
    }


def versions():
    v = {}
    v["rprov"] = sh([str(RPROV), "--version"]).stdout.strip()
    if RPROV_BASE:
        v["rprov-base"] = f"{sh([RPROV_BASE, '--version']).stdout.strip()} ({RPROV_BASE})"
    v["ansible-core"] = sh([str(VENV / "bin" / "ansible"), "--version"]).stdout.splitlines()[0]
    v["pyinfra"] = sh([str(VENV / "bin" / "pyinfra"), "--version"]).stdout.strip()
    r = sh([str(VENV / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('mitogen'))"])
    v["mitogen"] = r.stdout.strip() or "not installed"
    v["openssh"] = sh(["ssh", "-V"]).stderr.strip()
    v["python"] = sys.version.split()[0]
    v["rprov_commit"] = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()
    return v


def machine():
    mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"hostname": socket.gethostname(), "nproc": os.cpu_count(), "cpu": cpu,
            "mem_gib": round(int(mem) / 1024 / 1024, 1), "kernel": platform.release(),
            "load1_at_start": round(os.getloadavg()[0], 2)}


def start_delay(hosts, rtt_ms):
    """bench/delay_proxy.py in front of `hosts`: the process and the hosts as the
    tools reach them through it (127.0.0.1, a port each, a known_hosts to match)."""
    maps = [f"{PROXY_BASE_PORT + i}={h['addr']}:22" for i, h in enumerate(hosts, 1)]
    proc = subprocess.Popen([sys.executable, str(BENCH / "delay_proxy.py"), "--one-way-ms", str(rtt_ms / 2)]
                            + [a for m in maps for a in ("--map", m)], stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("delay_proxy.py did not start")
    key = (FLEET / "known_hosts").read_text().splitlines()[0].split(" ", 1)[1]
    kh = WORK / f"known_hosts.rtt{rtt_ms}"
    kh.write_text("".join(f"[127.0.0.1]:{PROXY_BASE_PORT + i} {key}\n" for i in range(1, len(hosts) + 1)))
    view = [dict(h, addr="127.0.0.1", port=PROXY_BASE_PORT + i, known_hosts=kh) for i, h in enumerate(hosts, 1)]
    return proc, view


def main():
    all_hosts = fleet_hosts()
    if max(HOSTS) > len(all_hosts):
        raise SystemExit(f"fleet has {len(all_hosts)} hosts, need {max(HOSTS)}: bench/fleet.sh up {max(HOSTS)}")
    have = rprov_modules()
    skip_tags = {"a": set(), "b": {t for t, mod in TAG_MODULES.items() if mod not in have}}
    tools = [t for t in TOOLS if t != "mitogen" or versions_ok_mitogen()]
    started = datetime.datetime.now()
    results = {"started": started.isoformat(timespec="seconds"), "machine": machine(),
               "versions": versions(), "reps": REPS, "cell_budget_s": CELL_BUDGET,
               "skipped_cells": sorted(SKIP), "skip_tags": {k: sorted(v) for k, v in skip_tags.items()},
               "rprov_modules": sorted(have), "rtts_ms": RTTS, "cells": [], "same_files": {}}
    log(f"tools {tools}, hosts {HOSTS}, workloads {WORKLOADS}, RTT {RTTS} ms, skip tags {results['skip_tags']}")
    for rtt in RTTS:
        proxy, reach = (None, all_hosts) if rtt == 0 else start_delay(all_hosts[:max(HOSTS)], rtt)
        try:
            run_matrix(results, tools, reach, rtt, skip_tags)
        finally:
            close_persisted()
            if proxy:
                proxy.terminate()
                proxy.wait()
    if PERSIST_XDG is not None:
        shutil.rmtree(PERSIST_XDG, ignore_errors=True)
    results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    save(results)


def run_matrix(results, tools, all_hosts, rtt, skip_tags):
    """Every (hosts, workload, tool, phase) cell at one RTT."""
    at = f" {rtt} ms" if rtt else ""
    for n in HOSTS:
        hosts = all_hosts[:n]
        for wl in WORKLOADS:
            listings = {}
            for tool in tools:
                d = WORK / "runs" / f"{wl}-{n}-{tool}"
                root = write_inventories(d, hosts, wl, tool, skip_tags[wl])
                for phase in ("first", "nochange"):
                    if tool == "ssh" and phase == "first":
                        continue  # the floor changes nothing: one phase says it
                    if skipped(tool, wl, n, phase):
                        log(f"{wl} {n:>2} hosts{at} {tool:8} {phase:8} skipped (BENCH_SKIP)")
                        continue
                    runs = []
                    spent = 0.0
                    while len(runs) < REPS and (not runs or spent + runs[-1]["wall_s"] <= CELL_BUDGET):
                        if phase == "first":
                            shutil.rmtree(root, ignore_errors=True)
                        elif not runs and skipped(tool, wl, n, "first"):
                            # No-change runs need the files in place: one unmeasured run.
                            shutil.rmtree(root, ignore_errors=True)
                            one_run(tool, d, wl, n, hosts, skip_tags[wl])
                        r = one_run(tool, d, wl, n, hosts, skip_tags[wl], phase)
                        runs.append(r)
                        spent += r["wall_s"]
                        log(f"{wl} {n:>2} hosts{at} {tool:8} {phase:8} #{len(runs)} {r}")
                        if phase == "first" and len(runs) == 1:
                            listings[tool] = tree_listing(root, hosts)
                            (d / "tree.txt").write_text(listings[tool])
                    cell = {"tool": tool, "workload": wl, "hosts": n, "rtt_ms": rtt, "phase": phase,
                            **stats(runs), "runs": runs}
                    results["cells"].append(cell)
                if tool == "rprov-persist":
                    log(f"{wl} {n:>2} hosts{at} {tool:8} closed {close_persisted()} kept masters")
            if "rprov" in listings:
                ref = listings["rprov"]
                k = f"{wl}-{n}" + (f"-rtt{rtt}" if rtt else "")
                results["same_files"][k] = {t: (l == ref) for t, l in listings.items()}
                log(f"{wl} {n}{at} same files as rprov: {results['same_files'][k]}")
            save(results)


_mitogen_checked = {}


def versions_ok_mitogen():
    if "ok" not in _mitogen_checked:
        r = sh([str(VENV / "bin" / "python"), "-c", "import ansible_mitogen"])
        _mitogen_checked["ok"] = r.returncode == 0
        if r.returncode:
            log(f"mitogen not usable, skipped: {r.stderr.strip()[-300:]}")
    return _mitogen_checked["ok"]


def save(results):
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stem = results.setdefault(
        "stem", f"{results['started'][:10]}-{results['machine']['hostname']}" + os.environ.get("BENCH_TAG", ""))
    (out / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{stem}.md").write_text(report(results))
    # workload (c) runs after this process and adds its cells to the same file.
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "last-results").write_text(str(out / f"{stem}.json") + "\n")


# ---------------------------------------------------------------- workload (c)

TESTVM = REPO / "vagrant" / "testvm.sh"
C_REPS = int(os.environ.get("BENCH_C_REPS", str(REPS)))


def vm_step(*cmd):
    r = subprocess.run(list(cmd), cwd=REPO, text=True, capture_output=True)
    if r.returncode:
        raise SystemExit(f"workload (c): {' '.join(cmd)} failed:\n{(r.stdout + r.stderr)[-2000:]}")


def site_run(env):
    """One `rprov apply site.yml --limit vagrant`, measured like one_run(); remote
    commands come from rprov's own recap (the VM's sshd does not log at VERBOSE;
    tests/roles_over_ssh.rs checks that the recap count equals sshd's log)."""
    tfile = WORK / "c-time.txt"
    cmd = ["/usr/bin/time", "-o", str(tfile), "-f", "%e %U %S %M", str(RPROV), "apply",
           "-i", "inventory/hosts.ini", "--limit", "vagrant", "site.yml", "--output", "json", "--timings"]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, env=env, text=True, capture_output=True)
    wall = time.perf_counter() - t0
    (WORK / "c-last.log").write_text(r.stdout + r.stderr)
    _, user, sys_, rss = tfile.read_text().strip().splitlines()[-1].split()
    recap = {}
    for line in reversed(r.stdout.splitlines()):
        if line.startswith('{"recap"'):
            recap = next(iter(json.loads(line)["recap"].values()), {})
            break
    cmds = recap.get("remote_commands", 0)
    return {"wall_s": round(wall, 3), "cpu_s": round(float(user) + float(sys_), 2),
            "peak_rss_mb": round(int(rss) / 1024, 1), "cmds_per_host_mean": cmds,
            "cmds_per_host_max": cmds, "changed": recap.get("changed"),
            "failed": recap.get("failed", 1) + recap.get("unreachable", 0), "rc": r.returncode,
            "load1_before": round(load, 2), "timings": rprov_timings(r.stdout)}


def workload_c():
    """The full site.yml on the test VM, rprov only (see workload-c.sh for why):
    C_REPS first runs, each on a freshly booted throw-away VM (the disk is a
    snapshot), then C_REPS no-change runs. Cells go into the results file of the
    run that came before (bench/work/last-results) or a new one."""
    last = WORK / "last-results"
    if last.exists() and Path(last.read_text().strip()).exists():
        results = json.loads(Path(last.read_text().strip()).read_text())
    else:
        results = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                   "versions": {"rprov": sh([str(RPROV), "--version"]).stdout.strip(),
                                "rprov_commit": sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()},
                   "reps": C_REPS, "cell_budget_s": CELL_BUDGET, "skipped_cells": [], "skip_tags": {},
                   "cells": [], "same_files": {}}
    results["cells"] = [c for c in results["cells"] if c["workload"] != "c"]
    env = dict(os.environ)
    env.setdefault("RPROV_AGE_IDENTITY", str(REPO / "inventory" / "test-identity.txt"))
    first = []
    for i in range(C_REPS):
        vm_step(str(TESTVM), "down")
        vm_step(str(TESTVM), "up")
        vm_step(str(REPO / "scripts" / "vm-standins.sh"))
        r = site_run(env)
        first.append(r)
        log(f"c  1 host  rprov    first    #{i + 1} {r}")
    nochange = []
    for i in range(C_REPS):
        r = site_run(env)
        nochange.append(r)
        log(f"c  1 host  rprov    nochange #{i + 1} {r}")
    for phase, runs in (("first", first), ("nochange", nochange)):
        results["cells"].append({"tool": "rprov", "workload": "c", "hosts": 1, "phase": phase,
                                 **stats(runs), "runs": runs})
    results["workload_c_finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    save(results)


def cell(results, tool, wl, n, phase, rtt=0):
    for c in results["cells"]:
        if (c["tool"], c["workload"], c["hosts"], c["phase"], c.get("rtt_ms", 0)) == (tool, wl, n, phase, rtt):
            return c
    return None


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.1f}×" if r >= 0.95 else f"{r:.2f}×"


def report(res):
    m, v = res["machine"], res["versions"]
    L = [f"# rprov benchmark — {res['started'][:10]} on {m['hostname']}", "",
         f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}, "
         f"load average {m['load1_at_start']} at start (each run records `load1_before` in the JSON). "
         "Targets are sshd's in network namespaces on the same machine (bench/fleet.sh), "
         "so the tools and the targets share the 2 cores.", "",
         "Versions: " + "; ".join(f"{k} {val}" for k, val in v.items()), "",
         f"Started {res['started']}, finished {res.get('finished', '(running)')}. "
         f"Up to {res['reps']} runs per cell, fewer when a cell exceeded {res['cell_budget_s']:.0f} s "
         "(see `reps`). Skipped cells: " + (", ".join(res["skipped_cells"]) or "none") + ".", "",
         ("RTT: cells with an RTT above 0 reach every host through bench/delay_proxy.py on loopback, "
          "which holds each byte for half the RTT in each direction and a new connection for one RTT "
          "(TCP's handshake), the same for every tool. " if any(c.get("rtt_ms") for c in res["cells"]) else ""),
         "Workload (b) tags left out for every tool (module missing in rprov): "
         + (", ".join(res["skip_tags"].get("b", [])) or "none") + "; services are not part of (b) here (no systemd).", ""]
    if any(c["workload"] == "c" for c in res["cells"]):
        L += ["Workload (c): the full `site.yml` applied to the test VM (a qemu TCG guest on the same 2 cores), "
              "rprov only (ansible-playbook cannot run it unchanged: see bench/workload-c.sh). Each first run "
              "starts from a freshly booted throw-away VM; remote commands are rprov's own recap count.", ""]
    tools = sorted({c["tool"] for c in res["cells"]}, key=TOOL_ORDER.index)
    L += ratio_table(res, "rprov", [t for t in tools if t not in ("rprov", "rprov-persist")])
    if "rprov-persist" in tools:
        L += [""] + ratio_table(res, "rprov-persist", [t for t in tools if t != "rprov-persist"])
    L += ["", "## Raw figures", "",
          "Wall: median (min–max) of `reps` runs. CPU: user+sys of the tool's process tree (median). "
          "RSS: largest single process in the tree (GNU time %M). Cmds/host: exec requests per host "
          "from sshd's log (median of the per-run mean over hosts; max over hosts and runs). "
          "Logins: key logins sshd accepted in each run, summed over hosts. "
          "`changed`: what the tool itself reported per run (sum over hosts).", "",
          "| workload | hosts | RTT ms | phase | tool | reps | wall s | CPU s | RSS MB | cmds/host (max) | logins | changed | failed runs |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in res["cells"]:
        L.append(f"| {c['workload']} | {c['hosts']} | {c.get('rtt_ms', 0)} | {c['phase']} | {c['tool']} | {c['reps']} | "
                 f"{c['wall_median_s']:.2f} ({c['wall_min_s']:.2f}–{c['wall_max_s']:.2f}) | {c['cpu_median_s']:.2f} | "
                 f"{c['peak_rss_mb']:.0f} | {c['cmds_per_host']:g} ({c['cmds_per_host_max']}) | "
                 f"{','.join('–' if x is None else str(x) for x in c.get('logins', [None]))} | "
                 f"{','.join(str(x) for x in c['changed'])} | {c['failed_runs']} |")
    L += profile_table(res)
    L += ["", "## Same files on the targets", "",
          "Hash listing (type, mode, owner, path, sha256) of each host's tree after each tool's first run, compared with rprov's:", ""]
    for k, same in res["same_files"].items():
        L.append(f"- {k}: " + ", ".join(f"{t} {'same' if s else 'DIFFERENT'}" for t, s in same.items()))
    L += ["", "## Targets (issues 6, 16, 17)", ""]
    L += targets(res)
    return "\n".join(L) + "\n"


def ratio_table(res, base, peers):
    """Peer ÷ `base` for every cell `base` has; nothing to compare without peers."""
    if not peers:
        return [f"## Ratios", "", f"{base} alone in this run: no peer to compare with."]
    if base == "rprov-persist":
        L = ["## Ratios against rprov --persist (peer ÷ rprov-persist; >1 means rprov-persist is better)", "",
             f"rprov-persist is rprov with `--persist {PERSIST_S}`: its first runs start cold and keep the "
             "hosts' ssh masters, its no-change runs use them instead of logging in (the second and later "
             "runs within that time). `wall vs rprov` is what keeping the masters saves.", ""]
    else:
        L = [f"## Ratios (peer ÷ {base}; >1 means {base} is better)", ""]
    L += ["| workload | hosts | RTT ms | phase | " + " | ".join(f"wall vs {p}" for p in peers)
         + " | " + " | ".join(f"cmds/host vs {p}" for p in peers) + " | " + " | ".join(f"CPU vs {p}" for p in peers) + " |",
         "|" + "---|" * (4 + 3 * len(peers))]
    for wl in sorted({c["workload"] for c in res["cells"]}):
        for n in sorted({c["hosts"] for c in res["cells"]}):
            for rtt in sorted({c.get("rtt_ms", 0) for c in res["cells"]}):
                for phase in ("nochange", "first"):
                    r = cell(res, base, wl, n, phase, rtt)
                    if not r or not any(cell(res, p, wl, n, phase, rtt) for p in peers):
                        continue
                    row = [wl, str(n), str(rtt), phase]
                    for key in ("wall_median_s", "cmds_per_host", "cpu_median_s"):
                        for p in peers:
                            c = cell(res, p, wl, n, phase, rtt)
                            row.append(fmt_ratio(c and c[key], r[key]))
                    L.append("| " + " | ".join(row) + " |")
    return L


def profile_table(res):
    """rprov's `--timings`, median over the runs of each cell: where a run's time goes."""
    cells = [c for c in res["cells"] if c["tool"] in RPROV_TOOLS
             and any(r.get("timings") for r in c.get("runs", []))]
    if not cells:
        return []
    L = ["", "## rprov per-phase profile", "",
         "From rprov's own `--timings` (src/report/timings.rs says what counts where), median over "
         "the runs of each cell. Load is once per run; the other columns are the mean per host "
         "(the run's sum over hosts ÷ hosts; hosts run at once, so their times overlap): connect "
         "(SSH master start and close), probe and apply (remote commands: ms, and commands in "
         "parentheses), local (compile, plan, report on the controller) and the host's total. "
         "Wall is rprov's own, from its start to the recap.", "",
         "| workload | hosts | RTT ms | phase | tool | runs | load ms | connect ms | probe ms (cmds) | apply ms (cmds) "
         "| local ms | host total ms | wall ms |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        ts = [r["timings"] for r in c["runs"] if r.get("timings")]

        def med(key, per_host=True):
            vals = [t[key] / (t["hosts"] if per_host and t["hosts"] else 1) for t in ts
                    if t.get(key) is not None]
            return statistics.median(vals) if vals else None

        def f(v):
            return "–" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"

        def n(v):
            return "–" if v is None else f"{round(v, 1):g}"

        L.append(f"| {c['workload']} | {c['hosts']} | {c.get('rtt_ms', 0)} | {c['phase']} | {c['tool']} | {len(ts)} | "
                 f"{f(med('load_ms', False))} | "
                 f"{f(med('connect_ms'))} | {f(med('probe_ms'))} ({n(med('probes'))}) | "
                 f"{f(med('apply_ms'))} ({n(med('actions'))}) | {f(med('local_ms'))} | "
                 f"{f(med('total_ms'))} | {f(med('wall_ms', False))} |")
    return L


def targets(res):
    out = []
    # The speed targets hold for a run with nothing to change, whatever the workload.
    for wl in ("a", "b"):
        for n in (1, 50):
            r = cell(res, "rprov", wl, n, "nochange")
            for p, want in (("ansible", 10), ("pyinfra", 3)):
                c = cell(res, p, wl, n, "nochange")
                if r and c:
                    ratio = c["wall_median_s"] / r["wall_median_s"]
                    out.append(f"- no-change ({wl}) at {n} host(s) vs {p}: {ratio:.1f}× (target ≥{want}×) — "
                               + ("met" if ratio >= want else "NOT met"))
                else:
                    out.append(f"- no-change ({wl}) at {n} host(s) vs {p}: not measured")
    for n in sorted({c["hosts"] for c in res["cells"]}):
        r = cell(res, "rprov", "a", n, "nochange")
        if r:
            out.append(f"- remote commands per host, no-change (a), {n} host(s): {r['cmds_per_host_max']} "
                       "(target ≤2) — " + ("met" if r["cmds_per_host_max"] <= 2 else "NOT met"))
    # Round trips (issue 17): first runs at real-world latency.
    for rtt in sorted({c.get("rtt_ms", 0) for c in res["cells"]} - {0}):
        for n in sorted({c["hosts"] for c in res["cells"]}):
            r = cell(res, "rprov", "a", n, "first", rtt)
            if not r:
                continue
            out.append(f"- remote commands per host, first run (a), {n} host(s), {rtt} ms: "
                       f"{r['cmds_per_host_max']} (target ≤3) — " + ("met" if r["cmds_per_host_max"] <= 3 else "NOT met"))
            for p, want in (("ansible", 50), ("pyinfra", 10)):
                c = cell(res, p, "a", n, "first", rtt)
                if c:
                    ratio = c["wall_median_s"] / r["wall_median_s"]
                    out.append(f"- first run (a) at {n} host(s), {rtt} ms RTT vs {p}: {ratio:.1f}× (target ≥{want}×) — "
                               + ("met" if ratio >= want else "NOT met"))
    # A no-change run against the floor: one ssh login running `true` per host.
    for c in res["cells"]:
        if c["tool"] != "ssh" or c["phase"] != "nochange":
            continue
        r = cell(res, "rprov", c["workload"], c["hosts"], "nochange", c.get("rtt_ms", 0))
        if r:
            ratio = r["wall_median_s"] / c["wall_median_s"]
            want = " (target ≤1.2× at 0 ms)" if not c.get("rtt_ms") else ""
            out.append(f"- no-change ({c['workload']}) at {c['hosts']} host(s), {c.get('rtt_ms', 0)} ms: "
                       f"rprov takes {ratio:.2f}× a bare `ssh host true`{want}"
                       + ((" — " + ("met" if ratio <= 1.2 else "NOT met")) if want else ""))
    # Issue 16: a no-change run at 250 hosts ≥10× faster than pyinfra's, with or
    # without masters kept between runs.
    for wl in ("a", "b"):
        for tool in ("rprov", "rprov-persist"):
            r = cell(res, tool, wl, 250, "nochange")
            c = cell(res, "pyinfra", wl, 250, "nochange")
            if r and c:
                ratio = c["wall_median_s"] / r["wall_median_s"]
                out.append(f"- no-change ({wl}) at 250 hosts, {tool} vs pyinfra: {ratio:.1f}× (target ≥10×, "
                           "issue 16) — " + ("met" if ratio >= 10 else "NOT met"))
    for tool in ("rprov", "rprov-persist"):
        r = [c for c in res["cells"] if c["tool"] == tool and c["hosts"] == 50]
        if r:
            rss = max(c["peak_rss_mb"] for c in r)
            out.append(f"- {tool} peak RSS at 50 hosts: {rss:.0f} MB (target <100 MB) — "
                       + ("met" if rss < 100 else "NOT met"))
    return out


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--workload-c":
        workload_c()
    elif len(sys.argv) == 3 and sys.argv[1] == "--report":
        # Re-render the markdown of a results JSON (e.g. after changing the report).
        res = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[2]).with_suffix(".md").write_text(report(res))
    else:
        main()
