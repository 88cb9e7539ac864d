"""Workload (b) for pyinfra 3: the same tasks as playbook.yml (group, user, apt
packages already present, directories, copies, lineinfile). host.data.bench_skip
holds the tags bench/run.sh skips for every tool (modules rprov lacks)."""

import io

from pyinfra import host
from pyinfra.operations import apt, files, server

skip = set(host.data.get("bench_skip") or [])
base = f"{host.data.bench_root}/{host.name}"
sudo = {"_sudo": True}

if "group" not in skip:
    server.group(name="group benchgrp", group="benchgrp", present=True, **sudo)
if "user" not in skip:
    server.user(
        name="user benchuser",
        user="benchuser",
        group="benchgrp",
        shell="/bin/sh",
        create_home=False,
        comment="rprov bench user",
        **sudo,
    )
if "apt" not in skip:
    apt.packages(name="packages already present", packages=["openssh-server", "sudo"], present=True, **sudo)
if "file" not in skip:
    files.directory(name="base directory", path=base, mode="0755", **sudo)
    files.directory(name="etc directory", path=f"{base}/etc", mode="0755", **sudo)
if "copy" not in skip:
    for dest, text, mode in [
        ("sshd-bench.conf", "PasswordAuthentication no\nPermitRootLogin prohibit-password\n", "0644"),
        ("sudoers-bench", "benchuser ALL=(ALL) NOPASSWD: /usr/bin/true\n", "0440"),
        ("motd", f"{host.name} is managed by a benchmark\n", "0644"),
        ("journald-bench.conf", "[Journal]\nSystemMaxUse=100M\n", "0644"),
    ]:
        files.put(name=dest, src=io.StringIO(text), dest=f"{base}/etc/{dest}", mode=mode, **sudo)
if "lineinfile" not in skip:
    files.line(name="limits line", path=f"{base}/etc/limits.conf", line="benchuser soft nofile 4096", **sudo)
    files.line(name="environment line by regexp", path=f"{base}/etc/environment", line="^EDITOR=", replace="EDITOR=vi", **sudo)
    files.line(name="sysctl line", path=f"{base}/etc/sysctl-bench.conf", line="^vm.swappiness", replace="vm.swappiness = 10", **sudo)
