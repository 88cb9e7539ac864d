//! Killing a process together with everything it started.
//!
//! sshd forks one process per connection and those call `setsid`, so killing the
//! listener's process group is not enough: a test that left a ControlMaster open
//! would leave session processes behind. We walk `/proc` for descendants instead.

use std::collections::HashSet;

/// `(pid, ppid)` of every process, read from `/proc/*/stat`.
fn all_parents() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may contain spaces: skip past it.
            let rest = &stat[stat.rfind(')')? + 1..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Pids of `root` and all its descendants.
pub(crate) fn tree(root: i32) -> Vec<i32> {
    let procs = all_parents();
    let mut found: HashSet<i32> = HashSet::from([root]);
    let mut order = vec![root];
    let mut i = 0;
    while i < order.len() {
        let parent = order[i];
        for &(pid, ppid) in &procs {
            if ppid == parent && found.insert(pid) {
                order.push(pid);
            }
        }
        i += 1;
    }
    order
}

/// Sends SIGKILL to `root` and its descendants.
pub(crate) fn kill_tree(root: i32) {
    for pid in tree(root) {
        // SAFETY: kill has no memory-safety preconditions; errors (already gone) are fine.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Sends SIGKILL to the given pids and their descendants.
pub(crate) fn kill_all(pids: impl IntoIterator<Item = i32>) {
    for pid in pids {
        kill_tree(pid);
    }
}

/// Whether a process with this pid exists.
pub(crate) fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
