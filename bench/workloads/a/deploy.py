"""Workload (a) for pyinfra 3: the same 50 tasks as roles/files50 (Ansible role),
written with files.directory / files.put / files.template. Templates are the role's
own .j2 files, rendered with Ansible's template settings (trim_blocks)."""

import io
from pathlib import Path

from pyinfra import host
from pyinfra.operations import files

HERE = Path(__file__).resolve().parent
ROLE = HERE / "roles" / "files50"

app_name = "benchapp"
app_port = 8080
app_env = "production"
app_users = [
    {"name": "alice", "uid": 2001, "admin": True},
    {"name": "bob", "uid": 2002, "admin": False},
    {"name": "carol", "uid": 2003, "admin": False},
    {"name": "dave", "uid": 2004, "admin": True},
]
app_features = {"metrics": True, "debug": False}
app_limits = {"nofile": 65536, "nproc": 4096}
extra_files = ["alpha", "beta", "gamma"]

H = f"{host.data.bench_root}/{host.name}"
TEMPLATE_VARS = dict(
    inventory_hostname=host.name,
    app_name=app_name,
    app_port=app_port,
    app_env=app_env,
    app_users=app_users,
    app_features=app_features,
    app_limits=app_limits,
)


def content(text):
    return io.StringIO(text)


files.directory(name="directory /", path=f"{H}", mode="0755")
files.directory(name="directory /etc", path=f"{H}/etc", mode="0755")
files.directory(name="directory /etc/conf.d", path=f"{H}/etc/conf.d", mode="0750")
files.directory(name="directory /var", path=f"{H}/var", mode="0755")
files.directory(name="directory /var/lib", path=f"{H}/var/lib", mode="0700")
files.directory(name="directory /var/log", path=f"{H}/var/log", mode="0755")
files.directory(name="directory /share", path=f"{H}/share", mode="0755")
files.directory(name="directory /share/doc", path=f"{H}/share/doc", mode="0755")

for i in range(1, 23):
    files.put(
        name=f"conf.d/{i:02d}.conf",
        src=content(f"# setting {i}\nkey_{i:02d} = value {i * 7}\n"),
        dest=f"{H}/etc/conf.d/{i:02d}.conf",
        mode=("0644", "0640", "0600")[i % 3],
    )

for item in extra_files:
    files.put(name="docs for extra files", src=content(f"extra file {item}\n"), dest=f"{H}/share/doc/{item}.txt", mode="0644")

if app_features["debug"]:
    files.put(name="debug marker", src=content("debug\n"), dest=f"{H}/etc/debug.enabled", mode="0644")
if app_features["metrics"]:
    files.put(name="metrics marker", src=content(f"metrics on {host.name}\n"), dest=f"{H}/etc/metrics.enabled", mode="0644")

for n in (1, 2, 3):
    files.put(name=f"static-{n}.txt", src=str(ROLE / "files" / f"static-{n}.txt"), dest=f"{H}/share/static-{n}.txt", mode="0644")

for t, mode in [
    ("app.conf", "0640"),
    ("admins", "0600"),
    ("limits.conf", "0644"),
    ("env.sh", "0755"),
    ("motd", "0644"),
    ("hosts.allow", "0644"),
    ("service.ini", "0644"),
]:
    for dest, m in ((f"{H}/etc/{t}", mode), (f"{H}/share/doc/{t}.sample", "0644")):
        files.template(
            name=f"template {dest}",
            src=str(ROLE / "templates" / f"{t}.j2"),
            dest=dest,
            mode=m,
            jinja_env_kwargs={"trim_blocks": True},
            **TEMPLATE_VARS,
        )
