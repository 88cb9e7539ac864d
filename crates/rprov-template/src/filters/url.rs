//! `urlsplit`: a URL's parts, as ansible-core's filter gives them from
//! Python's `urllib.parse.urlsplit` (scheme lowercased, `hostname`
//! lowercased and without IPv6 brackets, `port` a number or none).

use minijinja::value::Value;
use minijinja::{Environment, Error};
use serde_json::{json, Map, Value as Json};

use super::{as_text, filter_error, from_json};

/// Adds `urlsplit`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("urlsplit", urlsplit);
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
