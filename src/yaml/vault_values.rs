//! Inline `!vault` values (`password: !vault | $ANSIBLE_VAULT;1.1;AES256 …`)
//! in playbooks and roles: play, block, task and role variables, as users
//! migrating from Ansible have them.
//!
//! They are decrypted with `--vault-password-file` while the playbook loads
//! ([`while_loading`]), and what they hold is kept as a secret: masked in all
//! output and never rendered as a template, like secrets.age values. A
//! `!vault` value with no password to open it (or a wrong one) fails the
//! task that uses it, naming its line, as in ansible-core; it is never
//! ciphertext quietly used as the value. YAML read later (vars
//! files, `include_vars`) has its own handling of vault text and is left as
//! it is.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use rprov_secrets::Redactor;

use super::{Node, Value};
use crate::diag::{LoadError, Origin};

struct Scope {
    password: Option<Vec<u8>>,
    found: Redactor,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `load` (loading the playbook and its roles) with `!vault` values
/// decrypted with `password`; returns its result and what was decrypted.
pub fn while_loading<T>(password: Option<&[u8]>, load: impl FnOnce() -> T) -> (T, Redactor) {
    let outer = SCOPE.with(|s| {
        s.borrow_mut().replace(Scope {
            password: password.map(<[u8]>::to_vec),
            found: Redactor::default(),
        })
    });
    let out = load();
    let scope = SCOPE.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer));
    (out, scope.map(|s| s.found).unwrap_or_default())
}

/// Ansible's tag of an inline vault value.
pub(super) const TAG: &str = "!vault";

/// What [`mark`] puts before a `!vault` value's text until [`decrypt`] has
/// seen it: only tagged text is a vault value, as in ansible-core; untagged
/// text that happens to start with `$ANSIBLE_VAULT` is text.
const MARK: &str = "\u{0}rprov-vault\u{0}";

/// Marks the text of a value tagged `!vault`.
pub(super) fn mark(value: &mut Value) {
    if let Value::Str(s) = value {
        s.insert_str(0, MARK);
    }
}

/// Decrypts every vault value under `root` when a playbook is loading;
/// otherwise leaves their text as it is.
pub(super) fn decrypt(root: &mut Node, path: &Path) -> Result<(), LoadError> {
    SCOPE.with(|s| walk(root, "", path, s.borrow_mut().as_mut()))
}

fn walk(
    node: &mut Node,
    name: &str,
    path: &Path,
    mut scope: Option<&mut Scope>,
) -> Result<(), LoadError> {
    let (line, col) = (node.line, node.col);
    match &mut node.value {
        Value::Str(marked) if marked.starts_with(MARK) => {
            let text = marked.split_off(MARK.len());
            let Some(scope) = scope.filter(|_| rprov_secrets::vault::is_vault(&text)) else {
                *marked = text;
                return Ok(());
            };
            let at = Origin::new(Arc::from(path), line, col);
            let opened = match scope.password.as_deref() {
                Some(pw) => rprov_secrets::decrypt_vault(&text, pw).map_err(|e| e.to_string()),
                None => Err("no vault password was given: pass --vault-password-file FILE".into()),
            };
            node.value = Value::Str(match opened {
                Ok(plain) => {
                    scope
                        .found
                        .merge(Redactor::new([(name.to_string(), plain.clone())]));
                    plain
                }
                // As in ansible-core, a value that cannot be opened fails
                // what uses it, when it is used, not the load: a role may
                // carry vault values for places this run never goes.
                Err(why) => rprov_template::locked_vault(&format!(
                    "{at}: `{name}` is an ansible-vault `!vault` value that cannot be decrypted: {why}"
                )),
            });
            Ok(())
        }
        Value::Seq(items) => items
            .iter_mut()
            .try_for_each(|n| walk(n, name, path, scope.as_deref_mut())),
        Value::Map(entries) => entries.iter_mut().try_for_each(|(k, v)| {
            let key = k.key_string();
            walk(v, &key, path, scope.as_deref_mut())
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ansible-vault encrypt_string 'play-inline-secret-88'` (ansible-core
    /// 2.19), password `vault-test-pw-2`.
    const DOC: &str = "pw: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          65646233383339363931353939336636636237363963626563303835393539343961303630306461\n          3361386366353434666239656132666363366535643364380a353761323036356436313936393133\n          38626631653163356231653832303939343036313161333365303636646336636134306563333731\n          3033666132316265370a366132633561303963326131376633353339646630343866346237386439\n          62623762356531343462383630333436343739386563356132643232303430363230\n";

    #[test]
    fn vault_values_open_while_loading_and_are_secrets() {
        let path = Path::new("no-such-dir/play.yml");
        let (doc, found) = while_loading(Some(b"vault-test-pw-2"), || {
            super::super::parse_str(DOC, path)
        });
        let doc = doc.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc.root.to_json()["pw"], "play-inline-secret-88");
        assert_eq!(found.redact("x play-inline-secret-88"), "x «secret:pw»");

        // No password, or a wrong one: the value fails what uses it, naming
        // its place and the flag; the load goes on.
        for pw in [None, Some(&b"wrong"[..])] {
            let (doc, _) = while_loading(pw, || super::super::parse_str(DOC, path));
            let doc = doc.unwrap_or_else(|e| panic!("{e}"));
            let value = doc.root.to_json()["pw"].as_str().unwrap_or("").to_string();
            let err = rprov_template::Templater::new()
                .render_str(&value, &serde_json::json!({}))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("play.yml:2:") && err.contains("`pw`"), "{err}");
            assert!(
                pw.is_some() || err.contains("--vault-password-file"),
                "{err}"
            );
        }
        // Only a `!vault` value is one: the same text untagged (a block
        // scalar, as ansible-core's vault filter writes one) is text.
        let untagged = DOC.replace("!vault ", "");
        let (doc, found) = while_loading(Some(b"vault-test-pw-2"), || {
            super::super::parse_str(&untagged, path)
        });
        let doc = doc.unwrap_or_else(|e| panic!("{e}"));
        assert!(doc.root.to_json()["pw"]
            .as_str()
            .unwrap_or("")
            .starts_with("$ANSIBLE_VAULT;1.1;AES256\n6564"));
        assert_eq!(
            found.redact("x play-inline-secret-88"),
            "x play-inline-secret-88"
        );
        // Outside a playbook load, vault text is left to its reader.
        let doc = super::super::parse_str(DOC, path).unwrap_or_else(|e| panic!("{e}"));
        assert!(doc.root.to_json()["pw"]
            .as_str()
            .unwrap_or("")
            .starts_with("$ANSIBLE_VAULT"));
    }
}
