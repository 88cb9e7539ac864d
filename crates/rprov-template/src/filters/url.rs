//! `urlsplit`: a URL's parts, as ansible-core's filter gives them from
//! Python's `urllib.parse.urlsplit` (scheme lowercased, `hostname`
//! lowercased and without IPv6 brackets, `port` a number or none);
//! `urldecode` (Python's `unquote_plus`); and the tests `uri`, `url` and
//! `urn`, judged as ansible-core's from the same split.

use minijinja::value::Value;
use minijinja::{Environment, Error};
use serde_json::{json, Map, Value as Json};

use super::{as_text, filter_error, from_json};

/// Adds `urlsplit`, `urldecode` and the tests `uri`, `url`, `urn`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urldecode", urldecode);
    env.add_filter("urlencode", urlencode);
    env.add_test("uri", |v: &Value, schemes: Option<Vec<String>>| {
        is_uri(v, schemes.as_deref())
    });
    env.add_test("url", is_url);
    env.add_test("urn", |v: &Value| is_uri(v, Some(&["urn".to_string()])));
}

/// `x is uri(schemes=None)`: anything Python's `urlparse` reads (which is
/// any text), with a scheme among `schemes` when they are given.
fn is_uri(value: &Value, schemes: Option<&[String]>) -> Result<bool, Error> {
    let Some(text) = value.as_str() else {
        return Ok(false);
    };
    Ok(match (split(text), schemes) {
        (Err(_), _) => false,
        (Ok(_), None) => true,
        (Ok(parts), Some(list)) => {
            let scheme = parts
                .get("scheme")
                .and_then(Json::as_str)
                .unwrap_or_default();
            list.iter().any(|s| s == scheme)
        }
    })
}

/// `x is url(schemes=None)`: a `uri` with a network location, or a `file:`
/// one.
fn is_url(value: &Value, schemes: Option<Vec<String>>) -> Result<bool, Error> {
    if !is_uri(value, schemes.as_deref())? {
        return Ok(false);
    }
    let parts = split(value.as_str().unwrap_or_default()).unwrap_or_default();
    let text = |k: &str| {
        parts
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(!text("netloc").is_empty() || text("scheme") == "file")
}

/// Jinja2's `urlencode`: text quoted with `/` kept; a mapping or a list of
/// pairs as a query string (`k=v&k2=v2`, spaces as `+`, nothing kept).
pub fn urlencode(value: &Value) -> Result<String, Error> {
    use minijinja::value::ValueKind;
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let pairs: Vec<(Value, Value)> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k)?;
                Ok((k, v))
            })
            .collect::<Result<_, Error>>()?,
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|pair| {
                Ok((
                    pair.get_item(&Value::from(0))?,
                    pair.get_item(&Value::from(1))?,
                ))
            })
            .collect::<Result<_, Error>>()?,
        _ => return Ok(quote(&text(value), "/")),
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                quote(&text(k), "").replace("%20", "+"),
                quote(&text(v), "").replace("%20", "+")
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

/// Python's `urllib.parse.quote(text, safe)`: UTF-8 bytes other than
/// letters, digits, `_.-~` and `safe` as `%HH`.
fn quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text | urldecode`: Python's `unquote_plus` (`+` is a space, `%hh` a
/// byte; bytes that are not UTF-8 become U+FFFD).
pub fn urldecode(value: &Value) -> Result<String, Error> {
    let text = as_text(value)?;
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `url | urlsplit(component='')`: every part as a mapping, or the one named.
pub fn urlsplit(value: &Value, component: Option<String>) -> Result<Value, Error> {
    let parts = split(&as_text(value)?).map_err(|m| filter_error("urlsplit", m))?;
    match component.filter(|c| !c.is_empty()) {
        None => Ok(from_json(&Json::Object(parts))),
        Some(c) => parts.get(&c).map(from_json).ok_or_else(|| {
            filter_error("urlsplit", format!("urlsplit: unknown URL component: {c}"))
        }),
    }
}

/// Python's `urlsplit(url)` with its derived attributes.
fn split(url: &str) -> Result<Map<String, Json>, String> {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some((s, after)) = rest.split_once(':') {
        let valid = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            scheme = s.to_ascii_lowercase();
            rest = after;
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));

    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        None => (Json::Null, Json::Null),
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (json!(n), json!(p)),
            None => (json!(u), Json::Null),
        },
    };
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (h, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        (h, after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let hostname = if host.is_empty() {
        Json::Null
    } else {
        json!(host.to_lowercase())
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => Json::Null,
        // CPython's words for each way a port is wrong.
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => match p.parse::<u32>() {
            Ok(n) if n <= 65535 => json!(n),
            _ => return Err("Port out of range 0-65535".into()),
        },
        Some(p) => return Err(format!("Port could not be cast to integer value as '{p}'")),
    };
    let mut m = Map::new();
    m.insert("fragment".into(), json!(fragment));
    m.insert("hostname".into(), hostname);
    m.insert("netloc".into(), json!(netloc));
    m.insert("password".into(), password);
    m.insert("path".into(), json!(path));
    m.insert("port".into(), port);
    m.insert("query".into(), json!(query));
    m.insert("scheme".into(), json!(scheme));
    m.insert("username".into(), username);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are Jinja2 3.1's `urlencode`.
    #[test]
    fn urlencode_as_jinja2() {
        let e = |v: Value| urlencode(&v).unwrap();
        assert_eq!(e(Value::from("a b/c?é")), "a%20b/c%3F%C3%A9");
        let map: std::collections::BTreeMap<&str, &str> = [("a b", "c&d"), ("e", "f")].into();
        assert_eq!(e(Value::from(map)), "a+b=c%26d&e=f");
        assert_eq!(e(Value::from(Vec::<Value>::new())), "");
        assert_eq!(e(Value::from(vec![vec!["k", "v/w"]])), "k=v%2Fw");
    }

    /// Expected values are CPython 3.11's `unquote_plus`.
    #[test]
    fn urldecode_as_unquote_plus() {
        let d = |s: &str| urldecode(&Value::from(s)).unwrap();
        assert_eq!(d("a+b%20c%C3%A9"), "a b c\u{e9}");
        assert_eq!(d("100%"), "100%");
        assert_eq!(d("%zz%4"), "%zz%4");
        assert_eq!(d("%FF"), "\u{fffd}");
    }

    /// Expected values are ansible-core 2.19's `uri`/`url`/`urn` tests.
    #[test]
    fn uri_url_urn_as_ansible() {
        let uri = |s: &str, schemes: Option<&[String]>| is_uri(&Value::from(s), schemes).unwrap();
        let url = |s: &str| is_url(&Value::from(s), None).unwrap();
        let special = ["http".to_string(), "https".to_string()];
        assert!(uri("asldkfjhalsidfthjo", None));
        assert!(!uri("asldkfjhalsidfthjo", Some(&special)));
        assert!(uri("urn:isbn:9780307476463", Some(&["urn".to_string()])));
        assert!(url("ftp:// searchengine.tld"));
        assert!(url("file://etc/hosts"));
        assert!(!url("admin:secret@example.com"));
        assert!(!url("urn:isbn:9780307476463"));
        assert!(!is_url(&Value::from("htp://x.tld"), Some(special.to_vec())).unwrap());
    }

    /// Expected values are CPython 3.11's `urlsplit` attributes.
    #[test]
    fn as_pythons_urlsplit() {
        let m = split("http://mary:MySecret@www.Acme.com:9000/dir/index.html?query=term#fragment")
            .unwrap();
        assert_eq!(
            Json::Object(m),
            json!({"fragment": "fragment", "hostname": "www.acme.com",
                   "netloc": "mary:MySecret@www.Acme.com:9000", "password": "MySecret",
                   "path": "/dir/index.html", "port": 9000, "query": "query=term",
                   "scheme": "http", "username": "mary"})
        );
        let m = split("HTTPS://[::1]:8443").unwrap();
        assert_eq!(m["scheme"], "https");
        assert_eq!(m["hostname"], "::1");
        assert_eq!(m["port"], 8443);
        assert_eq!(m["path"], "");
        let m = split("/just/a/path?x=1").unwrap();
        assert_eq!(
            (m["scheme"].as_str(), m["hostname"].is_null()),
            (Some(""), true)
        );
        assert_eq!(m["query"], "x=1");
        assert_eq!(
            split("http://h:99999/").unwrap_err(),
            "Port out of range 0-65535"
        );
        assert_eq!(
            split("http://h:8x/").unwrap_err(),
            "Port could not be cast to integer value as '8x'"
        );
    }
}
