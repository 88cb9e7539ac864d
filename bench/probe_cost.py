#!/usr/bin/env python3
"""The host-side cost of probe scripts, without ssh: each script run N times the
way rprov runs it on a host (the transport's bootstrap as `sh -c` on the command
line, `<length>\\n<script>\\n# rprov: end of script` on stdin), as the login user,
through `sudo -n -H -u root` when asked, round robin so load changes hit every
script alike. Prints per script: wall median and minimum, CPU (user+sys of the
process tree) per run, and the processes started per run (counted once under
`strace -f`).

    bench/probe_cost.py N USER SCRIPT[:sudo] ...

USER is the login user (e.g. rprovtest); needs root (setpriv) and, for counts,
strace. The scripts in bench/probe-scripts/ are rprov's probes of workloads (a)
and (b) on host h1 of the bench fleet; they stat the files a first run left in
/tmp/bench-{a,b}/rprov/h1, so run the bench (or one first run of each) before.
"""

import pwd
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

# Must match crates/rprov-transport/src/connection.rs (BOOTSTRAP, END_MARK).
BOOT = ('IFS= read -r _rp_n || exit 125\n_rp_s=$(head -c "$_rp_n") || exit 125\n'
        "case $_rp_s in *'\n# rprov: end of script') ;; "
        "*) echo 'rprov: the script arrived incomplete' >&2; exit 125 ;; esac\n"
        'unset _rp_n\neval "$_rp_s"')


def payload(script):
    body = script + "\n# rprov: end of script"
    return f"{len(body.encode())}\n{body}".encode()


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    n, user, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    pw = pwd.getpwnam(user)
    cases = []
    for spec in specs:
        path, _, how = spec.partition(":")
        flags = set(how.split(",")) - {""}
        # As ssh runs it: the login shell gets `exec <line>` (see ssh.rs;
        # flag `noexec` for rprov before that).
        line = ("" if "noexec" in flags else "exec ") + ("sudo -n -H -u root -- " if "sudo" in flags else "") \
            + "sh -c " + shlex.quote(BOOT)
        argv = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
                pw.pw_shell, "-c", line]
        cases.append({"name": spec, "argv": argv, "stdin": payload(open(path).read()), "wall": [], "cpu": 0.0})
    for _ in range(n):
        for c in cases:
            c0, t0 = cpu(), time.perf_counter()
            r = subprocess.run(c["argv"], input=c["stdin"], capture_output=True, cwd="/")
            c["wall"].append(time.perf_counter() - t0)
            c["cpu"] += cpu() - c0
            if b"-end\n" not in r.stdout:
                raise SystemExit(f"{c['name']}: no end marker: {r.stderr.decode(errors='replace')}")
    print("| script | runs | wall median ms | wall min ms | CPU ms per run | processes per run | programs run |")
    print("|---|---|---|---|---|---|---|")
    for c in cases:
        with tempfile.NamedTemporaryFile("r") as log:
            subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve,clone,clone3,fork,vfork", "-o", log.name]
                           + c["argv"], input=c["stdin"], capture_output=True, cwd="/")
            lines = open(log.name).read().splitlines()
        # Processes: every pid seen (a subshell that runs no program shows
        # only in its parent's SIGCHLD); programs: execs that succeeded (a
        # PATH search tries other names first), setpriv's own included.
        pids = {l.split()[0] for l in lines} | set(re.findall(r"si_pid=(\d+)", "\n".join(lines)))
        procs = len(pids)
        progs = sum(1 for l in lines if re.search(r"(execve\(|<\.\.\. execve resumed>).*= 0$", l))
        print(f"| {c['name']} | {n} | {statistics.median(c['wall']) * 1000:.1f} | {min(c['wall']) * 1000:.1f} "
              f"| {c['cpu'] / n * 1000:.1f} | {procs} | {progs} |")


if __name__ == "__main__":
    main()
