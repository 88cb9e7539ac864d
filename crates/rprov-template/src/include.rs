//! Where a template file's `{% include %}`, `{% import %}`, `{% from %}` and
//! `{% extends %}` find their files: Ansible's template search path.
//!
//! Ansible's `template` action gives Jinja2 a file loader over the task's
//! search path (the role, the roles that depend on it, the task file's
//! directory), the playbook's directory and the template's own directory,
//! each one's `templates/` before it. rprov renders on the controller with
//! the same list, so `{% include "part.j2" %}` finds `templates/part.j2`.
//!
//! The engine gives a template only the variables it names (see the engine's
//! lazy resolver), so the files a template pulls in must be known before it
//! renders: [`IncludePath::reachable`] follows the tags whose target is a
//! literal string. A target computed at render time still loads, but the
//! variables only it names are not in the context.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

/// The directories a template file's includes are looked up in, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncludePath {
    dirs: Vec<PathBuf>,
}

impl IncludePath {
    /// Ansible's search path from `dirs` (in order): each directory's
    /// `templates/` and then the directory itself, without repeats.
    pub fn new<I: IntoIterator<Item = PathBuf>>(dirs: I) -> Self {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for d in dirs {
            for p in [d.join("templates"), d] {
                if seen.insert(p.clone()) {
                    out.push(p);
                }
            }
        }
        IncludePath { dirs: out }
    }

    /// Whether no directory was given (includes then fail as not found).
    pub fn is_empty(&self) -> bool {
        self.dirs.is_empty()
    }

    /// The file `name` names, from the first directory that has it. Names
    /// that climb out of the search path (`..`) or are absolute are refused,
    /// as Jinja2's file loader refuses them.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        let rel = Path::new(name);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return None;
        }
        self.dirs.iter().map(|d| d.join(rel)).find(|p| p.is_file())
    }

    /// The files `source` pulls in through tags with a literal target, and
    /// the files those pull in, each once, with their text. Files that
    /// cannot be found or read are left out: rendering reports them.
    pub fn reachable(&self, source: &str) -> Vec<(PathBuf, String)> {
        let mut out: Vec<(PathBuf, String)> = Vec::new();
        let mut todo: Vec<String> = targets(source);
        let mut seen = HashSet::new();
        while let Some(name) = todo.pop() {
            let Some(path) = self.find(&name) else {
                continue;
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path) {
                todo.extend(targets(&text));
                out.push((path, text));
            }
        }
        out
    }
}

/// Whether `source` has a tag that loads another template.
pub fn loads_others(source: &str) -> bool {
    tag_re().is_match(source)
}

/// The literal targets of `source`'s include, import, from and extends tags
/// (every string of a list: `{% include ["a.j2", "b.j2"] %}`).
fn targets(source: &str) -> Vec<String> {
    static STRING: OnceLock<Regex> = OnceLock::new();
    let string =
        STRING.get_or_init(|| Regex::new(r#""([^"\\]*)"|'([^'\\]*)'"#).expect("a valid regex"));
    tag_re()
        .captures_iter(source)
        .flat_map(|c| {
            let args = c.get(1).map_or("", |m| m.as_str()).to_string();
            string
                .captures_iter(&args)
                .filter_map(|s| s.get(1).or_else(|| s.get(2)))
                .map(|m| m.as_str().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `{% include … %}`, `{%- import … -%}`, `{% from … import … %}`,
/// `{% extends … %}`: the text after the keyword, up to the first `import`,
/// `as`, `with`, `without` or `ignore` word (or the tag's end).
fn tag_re() -> &'static Regex {
    static TAG: OnceLock<Regex> = OnceLock::new();
    TAG.get_or_init(|| {
        Regex::new(
            r"\{%[-+]?\s*(?:include|import|from|extends)\s+((?:[^%]|%[^}])*?)(?:\s+(?:import|as|with|without|ignore)\b(?:[^%]|%[^}])*)?[-+]?%\}",
        )
        .expect("a valid regex")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_targets_of_every_kind_of_tag() {
        let src = r#"{% extends "base.j2" %}
{% include 'part.j2' %}{%- include ["a.j2", "b.j2"] ignore missing -%}
{% import "macros.j2" as m %}{% from 'forms.j2' import field with context %}
{% include name_in_a_variable %}"#;
        let mut t = targets(src);
        t.sort();
        assert_eq!(
            t,
            [
                "a.j2",
                "b.j2",
                "base.j2",
                "forms.j2",
                "macros.j2",
                "part.j2"
            ]
        );
        assert!(loads_others(src));
        assert!(!loads_others("{{ include }} {% if x %}{% endif %}"));
    }

    #[test]
    fn search_order_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("role");
        std::fs::create_dir_all(role.join("templates")).unwrap();
        std::fs::write(role.join("templates/part.j2"), "{% include 'leaf.j2' %}").unwrap();
        std::fs::write(role.join("leaf.j2"), "leaf").unwrap();
        std::fs::write(dir.path().join("leaf.j2"), "not this one").unwrap();
        let path = IncludePath::new([role.clone(), dir.path().to_path_buf()]);
        assert_eq!(path.find("part.j2"), Some(role.join("templates/part.j2")));
        assert_eq!(path.find("leaf.j2"), Some(role.join("leaf.j2")));
        assert_eq!(path.find("../leaf.j2"), None);
        let found: Vec<PathBuf> = path
            .reachable("{% include \"part.j2\" %}")
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            found,
            [role.join("templates/part.j2"), role.join("leaf.j2")]
        );
    }
}
