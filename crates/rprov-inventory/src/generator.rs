//! ansible-core's `generator` inventory plugin (`plugin: generator` in a YAML
//! inventory file): hosts and groups made from name templates over every
//! combination of the values of `layers`.
//!
//! As the plugin does (lib/ansible/plugins/inventory/generator.py): the
//! layers' combinations are taken in order, the last layer varying fastest;
//! each renders `hosts.name` to a host, and each entry of `hosts.parents` (and
//! of their own `parents`, recursively) to a group holding the host or the
//! group below it. A parent's `vars` are set on its group, a string value
//! rendered with the layer values and any other value kept as written, so
//! templates inside a list or mapping are rendered when a play uses them. The
//! only variables of these templates are the layers: an undefined name is an
//! error at load time.

use crate::data::InventoryData;
use crate::error::InventoryError;
use crate::yaml::find_line;
use serde_json::{Map, Value};
use std::path::Path;

/// The names `plugin:` takes for this plugin.
pub(crate) const NAMES: [&str; 2] = ["generator", "ansible.builtin.generator"];

struct Generator<'a> {
    text: &'a str,
    path: &'a Path,
    render: &'a dyn crate::Render,
}

/// Fills `data` from a generator configuration (`top`, the file's mapping).
pub(crate) fn parse(
    top: &Map<String, Value>,
    text: &str,
    path: &Path,
    data: &mut InventoryData,
    render: Option<&dyn crate::Render>,
) -> Result<(), InventoryError> {
    let Some(render) = render else {
        return Err(InventoryError::parse(
            path,
            find_line(text, "plugin"),
            "the generator inventory plugin needs templates, which this command does not render",
            "use it with `rprov apply` or `rprov inventory`",
        ));
    };
    let g = Generator { text, path, render };
    for key in top.keys() {
        if !matches!(key.as_str(), "plugin" | "hosts" | "layers") {
            return Err(g.err(
                key,
                format!("unknown option '{key}' of the generator inventory plugin"),
                "the generator plugin takes `plugin`, `hosts` and `layers`",
            ));
        }
    }
    let layers = match top.get("layers") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(g.err(
                "layers",
                format!(
                    "`layers` must be a mapping, found {}",
                    crate::yaml::kind(other)
                ),
                "write each layer as `name: [value, ...]`",
            ))
        }
        None => {
            return Err(g.err(
                "plugin",
                "the generator inventory plugin needs `layers`".into(),
                "add `layers:`, a mapping of layer names to lists of values",
            ))
        }
    };
    let mut values: Vec<(&str, &[Value])> = Vec::new();
    for (name, list) in layers {
        let Value::Array(items) = list else {
            return Err(g.err(
                name,
                format!(
                    "layer '{name}' must be a list of values, found {}",
                    crate::yaml::kind(list)
                ),
                "write the layer's values as a list: `- value`",
            ));
        };
        values.push((name, items));
    }
    let hosts = match top.get("hosts") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(g.err(
                "hosts",
                "the generator inventory plugin needs `hosts:` with a `name` template".into(),
                "add `hosts: {name: \"{{ layer }}_...\"}`",
            ))
        }
    };
    let parents = g.parents(hosts.get("parents"), "`parents`")?;
    // itertools.product: the last layer varies fastest; a layer without
    // values makes no combination at all.
    let total: usize = values.iter().map(|(_, v)| v.len()).product();
    for index in 0..total {
        let mut vars = Map::new();
        let mut rest = index;
        for (name, items) in values.iter().rev() {
            vars.insert((*name).to_string(), items[rest % items.len()].clone());
            rest /= items.len();
        }
        let ctx = Value::Object(vars);
        let host = g.name(hosts.get("name").unwrap_or(&Value::Null), &ctx, "name")?;
        if host.is_empty() {
            return Err(g.err(
                "name",
                "the generator's host `name` renders to nothing".into(),
                "give `hosts: name:` a template that names each host",
            ));
        }
        data.add_host(&host, None, None);
        g.add_parents(data, &host, parents, &ctx, 0)?;
    }
    Ok(())
}

impl Generator<'_> {
    fn err(&self, key: &str, message: String, hint: &str) -> InventoryError {
        InventoryError::parse(self.path, find_line(self.text, key), message, hint)
    }

    /// The `parents` list of `whose` (none when unset).
    fn parents<'v>(
        &self,
        value: Option<&'v Value>,
        whose: &str,
    ) -> Result<&'v [Value], InventoryError> {
        match value {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(p)) => Ok(p.as_slice()),
            Some(other) => Err(self.err(
                "parents",
                format!("{whose} must be a list, found {}", crate::yaml::kind(other)),
                "write parents as a list of `- name: ...` entries",
            )),
        }
    }

    /// A name template rendered with the layer values, as text.
    fn name(&self, pattern: &Value, ctx: &Value, key: &str) -> Result<String, InventoryError> {
        Ok(match self.render(pattern, ctx, key)? {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// The plugin's `template`: strings are rendered, other values kept.
    fn render(&self, value: &Value, ctx: &Value, key: &str) -> Result<Value, InventoryError> {
        match value {
            Value::String(s) => self.render.render(s, ctx).map_err(|e| {
                self.err(
                    key,
                    format!("generator inventory: cannot render '{s}': {e}"),
                    "the templates of a generator inventory can use only its layer names",
                )
            }),
            other => Ok(other.clone()),
        }
    }

    fn add_parents(
        &self,
        data: &mut InventoryData,
        child: &str,
        parents: &[Value],
        ctx: &Value,
        depth: usize,
    ) -> Result<(), InventoryError> {
        if depth > 256 {
            return Err(self.err(
                "parents",
                "generator parents nested too deeply".into(),
                "flatten the parents",
            ));
        }
        for parent in parents {
            let empty = Map::new();
            let parent = match parent {
                Value::Object(m) => m,
                Value::Null => &empty,
                other => {
                    return Err(self.err(
                        "parents",
                        format!(
                            "a parent of {child} must be a mapping with `name`, found {}",
                            crate::yaml::kind(other)
                        ),
                        "write each parent as `- name: \"{{ layer }}\"`",
                    ))
                }
            };
            let group = self.name(parent.get("name").unwrap_or(&Value::Null), ctx, "name")?;
            if group.is_empty() {
                // ansible-core's words, which scripts look for.
                return Err(self.err(
                    "parents",
                    format!("Element {child} has a parent with no name."),
                    "give every entry of `parents` a `name`",
                ));
            }
            let group = data.group_name(&group);
            data.add_group(&group);
            match parent.get("vars") {
                None | Some(Value::Null) => {}
                Some(Value::Object(vars)) => {
                    for (k, v) in vars {
                        let v = self.render(v, ctx, k)?;
                        data.set_group_var(&group, k, v)
                            .map_err(|m| self.err(k, m, "write a whole number, like 10"))?;
                    }
                }
                Some(other) => {
                    return Err(self.err(
                        "vars",
                        format!(
                            "`vars` of parent '{group}' must be a mapping, found {}",
                            crate::yaml::kind(other)
                        ),
                        "write `vars:` as `name: value` lines",
                    ))
                }
            }
            if data.groups.contains_key(child) {
                data.add_child(&group, child)
                    .map_err(|m| self.err("parents", m, "remove the cycle from `parents`"))?;
            } else {
                data.add_host(child, Some(&group), None);
            }
            let grand = self.parents(parent.get("parents"), &format!("`parents` of '{group}'"))?;
            self.add_parents(data, &group, grand, ctx, depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Inventory, InventoryError, LoadOptions, Render};
    use serde_json::Value;
    use std::path::Path;

    /// `{{ name }}` replaced by the layer's value: enough of a template
    /// engine for these tests (the CLI gives rprov's own).
    struct Subst;

    impl Render for Subst {
        fn render(&self, template: &str, vars: &Value) -> Result<Value, String> {
            let mut out = String::new();
            let mut rest = template;
            while let Some(i) = rest.find("{{") {
                out.push_str(&rest[..i]);
                let Some(j) = rest[i..].find("}}") else {
                    return Err("unclosed {{".into());
                };
                let name = rest[i + 2..i + j].trim();
                match vars.get(name) {
                    Some(Value::String(v)) => out.push_str(v),
                    _ => return Err(format!("'{name}' is undefined")),
                }
                rest = &rest[i + j + 2..];
            }
            out.push_str(rest);
            Ok(Value::String(out))
        }

        fn evaluate(&self, expr: &str, vars: &Value) -> Result<Value, String> {
            self.render(&format!("{{{{ {expr} }}}}"), vars)
        }

        fn py_str(&self, value: &Value) -> String {
            value.to_string()
        }
    }

    fn load(text: &str, path: &str) -> Result<Inventory, InventoryError> {
        let opts = LoadOptions {
            render: Some(&Subst),
            ..LoadOptions::default()
        };
        Inventory::parse_at(text, Path::new(path), opts)
    }

    const CONFIG: &str = r#"plugin: ansible.builtin.generator
hosts:
    name: "{{ operation }}_{{ application }}_{{ environment }}_runner"
    parents:
      - name: "{{ operation }}_{{ application }}_{{ environment }}"
        parents:
          - name: "{{ operation }}_{{ application }}"
            parents:
              - name: "{{ operation }}"
              - name: "{{ application }}"
          - name: "{{ application }}_{{ environment }}"
            parents:
              - name: "{{ application }}"
                vars:
                  application: "{{ application }}"
              - name: "{{ environment }}"
                vars:
                  environment: "{{ environment }}"
                  my_list:
                    - "{{ defined_on_play }}"
      - name: runner
layers:
    operation: [build, launch]
    environment: [dev, test, prod]
    application: [web, api]
"#;

    /// The plugin's documented example: 12 hosts, their groups nested as
    /// `parents` says, group vars rendered with the layer values (a string)
    /// or kept for the play to render (a list).
    #[test]
    fn generates_hosts_groups_and_vars() {
        let inv = load(CONFIG, "gen.yml").unwrap();
        let all = inv.select("all").unwrap();
        assert_eq!(all.len(), 12);
        // product order: the last layer (application) varies fastest
        assert_eq!(all[0], "build_web_dev_runner");
        assert_eq!(all[1], "build_api_dev_runner");
        assert_eq!(inv.select("runner").unwrap().len(), 12);
        assert_eq!(inv.select("api").unwrap().len(), 6);
        assert_eq!(inv.select("api_dev").unwrap().len(), 2);
        assert_eq!(inv.select("build_api").unwrap().len(), 3);
        assert_eq!(inv.select("dev").unwrap().len(), 4);
        assert!(inv.select("ungrouped").is_err() || inv.select("ungrouped").unwrap().is_empty());
        let vars = inv.host_vars("launch_api_prod_runner");
        assert_eq!(vars["environment"], "prod");
        assert_eq!(vars["application"], "api");
        assert_eq!(
            vars["my_list"],
            serde_json::json!(["{{ defined_on_play }}"])
        );
        // Without a template engine the file is refused, not misread.
        let err = Inventory::from_str_at(CONFIG, Path::new("gen.yml")).unwrap_err();
        assert!(err.to_string().contains("needs templates"), "{err}");
    }

    /// A parent without a name is refused in ansible-core's words, at the file.
    #[test]
    fn parent_without_name_is_an_error() {
        let text = "plugin: generator\nhosts:\n    name: \"h_{{ op }}\"\n    parents:\n      - {}\nlayers:\n    op: [a]\n";
        let err = load(text, "p.yml").unwrap_err().to_string();
        assert!(
            err.contains("Element h_a has a parent with no name."),
            "{err}"
        );
        assert!(err.contains("p.yml:4"), "{err}");
    }

    /// A template naming something that is not a layer fails at load.
    #[test]
    fn unknown_layer_is_an_error() {
        let text = "plugin: generator\nhosts:\n    name: \"{{ nope }}\"\nlayers:\n    op: [a]\n";
        let err = load(text, "p.yml").unwrap_err().to_string();
        assert!(err.contains("p.yml:3"), "{err}");
        assert!(err.contains("nope"), "{err}");
    }
}
