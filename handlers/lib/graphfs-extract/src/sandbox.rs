//! The extraction worker's confinement. The parent starts it with an empty
//! environment and sends it, on stdin, the one file it must read; the worker
//! installs a syscall filter before it reads anything, so a parser taken
//! over by a hostile file can open no file (the parent's secrets, `/proc`),
//! no socket, and start no program. What the filter refuses fails with
//! `EPERM`, which parsers already handle as an I/O error.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use serde::{Deserialize, Serialize};

/// Why the worker could not be confined (it then refuses to extract).
#[derive(thiserror::Error, Debug)]
pub enum SandboxError {
    #[error("this architecture has no syscall filter: {0}")]
    Arch(String),
    #[error("the syscall filter could not be built: {0}")]
    Build(String),
    #[error("the kernel refused the syscall filter: {0}")]
    Install(String),
}

/// Syscalls the worker may not make: opening or changing files, networking,
/// starting programs, reaching other processes, and the kernel interfaces
/// that would get around the rest (io_uring, bpf, namespaces).
fn refused_syscalls() -> Vec<libc::c_long> {
    let mut calls = vec![
        // Files: every way to open one or change the tree.
        libc::SYS_openat,
        libc::SYS_openat2,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_unlinkat,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_mkdirat,
        libc::SYS_linkat,
        libc::SYS_symlinkat,
        libc::SYS_fchmodat,
        libc::SYS_fchownat,
        libc::SYS_mknodat,
        libc::SYS_truncate,
        // Networks, local or not.
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        // Programs and other processes.
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kill,
        // Ways around the filter or out of the process's view.
        libc::SYS_io_uring_setup,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
    ];
    // The older calls x86_64 still has beside their `*at` forms.
    #[cfg(target_arch = "x86_64")]
    calls.extend([
        libc::SYS_open,
        libc::SYS_creat,
        libc::SYS_unlink,
        libc::SYS_rename,
        libc::SYS_mkdir,
        libc::SYS_rmdir,
        libc::SYS_link,
        libc::SYS_symlink,
        libc::SYS_chmod,
        libc::SYS_chown,
        libc::SYS_lchown,
        libc::SYS_mknod,
        libc::SYS_fork,
        libc::SYS_vfork,
    ]);
    calls
}

/// Confines the calling process for good: no new privileges, and the
/// syscalls of [`refused_syscalls`] fail with `EPERM` from now on, in this
/// thread and any it starts.
pub fn confine() -> Result<(), SandboxError> {
    let rules = refused_syscalls()
        .into_iter()
        .map(|call| (call, Vec::new()))
        .collect();
    let program = compile(rules)?;
    seccompiler::apply_filter_all_threads(&program)
        .map_err(|e| SandboxError::Install(e.to_string()))
}

/// A filter that lets everything through but what `rules` match, which
/// fails with `EPERM`.
fn compile(
    rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>>,
) -> Result<BpfProgram, SandboxError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| SandboxError::Arch(e.to_string()))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| SandboxError::Build(e.to_string()))?;
    BpfProgram::try_from(filter).map_err(|e| SandboxError::Build(e.to_string()))
}

/// The filter a helper program (the OCR engine, the PDF rasterizer) runs
/// under: built before the fork, installed between fork and exec. It may
/// read files (its own data, the input) and must be allowed the one exec
/// that starts it; it may not open a file for writing, change the tree,
/// open a socket, or reach other processes.
pub fn tool_filter() -> Result<BpfProgram, SandboxError> {
    use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
    let build = |e: seccompiler::BackendError| SandboxError::Build(e.to_string());
    let exec_or_open: &[libc::c_long] = &[
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_openat,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_open,
    ];
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = refused_syscalls()
        .into_iter()
        .filter(|call| !exec_or_open.contains(call))
        .map(|call| (call, Vec::new()))
        .collect();
    // Opening for writing or creating is refused whatever the path: the
    // flags are the third argument of openat, the second of open (openat2
    // passes them in a struct the filter cannot read, so it stays refused).
    let write_flags = |arg: u8| -> Result<Vec<SeccompRule>, SandboxError> {
        [libc::O_WRONLY, libc::O_RDWR, libc::O_CREAT]
            .into_iter()
            .map(|flag| {
                let flag = flag as u64;
                SeccompCondition::new(
                    arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(flag),
                    flag,
                )
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(build)
            })
            .collect()
    };
    rules.insert(libc::SYS_openat, write_flags(2)?);
    #[cfg(target_arch = "x86_64")]
    rules.insert(libc::SYS_open, write_flags(1)?);
    compile(rules)
}

/// What to try from inside a confined worker: [`crate::probe_isolated`]
/// reports which of these it could do. Used by the tests and by the tagger's
/// start-up check that the confinement is in force.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct SandboxProbe {
    /// Files to try to read.
    pub read: Vec<PathBuf>,
    /// A TCP address to try to connect to.
    pub connect: Option<String>,
    /// A program to try to start.
    pub run: Option<PathBuf>,
}

/// What a confined worker could do.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ProbeReport {
    /// The names of the environment variables it was given.
    pub environment: Vec<String>,
    /// The files of the probe it could read.
    pub read: Vec<PathBuf>,
    /// Whether it could connect.
    pub connected: bool,
    /// Whether it could start the program.
    pub ran: bool,
}

/// Tries what `probe` asks, from the (confined) calling process.
pub(crate) fn try_escape(probe: &SandboxProbe) -> ProbeReport {
    let read = probe
        .read
        .iter()
        .filter(|path| {
            std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut [0u8; 16]))
                .is_ok()
        })
        .cloned()
        .collect();
    let connected = probe.connect.as_deref().is_some_and(|addr| {
        addr.parse()
            .is_ok_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
    });
    let ran = probe.run.as_ref().is_some_and(|program| {
        std::process::Command::new(program)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    });
    ProbeReport {
        environment: std::env::vars_os()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect(),
        read,
        connected,
        ran,
    }
}
