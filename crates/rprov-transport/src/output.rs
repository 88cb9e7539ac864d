//! What a finished command produced.

/// Exit status and captured output of a command that ran.
///
/// A non-zero `status` is a normal result here, not an error: deciding whether it
/// means failure is the caller's business (e.g. `test -e` uses 1 for "no").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status; `128 + N` when the command was killed by signal N, as sh reports it.
    pub status: i32,
    /// Everything the command wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// stdout as text (lossy), for messages and simple parsers.
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy), for messages.
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Exit code of a process, mapping death by signal N to `128 + N` like sh does.
pub(crate) fn status_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Feeds `input` to a child's stdin (then closes it) while reading its stdout and
/// stderr to the end, all concurrently: a child that fills one pipe while we are
/// blocked on another would otherwise deadlock on large data.
///
/// A child that exits without reading all its input is not an error (`BrokenPipe`
/// is ignored); the exit status tells the story.
pub(crate) async fn pump<W, O, E>(
    stdin: Option<W>,
    input: Option<&[u8]>,
    stdout: Option<O>,
    stderr: Option<E>,
) -> std::io::Result<(Vec<u8>, Vec<u8>)>
where
    W: tokio::io::AsyncWrite + Unpin,
    O: tokio::io::AsyncRead + Unpin,
    E: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let write = async move {
        if let (Some(mut w), Some(data)) = (stdin, input) {
            let res = async {
                w.write_all(data).await?;
                w.shutdown().await
            }
            .await;
            match res {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                _ => {}
            }
            // Dropping the handle closes the pipe: the remote side sees EOF.
            drop(w);
        }
        Ok(())
    };
    let read_out = async move {
        let mut buf = Vec::new();
        if let Some(mut r) = stdout {
            r.read_to_end(&mut buf).await?;
        }
        Ok::<_, std::io::Error>(buf)
    };
    let read_err = async move {
        let mut buf = Vec::new();
        if let Some(mut r) = stderr {
            r.read_to_end(&mut buf).await?;
        }
        Ok::<_, std::io::Error>(buf)
    };
    let (w, out, err) = tokio::join!(write, read_out, read_err);
    w?;
    Ok((out?, err?))
}
