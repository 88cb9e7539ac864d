//! ansible-core's log file (`log_path`, `ANSIBLE_LOG_PATH`): everything the
//! run shows, and with `log_verbosity` above `-v` the messages of those
//! higher levels too, each message one record in Python logging's format:
//! `2026-12-05 05:54:03,094 p=PID u=USER n=ansible INFO| TASK [x] ***`.
//!
//! The time is UTC (Python's logging writes local time; rprov keeps no time
//! zone data). A message of several lines gets one prefix, on its first
//! line, as Python's logging writes it.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// An open log file.
pub struct LogFile {
    file: Mutex<std::fs::File>,
    /// `max(-v, log_verbosity)`: verbose messages up to this level are logged.
    pub verbosity: u8,
    /// `p=PID u=USER n=ansible`.
    who: String,
}

/// The level word of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl LogFile {
    /// Opens `path` for appending, or says why not, in ansible-core's
    /// words (it warns and runs without a log).
    pub fn open(path: &Path, verbosity: u8) -> Result<LogFile, String> {
        if path.is_dir() {
            return Err(format!(
                "DEFAULT_LOG_PATH can not be a directory '{}', aborting",
                path.display()
            ));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|_| {
                format!(
                    "log file at '{}' is not writeable and we cannot create it, aborting",
                    path.display()
                )
            })?;
        Ok(LogFile {
            file: Mutex::new(file),
            verbosity,
            who: format!("p={} u={} n=ansible", std::process::id(), user()),
        })
    }

    /// Appends what was shown (colours removed, leading line breaks
    /// dropped): one record per message, as ansible-core displays them one
    /// at a time where rprov may print a banner and a result together.
    pub fn write(&self, level: Level, text: &str) {
        let plain = console::strip_ansi_codes(text);
        let mut records: Vec<String> = Vec::new();
        for line in plain.split_inclusive('\n') {
            match records.last_mut() {
                Some(last) if !starts_message(line) => last.push_str(line),
                _ => records.push(line.to_string()),
            }
        }
        let word = match level {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        };
        let mut out = String::new();
        for r in &records {
            let body = r.trim_start_matches('\n');
            if body.trim().is_empty() {
                continue;
            }
            let newline = if body.ends_with('\n') { "" } else { "\n" };
            out.push_str(&format!("{} {} {word}| {body}{newline}", now(), self.who));
        }
        if out.is_empty() {
            return;
        }
        if let Ok(mut f) = self.file.lock() {
            let _ = f.write_all(out.as_bytes());
        }
    }
}

/// Whether `line` opens a message of its own in ansible-core's output: a
/// banner, a host's result, a warning, a recap line.
fn starts_message(line: &str) -> bool {
    const STARTS: &[&str] = &[
        "PLAY [",
        "PLAY RECAP",
        "TASK [",
        "RUNNING HANDLER [",
        "ok: [",
        "changed: [",
        "skipping: [",
        "fatal: [",
        "failed: [",
        "included: ",
        "...ignoring",
        "[WARNING]",
        "[ERROR]",
        "[DEPRECATION WARNING]",
        "<",
    ];
    STARTS.iter().any(|s| line.starts_with(s)) || line.contains(" : ok=")
}

/// The level of a message for stderr, from how it starts.
pub fn level_of(text: &str) -> Level {
    let t = console::strip_ansi_codes(text);
    let t = t.trim_start();
    if t.starts_with("[WARNING]") || t.starts_with("warning:") {
        Level::Warning
    } else if t.starts_with("[ERROR]") || t.starts_with("error:") {
        Level::Error
    } else {
        Level::Info
    }
}

/// Who runs this, as Python's `getpass.getuser()` finds it.
fn user() -> String {
    let uid = rustix::process::getuid().as_raw();
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(|| {
            // `pwd.getpwuid`: the name of this uid in /etc/passwd.
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("uid={uid}"))
}

/// `2026-12-05 05:54:03,094`.
fn now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{},{:03}",
        rprov_template::date_time_utc(d.as_secs()),
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One prefix per message, levels from the message, blank ones skipped.
    #[test]
    fn records_in_pythons_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = LogFile::open(&path, 0).unwrap();
        log.write(
            Level::Info,
            "\nTASK [x] ****\nok: [h] => {\n    \"a\": 1\n}\n",
        );
        log.write(
            level_of("[WARNING]: careful\n"),
            "[WARNING]: careful\nsecond line\n",
        );
        log.write(Level::Info, "\n");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        let pid = format!(" p={} u=", std::process::id());
        assert!(
            lines[0].contains(&pid) && lines[0].ends_with(" n=ansible INFO| TASK [x] ****"),
            "{text}"
        );
        assert!(
            lines[1].ends_with(" n=ansible INFO| ok: [h] => {"),
            "{text}"
        );
        assert_eq!(lines[2..4], ["    \"a\": 1", "}"]);
        assert!(
            lines[4].ends_with(" n=ansible WARNING| [WARNING]: careful"),
            "{text}"
        );
        assert_eq!(lines[5], "second line");
        // `2026-12-05 05:54:03,094 `: the date, the time and milliseconds.
        assert_eq!(lines[0].as_bytes()[10], b' ');
        assert_eq!(lines[0].as_bytes()[19], b',');
        let dir_error = LogFile::open(dir.path(), 0).err().unwrap_or_default();
        assert!(dir_error.contains("can not be a directory"), "{dir_error}");
    }
}
