//! Running an extraction where a misbehaving parser cannot hurt the caller: in a child
//! process with memory and CPU limits, an empty environment, the file's bytes on stdin
//! and a syscall filter ([`crate::sandbox`]), or at least on a blocking thread with a
//! timeout.

use std::io::{BufRead, Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::sandbox::{ProbeReport, SandboxProbe, try_escape};
use crate::{ExtractError, Extracted, Limits, extract_bytes, extract_file, panic_message};

/// One extraction: the file at `path`, which the parent reads and sends to the worker.
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

/// The first line a worker reads on stdin (JSON); for an extraction, the file's bytes
/// follow it (at most the input limit and one byte more; `size` says how long it is).
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "snake_case")]
enum WorkerJob {
    Extract {
        name: String,
        declared_media_type: String,
        size: u64,
        limits: Limits,
    },
    Probe(SandboxProbe),
}

/// The single JSON line a worker prints: `{"ok": Extracted}`, `{"probe": ProbeReport}`
/// or `{"err": "message"}`.
/// `error` carries the structured error so the parent can rebuild the same variant.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Reply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<Extracted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<WireError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probe: Option<ProbeReport>,
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

/// Longest first line accepted on stdin; a job is a name and a few numbers.
const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// Worker entry point: confines the process ([`crate::sandbox::confine`]), reads one
/// [`WorkerJob`] line from stdin (and, for an extraction, the file's bytes after it),
/// writes one JSON line (`{"ok": ...}`, `{"probe": ...}` or `{"err": "..."}`) to stdout
/// and returns the process's exit code (0 on success, 1 when extraction failed, 2 for a
/// bad request, an I/O failure or no confinement).
///
/// Call it before starting any async runtime or logging to stdout. While it runs, file
/// descriptor 1 points at stderr so that stray prints from parsers cannot corrupt the reply.
pub fn child_main() -> ExitCode {
    let Some(mut reply_out) = take_stdout() else {
        return ExitCode::from(2);
    };
    // Before reading a byte of the file: a worker that cannot be confined extracts nothing.
    let (reply, code) = match crate::sandbox::confine() {
        Ok(()) => serve(&mut std::io::stdin().lock()),
        Err(e) => (
            Reply::failure(format!("the extraction sandbox could not be set up: {e}")),
            2,
        ),
    };
    let written = serde_json::to_writer(&mut reply_out, &reply)
        .map_err(std::io::Error::from)
        .and_then(|()| reply_out.write_all(b"\n"))
        .and_then(|()| reply_out.flush());
    ExitCode::from(match written {
        Ok(()) => code,
        Err(_) => 2,
    })
}

/// Handles one job read from `input`: the reply and the exit code.
fn serve(input: &mut impl BufRead) -> (Reply, u8) {
    let mut line = Vec::new();
    if let Err(e) = input
        .by_ref()
        .take(MAX_REQUEST_BYTES)
        .read_until(b'\n', &mut line)
    {
        return (
            Reply::failure(format!("could not read the extraction request: {e}")),
            2,
        );
    }
    let (name, declared_media_type, size, limits) = match serde_json::from_slice::<WorkerJob>(&line)
    {
        Ok(WorkerJob::Extract {
            name,
            declared_media_type,
            size,
            limits,
        }) => (name, declared_media_type, size, limits),
        Ok(WorkerJob::Probe(probe)) => {
            let reply = Reply {
                probe: Some(try_escape(&probe)),
                ..Reply::default()
            };
            return (reply, 0);
        }
        Err(e) => {
            return (
                Reply::failure(format!("invalid extraction request: {e}")),
                2,
            );
        }
    };
    let wanted = size.min(limits.max_input_bytes.saturating_add(1));
    let mut data = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
    if let Err(e) = input.by_ref().take(wanted).read_to_end(&mut data) {
        return (
            Reply::failure(format!("could not read the file to extract: {e}")),
            2,
        );
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        extract_bytes(&data, size, &name, &declared_media_type, &limits)
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
/// and `RLIMIT_CPU` applied, an empty environment and the file's bytes on stdin, killing
/// it after `iso.timeout`.
pub async fn extract_isolated(
    iso: &Isolation,
    req: &ExtractRequest,
) -> Result<Extracted, ExtractError> {
    let file = tokio::fs::File::open(&req.path).await?;
    let meta = file.metadata().await?;
    if !meta.is_file() {
        // Devices and FIFOs could be read forever.
        return Err(ExtractError::Malformed("not a regular file".to_string()));
    }
    let job = WorkerJob::Extract {
        name: req.name.clone(),
        declared_media_type: req.declared_media_type.clone(),
        size: meta.len(),
        limits: req.limits,
    };
    let body = file.take(req.limits.max_input_bytes.saturating_add(1));
    let reply = run_worker(iso, &job, Some(body), reply_limit(&req.limits)).await?;
    match (reply.ok, reply.error, reply.err) {
        (Some(extracted), _, _) => Ok(extracted),
        (None, Some(error), _) => Err(error.into()),
        (None, None, Some(message)) => Err(ExtractError::Malformed(message)),
        (None, None, None) => Err(ExtractError::Crashed(
            "the extraction process returned an empty reply".to_string(),
        )),
    }
}

/// Starts a worker as [`extract_isolated`] does and reports what it could do of what
/// `probe` asks: a check that the confinement is in force.
pub async fn probe_isolated(
    iso: &Isolation,
    probe: &SandboxProbe,
) -> Result<ProbeReport, ExtractError> {
    let job = WorkerJob::Probe(probe.clone());
    let reply = run_worker(iso, &job, None::<tokio::io::Empty>, MAX_REQUEST_BYTES).await?;
    match (reply.probe, reply.err) {
        (Some(report), _) => Ok(report),
        (None, Some(message)) => Err(ExtractError::Crashed(message)),
        (None, None) => Err(ExtractError::Crashed(
            "the extraction process returned no probe report".to_string(),
        )),
    }
}

/// Runs one job in a worker: the job line and `body` on its stdin, its reply read from
/// stdout (at most `output_limit` bytes).
async fn run_worker<B: AsyncRead + Unpin>(
    iso: &Isolation,
    job: &WorkerJob,
    body: Option<B>,
    output_limit: u64,
) -> Result<Reply, ExtractError> {
    let mut request = serde_json::to_vec(job)
        .map_err(|e| ExtractError::Crashed(format!("could not encode the request: {e}")))?;
    request.push(b'\n');
    let mut command = Command::new(&iso.program);
    command
        .args(&iso.args)
        // Nothing of the parent's environment (storage and LLM credentials) goes along.
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Spawned without a pre-exec hook, so the standard library starts it
    // with posix_spawn (vfork) rather than fork: forking copies this whole
    // process's page tables (the embedding model and caches), once per file.
    let mut child = command.spawn().map_err(|e| {
        ExtractError::Crashed(format!(
            "could not start the extraction process {}: {e}",
            iso.program.display()
        ))
    })?;
    // The limits are put on the child from here. Until the job is written
    // to its stdin it only starts up and waits for it: nothing it reads
    // from the file runs before they hold.
    if let Err(e) = limit_child(child.id(), iso.memory_limit_bytes, iso.cpu_seconds) {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return Err(ExtractError::Crashed(format!(
            "could not limit the extraction process: {e}"
        )));
    }
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let run = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // The child may exit without reading; a broken pipe is not our failure.
                if stdin.write_all(&request).await.is_ok()
                    && let Some(mut body) = body
                {
                    let _ = tokio::io::copy(&mut body, &mut stdin).await;
                }
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
        return Ok(reply);
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

/// Address-space and CPU limits on a running child (0: none).
fn limit_child(pid: Option<u32>, memory: u64, cpu: u64) -> std::io::Result<()> {
    let Some(pid) = pid else {
        // Already reaped: it exited before it could be limited, and so
        // before it read anything.
        return Ok(());
    };
    let set = |resource, limit: libc::rlimit| {
        // SAFETY: prlimit reads `limit` and writes nothing (null old limit).
        let rc =
            unsafe { libc::prlimit(pid as libc::pid_t, resource, &limit, std::ptr::null_mut()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    if memory > 0 {
        set(libc::RLIMIT_AS, rlimit(memory, memory))?;
    }
    if cpu > 0 {
        // The soft limit sends SIGXCPU, the hard one SIGKILL a second later.
        set(libc::RLIMIT_CPU, rlimit(cpu, cpu.saturating_add(1)))?;
    }
    Ok(())
}

pub(crate) fn rlimit(soft: u64, hard: u64) -> libc::rlimit {
    libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    }
}

pub(crate) async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(
    reader: Option<R>,
    limit: u64,
) -> Vec<u8> {
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

    /// The bytes a parent sends for `job` and `content`.
    fn stdin(job: &WorkerJob, content: &[u8]) -> Vec<u8> {
        let mut raw = serde_json::to_vec(job).expect("encode");
        raw.push(b'\n');
        raw.extend_from_slice(content);
        raw
    }

    fn job(name: &str, size: u64, limits: Limits) -> WorkerJob {
        WorkerJob::Extract {
            name: name.into(),
            declared_media_type: String::new(),
            size,
            limits,
        }
    }

    #[test]
    fn worker_serves_requests() {
        let content = b"# Title\nbody";
        let raw = stdin(
            &job("notes.md", content.len() as u64, Limits::default()),
            content,
        );
        let (reply, code) = serve(&mut raw.as_slice());
        assert_eq!(code, 0);
        let extracted = round_trip(&reply).ok.expect("ok reply");
        assert_eq!(extracted.text, "Title\nbody");

        let tiny = Limits {
            max_input_bytes: 1,
            ..Limits::default()
        };
        let pdf = b"%PDF-1.4 and more";
        let raw = stdin(&job("x.pdf", pdf.len() as u64, tiny), pdf);
        let (reply, code) = serve(&mut raw.as_slice());
        assert_eq!(code, 1);
        let reply = round_trip(&reply);
        assert!(reply.err.is_some_and(|m| m.contains("too large")));
        let error = ExtractError::from(reply.error.expect("structured error"));
        assert!(
            matches!(error, ExtractError::TooLarge { limit: 1, .. }),
            "{error}"
        );

        let (reply, code) = serve(&mut b"{not json\n".as_slice());
        assert_eq!(code, 2);
        assert!(
            reply
                .err
                .is_some_and(|m| m.starts_with("invalid extraction request"))
        );
    }

    #[test]
    fn text_longer_than_the_limit_is_cut_from_the_bytes_sent() {
        // The parent sends the limit and one byte more; the size says the rest.
        let limits = Limits {
            max_input_bytes: 8,
            ..Limits::default()
        };
        let raw = stdin(&job("long.txt", 1_000_000, limits), b"abcdefghi");
        let (reply, code) = serve(&mut raw.as_slice());
        assert_eq!(code, 0);
        let extracted = round_trip(&reply).ok.expect("ok reply");
        assert_eq!(extracted.text, "abcdefgh");
        assert!(extracted.truncated);
    }
}
