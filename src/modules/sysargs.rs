//! Fact helpers shared by the system modules (user, apt, ufw…).

use super::PlanError;

/// Combines two fact reads so that one probe round asks for both: when either
/// is missing, the needs of both are returned together.
pub fn both<A, B>(a: Result<A, PlanError>, b: Result<B, PlanError>) -> Result<(A, B), PlanError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(PlanError::Need(mut x)), Err(PlanError::Need(y))) => {
            x.extend(y);
            Err(PlanError::Need(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Marker printed between the parts of one read snippet; split with [`sections`].
pub const SEP: &str = "@@rprov-part@@";

/// Splits a snippet's output at [`SEP`] lines into exactly `n` parts (missing
/// trailing parts are empty).
pub fn sections(out: &str, n: usize) -> Vec<String> {
    let mut parts: Vec<String> = vec![String::new()];
    for line in out.lines() {
        if line == SEP {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    parts.resize(n.max(parts.len()), String::new());
    parts.truncate(n);
    parts
}

/// The shell line printing [`SEP`].
pub fn sep_line() -> String {
    format!("echo '{SEP}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_split_and_pad() {
        let out = format!("a\nb\n{SEP}\nc\n");
        assert_eq!(sections(&out, 3), vec!["a\nb\n", "c\n", ""]);
        assert_eq!(sections("", 2), vec!["", ""]);
    }
}
