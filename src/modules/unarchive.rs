//! `unarchive`: a `.tar`, `.tar.gz`/`.tgz`, `.tar.bz2`, `.tar.xz`,
//! `.tar.zst` or `.zip` archive unpacked into an existing directory with GNU
//! tar or unzip on the host, as ansible-core 2.19's action plugin and module
//! decide it:
//!
//! - `creates` that exists: the task is skipped ("skipped, since X exists"), as ansible-core's action skips it;
//! - the handler is picked by trying each tool on the archive, in
//!   ansible-core's order (unzip, then tar with `-z`, none, `-j`, `-J`, zstd);
//! - it is unpacked only when what is in `dest` differs from the archive:
//!   for tar, `tar --diff` filtered as ansible-core filters it; for zip,
//!   each member's type, mtime, size, content (`unzip -p` against the file,
//!   where ansible-core compares CRC32), mode and owner;
//! - `owner`/`group`/`mode` are then given to every member and its top
//!   folder, which is a change only when one of them differs.
//!
//! A controller `src` travels on the action's stdin, like `copy`'s, into a
//! private temp directory that the script removes on exit; it is compared on
//! the host only once sent, so the task is `unknown` in `--check` (where
//! ansible-core's tar handler skips). A `remote_src` archive is compared by a
//! read-only probe: `--check` says `ok` or `changed`. A `remote_src` URL is
//! downloaded by curl into the temp directory first (`unknown` in `--check`).

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};

use super::change::{self, Change, Content, Read};
use super::files::{self, Attrs};
use super::get_url::{attr_lines, config_string};
use super::mode::Mode;
use super::typed::module_args;
use super::{Decision, Diff, OutputMode, PlanCx, PlanError};
use crate::probe::{FileKind, FileState};

module_args! {
    /// `unarchive`'s arguments, with ansible-core's names and defaults.
    pub struct Args {
        src: String ["src"],
        dest: String ["dest"],
        remote_src: Option<bool> ["remote_src"],
        /// Deprecated inverse of `remote_src`.
        copy: Option<bool> ["copy"],
        creates: Option<String> ["creates"],
        list_files: bool ["list_files"] = false,
        keep_newer: bool ["keep_newer"] = false,
        exclude: Vec<String> ["exclude"] = Vec::new(),
        include: Vec<String> ["include"] = Vec::new(),
        extra_opts: Vec<String> ["extra_opts"] = Vec::new(),
        validate_certs: bool ["validate_certs"] = true,
        /// ansible-core's read buffer for its CRC32; rprov compares with `cmp`.
        #[allow(dead_code)]
        io_buffer_size: u64 ["io_buffer_size"] = 65536,
        decrypt: bool ["decrypt"] = true,
        owner: Option<String> ["owner"],
        group: Option<String> ["group"],
        mode: Option<Mode> ["mode"],
        attributes: Option<String> ["attributes", "attr"],
        /// The extraction is tar's or unzip's either way.
        #[allow(dead_code)]
        unsafe_writes: bool ["unsafe_writes"] = false,
        /// SELinux contexts are accepted and ignored, as by rprov's file modules.
        #[allow(dead_code)]
        setype: Option<String> ["setype"],
        #[allow(dead_code)]
        seuser: Option<String> ["seuser"],
        #[allow(dead_code)]
        serole: Option<String> ["serole"],
        #[allow(dead_code)]
        selevel: Option<String> ["selevel"],
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let a = Args::from_cx(cx)?;
    let remote_src = match (a.remote_src, a.copy) {
        (Some(_), Some(_)) => {
            return Err(PlanError::Fail(
                "parameters are mutually exclusive: ('copy', 'remote_src')".into(),
            ))
        }
        (Some(r), None) => r,
        (None, Some(c)) => !c,
        (None, None) => false,
    };
    if !a.include.is_empty() && !a.exclude.is_empty() {
        return Err(PlanError::Fail(
            "parameters are mutually exclusive: include|exclude".into(),
        ));
    }
    if a.attributes.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(PlanError::Fail(
            "`unarchive`: `attributes` (file attributes set with chattr) is not supported by rprov"
                .into(),
        ));
    }
    if a.mode == Some(Mode::Preserve) {
        return Err(PlanError::Fail(
            "`unarchive`: `mode: preserve` is only for copy and template".into(),
        ));
    }
    let url = a.src.contains("://");
    if url && !remote_src {
        return Err(PlanError::Fail(format!(
            "Unsupported option, an URI src ({}) is only supported when remote_src is True",
            super::get_url::mask_url(&a.src)
        )));
    }
    if let Some(creates) = a.creates.as_deref().filter(|c| !c.is_empty()) {
        if cx.file(creates, true)?.exists() {
            let msg = format!("skipped, since {creates} exists");
            let mut result = Map::new();
            result.insert("changed".into(), json!(false));
            result.insert("skipped".into(), json!(true));
            result.insert("msg".into(), json!(msg));
            return Ok(Decision::Ok {
                result,
                msg: Some(msg),
            });
        }
    }
    let st = cx.file(&a.dest, true)?;
    match st.kind {
        FileKind::Directory => {}
        FileKind::Missing => {
            return Err(PlanError::Missing(format!(
                "dest '{}' must be an existing dir",
                a.dest
            )))
        }
        _ => {
            return Err(PlanError::Fail(format!(
                "dest '{}' must be an existing dir",
                a.dest
            )))
        }
    }
    let attrs = Attrs::new(a.owner.clone(), a.group.clone(), a.mode.clone());
    let mut result = Map::new();
    result.insert("changed".into(), json!(false));
    result.insert("dest".into(), json!(a.dest));
    result.insert("src".into(), json!(a.src));

    if remote_src && !url {
        return plan_remote(cx, &a, &attrs, &st, result);
    }
    // The archive reaches the host with the action: only running compares it.
    let tmp = change::temp_path("/tmp/unarchive");
    let qtmp = quote(&tmp);
    let mut script = format!(
        "_rp_tmp={qtmp}\n\
         mkdir -m 700 -- \"$_rp_tmp\"\n\
         trap 'rm -rf -- \"$_rp_tmp\"' EXIT\n\
         trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM\n"
    );
    let mut stdin = None;
    let archive = format!("{tmp}/source");
    if url {
        script.push_str(&download(&a, &tmp)?);
    } else {
        let path = cx.search.find("files", &a.src)?;
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bytes = if a.decrypt && super::copy::is_vault_file(&bytes) {
            super::copy::decrypt_source(cx, &a.src, &bytes)?
        } else {
            bytes
        };
        // In a subshell, so the write's own EXIT trap leaves ours in place.
        let write = change::lines(&Change::Write {
            dest: archive.clone(),
            attrs: Attrs::new(None, None, Some(Mode::Octal(0o600))),
            existing: FileState::missing(),
            validate: None,
            backup: false,
            content: Content::Bytes(bytes.clone()),
        })?;
        script.push_str(&format!("(\n{write})\n"));
        stdin = Some(bytes);
    }
    script.push_str(&run_script(&a, &attrs, &archive));
    let waits_for = if url {
        format!(
            "what {} answers: nothing is downloaded in check mode",
            super::get_url::mask_url(&a.src)
        )
    } else {
        "the archive compared with the destination on the host, where it is sent only when the \
         task runs"
            .to_string()
    };
    let mut action = change::checked(
        vec![Change::Raw {
            script,
            why: "an archive compared with a directory and unpacked into it only when they \
                  differ, by tar or unzip, in one script that removes its temp directory",
        }],
        result,
    )?;
    if let Some(b) = stdin {
        action.stdin = Some(b);
    }
    action.output = OutputMode::Parse(parse_output);
    action.touches_everything = true;
    Ok(Decision::Run { action, waits_for })
}

/// `remote_src`: the comparison is a read-only probe, so the decision (and
/// `--check`) knows whether anything changes.
fn plan_remote(
    cx: &PlanCx,
    a: &Args,
    attrs: &Attrs,
    st: &FileState,
    mut result: Map<String, Json>,
) -> Result<Decision, PlanError> {
    let out = cx.ask_one(Read::Raw {
        script: probe_script(a, attrs),
        why: "tar --diff or unzip's listing compared with the directory, and the members' \
              owner, group and mode, as key=value lines; nothing is written",
    })?;
    let m = parse_lines(&out);
    if let Some(err) = m.get("error") {
        return Err(PlanError::Fail(err.clone()));
    }
    if let Some(h) = m.get("handler") {
        result.insert("handler".into(), json!(h));
    }
    let files: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("rp_file="))
        .collect();
    if a.list_files {
        result.insert("files".into(), json!(files));
    }
    let unarchived = m.get("unarchived").map(String::as_str) == Some("yes");
    let attrs_ok = m.get("attrs").map(String::as_str) == Some("same");
    if unarchived && attrs_ok {
        result.extend(files::stat_fields(st));
        result.insert("state".into(), json!("directory"));
        return Ok(Decision::Ok { result, msg: None });
    }
    let script = run_script(a, attrs, &a.src);
    let mut action = change::action(
        vec![Change::Raw {
            script,
            why: "an archive compared with a directory and unpacked into it only when they \
                  differ, by tar or unzip, then the members given their owner, group and mode",
        }],
        &a.dest,
    )?;
    action.result = result;
    action.output = OutputMode::Parse(parse_output);
    action.touches_everything = true;
    let what = if unarchived {
        "owner, group or mode of unarchived files".to_string()
    } else {
        format!("unarchived from {}", a.src)
    };
    let diff = Diff {
        path: a.dest.clone(),
        attrs: vec![what],
        ..Diff::default()
    };
    if m.get("attrs").map(String::as_str) == Some("unknown") && unarchived {
        // A symbolic mode: only chmod itself tells whether it changes a member.
        return Ok(Decision::Run {
            action,
            waits_for: "whether the symbolic mode changes any unarchived file".into(),
        });
    }
    Ok(Decision::Change {
        diffs: vec![diff],
        action,
    })
}

/// `rp_key=value` lines, the last of each key (the error's lines joined).
fn parse_lines(out: &str) -> std::collections::HashMap<String, String> {
    let mut m = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for line in out.lines() {
        let Some((k, v)) = line.strip_prefix("rp_").and_then(|l| l.split_once('=')) else {
            continue;
        };
        if k == "error" {
            errors.push(v.to_string());
        } else if k != "file" {
            m.insert(k.to_string(), v.to_string());
        }
    }
    if !errors.is_empty() {
        m.insert("error".into(), errors.join("\n"));
    }
    m
}

/// Quoted words, each prefixed by `flag` when given (`--exclude=`).
fn words(list: &[String], prefix: &str) -> String {
    list.iter()
        .map(|w| format!(" {}", quote(&format!("{prefix}{w}"))))
        .collect()
}

/// The shell functions both scripts share, for the archive at `src` (a path
/// on the host) and the task's `dest`: `_rp_pick` sets `$_rp_h` (the
/// handler) and `$_rp_z` (tar's compression flag), `_rp_list` prints the
/// members, `_rp_same` returns 0 when `dest` already holds the archive,
/// `_rp_attrs` prints `same`, `differ` or `unknown` for the members'
/// owner, group and mode. `_rp_fail` is defined by the caller.
fn functions(a: &Args, attrs: &Attrs, src: &str) -> String {
    let excludes: Vec<String> = a
        .exclude
        .iter()
        .map(|e| e.trim_end_matches('/').to_string())
        .collect();
    let opts = if a.extra_opts.is_empty() {
        String::new()
    } else {
        format!(" --show-transformed-names{}", words(&a.extra_opts, ""))
    };
    let tar_excl = words(&excludes, "--exclude=");
    let incl = words(&a.include, "");
    let zip_excl = if a.exclude.is_empty() {
        String::new()
    } else {
        format!(" -x{}", words(&a.exclude, ""))
    };
    let mut tar_owner = String::new();
    if let Some(o) = &attrs.owner {
        tar_owner.push_str(&format!(" {}", quote(&format!("--owner={o}"))));
    }
    if let Some(g) = &attrs.group {
        tar_owner.push_str(&format!(" {}", quote(&format!("--group={g}"))));
    }
    let keep = if a.keep_newer {
        " --keep-newer-files"
    } else {
        ""
    };
    // A number is compared with the id, a name with the name.
    let who = |v: &Option<String>, by_id: &'static str, by_name: &'static str| match v {
        Some(n) if n.chars().all(|c| c.is_ascii_digit()) => (quote(n), by_id),
        Some(n) => (quote(n), by_name),
        None => (String::new(), ""),
    };
    let (want_owner, owner_fmt) = who(&attrs.owner, "%u", "%U");
    let (want_group, group_fmt) = who(&attrs.group, "%g", "%G");
    let octal_mode = match &attrs.mode {
        Some(Mode::Octal(m)) => format!("{:o}", m),
        _ => String::new(),
    };
    let symbolic = matches!(attrs.mode, Some(Mode::Symbolic(_)));
    let mut s = format!(
        "LC_ALL=C; export LC_ALL\n\
         _rp_src={src}\n\
         _rp_dest={dest}\n\
         _rp_pick() {{\n\
         [ -e \"$_rp_src\" ] || _rp_fail \"Source '$_rp_src' does not exist\"\n\
         [ -r \"$_rp_src\" ] || _rp_fail \"Source '$_rp_src' not readable\"\n\
         [ -s \"$_rp_src\" ] || _rp_fail \"Invalid archive '$_rp_src', the file is 0 bytes\"\n\
         [ -d \"$_rp_dest\" ] || _rp_fail \"Destination '$_rp_dest' is not a directory\"\n\
         _rp_h=; _rp_z=; _rp_why=\n\
         if ! command -v unzip >/dev/null 2>&1; then _rp_why=\"Unable to find required 'unzip' binary in the path.\"\n\
         elif unzip -l \"$_rp_src\" >/dev/null 2>&1; then _rp_h=ZipArchive; return 0\n\
         else _rp_why='Command \"unzip\" could not handle archive'; fi\n\
         if ! command -v tar >/dev/null 2>&1; then _rp_why=\"$_rp_why\n\
         Unable to find required 'gtar' or 'tar' binary in the path\"\n\
         elif ! tar --version 2>/dev/null | head -n 1 | grep -q GNU; then _rp_why=\"$_rp_why\n\
         Command \\\"tar\\\" is not GNU tar. GNU tar required.\"\n\
         else\n\
         for _rp_try in 'TgzArchive -z' 'TarArchive ' 'TarBzipArchive -j' 'TarXzArchive -J' 'TarZstdArchive --use-compress-program=zstd'; do\n\
         _rp_z=${{_rp_try#* }}\n\
         if [ -n \"$(tar --list -C \"$_rp_dest\" $_rp_z{opts}{tar_excl} -f \"$_rp_src\"{incl} 2>/dev/null)\" ]; then _rp_h=${{_rp_try%% *}}; return 0; fi\n\
         done\n\
         _rp_why=\"$_rp_why\n\
         Command \\\"tar\\\" could not handle archive or found no files in it.\"\n\
         fi\n\
         _rp_fail \"Failed to find handler for \\\"$_rp_src\\\". Make sure the required command to extract the file is installed.\n\
         $_rp_why\"\n\
         }}\n\
         _rp_list() {{\n\
         if [ \"$_rp_h\" = ZipArchive ]; then unzip -Z -1 \"$_rp_src\"{incl}{zip_excl}\n\
         else tar --list -C \"$_rp_dest\" $_rp_z{opts}{tar_excl} -f \"$_rp_src\"{incl} | sed 's,^/,,'; fi\n\
         }}\n\
         _rp_tops() {{\n\
         _rp_list | while IFS= read -r _rp_f; do printf '%s\\n' \"${{_rp_f%/}}\"; case $_rp_f in */*) printf '%s\\n' \"${{_rp_f%%/*}}\";; esac; done | sort -u\n\
         }}\n\
         _rp_same() {{\n\
         if [ \"$_rp_h\" != ZipArchive ]; then\n\
         _rp_out=$(tar --diff -C \"$_rp_dest\" $_rp_z{opts}{tar_owner}{keep}{tar_excl} -f \"$_rp_src\"{incl} 2>&1) || true\n\
         printf '%s\\n' \"$_rp_out\" | awk -v root=\"$([ \"$(id -u)\" = 0 ] && echo 1)\" -v owner={has_owner} -v group={has_group} -v mode={has_mode} '\n\
         /: : Warning: Cannot stat: No such file or directory$/ {{ next }}\n\
         root && !owner && /: Uid differs$/ {{ d = 1 }}\n\
         root && !group && /: Gid differs$/ {{ d = 1 }}\n\
         !mode && /: Mode differs$/ {{ d = 1 }}\n\
         /: Mod time differs$/ || /: Warning: Cannot stat: No such file or directory$/ || /: Invalid owner/ || /: Invalid group/ || /: Symlink differs$/ || /: Contents differ$/ || /: Size differs$/ {{ d = 1 }}\n\
         END {{ exit d ? 1 : 0 }}'\n\
         return\n\
         fi\n\
         _rp_um=$(umask)\n\
         unzip -Z -T -s \"$_rp_src\"{incl}{zip_excl} 2>/dev/null | while read -r _rp_perm _rp_v _rp_os _rp_size _rp_tx _rp_meth _rp_ts _rp_path; do\n\
         case $_rp_perm in [dl?-]*) ;; *) continue;; esac\n\
         [ ${{#_rp_ts}} -eq 15 ] && [ -n \"$_rp_path\" ] || continue\n\
         _rp_p=\"$_rp_dest/$_rp_path\"\n\
         case $_rp_path in */) _rp_t=d;; *) case $_rp_perm in l*) _rp_t=L;; *) _rp_t=f;; esac;; esac\n\
         if [ ! -e \"$_rp_p\" ] && [ ! -L \"$_rp_p\" ]; then echo D; continue; fi\n\
         case $_rp_t in\n\
         d) if [ ! -d \"$_rp_p\" ] || [ -L \"$_rp_p\" ]; then echo D; continue; fi;;\n\
         L) if [ ! -L \"$_rp_p\" ]; then echo D; continue; fi;;\n\
         f) if [ ! -f \"$_rp_p\" ] || [ -L \"$_rp_p\" ]; then echo D; continue; fi;;\n\
         esac\n\
         if [ $_rp_t = f ]; then\n\
         _rp_zt=$(date -d \"$(printf '%s' \"$_rp_ts\" | sed 's/^\\(....\\)\\(..\\)\\(..\\)\\.\\(..\\)\\(..\\)\\(..\\)$/\\1-\\2-\\3 \\4:\\5:\\6/')\" +%s 2>/dev/null || echo 0)\n\
         _rp_ft=$(stat -c %Y -- \"$_rp_p\")\n\
         {mtime}\
         [ \"$_rp_size\" = \"$(stat -c %s -- \"$_rp_p\")\" ] || echo D\n\
         unzip -p \"$_rp_src\" \"$_rp_path\" 2>/dev/null | cmp -s - \"$_rp_p\" || echo D\n\
         fi\n\
         if [ $_rp_t != L ]; then\n\
         _rp_want={octal_mode}\n\
         if [ -z \"$_rp_want\" ] && [ -z {symbolic} ]; then\n\
         _rp_want=$(printf '%s\\n' \"$_rp_perm\" | awk -v t=$_rp_t -v um=\"$_rp_um\" '{{\n\
         p = substr($0, 2); u = 0\n\
         if (length(p) != 9) {{ p = (t == \"d\" || p ~ /^rwx/) ? \"rwxrwxrwx\" : \"rw-rw-rw-\"; for (i = 1; i <= length(um); i++) u = u * 8 + substr(um, i, 1) }}\n\
         m = 0; for (i = 1; i <= 9; i++) {{ m *= 2; if (index(\"rwxst\", substr(p, i, 1))) m += 1 }}\n\
         r = 0; b = 1; for (i = 0; i < 9; i++) {{ if (int(m / b) % 2 && !(int(u / b) % 2)) r += b; b *= 2 }}\n\
         printf \"%o\\n\", r }}')\n\
         fi\n\
         if [ -n \"$_rp_want\" ] && [ \"$_rp_want\" != \"$(stat -c %a -- \"$_rp_p\")\" ]; then echo D; fi\n\
         fi\n\
         {owner_check}\
         {group_check}\
         done | grep -q D && return 1\n\
         return 0\n\
         }}\n\
         _rp_attrs() {{\n",
        src = src,
        dest = quote(&a.dest),
        has_owner = u8::from(attrs.owner.is_some()),
        has_group = u8::from(attrs.group.is_some()),
        has_mode = u8::from(attrs.mode.is_some()),
        mtime = if a.keep_newer {
            "if [ \"$_rp_zt\" -gt \"$_rp_ft\" ]; then echo D; elif [ \"$_rp_zt\" -lt \"$_rp_ft\" ]; then continue; fi\n"
        } else {
            "[ \"$_rp_zt\" = \"$_rp_ft\" ] || echo D\n"
        },
        octal_mode = quote(&octal_mode),
        symbolic = quote(if symbolic { "1" } else { "" }),
        owner_check = if attrs.owner.is_some() {
            format!("[ \"$(stat -c {owner_fmt} -- \"$_rp_p\")\" = {want_owner} ] || echo D\n")
        } else {
            "[ \"$(stat -c %u -- \"$_rp_p\")\" = \"$(id -u)\" ] || echo D\n"
                .to_string()
        },
        group_check = if attrs.group.is_some() {
            format!("[ \"$(stat -c {group_fmt} -- \"$_rp_p\")\" = {want_group} ] || echo D\n")
        } else {
            "[ \"$(stat -c %g -- \"$_rp_p\")\" = \"$(id -g)\" ] || echo D\n"
                .to_string()
        },
    );
    // The members' owner, group and mode against what the task asks.
    if attrs.owner.is_none() && attrs.group.is_none() && attrs.mode.is_none() {
        s.push_str("echo same\n");
    } else if symbolic {
        s.push_str("echo unknown\n");
    } else {
        let mut test = String::new();
        if attrs.owner.is_some() {
            test.push_str(&format!(
                "[ \"$(stat -c {owner_fmt} -- \"$_rp_p\")\" = {want_owner} ] || echo D\n"
            ));
        }
        if attrs.group.is_some() {
            test.push_str(&format!(
                "[ \"$(stat -c {group_fmt} -- \"$_rp_p\")\" = {want_group} ] || echo D\n"
            ));
        }
        if !octal_mode.is_empty() {
            test.push_str(&format!(
                "[ \"$(stat -c %a -- \"$_rp_p\")\" = {} ] || echo D\n",
                quote(&octal_mode)
            ));
        }
        s.push_str(&format!(
            "_rp_tops | while IFS= read -r _rp_f; do _rp_p=\"$_rp_dest/$_rp_f\"\n\
             if [ -L \"$_rp_p\" ] || [ ! -e \"$_rp_p\" ]; then continue; fi\n\
             {test}done | grep -q D && echo differ || echo same\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// The read-only probe of a `remote_src` archive: `rp_handler`,
/// `rp_unarchived`, `rp_attrs`, the members as `rp_file` lines, or
/// `rp_error` lines.
fn probe_script(a: &Args, attrs: &Attrs) -> String {
    let mut s =
        String::from("_rp_fail() { printf '%s\\n' \"$1\" | sed 's/^/rp_error=/'; exit 0; }\n");
    s.push_str(&functions(a, attrs, &quote(&a.src)));
    s.push_str(
        "_rp_pick\n\
         printf 'rp_handler=%s\\n' \"$_rp_h\"\n\
         if _rp_same; then echo rp_unarchived=yes; else echo rp_unarchived=no; fi\n\
         printf 'rp_attrs=%s\\n' \"$(_rp_attrs)\"\n",
    );
    if a.list_files {
        s.push_str("_rp_list | sed 's/^/rp_file=/'\n");
    }
    s
}

/// The script that compares, unpacks when they differ, gives the members
/// their owner, group and mode, and reports: `rp_key=value` lines for
/// [`parse_output`], ansible-core's message on stderr when it fails.
fn run_script(a: &Args, attrs: &Attrs, src: &str) -> String {
    let mut s = String::from("_rp_fail() { printf '%s\\n' \"$1\" >&2; exit 1; }\n");
    s.push_str(&functions(a, attrs, &quote(src)));
    let incl = words(&a.include, "");
    let zip_excl = if a.exclude.is_empty() {
        String::new()
    } else {
        format!(" -x{}", words(&a.exclude, ""))
    };
    let excludes: Vec<String> = a
        .exclude
        .iter()
        .map(|e| e.trim_end_matches('/').to_string())
        .collect();
    let tar_excl = words(&excludes, "--exclude=");
    let opts = words(&a.extra_opts, "");
    let tar_opts = if a.extra_opts.is_empty() {
        String::new()
    } else {
        format!(" --show-transformed-names{opts}")
    };
    let mut tar_owner = String::new();
    if let Some(o) = &attrs.owner {
        tar_owner.push_str(&format!(" {}", quote(&format!("--owner={o}"))));
    }
    if let Some(g) = &attrs.group {
        tar_owner.push_str(&format!(" {}", quote(&format!("--group={g}"))));
    }
    let keep = if a.keep_newer {
        " --keep-newer-files"
    } else {
        ""
    };
    s.push_str(&format!(
        "_rp_pick\n\
         printf 'rp_handler=%s\\n' \"$_rp_h\"\n\
         _rp_changed=no\n\
         if ! _rp_same; then\n\
         if [ \"$_rp_h\" = ZipArchive ]; then\n\
         _rp_err=$(unzip -o{opts} \"$_rp_src\"{zip_excl}{incl} -d \"$_rp_dest\" 2>&1 >/dev/null) || _rp_fail \"failed to unpack $_rp_src to $_rp_dest: $_rp_err\"\n\
         else\n\
         _rp_err=$(tar --extract -C \"$_rp_dest\" $_rp_z{tar_opts}{tar_owner}{keep}{tar_excl} -f \"$_rp_src\"{incl} 2>&1 >/dev/null) || _rp_fail \"failed to unpack $_rp_src to $_rp_dest: $_rp_err\"\n\
         fi\n\
         _rp_changed=yes\n\
         fi\n"
    ));
    if attrs.owner.is_some() || attrs.group.is_some() || attrs.mode.is_some() {
        s.push_str(&format!(
            "_rp_moved=$(_rp_tops | while IFS= read -r _rp_f; do _rp_p=\"$_rp_dest/$_rp_f\"\n\
             if [ -L \"$_rp_p\" ] || [ ! -e \"$_rp_p\" ]; then continue; fi\n\
             _rp_b4=$(stat -c '%U %G %a' -- \"$_rp_p\")\n\
             {set}\
             [ \"$(stat -c '%U %G %a' -- \"$_rp_p\")\" = \"$_rp_b4\" ] || echo D\n\
             done)\n\
             [ -z \"$_rp_moved\" ] || _rp_changed=yes\n",
            set = attr_lines(attrs, "\"$_rp_p\""),
        ));
    }
    s.push_str("echo \"rp_changed=$_rp_changed\"\n");
    if a.list_files {
        s.push_str("_rp_list | sed 's/^/rp_file=/'\n");
    }
    s.push_str("stat -c 'rp_stat=%u %g %a %s %U %G' -- \"$_rp_dest\"\n");
    s
}

/// A `remote_src` URL fetched by curl into the temp directory `tmp` as
/// `source` (ansible-core's `fetch_file`), its URL in a config file.
fn download(a: &Args, tmp: &str) -> Result<String, PlanError> {
    let mut config = format!("url = {}\n", config_string(&a.src)?);
    config.push_str("user-agent = \"ansible-httpget\"\n");
    let insecure = if a.validate_certs { "" } else { " --insecure" };
    let qtmp = quote(tmp);
    Ok(format!(
        "command -v curl >/dev/null 2>&1 || {{ echo 'curl is not installed on the host: it downloads a URL src' >&2; exit 1; }}\n\
         cat > {qtmp}/k <<'_RP_CURL_CONFIG'\n{config}_RP_CURL_CONFIG\n\
         _rp_e=$(curl -sS -f -L{insecure} -K {qtmp}/k -o {qtmp}/source 2>&1) || {{ printf 'Failure downloading %s, %s\\n' {url} \"$_rp_e\" >&2; exit 1; }}\n",
        url = quote(&super::get_url::mask_url(&a.src)),
    ))
}

/// ansible-core's result from the script's `rp_key=value` lines: it fails
/// exactly when the script did, with its message.
fn parse_output(status: i32, stdout: &str, stderr: &str) -> Map<String, Json> {
    let mut m = Map::new();
    let mut listed = Vec::new();
    for line in stdout.lines() {
        let Some((k, v)) = line.strip_prefix("rp_").and_then(|l| l.split_once('=')) else {
            continue;
        };
        match k {
            "changed" => {
                m.insert("changed".into(), json!(v == "yes"));
            }
            "handler" => {
                m.insert("handler".into(), json!(v));
            }
            "file" => listed.push(json!(v)),
            "stat" => {
                if let Some(st) = files::parse_stat_line(v, FileKind::Directory) {
                    m.extend(files::stat_fields(&st));
                    m.insert("state".into(), json!("directory"));
                }
            }
            _ => {}
        }
    }
    if stdout.lines().any(|l| l.starts_with("rp_file=")) {
        m.insert("files".into(), Json::Array(listed));
    }
    if status != 0 {
        m.insert("failed".into(), json!(true));
        let msg = match stderr.trim() {
            "" => format!("failed with exit status {status}"),
            err => err.to_string(),
        };
        m.insert("msg".into(), json!(msg));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::{self, fail_msg};
    use crate::probe::{Fact, Probe};

    /// Answers the stat of `dest` (a directory), `creates` (missing) and the
    /// comparison probe with `probe`.
    fn host(probe: &'static str) -> impl Fn(&Probe) -> Option<Fact> {
        move |p| match p {
            Probe::File { path, .. } if path == "/srv/app" => {
                Some(Fact::File(testing::dir("755", "root")))
            }
            Probe::File { .. } => Some(Fact::File(FileState::missing())),
            Probe::Shell { script } if script.contains("tar --diff") => {
                Some(Fact::Text(probe.to_string()))
            }
            _ => None,
        }
    }

    fn remote(extra: Json) -> Json {
        let mut a = json!({"src": "/tmp/app.tgz", "dest": "/srv/app", "remote_src": true});
        if let (Some(m), Json::Object(e)) = (a.as_object_mut(), extra) {
            m.extend(e);
        }
        a
    }

    #[test]
    fn creates_that_exists_skips_with_ansibles_message() {
        let d = testing::run(
            "unarchive",
            json!({"src": "a.tgz", "dest": "/srv/app", "creates": "/srv/app/bin"}),
            |p| match p {
                Probe::File { path, .. } if path == "/srv/app/bin" => {
                    Some(Fact::File(testing::dir("755", "root")))
                }
                _ => None,
            },
        )
        .unwrap();
        let Decision::Ok { result, msg } = d else {
            panic!("{d:?}")
        };
        assert_eq!(msg.as_deref(), Some("skipped, since /srv/app/bin exists"));
        assert_eq!(result["changed"], json!(false));
        // ansible-core's action raises AnsibleActionSkip: the task is skipped.
        assert_eq!(result["skipped"], json!(true));
    }

    #[test]
    fn dest_must_be_an_existing_directory() {
        let r = testing::run("unarchive", remote(json!({})), |_| {
            Some(Fact::File(FileState::missing()))
        });
        assert!(
            matches!(&r, Err(PlanError::Missing(m)) if m == "dest '/srv/app' must be an existing dir")
        );
        let r = testing::run("unarchive", remote(json!({})), |_| {
            Some(Fact::File(testing::file(b"x", "644", "root")))
        });
        assert_eq!(fail_msg(r), "dest '/srv/app' must be an existing dir");
    }

    #[test]
    fn a_remote_archive_already_there_is_ok() {
        let d = testing::run(
            "unarchive",
            remote(json!({"list_files": true})),
            host("rp_handler=TgzArchive\nrp_unarchived=yes\nrp_attrs=same\nrp_file=top/\nrp_file=top/a\n"),
        )
        .unwrap();
        let Decision::Ok { result, .. } = d else {
            panic!("{d:?}")
        };
        assert_eq!(result["handler"], json!("TgzArchive"));
        assert_eq!(result["files"], json!(["top/", "top/a"]));
        assert_eq!(result["state"], json!("directory"));
        assert_eq!(result["mode"], json!("0755"));
    }

    #[test]
    fn a_remote_archive_that_differs_is_a_known_change() {
        let d = testing::run(
            "unarchive",
            remote(json!({})),
            host("rp_handler=ZipArchive\nrp_unarchived=no\nrp_attrs=same\n"),
        )
        .unwrap();
        let Decision::Change { diffs, action } = &d else {
            panic!("{d:?}")
        };
        assert_eq!(diffs[0].attrs, ["unarchived from /tmp/app.tgz"]);
        assert!(action.script.contains("unzip -o"));
        // Owner or mode alone differing is a change too.
        let d = testing::run(
            "unarchive",
            remote(json!({"mode": "0750"})),
            host("rp_handler=TgzArchive\nrp_unarchived=yes\nrp_attrs=differ\n"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Change { .. }), "{d:?}");
        let d = testing::run(
            "unarchive",
            remote(json!({"mode": "u+x"})),
            host("rp_handler=TgzArchive\nrp_unarchived=yes\nrp_attrs=unknown\n"),
        )
        .unwrap();
        assert!(matches!(d, Decision::Run { .. }), "{d:?}");
    }

    #[test]
    fn a_missing_tool_fails_with_the_probes_message() {
        let r = testing::run(
            "unarchive",
            remote(json!({})),
            host("rp_error=Failed to find handler for \"/tmp/app.zip\".\nrp_error=Unable to find required 'unzip' binary in the path.\n"),
        );
        assert!(fail_msg(r).contains("'unzip'"));
    }

    #[test]
    fn argument_errors() {
        let r = testing::run(
            "unarchive",
            json!({"src": "https://u:pw@h/a.tgz", "dest": "/srv/app"}),
            host(""),
        );
        assert_eq!(
            fail_msg(r),
            "Unsupported option, an URI src (https://u:********@h/a.tgz) is only supported when remote_src is True"
        );
        let r = testing::run("unarchive", remote(json!({"copy": false})), host(""));
        assert!(fail_msg(r).contains("mutually exclusive"));
    }

    #[test]
    fn a_controller_archive_travels_on_stdin_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.tgz");
        std::fs::write(&src, b"not really a tarball").unwrap();
        let d = testing::run(
            "unarchive",
            json!({"src": src.display().to_string(), "dest": "/srv/app"}),
            host(""),
        )
        .unwrap();
        let Decision::Run { action, .. } = &d else {
            panic!("{d:?}")
        };
        assert_eq!(action.stdin.as_deref(), Some(&b"not really a tarball"[..]));
        assert!(action.script.contains("head -c 20 >"));
        assert!(action.script.contains("_rp_tmp=/tmp/.rprov-"));
        assert!(action.script.contains("trap 'rm -rf -- \"$_rp_tmp\"' EXIT"));
    }

    /// The probe and the run script on this machine, with real archives:
    /// differs, unpacks, then is the same; a changed file differs again.
    #[test]
    fn scripts_compare_and_unpack_tar_and_zip() {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        std::fs::create_dir_all(w.join("src/top/sub")).unwrap();
        std::fs::write(w.join("src/top/a.txt"), "hello\n").unwrap();
        std::fs::write(w.join("src/top/sub/b.txt"), "b\n").unwrap();
        let sh = |cmd: &str| {
            let o = testing::run_sh(cmd, b"");
            assert!(
                o.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        let has_zip = std::process::Command::new("zip").arg("-v").output().is_ok();
        sh(&format!("cd {}/src && tar czf ../a.tgz top", w.display()));
        let mut archives = vec![("a.tgz", "TgzArchive")];
        if has_zip {
            sh(&format!("cd {}/src && zip -qr ../a.zip top", w.display()));
            archives.push(("a.zip", "ZipArchive"));
        }
        for (name, handler) in archives {
            let dest = w.join(format!("out-{name}"));
            std::fs::create_dir(&dest).unwrap();
            let a = Args::parse(
                "unarchive",
                json!({
                    "src": w.join(name).display().to_string(),
                    "dest": dest.display().to_string(),
                    "remote_src": true,
                    "list_files": true,
                })
                .as_object()
                .unwrap(),
            )
            .unwrap();
            let attrs = Attrs::default();
            let probe = |want: &str| {
                let o = testing::run_sh(&probe_script(&a, &attrs), b"");
                let out = String::from_utf8_lossy(&o.stdout).to_string();
                assert!(out.contains(&format!("rp_handler={handler}")), "{out}");
                assert!(
                    out.contains(&format!("rp_unarchived={want}")),
                    "{name}: {out}"
                );
                assert!(out.contains("rp_file=top/sub/b.txt"), "{out}");
            };
            probe("no");
            let o = testing::run_sh(&run_script(&a, &attrs, &a.src), b"");
            let m = parse_output(
                o.status.code().unwrap_or(-1),
                &String::from_utf8_lossy(&o.stdout),
                &String::from_utf8_lossy(&o.stderr),
            );
            assert_eq!(m["changed"], json!(true), "{m:?}");
            assert_eq!(m["handler"], json!(handler));
            assert_eq!(
                std::fs::read_to_string(dest.join("top/sub/b.txt")).unwrap(),
                "b\n"
            );
            probe("yes");
            std::fs::write(dest.join("top/a.txt"), "HELLO\n").unwrap();
            probe("no");
        }
    }
}
