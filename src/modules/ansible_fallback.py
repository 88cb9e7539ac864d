# rprov's bridge to ansible-core on the controller (src/modules/ansible_fallback.rs).
#
# Run by rprov with the controller's Python (RPROV_ANSIBLE_PYTHON, --ansible-python,
# else python3). It reads one JSON request per line on stdin and answers each with one
# JSON line on stdout:
#   {"op": "resolve", "name": N, "collections": [..]}
#       -> {"found": true, "fqcn": F, "action_plugin": bool, "library": bool}
#          or {"found": false}; "library": the module is a custom one (a `library/`
#          folder, ANSIBLE_LIBRARY), not ansible-core's or a collection's.
#          With the scope "custom" (argv[2]), one that is not custom answers
#          {"found": false, "not_custom": F}.
#   {"op": "add_dirs", "paths": [ROLE_PATH, ..]}
#       -> {"ok": true} : a role's plugin folders (library/, module_utils/, ...)
#          join the search, as Ansible's Role._load_role_data adds them.
#   {"op": "build", "name": F, "args": {...}, "collections": [..]}
#       -> {"payload": TEXT, "style": "new"} : the AnsiballZ script built by
#          ansible-core's own module_common.modify_module, run on the host as `python -`;
#          or, for a module of another style ("old", "non_native_want_json",
#          "binary": any language, arguments in a file),
#          {"payload_b64": B64, "style": S, "shebang": TEXT|null, "args": TEXT}:
#          the module as ansible-core sends it (its shebang line rewritten) and
#          its arguments file as ansible-core writes it (ActionBase._execute_module).
#   {"op": "jinja_names"}
#       -> {"filters": [..], "tests": [..]} : the short names of the filters and tests
#          of custom folders (filter_plugins/, test_plugins/ of the playbook and of the
#          roles, the filter_plugins and test_plugins settings), not ansible-core's own.
#   {"op": "run_action", "name": F, "args": {...}, "trusted": [K..], "variables": {...}, "check": bool}
#       -> {"result": {...}} : a custom action plugin with no module of its name, run on
#          the controller as ansible-core's TaskExecutor runs it (the arguments named in
#          "trusted", as the task wrote them, trusted as templates); or {"raised": TEXT}: the
#          exception it raised. Before it, each command the plugin runs on the host is
#          {"exec": CMD, "stdin_b64": B64}, which rprov runs there and answers on stdin
#          with {"rc": N, "stdout_b64": B64, "stderr_b64": B64} (see host_connection).
#   {"op": "has_lookup", "name": N} -> {"found": bool}: whether ansible-core finds
#          lookup N (a `with_N` loop); with the scope "custom", only a custom one.
#   {"op": "plugin_setting", "plugin_type": T, "plugin_name": N, "name": S, "variables": {..}}
#       -> {"value": V, "origin": O}, {"undefined": TEXT} when the plugin defines no S,
#          or {"found": false} when there is no such plugin: the setting as ansible-core's
#          config manager resolves it (lookup('config', S, plugin_type=T, plugin_name=N));
#          with the scope "custom", {"error": TEXT} for a plugin that is not custom.
#   {"op": "jinja_call", "kind": "filter"|"test"|"lookup", "name": N, "args": [..],
#    "kwargs": {..}, "variables": {..}}
#       -> {"value": V} or {"found": false}: the plugin run as Ansible's templar
#          calls it (a filter or test with the input first; a lookup's `run`), its
#          answer made plain JSON; with the scope "custom", {"error": TEXT} for one
#          that is ansible-core's or a collection's.
# The first line it prints is {"ready": VERSION} once ansible imported, or
# {"error": TEXT} when it cannot be imported.
import base64
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterable, Mapping


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import ansible
    from ansible import __version__ as ANSIBLE_VERSION
    from ansible import constants as C
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins import loader as plugin_loader
    from ansible.template import Templar
    from ansible.utils.collection_loader import AnsibleCollectionConfig
except Exception as e:  # noqa: BLE001 - any import failure means "no ansible here"
    reply({"error": "%s: %s" % (type(e).__name__, e)})
    sys.exit(0)

PLAYBOOK_DIR = sys.argv[1] if len(sys.argv) > 1 else ""
# "custom": only custom modules and plugins run (rprov's --ansible-fallback custom).
CUSTOM_ONLY = len(sys.argv) > 2 and sys.argv[2] == "custom"
plugin_loader.init_plugin_loader()
if PLAYBOOK_DIR:
    plugin_loader.add_all_plugin_dirs(PLAYBOOK_DIR)
    AnsibleCollectionConfig.playbook_paths = [PLAYBOOK_DIR]

# ansible-core's own package: a module resolved outside it and outside every
# collection came from a custom folder.
ANSIBLE_PACKAGE = os.path.realpath(os.path.dirname(ansible.__file__)) + os.sep

# Action plugins that only wrap their module, with nothing done on the controller
# that the module would need: `normal` is the plugin of every plain module.
PLAIN_ACTIONS = {"ansible.builtin.normal", "ansible.legacy.normal"}


def search_list(collections):
    """A task's collection list as Ansible's Task.preprocess_data completes it:
    `ansible.legacy` appended unless it or `ansible.builtin` is there, so that
    builtin modules still resolve by their short names."""
    found = list(collections or [])
    if found and "ansible.builtin" not in found and "ansible.legacy" not in found:
        found.append("ansible.legacy")
    return found or None


def find(name, collections):
    # mod_type "" as the ssh connection's module_implementation_preferences:
    # a module of any extension (`library/hello.sh`) is found by its stem.
    ctx = plugin_loader.module_loader.find_plugin_with_context(
        name, mod_type="", collection_list=search_list(collections)
    )
    if not ctx.resolved or not ctx.plugin_resolved_path:
        return None
    return ctx


def resolve(req):
    name = req["name"]
    collections = req.get("collections") or []
    ctx = find(name, collections)
    if ctx is None:
        # A module that only an action's redirect names: ansible-core 2.19's
        # `yum` is its `dnf`.
        target = redirected_action(name, collections)
        ctx = find(target, collections) if target else None
        if ctx is not None:
            name = target
    if ctx is None:
        return controller_action(name, collections)
    fqcn = ctx.resolved_fqcn or name
    if "." not in fqcn:
        # A custom module found on the legacy search path: ansible-core names
        # it without a collection; Ansible's own name for it is ansible.legacy.
        fqcn = "ansible.legacy." + fqcn
    action = plugin_loader.action_loader.find_plugin_with_context(
        name, collection_list=search_list(collections)
    )
    has_action = bool(action.resolved) and (action.resolved_fqcn or "") not in PLAIN_ACTIONS
    path = os.path.realpath(ctx.plugin_resolved_path)
    library = fqcn.startswith("ansible.legacy.") and custom_path(path)
    if CUSTOM_ONLY and not library:
        return {"found": False, "not_custom": fqcn}
    return {
        "found": True,
        "fqcn": fqcn,
        "path": ctx.plugin_resolved_path,
        "action_plugin": has_action,
        "library": library,
    }


def redirected_action(name, collections):
    """The fully qualified name an action's redirect leads `name` to, or None."""
    action = plugin_loader.action_loader.find_plugin_with_context(
        name, collection_list=search_list(collections)
    )
    if action.resolved and len(action.redirect_list) > 1 and action.resolved_fqcn:
        return action.resolved_fqcn
    return None


def controller_action(name, collections):
    """An action plugin with no module of its name (an `action_plugins/`
    folder's, or a collection's): its work is done on the controller, where
    rprov runs it with `run_action`. ansible-core's own are rprov's."""
    action = plugin_loader.action_loader.find_plugin_with_context(
        name, collection_list=search_list(collections)
    )
    path = os.path.realpath(action.plugin_resolved_path or "")
    if not action.resolved or path.startswith(ANSIBLE_PACKAGE):
        return {"found": False}
    fqcn = action.resolved_fqcn or name
    if "." not in fqcn:
        fqcn = "ansible.legacy." + fqcn
    if CUSTOM_ONLY and not custom_path(path):
        return {"found": False, "not_custom": fqcn}
    return {"found": True, "fqcn": fqcn, "controller_action": True}


# The pipe rprov reads, kept before a plugin's prints are sent to stderr.
PROTOCOL_OUT = sys.stdout


def host_connection(play_context):
    """The connection an action plugin run on rprov's controller has to its
    host: each command it runs there (a module, a file sent or fetched) goes
    back to rprov as {"exec": CMD, "stdin_b64": B64} and runs over rprov's own
    connection, under the task's become; rprov answers
    {"rc": N, "stdout_b64": B64, "stderr_b64": B64}."""
    from ansible.errors import AnsibleError
    from ansible.plugins.connection import ConnectionBase

    class HostConnection(ConnectionBase):
        transport = "rprov"
        has_pipelining = True

        def _connect(self):
            self._connected = True
            return self

        def exec_command(self, cmd, in_data=None, sudoable=True):
            PROTOCOL_OUT.write(
                json.dumps({"exec": cmd, "stdin_b64": base64.b64encode(in_data or b"").decode("ascii")}) + "\n"
            )
            PROTOCOL_OUT.flush()
            answer = json.loads(sys.stdin.readline())
            if "error" in answer:
                raise AnsibleError(answer["error"])
            return (
                answer["rc"],
                base64.b64decode(answer["stdout_b64"]),
                base64.b64decode(answer["stderr_b64"]),
            )

        def put_file(self, in_path, out_path):
            with open(in_path, "rb") as f:
                data = f.read()
            rc, _, err = self.exec_command("cat > %s" % shlex.quote(out_path), in_data=data)
            if rc != 0:
                raise AnsibleError("failed to transfer file to %s: %s" % (out_path, err.decode("utf-8", "replace")))

        def fetch_file(self, in_path, out_path):
            rc, out, err = self.exec_command("cat %s" % shlex.quote(in_path))
            if rc != 0:
                raise AnsibleError("failed to fetch file %s: %s" % (in_path, err.decode("utf-8", "replace")))
            with open(out_path, "wb") as f:
                f.write(out)

        def close(self):
            self._connected = False

    return HostConnection(play_context)


def run_action(req):
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task

    name = req["name"]
    variables = req.get("variables") or {}
    loader = DataLoader()
    if PLAYBOOK_DIR:
        loader.set_basedir(PLAYBOOK_DIR)
    templar = Templar(loader=loader, variables=variables)
    args = dict(req.get("args") or {})
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate

        for key in req.get("trusted") or []:
            if isinstance(args.get(key), str):
                args[key] = TrustedAsTemplate().tag(args[key])
    except ImportError:  # before ansible-core 2.19 every string is trusted
        pass
    task = Task.load({"action": {"module": name, **args}}, loader=loader)
    task.check_mode = bool(req.get("check"))
    play_context = PlayContext()
    action = plugin_loader.action_loader.get(
        name,
        task=task,
        connection=host_connection(play_context),
        play_context=play_context,
        loader=loader,
        templar=templar,
        shared_loader_obj=plugin_loader,
    )
    if action is None:
        return {"error": "the action plugin %s was not found by ansible-core %s" % (name, ANSIBLE_VERSION)}
    with contextlib.redirect_stdout(sys.stderr):
        try:
            return {"result": plain(action.run(task_vars=variables))}
        except Exception as e:  # noqa: BLE001 - the task fails with it, as in ansible-core
            return {"raised": str(e)}


def add_dirs(req):
    for path in req.get("paths") or []:
        # add_all_plugin_dirs warns (on stdout, our pipe) about a path that is
        # not a directory: only folders are passed, and checked again here.
        if os.path.isdir(path):
            plugin_loader.add_all_plugin_dirs(path)
    return {"ok": True}


def build(req):
    name = req["name"]
    ctx = find(name, req.get("collections") or [])
    if ctx is None:
        return {"error": "the module %s was not found by ansible-core %s" % (name, ANSIBLE_VERSION)}
    task_vars = {"ansible_python_interpreter": "/usr/bin/python3"}
    templar = Templar(loader=DataLoader(), variables=task_vars)
    built = module_common.modify_module(
        module_name=ctx.resolved_fqcn or name,
        module_path=ctx.plugin_resolved_path,
        module_args=req["args"],
        templar=templar,
        task_vars=task_vars,
        module_compression=C.config.get_config_value("DEFAULT_MODULE_COMPRESSION"),
    )
    if built.module_style == "new":
        return {"payload": built.b_module_data.decode("utf-8", "surrogateescape"), "style": "new"}
    if built.module_style == "old":
        # key=value words, each value shell-quoted, as ActionBase writes them.
        args = "".join("%s=%s " % (k, shlex.quote(str(v))) for k, v in req["args"].items())
    else:
        args = json.dumps(req["args"])
    return {
        "payload_b64": base64.b64encode(built.b_module_data).decode("ascii"),
        "style": built.module_style,
        "shebang": built.shebang,
        "args": args,
        # ActionBase's remote file name: AnsiballZ_ and the module's file name.
        "remote_name": "AnsiballZ_" + os.path.basename(ctx.plugin_resolved_path),
    }


def custom_path(path):
    """Whether a plugin's file is a custom one: outside ansible-core and every
    collection (an unknown path is not)."""
    if not path:
        return False
    path = os.path.realpath(path)
    return not path.startswith(ANSIBLE_PACKAGE) and "%sansible_collections%s" % (os.sep, os.sep) not in path


def jinja_names(req):
    out = {}
    for key, ldr in (("filters", plugin_loader.filter_loader), ("tests", plugin_loader.test_loader)):
        list(ldr.all())  # loads the custom folders' plugins, by short name
        found = getattr(ldr, "_cached_non_collection_wrappers", {}) or {}
        out[key] = sorted(
            name
            for name, w in found.items()
            if "." not in name and custom_path(getattr(w, "_original_path", ""))
        )
    return out


def plain(obj):
    """A plugin's answer as JSON has it: ansible-core's tagged and lazy
    containers made plain dicts, lists and text."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "surrogateescape")
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, Iterable):
        return [plain(v) for v in obj]
    return str(obj)


def has_lookup(req):
    ctx = plugin_loader.lookup_loader.find_plugin_with_context(req["name"])
    found = bool(ctx.resolved) and (not CUSTOM_ONLY or custom_path(ctx.plugin_resolved_path))
    return {"found": found}


def plugin_setting(req):
    from ansible.errors import AnsibleError, AnsibleUndefinedConfigEntry

    ptype, pname = req["plugin_type"], req["plugin_name"]
    ldr = getattr(plugin_loader, "%s_loader" % ptype, None)
    if ldr is None:
        return {"found": False}
    with contextlib.redirect_stdout(sys.stderr):
        plugin = ldr.get(pname, class_only=True)
    if plugin is None:
        return {"found": False}
    refused = not_custom("%s plugin" % ptype, pname, getattr(plugin, "_original_path", ""))
    if refused:
        return refused
    try:
        value, origin = C.config.get_config_value_and_origin(
            req["name"], plugin_type=ptype, plugin_name=pname, variables=req.get("variables") or {}
        )
    except AnsibleUndefinedConfigEntry as e:
        return {"undefined": str(e)}
    except AnsibleError as e:
        return {"error": str(e)}
    return {"value": plain(value), "origin": str(origin)}


def not_custom(kind, name, path):
    """The error for a plugin that --ansible-fallback custom keeps out, or None."""
    if not CUSTOM_ONLY or custom_path(path):
        return None
    return {
        "error": "%s %s is ansible-core's or a collection's, and the Ansible fallback runs only "
        "custom plugins here (--ansible-fallback custom)" % (kind, name)
    }


def jinja_call(req):
    # What a plugin prints must not reach rprov's pipe.
    with contextlib.redirect_stdout(sys.stderr):
        return run_jinja_plugin(req)


def run_jinja_plugin(req):
    kind, name = req["kind"], req["name"]
    args, kwargs = req.get("args") or [], req.get("kwargs") or {}
    if kind == "lookup":
        variables = req.get("variables") or {}
        loader = DataLoader()
        if PLAYBOOK_DIR:
            loader.set_basedir(PLAYBOOK_DIR)
        templar = Templar(loader=loader, variables=variables)
        instance = plugin_loader.lookup_loader.get(name, loader=loader, templar=templar)
        if instance is None:
            return {"found": False}
        refused = not_custom("lookup", name, getattr(instance, "_original_path", ""))
        if refused:
            return refused
        return {"value": plain(instance.run(args, variables=variables, **kwargs))}
    ldr = plugin_loader.filter_loader if kind == "filter" else plugin_loader.test_loader
    try:
        plugin = ldr.get(name)
    except KeyError:
        plugin = None
    if plugin is None:
        return {"found": False}
    refused = not_custom(kind, name, getattr(plugin, "_original_path", ""))
    if refused:
        return refused
    return {"value": plain(plugin.j2_function(*args, **kwargs))}


reply({"ready": ANSIBLE_VERSION})
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        req = json.loads(line)
        op = req.get("op")
        if op == "resolve":
            reply(resolve(req))
        elif op == "build":
            reply(build(req))
        elif op == "add_dirs":
            reply(add_dirs(req))
        elif op == "jinja_names":
            reply(jinja_names(req))
        elif op == "run_action":
            reply(run_action(req))
        elif op == "has_lookup":
            reply(has_lookup(req))
        elif op == "jinja_call":
            reply(jinja_call(req))
        elif op == "plugin_setting":
            reply(plugin_setting(req))
        else:
            reply({"error": "unknown request %r" % op})
    except Exception as e:  # noqa: BLE001 - reported to rprov, which names the task
        reply({"error": "%s: %s" % (type(e).__name__, e)})
