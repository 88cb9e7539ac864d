//! The variables Ansible's `template` action gives a template of its own:
//! `template_host`, `template_path`, `template_fullpath`, `template_mtime`,
//! `template_uid`, `template_run_date`, `template_destpath` and
//! `ansible_managed` (ansible-core's
//! `generate_ansible_template_vars`). Only those the template uses are made,
//! and a variable of the same name set by the user wins.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

/// `ctx` with the template variables `names` asks for and it lacks.
/// `dest` is the task's `dest` as given (`template_destpath`).
pub(super) fn add(mut ctx: Json, path: &Path, dest: Option<&str>, names: &[String]) -> Json {
    let Json::Object(m) = &mut ctx else {
        return ctx;
    };
    let wants = |n: &str| names.iter().any(|x| x == n);
    let meta = std::fs::metadata(path).ok();
    let mut set = |name: &str, value: Option<Json>| {
        if wants(name) && !m.contains_key(name) {
            if let Some(v) = value {
                m.insert(name.to_string(), v);
            }
        }
    };
    set("template_host", Some(json!(controller_name())));
    set("template_path", Some(json!(path.display().to_string())));
    set(
        "template_fullpath",
        std::path::absolute(path)
            .ok()
            .map(|p| json!(p.display().to_string())),
    );
    set(
        "template_mtime",
        meta.as_ref()
            .map(|m| json!(date_time(m.mtime().max(0) as u64))),
    );
    set(
        "template_uid",
        meta.as_ref().map(|m| json!(user_name(m.uid()))),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    set("template_run_date", Some(json!(date_time(now))));
    set("template_destpath", Some(json!(dest)));
    set("ansible_managed", Some(json!("Ansible managed")));
    ctx
}

/// The controller's host name (Python's `os.uname()[1]`).
fn controller_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The name of user `uid` from /etc/passwd, else the number.
fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id = f.nth(1)?.parse::<u32>().ok()?;
                (id == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn date_time(secs: u64) -> String {
    rprov_template::date_time_utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_time(0), "1970-01-01 00:00:00");
        assert_eq!(date_time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(date_time(1_796_272_401), "2026-12-03 04:33:21");
    }

    #[test]
    fn only_what_the_template_uses_and_the_user_did_not_set() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let names = vec![
            "template_path".to_string(),
            "ansible_managed".to_string(),
            "template_destpath".to_string(),
        ];
        let ctx = add(
            json!({"ansible_managed": "mine"}),
            f.path(),
            Some("/etc/x"),
            &names,
        );
        assert_eq!(ctx["ansible_managed"], "mine");
        assert_eq!(ctx["template_destpath"], "/etc/x");
        assert_eq!(ctx["template_path"], json!(f.path().display().to_string()));
        assert!(ctx.get("template_host").is_none());
    }
}
