//! `quadlet` (rprov's own): a podman quadlet unit (`.container`, `.volume`,
//! `.network`, `.pod`, `.kube`, `.image`, `.build`, templates like
//! `app@.container` included) or a plain systemd unit that goes with one
//! (`.timer`, `.service`, …), for a user (rootless: `~USER/.config/containers/
//! systemd/`, lingering ensured) or for the system (`/etc/containers/systemd/`).
//!
//! Choices, following podman-systemd.unit(5):
//! - The unit text is checked before anything is written, in check mode too:
//!   the probe copies the unit directory to a temp dir, puts the new text there
//!   and runs the quadlet generator's dry run on it (`QUADLET_UNIT_DIRS=…
//!   quadlet [--user] --dryrun`); the generator's own error fails the task.
//!   After writing, the action checks that systemd loaded the generated service.
//! - Generated services cannot be `systemctl enable`d. A plain unit starts at
//!   boot from its `[Install]` section, applied by the generator. A template
//!   (`web@.container`) starts nothing by itself: each of `instances` gets a
//!   symlink `web@8000.container → web@.container`, which the generator turns
//!   into `web@8000.service` with the template's `[Install]` applied — so the
//!   template must have an `[Install]` section (checked). Instance symlinks not
//!   listed are left alone.
//! - The user's or system's manager is reloaded only when a file changed.
//!   Running services are not restarted on a change: notify a handler
//!   (`systemd: state=restarted` or `rolling_restart`) for that.
//! - `state: started` starts the service (or each instance) when not active.

use rprov_transport::quote;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::change::{self, Change, Content, Read, Systemctl};
use super::files::Attrs;
use super::mode::Mode;
use super::typed::{choice, module_args};
use super::user_scope::{key_values, parse_info, parse_units, Scope, ScopeArg, ScopeInfo};
use super::{Decision, Diff, PlanCx, PlanError};
use crate::probe::FileKind;

choice! {
    /// What `state` asks for: the unit file there, gone, or there and running.
    pub enum State {
        Present = "present",
        Absent = "absent",
        Started = "started",
    }
}

module_args! {
    /// `quadlet`'s arguments.
    pub struct Args {
        /// The unit file's name (`web.container`, `web@.container`).
        name: String ["name"],
        content: Option<String> ["content"],
        /// A file of the role's or playbook's `files/`.
        src: Option<String> ["src"],
        /// A template of the role's or playbook's `templates/`.
        template: Option<String> ["template"],
        user: Option<String> ["user"],
        scope: Option<ScopeArg> ["scope"],
        state: State ["state"] = State::Present,
        /// A template's instances: a list of names or numbers, or one
        /// comma-separated string.
        instances: Option<Json> ["instances"],
        validate: bool ["validate"] = true,
        daemon_reload: bool ["daemon_reload"] = true,
    }
}

impl Args {
    /// The manager these arguments drive.
    fn scope(&self) -> Result<Scope, PlanError> {
        Scope::from_args(self.scope, self.user.as_deref())
    }
}

/// Quadlet source kinds and the suffix of the service each generates.
const QUADLET_KINDS: &[(&str, &str)] = &[
    (".container", ".service"),
    (".kube", ".service"),
    (".volume", "-volume.service"),
    (".network", "-network.service"),
    (".pod", "-pod.service"),
    (".image", "-image.service"),
    (".build", "-build.service"),
];

/// Plain systemd units placed in the manager's unit directory.
const PLAIN_KINDS: &[&str] = &[".timer", ".service", ".socket", ".path", ".target"];

/// The parsed `name`: where it goes and what it runs as.
#[derive(Debug)]
struct UnitName {
    file: String,
    /// `web@` for `web@.container`, `web` for `web.container`.
    stem: String,
    suffix: &'static str,
    quadlet: bool,
    template: bool,
}

impl UnitName {
    fn parse(name: &str) -> Result<UnitName, PlanError> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') || name.starts_with('-') {
            return Err(PlanError::Fail(format!(
                "`name: {name}` must be a unit file name such as web.container"
            )));
        }
        let (suffix, quadlet) = QUADLET_KINDS
            .iter()
            .map(|(s, _)| (*s, true))
            .chain(PLAIN_KINDS.iter().map(|s| (*s, false)))
            .find(|(s, _)| name.ends_with(s))
            .ok_or_else(|| {
                PlanError::Fail(format!(
                    "`name: {name}` needs a unit suffix: .container, .volume, .network, .pod, .kube, .image, .build, .timer, .service, .socket, .path or .target"
                ))
            })?;
        let stem = name[..name.len() - suffix.len()].to_string();
        if stem.is_empty() {
            return Err(PlanError::Fail(format!("`name: {name}` has no unit name")));
        }
        Ok(UnitName {
            file: name.to_string(),
            template: stem.ends_with('@'),
            stem,
            suffix,
            quadlet,
        })
    }

    /// The service (or plain unit) this file gives, for an instance or not.
    fn unit(&self, instance: Option<&str>) -> String {
        let inst = instance.unwrap_or("");
        if !self.quadlet {
            return format!("{}{inst}{}", self.stem, self.suffix);
        }
        let svc = QUADLET_KINDS
            .iter()
            .find(|(s, _)| *s == self.suffix)
            .map(|(_, svc)| *svc)
            .unwrap_or(".service");
        format!("{}{inst}{svc}", self.stem)
    }

    fn instance_file(&self, instance: &str) -> String {
        format!("{}{instance}{}", self.stem, self.suffix)
    }
}

fn instances(instances: Option<&Json>) -> Result<Vec<String>, PlanError> {
    let list = match instances {
        None => return Ok(Vec::new()),
        Some(Json::Array(a)) => a.clone(),
        Some(Json::String(s)) => s
            .split(',')
            .map(|x| Json::String(x.trim().to_string()))
            .collect(),
        Some(other) => vec![other.clone()],
    };
    list.iter()
        .map(|v| {
            let s = match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                other => {
                    return Err(PlanError::Fail(format!(
                        "`instances` must be a list of names or numbers, got {other}"
                    )))
                }
            };
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:-\\".contains(c))
            {
                return Err(PlanError::Fail(format!(
                    "instance `{s}` is not a valid unit instance name"
                )));
            }
            Ok(s)
        })
        .collect()
}

/// The unit text from `content`, `src` or `template`.
fn source_text(cx: &PlanCx, args: &Args) -> Result<Option<String>, PlanError> {
    match (&args.content, &args.src, &args.template) {
        (Some(c), None, None) => Ok(Some(c.clone())),
        (None, Some(src), None) => {
            let path = cx.search.find("files", src)?;
            std::fs::read_to_string(&path)
                .map(Some)
                .map_err(|e| PlanError::Fail(format!("cannot read {}: {e}", path.display())))
        }
        (None, None, Some(t)) => {
            let path = cx.search.find("templates", t)?;
            (cx.render)(&path, &Default::default())
                .map(Some)
                .map_err(PlanError::Fail)
        }
        (None, None, None) => Ok(None),
        _ => Err(PlanError::Fail(
            "`quadlet` takes one of `content`, `src` or `template`".into(),
        )),
    }
}

fn has_install_section(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "[Install]")
}

/// The quadlet generator, wherever this podman put it.
const GENERATOR: &str = "_rp_g=/usr/libexec/podman/quadlet\n\
    [ -x \"$_rp_g\" ] || _rp_g=/usr/lib/systemd/system-generators/podman-system-generator\n";

/// What is read before a quadlet is decided: the scope's user and the state
/// of each unit the task starts or stops.
fn units_read(scope: &Scope, units: Vec<String>) -> Read {
    Read::Units {
        scope: scope.clone(),
        units,
        props: "Id,ActiveState,SubState,LoadState,UnitFileState",
        is_enabled: false,
        quadlet_newer: false,
        any_needs_reload: false,
    }
}

/// [`validate_snippet`] as a read.
fn validate_read(scope: &Scope, dir: &str, un: &UnitName, text: &str, insts: &[String]) -> Read {
    Read::Raw {
        script: validate_snippet(scope, dir, un, text, insts),
        why: "podman's quadlet generator run on the new unit beside the existing ones, \
              in a temporary directory, its messages read by check_validation",
    }
}

/// The probe snippet that validates `text` as `name` with the generator's dry run.
fn validate_snippet(
    scope: &Scope,
    dir: &str,
    un: &UnitName,
    text: &str,
    insts: &[String],
) -> String {
    let user_flag = if scope.is_user() { " --user" } else { "" };
    let mut links = String::new();
    for i in insts {
        links.push_str(&format!(
            "ln -sfn {} \"$_rp_t\"/{}\n",
            quote(&un.file),
            quote(&un.instance_file(i))
        ));
    }
    format!(
        "{GENERATOR}\
         if [ ! -x \"$_rp_g\" ]; then echo rp_validate=nogenerator; exit 0; fi\n\
         _rp_t=$(mktemp -d) || exit 0\n\
         trap 'rm -rf \"$_rp_t\"' EXIT\n\
         if [ -d {d} ]; then cp -a {d}/. \"$_rp_t\"/ 2>/dev/null || true; fi\n\
         rm -f \"$_rp_t\"/{f}\n\
         printf '%s' {body} > \"$_rp_t\"/{f}\n\
         {links}\
         if _rp_out=$(QUADLET_UNIT_DIRS=\"$_rp_t\" \"$_rp_g\"{user_flag} --dryrun 2>&1 >/dev/null); then echo rp_validate=ok; else echo rp_validate=failed; fi\n\
         printf '%s\\n' \"$_rp_out\" | sed \"s|$_rp_t/||g\"\n",
        d = quote(dir),
        f = quote(&un.file),
        body = quote(text),
    )
}

/// Whether a generator line names `file`: as a word of its own (`converting
/// "app.container": …`, `Warning: app.container specifies …`), so that
/// `app.container` is not taken for `myapp.container`.
fn mentions(line: &str, file: &str) -> bool {
    line.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ':' | ','))
        .any(|w| w == file || w.rsplit('/').next() == Some(file))
}

/// A warning of the generator (`quadlet-generator[N]: Warning: …`), not an
/// error: it says so itself. The one it prints for every image it cannot
/// resolve to a fully qualified name — an image given as `${VAR}` that
/// systemd expands at start, or a short name — is one.
fn is_warning(line: &str) -> bool {
    let text = line
        .split_once("]: ")
        .filter(|(prefix, _)| prefix.contains("quadlet"))
        .map_or(line, |(_, text)| text);
    text.trim_start()
        .get(..8)
        .is_some_and(|w| w.eq_ignore_ascii_case("warning:"))
}

/// Reads the generator's answer: `Err` with its own words when it rejected the unit.
fn check_validation(out: &str, un: &UnitName, insts: &[String]) -> Result<(), PlanError> {
    let mut lines = out.lines();
    let verdict = lines.next().unwrap_or("");
    // Other units in the directory may be broken already: only errors about
    // this file (or its instances) fail this task. Warnings never do, even
    // when the generator failed over another unit.
    let ours: Vec<&str> = lines
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.contains("Loading source unit file") && !is_warning(l))
        .filter(|l| {
            mentions(l, &un.file) || insts.iter().any(|i| mentions(l, &un.instance_file(i)))
        })
        .collect();
    match verdict {
        "rp_validate=nogenerator" => Err(PlanError::Fail(
            "cannot validate: podman's quadlet generator is not installed on the host (install podman ≥ 4.4, or set `validate: no`)".into(),
        )),
        // A zero exit means no error, whatever it warned about.
        "rp_validate=ok" => Ok(()),
        "rp_validate=failed" if !ours.is_empty() => Err(PlanError::Fail(format!(
            "the quadlet generator rejected {}:\n{}",
            un.file,
            ours.join("\n")
        ))),
        // Failed, but not over this unit: another file in the directory is broken.
        "rp_validate=failed" => Ok(()),
        _ => Err(PlanError::Fail(format!(
            "cannot validate {}: unexpected answer from the host: {}",
            un.file,
            out.trim()
        ))),
    }
}

pub fn plan(cx: &PlanCx) -> Result<Decision, PlanError> {
    let args = Args::from_cx(cx)?;
    let scope = args.scope()?;
    let name = args.name.as_str();
    let un = UnitName::parse(name)?;
    let state = args.state;
    let insts = instances(args.instances.as_ref())?;
    let is_quadlet_template = un.template && un.quadlet;
    if !insts.is_empty() && !is_quadlet_template {
        return Err(PlanError::Fail(format!(
            "`instances` needs a quadlet template name such as web@.container, got `{name}`"
        )));
    }
    let validate = args.validate;
    let reload = args.daemon_reload;
    let text = source_text(cx, &args)?;
    if state != State::Absent && text.is_none() {
        return Err(PlanError::Fail(
            "`quadlet` needs `content`, `src` or `template` (or `state: absent`)".into(),
        ));
    }
    if let Some(t) = &text {
        if !insts.is_empty() && !has_install_section(t) {
            return Err(PlanError::Fail(format!(
                "{name} has `instances` but no [Install] section: add `[Install]` with \
                 `WantedBy=default.target` (user) or `multi-user.target` (system) so the instances start at boot"
            )));
        }
    }

    // The units this task starts (or stops, for absent).
    let units: Vec<String> = if un.template {
        insts.iter().map(|i| un.unit(Some(i))).collect()
    } else {
        vec![un.unit(None)]
    };
    let out = cx.ask_one(units_read(&scope, units.clone()))?;
    let info = parse_info(&scope, &out)?;
    let unit_props = parse_units(&out);
    let _ = key_values(&out);
    let dir = unit_dir(&scope, &info, un.quadlet);
    let path = format!("{dir}/{}", un.file);
    let where_ = scope.label(Some(&info));

    let st = cx.file(&path, false)?;
    if matches!(st.kind, FileKind::Directory | FileKind::Other) {
        return Err(PlanError::Fail(format!(
            "`{path}` exists and is not a file"
        )));
    }
    let mut link_states = Vec::new();
    for i in &insts {
        let lp = format!("{dir}/{}", un.instance_file(i));
        let ls = cx.file(&lp, false)?;
        link_states.push((lp, ls));
    }

    let mut diffs = Vec::new();
    let mut changes = Vec::new();
    let mut touches = vec![path.clone()];
    let mut files_changed = false;
    let mut unit_attrs = Vec::new();
    if scope.is_user() && !info.linger {
        unit_attrs.push(format!("linger ({}): no → yes", info.user));
    }

    if state == State::Absent {
        for (lp, ls) in &link_states {
            if ls.exists() || ls.kind == FileKind::Link {
                diffs.push(Diff {
                    path: lp.clone(),
                    attrs: vec![format!("state: link → absent")],
                    ..Diff::default()
                });
                changes.push(Change::Remove { path: lp.clone() });
                touches.push(lp.clone());
                files_changed = true;
            }
        }
        if st.exists() {
            let mut d = Diff {
                path: path.clone(),
                attrs: vec!["state: file → absent".into()],
                ..Diff::default()
            };
            if cx.want_diff {
                d.before = cx.content(&path)?.and_then(|b| String::from_utf8(b).ok());
                d.after = Some(String::new());
            }
            diffs.push(d);
            changes.push(Change::Remove { path: path.clone() });
            files_changed = true;
        }
        if !files_changed {
            return Ok(ok_result(&path, &units));
        }
        // Stop what runs from these files before they go away; a user's
        // manager that does not run has nothing running to stop.
        let mut all = vec![Change::Manager {
            scope: scope.clone(),
            start: false,
        }];
        all.extend(units.iter().map(|u| Change::Systemctl {
            op: Systemctl::Stop {
                unit: u.clone(),
                no_block: false,
            },
            if_running: true,
        }));
        all.append(&mut changes);
        if reload && scope_manager_up(&scope, &info) {
            all.push(Change::Systemctl {
                op: Systemctl::DaemonReload,
                if_running: true,
            });
        }
        let mut action = change::checked(all, result(&path, &units, true))?;
        action.touches = touches;
        return Ok(Decision::Change { diffs, action });
    }

    // present / started
    let text = text.unwrap_or_default();
    let want_sha = hex::encode(Sha256::digest(text.as_bytes()));
    let content_same = st.sha256.as_deref() == Some(want_sha.as_str());
    let (owner, group) = if scope.is_user() {
        (info.user.clone(), info.group.clone())
    } else {
        ("root".to_string(), "root".to_string())
    };
    let attrs = Attrs {
        owner: Some(owner.clone()),
        group: Some(group.clone()).filter(|g| !g.is_empty()),
        mode: Some(Mode::Octal(0o644)),
    };
    let attr_changes = if st.exists() {
        attrs.changes(&st)?
    } else {
        Vec::new()
    };

    if !content_same || !attr_changes.is_empty() {
        if validate && !content_same && un.quadlet {
            let v = cx.ask_one(validate_read(&scope, &dir, &un, &text, &insts))?;
            check_validation(&v, &un, &insts)?;
        }
        let mut d = Diff {
            path: path.clone(),
            attrs: attr_changes,
            ..Diff::default()
        };
        if !st.exists() {
            d.attrs.insert(0, "state: absent → file".into());
        }
        if cx.want_diff && !content_same {
            d.before = if st.exists() {
                cx.content(&path)?.and_then(|b| String::from_utf8(b).ok())
            } else {
                Some(String::new())
            };
            d.after = Some(text.clone());
        }
        diffs.push(d);
        // Missing directories on the way, owned by the user.
        changes.push(mkdirs(&scope, &info, &dir));
        changes.push(Change::Write {
            dest: path.clone(),
            attrs: attrs.clone(),
            existing: st.clone(),
            validate: None,
            backup: false,
            content: Content::Bytes(text.clone().into_bytes()),
        });
        files_changed = true;
    }
    for (i, (lp, ls)) in insts.iter().zip(&link_states) {
        let ok = ls.kind == FileKind::Link
            && ls
                .link_target
                .as_deref()
                .is_some_and(|t| t == un.file || t == path);
        if ok {
            continue;
        }
        diffs.push(Diff {
            path: lp.clone(),
            attrs: vec![format!(
                "instance {i}: {} → link to {}",
                if ls.kind == FileKind::Missing {
                    "absent"
                } else {
                    "other file"
                },
                un.file
            )],
            ..Diff::default()
        });
        if !files_changed {
            changes.push(mkdirs(&scope, &info, &dir));
        }
        changes.push(Change::Link {
            path: lp.clone(),
            target: un.file.clone(),
        });
        if scope.is_user() {
            // The link itself, not the template it points at.
            changes.push(Change::SetAttrs {
                path: lp.clone(),
                attrs: Attrs {
                    owner: Some(owner.clone()),
                    group: Some(group.clone()).filter(|g| !g.is_empty()),
                    mode: None,
                },
                current: 0,
                is_dir: false,
                no_deref: true,
            });
        }
        touches.push(lp.clone());
        files_changed = true;
    }
    if files_changed && reload {
        changes.push(Change::Systemctl {
            op: Systemctl::DaemonReload,
            if_running: false,
        });
        // The generator runs at daemon-reload: a service that did not appear
        // means it rejected the unit; show its words.
        let check_units: Vec<&String> = if un.quadlet {
            units.iter().collect()
        } else {
            Vec::new()
        };
        for u in check_units {
            changes.push(Change::Raw {
                why: "quadlet's own check: the generator's words when it made no service",
                script: format!(
                    "if [ \"$(_rp_sc show -p LoadState --value -- {q})\" != loaded ]; then\n\
                 \x20 printf '%s was not generated from %s:\\n' {q} {qf} >&2\n\
                 \x20 {GENERATOR}\
                 \x20 _rp_as \"$_rp_g\"{uf} --dryrun 2>&1 >/dev/null | grep -F {qf} >&2 || true\n\
                 \x20 exit 7\n\
                 fi\n",
                    q = quote(u),
                    uf = if scope.is_user() { " --user" } else { "" },
                    qf = quote(&un.file),
                ),
            });
        }
    }
    if state == State::Started {
        let manager_up = scope_manager_up(&scope, &info);
        for u in &units {
            let props = unit_props.get(u);
            let active = props
                .and_then(|p| p.get("ActiveState"))
                .map(String::as_str)
                .unwrap_or("");
            let running = manager_up && matches!(active, "active" | "activating" | "reloading");
            let enabled_now = manager_up
                && props.and_then(|p| p.get("UnitFileState")).is_some_and(|s| {
                    matches!(s.as_str(), "enabled" | "static" | "enabled-runtime")
                });
            let plain_enable = !un.quadlet && !enabled_now;
            if running && !plain_enable {
                continue;
            }
            if plain_enable && has_install_section(&text) {
                unit_attrs.push(format!("{u}: enabled"));
                changes.push(Change::Systemctl {
                    op: Systemctl::Enable {
                        unit: u.clone(),
                        force: false,
                    },
                    if_running: false,
                });
            }
            if !running {
                let shown = if !manager_up || active.is_empty() {
                    "unknown"
                } else {
                    active
                };
                unit_attrs.push(format!("{u}: {shown} → started"));
                changes.push(Change::Systemctl {
                    op: Systemctl::Start {
                        unit: u.clone(),
                        no_block: false,
                    },
                    if_running: false,
                });
            }
        }
    }
    if !unit_attrs.is_empty() {
        diffs.push(Diff {
            path: format!("{} ({where_})", units.join(", ")),
            attrs: unit_attrs,
            ..Diff::default()
        });
    }
    if changes.is_empty() {
        return Ok(ok_result(&path, &units));
    }
    let mut all = vec![Change::Manager { scope, start: true }];
    all.append(&mut changes);
    let mut action = change::checked(all, result(&path, &units, true))?;
    action.touches = touches;
    action
        .result
        .insert("checksum".into(), json!(want_sha.clone()));
    Ok(Decision::Change { diffs, action })
}

fn scope_manager_up(scope: &Scope, info: &ScopeInfo) -> bool {
    !scope.is_user() || info.bus
}

fn unit_dir(scope: &Scope, info: &ScopeInfo, quadlet: bool) -> String {
    match (scope, quadlet) {
        (Scope::System, true) => "/etc/containers/systemd".into(),
        (Scope::System, false) => "/etc/systemd/system".into(),
        (Scope::User(_), true) => format!("{}/.config/containers/systemd", info.home),
        (Scope::User(_), false) => format!("{}/.config/systemd/user", info.home),
    }
}

/// The missing directories from the user's home down to `dir`, owned by the
/// user (for the system: `mkdir -p`).
fn mkdirs(scope: &Scope, info: &ScopeInfo, dir: &str) -> Change {
    let home = info.home.trim_end_matches('/');
    let rel = match scope {
        Scope::User(_) => dir.strip_prefix(home),
        Scope::System => None,
    };
    let Some(rel) = rel else {
        return Change::MakeParents {
            path: dir.to_string(),
        };
    };
    let mut s = String::new();
    let mut cur = home.to_string();
    for part in rel.split('/').filter(|p| !p.is_empty()) {
        cur = format!("{cur}/{part}");
        s.push_str(&format!(
            "if [ ! -d {q} ]; then mkdir -m 0755 {q}; if [ \"$(id -u)\" = 0 ]; then chown {o} {q}; fi; fi\n",
            q = quote(&cur),
            o = quote(&format!("{}:{}", info.user, info.group)),
        ));
    }
    Change::Raw {
        script: s,
        why: "which of the user's directories exist is not probed: each is made only when \
              missing, and given to the user only by root (an existing one keeps its mode)",
    }
}

fn result(path: &str, units: &[String], changed: bool) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("changed".into(), json!(changed));
    m.insert("path".into(), json!(path));
    m.insert("dest".into(), json!(path));
    m.insert("units".into(), json!(units));
    m
}

fn ok_result(path: &str, units: &[String]) -> Decision {
    Decision::Ok {
        result: result(path, units, false),
        msg: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::user_scope::fixture::Fixture;
    use super::*;
    use crate::probe::{Fact, FileState, Probe};

    const UNIT: &str = "[Container]\nImage=localhost/web\n\n[Install]\nWantedBy=default.target\n";

    fn info_out(bus: bool, states: &[(&str, &str)]) -> String {
        let mut s = format!(
            "rp_user=web\nrp_uid=1001\nrp_home=/home/web\nrp_group=web\nrp_linger=yes\nrp_bus={}\n",
            if bus { "yes" } else { "no" }
        );
        for (u, a) in states {
            s.push_str(&format!(
                "@rp-unit {u}\nActiveState={a}\nLoadState=loaded\n"
            ));
        }
        s
    }

    fn fixture(args: Json, states: &[(&str, &str)]) -> (Fixture, String) {
        let mut f = Fixture::new("quadlet", args);
        let (probe, vs) = {
            let cx = f.cx();
            let args = Args::from_cx(&cx).unwrap();
            let scope = args.scope().unwrap();
            let un = UnitName::parse(&args.name).unwrap();
            let insts = instances(args.instances.as_ref()).unwrap();
            let units: Vec<String> = if un.template {
                insts.iter().map(|i| un.unit(Some(i))).collect()
            } else {
                vec![un.unit(None)]
            };
            let probe = crate::modules::change::read::render(&[units_read(&scope, units)]);
            let text = args.content.as_deref().unwrap_or("");
            let vs = crate::modules::change::read::render(&[validate_read(
                &scope, DIR, &un, text, &insts,
            )]);
            (probe, vs)
        };
        f.answer(&probe, &info_out(true, states));
        (f, vs)
    }

    fn file(sha: Option<&str>) -> FileState {
        let mut st = FileState::missing();
        if let Some(s) = sha {
            st.kind = FileKind::File;
            st.mode = "644".into();
            st.owner = "web".into();
            st.group = "web".into();
            st.uid = 1001;
            st.gid = 1001;
            st.sha256 = Some(s.into());
        }
        st
    }

    fn link(target: &str) -> FileState {
        let mut st = FileState::missing();
        st.kind = FileKind::Link;
        st.link_target = Some(target.into());
        st
    }

    const DIR: &str = "/home/web/.config/containers/systemd";

    #[test]
    fn names_and_services() {
        let u = UnitName::parse("web@.container").unwrap();
        assert!(u.template && u.quadlet);
        assert_eq!(u.unit(Some("8000")), "web@8000.service");
        assert_eq!(u.instance_file("8000"), "web@8000.container");
        assert_eq!(
            UnitName::parse("data.volume").unwrap().unit(None),
            "data-volume.service"
        );
        assert_eq!(
            UnitName::parse("etl.timer").unwrap().unit(None),
            "etl.timer"
        );
        assert!(UnitName::parse("web").is_err());
        assert!(UnitName::parse("../x.container").is_err());
    }

    #[test]
    fn new_template_with_instances_is_validated_written_linked_and_started() {
        let (mut f, vs) = fixture(
            json!({"name": "web@.container", "user": "web", "content": UNIT,
                   "instances": [8000, 8001], "state": "started"}),
            &[
                ("web@8000.service", "inactive"),
                ("web@8001.service", "inactive"),
            ],
        );
        let path = format!("{DIR}/web@.container");
        f.fact(
            Probe::File {
                path: path.clone(),
                follow: false,
            },
            Fact::File(file(None)),
        );
        for i in ["8000", "8001"] {
            f.fact(
                Probe::File {
                    path: format!("{DIR}/web@{i}.container"),
                    follow: false,
                },
                Fact::File(FileState::missing()),
            );
        }
        // Validation is asked for before anything else is decided.
        let e = plan(&f.cx()).unwrap_err();
        assert!(
            matches!(e, PlanError::Need(p) if matches!(&p[0], Probe::Shell { script } if script == &vs))
        );
        f.answer(&vs, "rp_validate=ok\n");
        let Decision::Change { diffs, action } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(diffs[0].path, path);
        assert_eq!(diffs[0].after.as_deref(), Some(UNIT));
        assert_eq!(diffs[0].before.as_deref(), Some(""));
        assert!(diffs[1].attrs[0].contains("instance 8000: absent → link to web@.container"));
        let last = diffs.last().unwrap();
        assert!(last
            .attrs
            .contains(&"web@8001.service: inactive → started".to_string()));
        let c = &action.changes;
        let at = |want: &Change| c.iter().position(|x| x == want);
        let link = at(&Change::Link {
            path: format!("{DIR}/web@8000.container"),
            target: "web@.container".into(),
        })
        .expect("instance 8000 linked to the template");
        let reload = at(&Change::Systemctl {
            op: Systemctl::DaemonReload,
            if_running: false,
        })
        .expect("the manager reloaded");
        let start = |i: &str| {
            at(&Change::Systemctl {
                op: Systemctl::Start {
                    unit: format!("web@{i}.service"),
                    no_block: false,
                },
                if_running: false,
            })
        };
        assert!(link < reload && reload < start("8000").expect("8000 started"));
        assert!(start("8001").is_some(), "{c:#?}");
        assert!(matches!(&c[0], Change::Manager { start: true, .. }));
        assert_eq!(action.stdin.as_deref(), Some(UNIT.as_bytes()));
    }

    #[test]
    fn unchanged_and_running_is_ok() {
        let sha = hex::encode(Sha256::digest(UNIT.as_bytes()));
        let (mut f, _) = fixture(
            json!({"name": "web@.container", "user": "web", "content": UNIT,
                   "instances": ["8000"], "state": "started"}),
            &[("web@8000.service", "active")],
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/web@.container"),
                follow: false,
            },
            Fact::File(file(Some(&sha))),
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/web@8000.container"),
                follow: false,
            },
            Fact::File(link("web@.container")),
        );
        assert!(matches!(plan(&f.cx()).unwrap(), Decision::Ok { .. }));
    }

    #[test]
    fn changed_unit_reloads_but_does_not_restart() {
        let (mut f, vs) = fixture(
            json!({"name": "app.container", "user": "web", "content": UNIT, "state": "started"}),
            &[("app.service", "active")],
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/app.container"),
                follow: false,
            },
            Fact::File(file(Some("0000"))),
        );
        f.fact(
            Probe::Content {
                path: format!("{DIR}/app.container"),
            },
            Fact::Content(Some(b"[Container]\nImage=old\n".to_vec())),
        );
        f.answer(&vs, "rp_validate=ok\n");
        let Decision::Change { diffs, action } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].before.as_deref(), Some("[Container]\nImage=old\n"));
        assert!(action.script.contains("daemon-reload"));
        assert!(!action.script.contains("restart"));
        assert!(!action.script.contains("_rp_sc start"));
    }

    #[test]
    fn generator_warnings_do_not_fail() {
        let un = UnitName::parse("app.container").unwrap();
        let warning = "quadlet-generator[7]: Warning: app.container specifies the image \"${IMG}\" which not a fully qualified image name. This is not ideal for performance and security reasons.";
        assert!(check_validation(&format!("rp_validate=ok\n{warning}\n"), &un, &[]).is_ok());
        let out =
            "rp_validate=failed\nquadlet-generator[7]: converting \"other.container\": broken\n";
        assert!(check_validation(out, &un, &[]).is_ok());
        // The generator failed over another unit: our warning is no rejection.
        let out = format!("rp_validate=failed\n{warning}\nquadlet-generator[7]: converting \"other.container\": no Image or Rootfs key specified\n");
        assert!(check_validation(&out, &un, &[]).is_ok(), "{out}");
        // A template's instances are converted too, and warned about too.
        let web = UnitName::parse("web@.container").unwrap();
        let out = "rp_validate=failed\n\
             quadlet-generator[7]: Warning: web@.container specifies the image \"${IMG}\" which not a fully qualified image name.\n\
             quadlet-generator[7]: Warning: web@8000.container specifies the image \"${IMG}\" which not a fully qualified image name.\n\
             quadlet-generator[7]: converting \"other.container\": broken\n";
        assert!(check_validation(out, &web, &["8000".into()]).is_ok());
    }

    #[test]
    fn generator_errors_fail_with_only_their_own_lines() {
        let un = UnitName::parse("app.container").unwrap();
        let out = "rp_validate=failed\n\
             quadlet-generator[7]: Warning: app.container specifies the image \"${IMG}\" which not a fully qualified image name.\n\
             quadlet-generator[7]: converting \"app.container\": unsupported key 'Imag' in group 'Container'\n\
             quadlet-generator[7]: converting \"myapp.container\": broken\n";
        let Err(PlanError::Fail(m)) = check_validation(out, &un, &[]) else {
            panic!("an error about the unit rejects it")
        };
        assert!(m.contains("unsupported key 'Imag'"), "{m}");
        assert!(!m.contains("Warning"), "warnings are not the reason: {m}");
        assert!(!m.contains("myapp.container"), "another unit's error: {m}");
        // An error about an instance of a template is the template's.
        let web = UnitName::parse("web@.container").unwrap();
        let out = "rp_validate=failed\nquadlet-generator[7]: converting \"web@8000.container\": invalid port\n";
        assert!(check_validation(out, &web, &["8000".into()]).is_err());
    }

    #[test]
    fn warnings_and_mentions_are_read_by_words() {
        assert!(is_warning(
            "quadlet-generator[7]: Warning: x.container specifies …"
        ));
        assert!(is_warning("quadlet-generator[7]: warning: something"));
        assert!(!is_warning(
            "quadlet-generator[7]: converting \"x.container\": Warning: in the key"
        ));
        assert!(!is_warning(
            "quadlet-generator[7]: converting \"warning.container\": broken"
        ));
        assert!(mentions(
            "converting \"app.container\": broken",
            "app.container"
        ));
        assert!(mentions(
            "Warning: app.container specifies",
            "app.container"
        ));
        assert!(mentions(
            "error in /etc/containers/systemd/app.container, line 3",
            "app.container"
        ));
        assert!(!mentions(
            "converting \"myapp.container\": broken",
            "app.container"
        ));
        assert!(!mentions(
            "converting \"app.container.d\": broken",
            "app.container"
        ));
    }

    #[test]
    fn generator_error_fails_with_its_words() {
        let (mut f, vs) = fixture(
            json!({"name": "app.container", "user": "web", "content": "[Container]\n"}),
            &[("app.service", "inactive")],
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/app.container"),
                follow: false,
            },
            Fact::File(FileState::missing()),
        );
        f.answer(
            &vs,
            "rp_validate=failed\nquadlet-generator[42]: Loading source unit file /tmp/x/app.container\nquadlet-generator[42]: converting \"app.container\": no Image or Rootfs key specified\n\
             quadlet-generator[42]: converting \"other.container\": broken\n",
        );
        let Err(PlanError::Fail(m)) = plan(&f.cx()) else {
            panic!()
        };
        assert!(m.contains("no Image or Rootfs key specified"), "{m}");
        assert!(!m.contains("other.container"), "{m}");
        assert!(!m.contains("Loading"), "{m}");
    }

    #[test]
    fn instances_need_install_section_and_a_template() {
        let f = Fixture::new(
            "quadlet",
            json!({"name": "web@.container", "user": "web", "content": "[Container]\nImage=x\n", "instances": [1]}),
        );
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(m)) if m.contains("[Install]")));
        let f = Fixture::new(
            "quadlet",
            json!({"name": "web.container", "user": "web", "content": UNIT, "instances": [1]}),
        );
        assert!(matches!(plan(&f.cx()), Err(PlanError::Fail(m)) if m.contains("template")));
    }

    #[test]
    fn absent_stops_and_removes_file_and_links() {
        let (mut f, _) = fixture(
            json!({"name": "web@.container", "user": "web", "state": "absent", "instances": [1]}),
            &[("web@1.service", "active")],
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/web@.container"),
                follow: false,
            },
            Fact::File(file(Some("00"))),
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/web@1.container"),
                follow: false,
            },
            Fact::File(link("web@.container")),
        );
        f.fact(
            Probe::Content {
                path: format!("{DIR}/web@.container"),
            },
            Fact::Content(Some(UNIT.as_bytes().to_vec())),
        );
        let Decision::Change { diffs, action } = plan(&f.cx()).unwrap() else {
            panic!()
        };
        assert_eq!(diffs.len(), 2);
        assert_eq!(diffs[1].before.as_deref(), Some(UNIT));
        // Stopped first, only if the user's manager runs (nothing to stop
        // otherwise), and the manager is not started for it.
        assert_eq!(
            action.changes[..3],
            [
                Change::Manager {
                    scope: Scope::User(Some("web".into())),
                    start: false
                },
                Change::Systemctl {
                    op: Systemctl::Stop {
                        unit: "web@1.service".into(),
                        no_block: false
                    },
                    if_running: true
                },
                Change::Remove {
                    path: format!("{DIR}/web@1.container")
                },
            ]
        );
        assert!(action.changes.contains(&Change::Systemctl {
            op: Systemctl::DaemonReload,
            if_running: true
        }));
        // Already gone: nothing to do.
        let (mut f, _) = fixture(
            json!({"name": "web@.container", "user": "web", "state": "absent"}),
            &[],
        );
        f.fact(
            Probe::File {
                path: format!("{DIR}/web@.container"),
                follow: false,
            },
            Fact::File(FileState::missing()),
        );
        assert!(matches!(plan(&f.cx()).unwrap(), Decision::Ok { .. }));
    }

    #[test]
    fn src_and_template_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.container");
        std::fs::write(&p, UNIT).unwrap();
        let path = p.display().to_string();
        for key in ["src", "template"] {
            let f = Fixture::new("quadlet", json!({"name": "app.container", key: path}));
            let args = Args::from_cx(&f.cx()).unwrap();
            assert_eq!(source_text(&f.cx(), &args).unwrap().as_deref(), Some(UNIT));
        }
        let f = Fixture::new(
            "quadlet",
            json!({"name": "app.container", "src": path, "content": "x"}),
        );
        let args = Args::from_cx(&f.cx()).unwrap();
        assert!(matches!(
            source_text(&f.cx(), &args),
            Err(PlanError::Fail(_))
        ));
    }

    #[test]
    fn validate_snippet_runs_against_a_fake_generator_shape() {
        // The snippet is valid sh even without podman: it reports the missing generator.
        let un = UnitName::parse("a.container").unwrap();
        let s = validate_snippet(&Scope::System, "/nonexistent", &un, "x'y", &[]);
        let script = format!(
            "GENERATOR_SKIP=1\n{}",
            s.replace("/usr/libexec/podman/quadlet", "/nonexistent/q")
                .replace(
                    "/usr/lib/systemd/system-generators/podman-system-generator",
                    "/nonexistent/g"
                )
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().next(),
            Some("rp_validate=nogenerator")
        );
    }
}
