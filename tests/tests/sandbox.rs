//! The extraction worker is confined, both as `graphfs-extract-worker` (what
//! a tagger runs when it is installed beside `graphfs`) and as `graphfs
//! extract-worker`: started as the tagger starts it, it has no environment,
//! can read no file (the parent's secrets, `/proc`), open no socket and
//! start no program, and it still extracts the file it is sent.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use graphfs_extract::{
    ExtractRequest, Isolation, Limits, SandboxProbe, extract_isolated, probe_isolated,
};

fn workers() -> [Isolation; 2] {
    let graphfs = graphfs_e2e::graphfs_bin();
    let isolation = |program, args: &[&str]| Isolation {
        program,
        args: args.iter().map(|a| a.to_string()).collect(),
        timeout: Duration::from_secs(30),
        memory_limit_bytes: 1 << 30,
        cpu_seconds: 20,
    };
    [
        isolation(graphfs.with_file_name("graphfs-extract-worker"), &[]),
        isolation(graphfs, &["extract-worker"]),
    ]
}

#[tokio::test]
async fn the_extraction_worker_reads_no_secret_opens_no_socket_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("credentials");
    std::fs::write(&secret, "GRAPHFS_S3_SECRET_ACCESS_KEY=not-for-parsers").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let probe = SandboxProbe {
        read: vec![
            secret.clone(),
            "/proc/self/environ".into(),
            format!("/proc/{}/environ", std::process::id()).into(),
            "/etc/passwd".into(),
        ],
        connect: Some(listener.local_addr().unwrap().to_string()),
        run: Some("/bin/true".into()),
    };

    // Control: everything the probe tries works from this unconfined process,
    // so a worker that can do none of it is confined, not merely unlucky.
    for path in &probe.read[..2] {
        let mut buf = Vec::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap();
        assert!(!buf.is_empty(), "{}", path.display());
    }
    let control = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    drop(control);
    let (accepted, _) = loop {
        match listener.accept() {
            Ok(conn) => break conn,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    drop(accepted);
    assert!(
        std::process::Command::new("/bin/true")
            .status()
            .unwrap()
            .success()
    );
    assert!(std::env::vars_os().count() > 0);

    // Confined, it still does its one job: the file it is sent.
    let upload = dir.path().join("upload.tmp");
    std::fs::write(
        &upload,
        graphfs_extract::fixtures::pdf("Confined parsers still read documents."),
    )
    .unwrap();
    for worker in &workers() {
        let report = probe_isolated(worker, &probe).await.unwrap();
        assert!(report.environment.is_empty(), "{:?}", report.environment);
        assert!(report.read.is_empty(), "read {:?}", report.read);
        assert!(!report.connected, "connected");
        assert!(!report.ran, "started a program");
        assert!(
            listener.accept().is_err(),
            "the worker's connection reached the listener"
        );

        let extracted = extract_isolated(
            worker,
            &ExtractRequest {
                path: upload.clone(),
                name: "letter.pdf".into(),
                declared_media_type: String::new(),
                limits: Limits::default(),
            },
        )
        .await
        .unwrap();
        assert!(
            extracted
                .text
                .contains("Confined parsers still read documents."),
            "{}",
            extracted.text
        );
    }
}

/// The worker is held to its address-space limit: under one below what the
/// program maps at start, reading a 4 MB file fails, and the same file
/// extracts under the usual limit. (The limits are put on the running
/// worker before it is sent the file.)
#[tokio::test]
async fn the_extraction_worker_is_held_to_its_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("upload");
    std::fs::write(&upload, "glacier ".repeat(500_000)).unwrap();
    let request = ExtractRequest {
        path: upload,
        name: "notes.txt".into(),
        declared_media_type: String::new(),
        limits: Limits::default(),
    };
    for worker in &workers() {
        let extracted = extract_isolated(worker, &request).await.unwrap();
        assert!(extracted.text.starts_with("glacier glacier"));
        let starved = Isolation {
            memory_limit_bytes: 16 << 20,
            ..worker.clone()
        };
        let err = extract_isolated(&starved, &request)
            .await
            .expect_err("16 MiB of address space is too little to read the file");
        assert!(
            matches!(err, graphfs_extract::ExtractError::Crashed(_)),
            "{err}"
        );
    }
}
