//! Real backing servers for tests: MinIO (S3) and Neo4j, installed and
//! started by the scripts under tests/minio and tests/neo4j, each in its own
//! temp folder on 127.0.0.1, stopped when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Folder of the test scripts (this crate's folder).
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct ExternalServer {
    kind: &'static str,
    /// The server's folder: its env, pid and data.
    dir: PathBuf,
    /// The temp folder this process made for the server; none for a server
    /// started for it ([`ExternalServer::attach`]), which it must not stop,
    /// freeze or restart: the binaries after this one use it too.
    owned: Option<tempfile::TempDir>,
    pub env: HashMap<String, String>,
    /// Environment the start script gets (also on resume).
    start_env: Vec<(String, String)>,
}

fn run(script: &Path, arg: Option<&Path>) -> Result<()> {
    run_with_env(script, arg, &[])
}

fn run_with_env(script: &Path, arg: Option<&Path>, envs: &[(String, String)]) -> Result<()> {
    let mut cmd = Command::new(script);
    cmd.envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(a) = arg {
        cmd.arg(a);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn read_env(path: &Path) -> Result<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export ").or(Some(l.trim())))
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches(|c| c == '"' || c == '\'').to_string(),
            )
        })
        .collect())
}

impl ExternalServer {
    /// Installs (cached after the first time) and starts `minio` or `neo4j`.
    pub fn start(kind: &'static str) -> Result<Self> {
        Self::start_with_env(kind, &[])
    }

    /// As `start`, with extra environment for the start script (for MinIO:
    /// GRAPHFS_MINIO_WEBHOOK_URL and GRAPHFS_MINIO_WEBHOOK_TOKEN).
    pub fn start_with_env(kind: &'static str, envs: &[(&str, &str)]) -> Result<Self> {
        let start_env: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let base = scripts_dir().join(kind);
        run(&base.join("install.sh"), None)?;
        let dir = tempfile::tempdir()?;
        run_with_env(&base.join("start.sh"), Some(dir.path()), &start_env)?;
        let env = read_env(&dir.path().join("env"))?;
        Ok(ExternalServer {
            kind,
            dir: dir.path().to_path_buf(),
            owned: Some(dir),
            env,
            start_env,
        })
    }

    /// A `kind` server that was started for this process in `dir` (by
    /// `tests/lib/with-real-backends.sh`), read from its env file. Whoever
    /// started it stops it.
    pub fn attach(kind: &'static str, dir: &Path) -> Result<Self> {
        Ok(ExternalServer {
            kind,
            dir: dir.to_path_buf(),
            owned: None,
            env: read_env(&dir.join("env"))?,
            start_env: Vec::new(),
        })
    }

    /// Starts a server that lives as long as this test process: a watchdog
    /// stops it and removes its folder once the process is gone.
    pub fn start_for_process(kind: &'static str) -> Result<Self> {
        let server = Self::start(kind)?;
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {}/{kind}/stop.sh {} >/dev/null 2>&1; rm -rf {}",
            std::process::id(),
            scripts_dir().display(),
            server.dir.display(),
            server.dir.display()
        );
        // Outlives this process on purpose: it is what stops the server.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        Ok(server)
    }

    /// An aws-sdk-s3 client straight to this MinIO (path-style addressing).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version_latest()
                .endpoint_url(self.get("GRAPHFS_S3_ENDPOINT"))
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    self.get("GRAPHFS_S3_ACCESS_KEY_ID"),
                    self.get("GRAPHFS_S3_SECRET_ACCESS_KEY"),
                    None,
                    None,
                    "graphfs-tests",
                ))
                .force_path_style(true)
                .build(),
        )
    }

    /// GraphFS's own S3 object store on `bucket` of this MinIO.
    pub async fn s3_store(&self, bucket: &str) -> graphfs_store_s3::S3ObjectStore {
        graphfs_store_s3::S3ObjectStore::connect(graphfs_store_s3::S3Config {
            endpoint: self.get("GRAPHFS_S3_ENDPOINT").into(),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            access_key_id: self.get("GRAPHFS_S3_ACCESS_KEY_ID").into(),
            secret_access_key: self.get("GRAPHFS_S3_SECRET_ACCESS_KEY").into(),
            part_size: 5 << 20,
            upload_concurrency: 4,
            upload_buffer_bytes: 256 << 20,
            download_concurrency: 4,
            download_buffer_bytes: 128 << 20,
            timeout: std::time::Duration::from_secs(10),
            notify_arn: None,
        })
        .await
        .expect("connect to the bucket")
    }

    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or("")
    }

    /// Refuses an outage on a server started for the whole suite.
    fn own(&self, what: &str) -> Result<()> {
        if self.owned.is_none() {
            bail!(
                "cannot {what} the {} at {}: it was started for the whole suite; \
                 a test that takes it down starts its own (ExternalServer::start)",
                self.kind,
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Stops the server (an outage); `resume` brings it back with its data.
    pub fn stop(&self) -> Result<()> {
        self.own("stop")?;
        run(
            &scripts_dir().join(self.kind).join("stop.sh"),
            Some(&self.dir),
        )
    }

    /// Freezes the server (SIGSTOP): it keeps its connections open and
    /// answers nothing, as a hung backend does; `thaw` lets it go on.
    pub fn freeze(&self) -> Result<()> {
        self.own("freeze")?;
        self.signal(libc::SIGSTOP)
    }

    pub fn thaw(&self) -> Result<()> {
        self.own("thaw")?;
        self.signal(libc::SIGCONT)
    }

    fn signal(&self, signal: i32) -> Result<()> {
        let file = self.dir.join(format!("{}.pid", self.kind));
        let pid: i32 = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?
            .trim()
            .parse()
            .with_context(|| format!("a pid in {}", file.display()))?;
        // SAFETY: signalling a server process this test started.
        if unsafe { libc::kill(pid, signal) } != 0 {
            anyhow::bail!(
                "signal {signal} to {pid}: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    pub fn resume(&mut self) -> Result<()> {
        // The same environment as the first start: MinIO forgets a webhook
        // target it is restarted without.
        self.own("restart")?;
        run_with_env(
            &scripts_dir().join(self.kind).join("start.sh"),
            Some(&self.dir),
            &self.start_env,
        )?;
        self.env = read_env(&self.dir.join("env"))?;
        Ok(())
    }
}

/// The environment that connects a `graphfs` process to these servers.
pub fn backend_env(minio: &ExternalServer, neo4j: &ExternalServer) -> Vec<(String, String)> {
    [
        ("GRAPHFS_S3_ENDPOINT", minio.get("GRAPHFS_S3_ENDPOINT")),
        (
            "GRAPHFS_S3_ACCESS_KEY_ID",
            minio.get("GRAPHFS_S3_ACCESS_KEY_ID"),
        ),
        (
            "GRAPHFS_S3_SECRET_ACCESS_KEY",
            minio.get("GRAPHFS_S3_SECRET_ACCESS_KEY"),
        ),
        ("GRAPHFS_NEO4J_URI", neo4j.get("GRAPHFS_NEO4J_URI")),
        ("GRAPHFS_NEO4J_USER", neo4j.get("GRAPHFS_NEO4J_USER")),
        (
            "GRAPHFS_NEO4J_PASSWORD",
            neo4j.get("GRAPHFS_NEO4J_PASSWORD"),
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        // Refused (and so left running) for a server started for the whole
        // suite: whoever started it stops it.
        let _ = self.stop();
    }
}
