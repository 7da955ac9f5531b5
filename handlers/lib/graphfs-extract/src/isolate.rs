//! Running an extraction where a misbehaving parser cannot hurt the caller: in a child
//! process with memory and CPU limits, or at least on a blocking thread with a timeout.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{ExtractError, Extracted, Limits, extract_file, panic_message};

/// One extraction job, as sent to the worker process.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ExtractRequest {
    pub path: PathBuf,
    pub name: String,
    pub declared_media_type: String,
    #[serde(default)]
    pub limits: Limits,
}

/// How to start and confine the worker process.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The worker executable, normally the current binary (`std::env::current_exe()`).
    pub program: PathBuf,
    /// Arguments selecting worker mode, e.g. `["extract-worker"]`.
    pub args: Vec<String>,
    /// Wall-clock limit; the worker is killed when it is exceeded.
    pub timeout: Duration,
    /// Address-space limit (`RLIMIT_AS`) in bytes; 0 for none.
    pub memory_limit_bytes: u64,
    /// CPU-time limit (`RLIMIT_CPU`) in seconds; 0 for none.
    pub cpu_seconds: u64,
}

/// The single JSON line a worker prints: `{"ok": Extracted}` or `{"err": "message"}`.
/// `error` carries the structured error so the parent can rebuild the same variant.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<Extracted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
}

impl Reply {
    fn failure(message: String) -> Self {
        Reply {
            err: Some(message),
            ..Reply::default()
        }
    }
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum WireError {
    TooLarge { size: u64, limit: u64 },
    ZipBomb { member: String, detail: String },
    Malformed(String),
    Io(String),
    Timeout,
    Crashed(String),
}

impl From<&ExtractError> for WireError {
    fn from(e: &ExtractError) -> Self {
        match e {
            ExtractError::TooLarge { size, limit } => WireError::TooLarge {
                size: *size,
                limit: *limit,
            },
            ExtractError::ZipBomb { member, detail } => WireError::ZipBomb {
                member: member.clone(),
                detail: detail.clone(),
            },
            ExtractError::Malformed(m) => WireError::Malformed(m.clone()),
            ExtractError::Io(e) => WireError::Io(e.to_string()),
            ExtractError::Timeout => WireError::Timeout,
            ExtractError::Crashed(m) => WireError::Crashed(m.clone()),
        }
    }
}

impl From<WireError> for ExtractError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::TooLarge { size, limit } => ExtractError::TooLarge { size, limit },
            WireError::ZipBomb { member, detail } => ExtractError::ZipBomb { member, detail },
            WireError::Malformed(m) => ExtractError::Malformed(m),
            WireError::Io(m) => ExtractError::Io(std::io::Error::other(m)),
            WireError::Timeout => ExtractError::Timeout,
            WireError::Crashed(m) => ExtractError::Crashed(m),
        }
    }
}

/// Largest request accepted on stdin; a request is a path, a name and a few numbers.
const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// Worker entry point: reads one JSON [`ExtractRequest`] from stdin, writes one JSON line
/// (`{"ok": ...}` or `{"err": "..."}`) to stdout and returns the process exit code (0 on
/// success, 1 when extraction failed, 2 for a bad request or I/O failure).
///
/// Call it before starting any async runtime or logging to stdout. While it runs, file
/// descriptor 1 points at stderr so that stray prints from parsers cannot corrupt the reply.
pub fn child_main() -> i32 {
    let Some(mut reply_out) = take_stdout() else {
        return 2;
    };
    let mut raw = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_REQUEST_BYTES)
        .read_to_end(&mut raw);
    let (reply, code) = match read {
        Ok(_) => serve(&raw),
        Err(e) => (
            Reply::failure(format!("could not read the extraction request: {e}")),
            2,
        ),
    };
    let written = serde_json::to_writer(&mut reply_out, &reply)
        .map_err(std::io::Error::from)
        .and_then(|()| reply_out.write_all(b"\n"))
        .and_then(|()| reply_out.flush());
    match written {
        Ok(()) => code,
        Err(_) => 2,
    }
}

/// Handles one raw request: the reply and the exit code.
fn serve(raw: &[u8]) -> (Reply, i32) {
    let req = match serde_json::from_slice::<ExtractRequest>(raw) {
        Ok(req) => req,
        Err(e) => {
            return (
                Reply::failure(format!("invalid extraction request: {e}")),
                2,
            );
        }
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        extract_file(&req.path, &req.name, &req.declared_media_type, &req.limits)
    }))
    .unwrap_or_else(|panic| {
        Err(ExtractError::Crashed(format!(
            "extraction panicked: {}",
            panic_message(panic.as_ref())
        )))
    });
    match result {
        Ok(extracted) => (
            Reply {
                ok: Some(extracted),
                ..Reply::default()
            },
            0,
        ),
        Err(e) => (
            Reply {
                err: Some(e.to_string()),
                error: Some(WireError::from(&e)),
                ..Reply::default()
            },
            1,
        ),
    }
}

/// Duplicates stdout for the reply and points descriptor 1 at stderr.
fn take_stdout() -> Option<std::fs::File> {
    // Flush anything already buffered for the real stdout first.
    std::io::stdout().flush().ok()?;
    // SAFETY: dup and dup2 only manipulate this process's descriptor table. The
    // duplicate is a fresh descriptor owned by nothing else, so handing it to File (which
    // closes it on drop) is sound; descriptor 1 stays open, now aliasing stderr.
    unsafe {
        let reply = libc::dup(1);
        if reply < 0 {
            return None;
        }
        if libc::dup2(2, 1) < 0 {
            libc::close(reply);
            return None;
        }
        Some(std::fs::File::from_raw_fd(reply))
    }
}

/// Room for the reply: text escaped as JSON can grow up to six-fold, plus metadata.
fn reply_limit(limits: &Limits) -> u64 {
    (limits.max_text_bytes as u64)
        .saturating_mul(6)
        .saturating_add(4 * 1024 * 1024)
}

const MAX_STDERR_BYTES: u64 = 16 * 1024;

/// Runs the extraction in a child process started as `iso` describes, with `RLIMIT_AS`
/// and `RLIMIT_CPU` applied, killing it after `iso.timeout`.
pub async fn extract_isolated(
    iso: &Isolation,
    req: &ExtractRequest,
) -> Result<Extracted, ExtractError> {
    let request = serde_json::to_vec(req)
        .map_err(|e| ExtractError::Crashed(format!("could not encode the request: {e}")))?;
    let mut command = Command::new(&iso.program);
    command
        .args(&iso.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let (memory, cpu) = (iso.memory_limit_bytes, iso.cpu_seconds);
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe functions may be called. It calls nothing but setrlimit (which is
    // async-signal-safe) on stack values, allocates nothing (last_os_error only reads
    // errno), takes no locks and only reads two u64s copied into it.
    unsafe {
        command.pre_exec(move || {
            if memory > 0 && libc::setrlimit(libc::RLIMIT_AS, &rlimit(memory, memory)) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The soft limit sends SIGXCPU, the hard one SIGKILL a second later.
            let cpu_limit = rlimit(cpu, cpu.saturating_add(1));
            if cpu > 0 && libc::setrlimit(libc::RLIMIT_CPU, &cpu_limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        ExtractError::Crashed(format!(
            "could not start the extraction process {}: {e}",
            iso.program.display()
        ))
    })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let output_limit = reply_limit(&req.limits);

    let run = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // The child may exit without reading; a broken pipe is not our failure.
                let _ = stdin.write_all(&request).await;
                let _ = stdin.shutdown().await;
            }
        };
        let collect_stdout = read_bounded(stdout, output_limit);
        let collect_stderr = read_bounded(stderr, MAX_STDERR_BYTES);
        let ((), out, err) = tokio::join!(feed, collect_stdout, collect_stderr);
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = match tokio::time::timeout(iso.timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            // Killed and reaped here rather than left to kill_on_drop, so no zombie lingers.
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(ExtractError::Timeout);
        }
    };
    let status = status
        .map_err(|e| ExtractError::Crashed(format!("lost track of the extraction process: {e}")))?;
    if let Some(reply) = parse_reply(&out) {
        return match (reply.ok, reply.error, reply.err) {
            (Some(extracted), _, _) => Ok(extracted),
            (None, Some(error), _) => Err(error.into()),
            (None, None, Some(message)) => Err(ExtractError::Malformed(message)),
            (None, None, None) => Err(ExtractError::Crashed(
                "the extraction process returned an empty reply".to_string(),
            )),
        };
    }
    let stderr_tail = String::from_utf8_lossy(&err);
    let stderr_tail = stderr_tail.trim();
    if !stderr_tail.is_empty() {
        tracing::warn!(stderr = %stderr_tail, "extraction process failed");
    }
    if let Some(signal) = status.signal() {
        return Err(ExtractError::Crashed(format!(
            "extraction process died: signal {signal} (memory or CPU limit?)"
        )));
    }
    Err(ExtractError::Crashed(match status.code() {
        Some(0) | None => "the extraction process returned no result".to_string(),
        Some(code) => format!("extraction process exited with status {code}"),
    }))
}

fn rlimit(soft: u64, hard: u64) -> libc::rlimit {
    libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    }
}

async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(reader: Option<R>, limit: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(reader) = reader {
        // A read error just means less output; the exit status tells what happened.
        let _ = reader.take(limit).read_to_end(&mut buf).await;
    }
    buf
}

/// The last non-empty line of the worker's stdout, if it is a reply.
fn parse_reply(out: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(out);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    serde_json::from_str(line).ok()
}

/// Runs [`extract_file`] on a blocking thread with a timeout, turning panics into errors.
///
/// There is no way to stop a thread: after a timeout the extraction keeps running in the
/// background until it finishes on its own. Use [`extract_isolated`] for untrusted input
/// where that matters.
pub async fn extract_in_process(
    req: &ExtractRequest,
    timeout: Duration,
) -> Result<Extracted, ExtractError> {
    let req = req.clone();
    let task = tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(|| {
            extract_file(&req.path, &req.name, &req.declared_media_type, &req.limits)
        }))
    });
    match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(ExtractError::Timeout),
        Ok(Err(join)) => Err(ExtractError::Crashed(format!(
            "extraction task failed: {join}"
        ))),
        Ok(Ok(Err(panic))) => Err(ExtractError::Crashed(format!(
            "extraction panicked: {}",
            panic_message(panic.as_ref())
        ))),
        Ok(Ok(Ok(result))) => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(reply: &Reply) -> Reply {
        let mut line = serde_json::to_vec(reply).expect("encode");
        // Stray output before the reply line is tolerated.
        line.splice(0..0, b"noise\n".iter().copied());
        parse_reply(&line).expect("reply parses")
    }

    #[test]
    fn worker_serves_requests() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let path = dir.path().join("upload");
        std::fs::write(&path, "# Title\nbody").expect("write");
        let req = ExtractRequest {
            path: path.clone(),
            name: "notes.md".into(),
            declared_media_type: String::new(),
            limits: Limits::default(),
        };
        let (reply, code) = serve(&serde_json::to_vec(&req).expect("encode"));
        assert_eq!(code, 0);
        let extracted = round_trip(&reply).ok.expect("ok reply");
        assert_eq!(extracted.text, "Title\nbody");

        let zero_limit = ExtractRequest {
            limits: Limits {
                max_input_bytes: 1,
                ..Limits::default()
            },
            name: "x.pdf".into(),
            ..req
        };
        std::fs::write(&path, "%PDF-1.4 and more").expect("write");
        let (reply, code) = serve(&serde_json::to_vec(&zero_limit).expect("encode"));
        assert_eq!(code, 1);
        let reply = round_trip(&reply);
        assert!(reply.err.is_some_and(|m| m.contains("too large")));
        let error = ExtractError::from(reply.error.expect("structured error"));
        assert!(
            matches!(error, ExtractError::TooLarge { limit: 1, .. }),
            "{error}"
        );

        let (reply, code) = serve(b"{not json");
        assert_eq!(code, 2);
        assert!(
            reply
                .err
                .is_some_and(|m| m.starts_with("invalid extraction request"))
        );
    }
}
