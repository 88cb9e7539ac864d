//! `lookup('ini', key, file=…, section=…)`: a value of a controller INI
//! file (or Java properties file), as ansible-core's `ini` lookup reads it
//! with Python's `configparser`.
//!
//! Options, as keyword arguments or (the older way) inside a term after the
//! key, split as the lookup's own `_parse_params` splits them (on white
//! space, a word without `=` continuing the option before it):
//! `file` (default `ansible.ini`, looked for where `file` looks and
//! decrypted when ansible-vault encrypted it), `section` (default
//! `global`), `type` (`ini`, or `properties` for a file without sections),
//! `re` (the key is a regular expression, `re.match`ed against each key of
//! the section: every matching value), `default` (the answer for a missing
//! key, `''` by default), `encoding` (default UTF-8), `case_sensitive`
//! (keys are lowercased unless it is set), `allow_no_value`/`allow_none` (a
//! key without `=` reads as no value and gives nothing) and
//! `interpolation` (on by default: `%(name)s` is the section's `name`,
//! `%%` a `%`, as configparser's `BasicInterpolation`).
//!
//! As in ansible-core, one parser serves all terms of a lookup, so files
//! read for earlier terms stay read; options set inline stay set for later
//! terms, but the parser keeps the `case_sensitive`, `allow_no_value` and
//! `interpolation` it was made with from the keyword arguments.

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};

use super::{find_file, lookup_error, LookupContext};

/// The options, in the order ansible-core's `get_options` lists them (the
/// order `_parse_params` tries them in).
const OPTIONS: &[&str] = &[
    "type",
    "file",
    "section",
    "re",
    "encoding",
    "default",
    "case_sensitive",
    "allow_no_value",
    "interpolation",
];

/// How deep `%(name)s` may nest, as configparser's
/// `MAX_INTERPOLATION_DEPTH`.
const MAX_INTERPOLATION_DEPTH: usize = 10;

fn fail(msg: impl std::fmt::Display) -> Error {
    lookup_error("ini", msg)
}

/// The options' values, as given or defaulted.
#[derive(Clone)]
struct Options {
    kind: String,
    file: String,
    section: String,
    regex: bool,
    encoding: String,
    default: Value,
}

impl Options {
    /// Sets option `name` from `value` (as Ansible's `set_option`, with the
    /// option's type).
    fn set(&mut self, name: &str, value: &Value) -> Result<(), Error> {
        let text = || {
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string)
        };
        match name {
            "type" => {
                let t = text();
                if t != "ini" && t != "properties" {
                    return Err(fail(format!(
                        "Invalid value '{t}' for option 'type', valid values are: ini, properties"
                    )));
                }
                self.kind = t;
            }
            "file" => self.file = text(),
            "section" => self.section = text(),
            "re" => self.regex = boolean("re", value)?,
            "encoding" => self.encoding = text(),
            "default" => self.default = value.clone(),
            // The parser's options: only those given as keyword arguments
            // count (see the module doc).
            "case_sensitive" | "allow_no_value" | "allow_none" | "interpolation" => {}
            other => return Err(fail(format!("'{other}' is not a valid option."))),
        }
        Ok(())
    }
}

/// Ansible's `boolean()` of an option's value.
fn boolean(name: &str, v: &Value) -> Result<bool, Error> {
    if v.kind() == minijinja::value::ValueKind::Bool {
        return Ok(v.is_true());
    }
    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(true),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "none" => Ok(false),
        _ => Err(fail(format!(
            "Invalid type for configuration option '{name}': '{text}' is not a valid boolean"
        ))),
    }
}

pub(super) fn run(
    state: &State,
    cx: &LookupContext,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let mut opts = Options {
        kind: "ini".into(),
        file: "ansible.ini".into(),
        section: "global".into(),
        regex: false,
        encoding: "utf-8".into(),
        default: Value::from(""),
    };
    let mut parser = Parser::default();
    for name in OPTIONS.iter().copied().chain(["allow_none"]) {
        let Some(v) = kwargs.get::<Option<Value>>(name)? else {
            continue;
        };
        match name {
            // Not typed in ansible-core: any true value.
            "case_sensitive" => parser.case_sensitive = v.is_true(),
            "allow_no_value" | "allow_none" => parser.allow_no_value = boolean(name, &v)?,
            "interpolation" => parser.interpolation = boolean(name, &v)?,
            _ => opts.set(name, &v)?,
        }
    }

    let mut out = Vec::new();
    for term in terms {
        if term.is_undefined() {
            return Err(Error::from(minijinja::ErrorKind::UndefinedError));
        }
        let term = term
            .as_str()
            .map_or_else(|| term.to_string(), str::to_string);
        let mut key = term.clone();
        if term.contains('=') || term.trim().contains(' ') {
            let mut found_key = false;
            for param in parse_params(&term) {
                if param.contains('=') {
                    let parts: Vec<&str> = param.split('=').collect();
                    let [name, value] = parts[..] else {
                        return Err(fail(format!("Could not use '{param}' from the options.")));
                    };
                    if !OPTIONS.contains(&name) {
                        return Err(fail(format!("'{name}' is not a valid option.")));
                    }
                    opts.set(name, &Value::from(value))?;
                } else if !found_key {
                    // Only the first: this form never took several keys.
                    key = param;
                    found_key = true;
                }
            }
            if !found_key {
                return Err(fail(format!(
                    "No key to look up was provided as first term within string inline options: {term}"
                )));
            }
        }

        let path = find_file(state, "files", &opts.file)
            .ok_or_else(|| fail(format!("Unable to find '{}' in expected paths", opts.file)))?;
        let contents = cx
            .read_text(&path, Some(&opts.encoding))
            .map_err(|e| fail(format!("cannot read '{}': {e}", opts.file)))?;
        if opts.kind == "properties" {
            opts.section = "java_properties".into();
            parser.read(&format!("[java_properties]\n{contents}"), &opts.file)?;
        } else {
            parser.read(&contents, &opts.file)?;
        }

        let no_section = || fail(format!("No section '{}' in '{}'.", opts.section, opts.file));
        if opts.regex {
            let re = fancy_regex::Regex::new(&format!("^(?:{key})")).map_err(|e| {
                fail(format!(
                    "invalid regular expression {key:?}: {}",
                    crate::filters::regex::python_words(&e)
                ))
            })?;
            let items = parser.items(&opts.section).ok_or_else(no_section)?;
            for (k, v) in items? {
                if re.is_match(&k).unwrap_or(false) {
                    out.push(v.map_or_else(Value::default, Value::from));
                }
            }
        } else {
            match parser.get(&opts.section, &key) {
                Lookup::NoSection => return Err(no_section()),
                Lookup::NoOption => {
                    // A list default gives its items, as ansible-core
                    // extends its answer with a list.
                    if opts.default.kind() == minijinja::value::ValueKind::Seq {
                        out.extend(opts.default.try_iter()?);
                    } else if !opts.default.is_none() {
                        out.push(opts.default.clone());
                    }
                }
                Lookup::Found(v) => {
                    if let Some(v) = v? {
                        out.push(Value::from(v));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The lookup's `_parse_params`: the words of a term, a word with `name=`
/// (for one of the options) starting that option, any other word after the
/// first continuing the option before it (so a value may hold spaces).
fn parse_params(term: &str) -> Vec<String> {
    let mut params: IndexMap<&str, String> = IndexMap::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut this = "key";
    for (i, phrase) in term.split_whitespace().enumerate() {
        if phrase.contains('=') {
            for k in OPTIONS {
                if phrase.contains(&format!("{k}=")) {
                    this = k;
                }
            }
        }
        let current = params.entry(this).or_default();
        if i == 0 || current.is_empty() {
            *current = phrase.to_string();
            keys.push(this);
        } else {
            current.push(' ');
            current.push_str(phrase);
        }
    }
    keys.iter()
        .map(|k| params.get(k).cloned().unwrap_or_default())
        .collect()
}

/// What [`Parser::get`] found.
enum Lookup {
    NoSection,
    NoOption,
    /// The value (`None` for a key without one), interpolated.
    Found(Result<Option<String>, Error>),
}

/// Python's `configparser.ConfigParser` with its defaults (`=` and `:`
/// delimiters, `#` and `;` comments on their own lines, strict, multi-line
/// values on deeper-indented lines, a `DEFAULT` section whose keys every
/// section has), as far as the lookup uses it.
struct Parser {
    case_sensitive: bool,
    allow_no_value: bool,
    interpolation: bool,
    defaults: IndexMap<String, Option<String>>,
    sections: IndexMap<String, IndexMap<String, Option<String>>>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            case_sensitive: false,
            allow_no_value: false,
            interpolation: true,
            defaults: IndexMap::new(),
            sections: IndexMap::new(),
        }
    }
}

/// Where the lines being read go.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Target {
    Defaults,
    Section(String),
}

impl Parser {
    fn optionxform(&self, name: &str) -> String {
        if self.case_sensitive {
            name.to_string()
        } else {
            name.to_lowercase()
        }
    }

    fn target_mut(&mut self, t: &Target) -> &mut IndexMap<String, Option<String>> {
        match t {
            Target::Defaults => &mut self.defaults,
            Target::Section(s) => self.sections.entry(s.clone()).or_default(),
        }
    }

    /// Reads one file's text (`file` as the user named it, for errors), as
    /// configparser's `read_file`.
    fn read(&mut self, text: &str, file: &str) -> Result<(), Error> {
        // Values as lists of lines until the end, as configparser keeps them.
        let mut added: std::collections::HashSet<(String, String)> = Default::default();
        let mut added_sections: std::collections::HashSet<String> = Default::default();
        let mut cur: Option<Target> = None;
        let mut opt: Option<String> = None;
        let mut lines_of: IndexMap<(Target, String), Vec<String>> = IndexMap::new();
        let mut indent_level = 0usize;
        let mut bad_lines: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            let lineno = i + 1;
            let stripped = raw.trim();
            let comment = stripped.starts_with('#') || stripped.starts_with(';');
            let value = if comment { "" } else { stripped };
            if value.is_empty() {
                // A blank line belongs to a value being read; a comment
                // line does not.
                if !comment {
                    if let (Some(t), Some(o)) = (&cur, &opt) {
                        if let Some(lines) = lines_of.get_mut(&(t.clone(), o.clone())) {
                            lines.push(String::new());
                        }
                    }
                }
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            if cur.is_some() && opt.is_some() && indent > indent_level {
                if let (Some(t), Some(o)) = (&cur, &opt) {
                    if let Some(lines) = lines_of.get_mut(&(t.clone(), o.clone())) {
                        lines.push(value.to_string());
                    }
                }
                continue;
            }
            indent_level = indent;
            if let Some(name) = section_header(value) {
                if self.sections.contains_key(name) {
                    if added_sections.contains(name) {
                        return Err(fail(format!(
                            "While reading from '<???>' [line {lineno:2}]: section '{name}' already exists"
                        )));
                    }
                    cur = Some(Target::Section(name.to_string()));
                    added_sections.insert(name.to_string());
                } else if name == "DEFAULT" {
                    cur = Some(Target::Defaults);
                } else {
                    self.sections.insert(name.to_string(), IndexMap::new());
                    added_sections.insert(name.to_string());
                    cur = Some(Target::Section(name.to_string()));
                }
                opt = None;
                continue;
            }
            let Some(target) = cur.clone() else {
                return Err(fail(format!(
                    "File contains no section headers.\nfile: '<???>', line: {lineno}\n{}",
                    py_repr(raw)
                )));
            };
            match self.option_line(value) {
                Some((name, val)) if !name.is_empty() => {
                    let name = self.optionxform(name.trim_end());
                    let section = match &target {
                        Target::Defaults => "DEFAULT".to_string(),
                        Target::Section(s) => s.clone(),
                    };
                    if !added.insert((section, name.clone())) {
                        return Err(fail(format!("Duplicate option in '{file}'.")));
                    }
                    match val {
                        Some(v) => {
                            lines_of.insert((target.clone(), name.clone()), vec![v.to_string()]);
                            // Its place among the keys, its value at the end.
                            self.target_mut(&target)
                                .insert(name.clone(), Some(String::new()));
                        }
                        None => {
                            lines_of.shift_remove(&(target.clone(), name.clone()));
                            self.target_mut(&target).insert(name.clone(), None);
                        }
                    }
                    opt = Some(name);
                }
                _ => bad_lines.push((lineno, raw.to_string())),
            }
        }
        for ((target, name), lines) in lines_of {
            // configparser's `_join_multiline_values`: trailing blank lines
            // dropped, the rest joined with newlines.
            let joined = lines.join("\n");
            let value = joined.trim_end().to_string();
            self.target_mut(&target).insert(name, Some(value));
        }
        if !bad_lines.is_empty() {
            let listed: Vec<String> = bad_lines
                .iter()
                .map(|(n, l)| format!("\n\t[line {n:2}]: {}", py_repr(l)))
                .collect();
            return Err(fail(format!(
                "Source contains parsing errors: '<???>'{}",
                listed.concat()
            )));
        }
        Ok(())
    }

    /// An option line's name and value (`None`: a key alone, where
    /// `allow_no_value` lets it be); `None` when the line is no option.
    fn option_line<'a>(&self, line: &'a str) -> Option<(&'a str, Option<&'a str>)> {
        match line.find(['=', ':']) {
            Some(at) => Some((&line[..at], Some(line[at + 1..].trim()))),
            None if self.allow_no_value => Some((line, None)),
            None => None,
        }
    }

    /// The value of `key` in `section`, or of the `DEFAULT` section.
    fn get(&self, section: &str, key: &str) -> Lookup {
        let Some(sect) = self.sections.get(section) else {
            return Lookup::NoSection;
        };
        let key = self.optionxform(key);
        match sect.get(&key).or_else(|| self.defaults.get(&key)) {
            None => Lookup::NoOption,
            Some(None) => Lookup::Found(Ok(None)),
            Some(Some(v)) => Lookup::Found(self.interpolate(section, &key, v).map(Some)),
        }
    }

    /// The section's keys and values (the `DEFAULT` section's first, then
    /// its own), interpolated; `None` when there is no such section.
    #[allow(clippy::type_complexity)]
    fn items(&self, section: &str) -> Option<Result<Vec<(String, Option<String>)>, Error>> {
        let sect = self.sections.get(section)?;
        let mut merged = self.defaults.clone();
        for (k, v) in sect {
            merged.insert(k.clone(), v.clone());
        }
        Some(
            merged
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Some(v) => Some(self.interpolate(section, k, v)?),
                        None => None,
                    };
                    Ok((k.clone(), v))
                })
                .collect(),
        )
    }

    /// configparser's `BasicInterpolation.before_get`.
    fn interpolate(&self, section: &str, option: &str, value: &str) -> Result<String, Error> {
        if !self.interpolation {
            return Ok(value.to_string());
        }
        let mut out = String::new();
        self.interpolate_some(section, option, value, &mut out, 1)?;
        Ok(out)
    }

    fn interpolate_some(
        &self,
        section: &str,
        option: &str,
        rest: &str,
        out: &mut String,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_INTERPOLATION_DEPTH {
            return Err(fail(format!(
                "Recursion limit exceeded in value substitution: option '{option}' in section '{section}' contains an interpolation key which cannot be substituted in {MAX_INTERPOLATION_DEPTH} steps. Raw value: {}",
                py_repr(rest)
            )));
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let Some(p) = rest.find('%') else {
                out.push_str(rest);
                return Ok(());
            };
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            let next = rest[1..].chars().next();
            match next {
                Some('%') => {
                    out.push('%');
                    rest = &rest[2..];
                }
                Some('(') => {
                    // configparser's `%\(([^)]+)\)s`.
                    let close = rest[2..]
                        .find(')')
                        .map(|c| c + 2)
                        .filter(|&c| c > 2 && rest[c + 1..].starts_with('s'))
                        .ok_or_else(|| {
                            fail(format!(
                                "bad interpolation variable reference {}",
                                py_repr(rest)
                            ))
                        })?;
                    let name = self.optionxform(&rest[2..close]);
                    rest = &rest[close + 2..];
                    let value = self
                        .sections
                        .get(section)
                        .and_then(|s| s.get(&name))
                        .or_else(|| self.defaults.get(&name))
                        .ok_or_else(|| {
                            fail(format!(
                                "Bad value substitution: option '{option}' in section '{section}' contains an interpolation key '{name}' which is not a valid option name."
                            ))
                        })?;
                    let value = value.as_deref().unwrap_or_default();
                    if value.contains('%') {
                        self.interpolate_some(section, &name, value, out, depth + 1)?;
                    } else {
                        out.push_str(value);
                    }
                }
                _ => {
                    return Err(fail(format!(
                        "'%' must be followed by '%' or '(', found: {}",
                        py_repr(rest)
                    )))
                }
            }
        }
        Ok(())
    }
}

/// The name of a `[section]` header line: configparser's greedy
/// `\[(?P<header>.+)\]` matched at the start of the stripped line.
fn section_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}

/// Python's `repr` of a string, for the messages configparser writes.
fn py_repr(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str, configure: impl FnOnce(&mut Parser)) -> Result<Parser, Error> {
        let mut p = Parser::default();
        configure(&mut p);
        p.read(text, "t.ini")?;
        Ok(p)
    }

    fn get(p: &Parser, section: &str, key: &str) -> Option<Option<String>> {
        match p.get(section, key) {
            Lookup::Found(v) => Some(v.unwrap()),
            _ => None,
        }
    }

    /// Expected values are CPython 3.11's `configparser.ConfigParser()` of
    /// the same text.
    #[test]
    fn reads_as_configparser() {
        let p = parsed(
            "[DEFAULT]\nbase = /srv\n[a]\n# comment\nKey = v1 \npath: %(base)s/x\nmulti = one\n  two\n\n  three\n\npct = 100%%\n",
            |_| {},
        )
        .unwrap();
        assert_eq!(get(&p, "a", "key"), Some(Some("v1".into())));
        assert_eq!(get(&p, "a", "KEY"), Some(Some("v1".into())));
        assert_eq!(get(&p, "a", "path"), Some(Some("/srv/x".into())));
        assert_eq!(
            get(&p, "a", "multi"),
            Some(Some("one\ntwo\n\nthree".into()))
        );
        assert_eq!(get(&p, "a", "pct"), Some(Some("100%".into())));
        assert_eq!(get(&p, "a", "base"), Some(Some("/srv".into())));
        assert!(matches!(p.get("a", "nope"), Lookup::NoOption));
        assert!(matches!(p.get("b", "key"), Lookup::NoSection));
    }

    #[test]
    fn keys_differing_in_case_are_duplicates_unless_case_sensitive() {
        let text = "[r]\nname = bob\nNAME = marley\n";
        let err = parsed(text, |_| {}).err().unwrap().to_string();
        assert!(err.contains("Duplicate option in 't.ini'."), "{err}");
        let p = parsed(text, |p| p.case_sensitive = true).unwrap();
        assert_eq!(get(&p, "r", "name"), Some(Some("bob".into())));
        assert_eq!(get(&p, "r", "NAME"), Some(Some("marley".into())));
    }

    #[test]
    fn keys_without_values() {
        let text = "[mysqld]\nuser = mysql\nskip-innodb\n";
        let err = parsed(text, |_| {}).err().unwrap().to_string();
        assert!(
            err.contains("Source contains parsing errors: '<???>'\n\t[line  3]: 'skip-innodb\\n'"),
            "{err}"
        );
        let p = parsed(text, |p| p.allow_no_value = true).unwrap();
        assert_eq!(get(&p, "mysqld", "skip-innodb"), Some(None));
        assert_eq!(get(&p, "mysqld", "user"), Some(Some("mysql".into())));
    }

    #[test]
    fn interpolation_can_be_off_and_fails_as_configparser() {
        let text = "[g]\nExec=/bin/program run %u\n";
        let p = parsed(text, |p| p.interpolation = false).unwrap();
        assert_eq!(
            get(&p, "g", "exec"),
            Some(Some("/bin/program run %u".into()))
        );
        let p = parsed(text, |_| {}).unwrap();
        let Lookup::Found(Err(e)) = p.get("g", "exec") else {
            panic!("interpolation of a lone % must fail");
        };
        assert!(
            e.to_string()
                .contains("'%' must be followed by '%' or '(', found: '%u'"),
            "{e}"
        );
    }

    #[test]
    fn no_section_header() {
        let err = parsed("a=1\n", |_| {}).err().unwrap().to_string();
        assert!(err.contains("File contains no section headers."), "{err}");
    }

    /// Expected lists are the lookup's `_parse_params` in ansible-core 2.19.
    #[test]
    fn inline_options_split_as_ansible() {
        assert_eq!(
            parse_params("value[1-2]        section=value_section file=lookup.ini re=true"),
            [
                "value[1-2]",
                "section=value_section",
                "file=lookup.ini",
                "re=true"
            ]
        );
        assert_eq!(
            parse_params("a key  file=my file.ini"),
            ["a key", "file=my file.ini"]
        );
        assert_eq!(parse_params("file=lookup.ini"), ["file=lookup.ini"]);
        assert_eq!(parse_params("invalid=option"), ["invalid=option"]);
    }
}
