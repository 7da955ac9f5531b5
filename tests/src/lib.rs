//! A harness that runs the real `graphfs` binary on a loopback port with its
//! own data folder, for end-to-end tests and benchmarks.

pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A memory figure of a process from /proc/PID/status, in KiB: `VmRSS:` now,
/// `VmHWM:` its peak.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets a process's peak RSS (`VmHWM:`) to its current RSS, so that a peak
/// read later belongs to what ran in between, not to start-up.
pub fn reset_peak_rss(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// The `graphfs` binary: `GRAPHFS_BIN`, or the one built beside this test.
/// A loopback port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn graphfs_bin() -> PathBuf {
    if let Ok(p) = std::env::var("GRAPHFS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/test-binary -> target/<profile>/graphfs
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("graphfs")
}

pub const TOKEN: &str = "gfs_test_token_0123456789abcdef";

/// With `GRAPHFS_E2E_BACKENDS=real` the servers under test keep their files
/// in a real MinIO and their graph in a real Neo4j (shared by the tests of
/// this process, which then must run one at a time: each server wipes the
/// graph when it starts and gets a bucket of its own).
pub struct RealBackends {
    pub minio: servers::ExternalServer,
    pub neo4j: servers::ExternalServer,
}

pub fn real_backends() -> Option<&'static RealBackends> {
    static REAL: std::sync::OnceLock<Option<RealBackends>> = std::sync::OnceLock::new();
    REAL.get_or_init(|| {
        if std::env::var("GRAPHFS_E2E_BACKENDS").as_deref() != Ok("real") {
            return None;
        }
        // Servers started for the whole suite, when there are
        // (tests/lib/with-real-backends.sh); else this process's own.
        let shared = std::env::var_os("GRAPHFS_E2E_REAL_DIR").map(PathBuf::from);
        let server = |kind| match &shared {
            Some(dir) => servers::ExternalServer::attach(kind, &dir.join(kind)),
            None => servers::ExternalServer::start_for_process(kind),
        };
        Some(RealBackends {
            minio: server("minio").expect("start MinIO"),
            neo4j: server("neo4j").expect("start Neo4j"),
        })
    })
    .as_ref()
}

/// Flags and environment that point `graphfs` at the real backends.
fn backend_config(real: &RealBackends, bucket: &str) -> (Vec<String>, Vec<(String, String)>) {
    let args = vec![
        "--storage".into(),
        "s3".into(),
        "--s3-bucket".into(),
        bucket.into(),
        "--s3-part-size-mb".into(),
        "5".into(),
        "--graph".into(),
        "neo4j".into(),
    ];
    let envs = servers::backend_env(&real.minio, &real.neo4j);
    (args, envs)
}

async fn wipe_graph(real: &RealBackends) -> Result<()> {
    let graph = neo4rs::Graph::new(
        real.neo4j.get("GRAPHFS_NEO4J_URI"),
        real.neo4j.get("GRAPHFS_NEO4J_USER"),
        real.neo4j.get("GRAPHFS_NEO4J_PASSWORD"),
    )?;
    graph
        .run(neo4rs::query("MATCH (n) DETACH DELETE n"))
        .await?;
    Ok(())
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub token: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    /// The bucket of this server when it runs on the real backends.
    bucket: Option<String>,
}

impl Server {
    /// Starts `graphfs serve` on a free loopback port with `data_dir`.
    pub async fn start(data_dir: &Path, args: &[&str]) -> Result<Server> {
        Self::start_with_env(data_dir, args, &[]).await
    }

    /// Starts `graphfs serve` on a MinIO and Neo4j the test started itself,
    /// with its files in `bucket`; `args` and `envs` come on top.
    pub async fn start_on(
        data_dir: &Path,
        minio: &servers::ExternalServer,
        neo4j: &servers::ExternalServer,
        bucket: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Server> {
        let mut all = vec!["--storage", "s3", "--graph", "neo4j", "--s3-bucket", bucket];
        all.extend_from_slice(args);
        let backend = servers::backend_env(minio, neo4j);
        let mut env: Vec<(&str, &str)> = backend
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.extend_from_slice(envs);
        Self::start_with_env(data_dir, &all, &env).await
    }

    pub async fn start_with_env(
        data_dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Server> {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut bucket = None;
        if let Some(real) = real_backends() {
            wipe_graph(real).await?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos();
            let name = format!("e2e-{nanos:x}");
            let (a, e) = backend_config(real, &name);
            args.extend(a);
            envs.extend(e);
            bucket = Some(name);
        }
        let (child, base) = spawn(data_dir, &args, &envs).await?;
        Ok(Server {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            token: TOKEN.to_string(),
            args,
            envs,
            bucket,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
    }

    /// A request signed with another user's token.
    pub fn request_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// `GET path` as another user, answered 2xx, as JSON.
    pub async fn json_as(&self, token: &str, path: &str) -> Result<Value> {
        let resp = self
            .request_as(token, reqwest::Method::GET, path)
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {body}");
        }
        Ok(body)
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    /// Uploads raw bytes; returns the status and the JSON body.
    pub async fn upload(&self, name: &str, body: impl Into<reqwest::Body>) -> Result<(u16, Value)> {
        self.upload_as(&self.token, name, body).await
    }

    pub async fn upload_as(
        &self,
        token: &str,
        name: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<(u16, Value)> {
        let resp = self
            .client
            .post(self.url("/api/v1/files"))
            .query(&[("name", name)])
            .bearer_auth(token)
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let json = resp.json().await.unwrap_or(Value::Null);
        Ok((status, json))
    }

    pub async fn json(&self, path: &str) -> Result<Value> {
        let resp = self.get(path).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {body}");
        }
        Ok(body)
    }

    /// Waits until every listed file has finished tagging (done or failed).
    pub async fn wait_tagged(&self, timeout: Duration) -> Result<Value> {
        let start = Instant::now();
        loop {
            let list = self.json("/api/v1/files?limit=200").await?;
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let busy = items
                .iter()
                .filter(|f| matches!(f["status"].as_str(), Some("pending" | "running")))
                .count();
            if busy == 0 {
                return Ok(list);
            }
            if start.elapsed() > timeout {
                bail!("{busy} files still not tagged after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates a token for another user with `graphfs token`.
    pub async fn token_for(&self, user: &str) -> Result<String> {
        self.token_cli(&["--user", user]).await
    }

    /// Runs `graphfs token ARGS...` on this server's storage; its output.
    pub async fn token_cli(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["token"];
        all.extend_from_slice(args);
        self.cli(&all).await
    }

    /// Runs `graphfs COMMAND...` on this server's storage; its output.
    pub async fn cli(&self, command: &[&str]) -> Result<String> {
        // The same storage flags as the server, so the command works where it looks.
        let storage_args: Vec<&String> =
            self.args.iter().skip_while(|a| *a != "--storage").collect();
        let out = Command::new(graphfs_bin())
            .args(command)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(storage_args)
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "graphfs {}: {}",
                command.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?.trim().to_string())
    }

    /// SIGTERM and wait: a graceful stop.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending a signal to our own child process.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("server did not stop within 30 s of SIGTERM")??;
        Ok(())
    }

    /// SIGKILL: a crash.
    pub async fn kill(&mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Starts the server again on the same data folder (a new port).
    pub async fn restart(&mut self) -> Result<()> {
        let (child, base) = spawn(&self.data_dir, &self.args, &self.envs).await?;
        self.child = child;
        self.base = base;
        Ok(())
    }

    /// Ids of the objects in `bucket` of a MinIO started by the test itself.
    pub async fn object_files_in(
        &self,
        bucket: &str,
        minio: &servers::ExternalServer,
    ) -> Vec<String> {
        use graphfs_domain::ObjectStore;
        let store = minio.s3_store(bucket).await;
        let mut keys: Vec<String> = store
            .list("files/", None, 100_000)
            .await
            .expect("list the bucket")
            .into_iter()
            .map(|m| m.key.trim_start_matches("files/").to_string())
            .collect();
        keys.sort();
        keys
    }

    /// Ids of the objects in the store (embedded folder or real bucket).
    pub async fn object_files(&self) -> Vec<String> {
        if let (Some(real), Some(bucket)) = (real_backends(), &self.bucket) {
            use graphfs_domain::ObjectStore;
            let store = real.minio.s3_store(bucket).await;
            return store
                .list("files/", None, 100_000)
                .await
                .expect("list the test bucket")
                .into_iter()
                .map(|m| m.key.trim_start_matches("files/").to_string())
                .collect();
        }
        let dir = self.data_dir.join("objects/files");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn spawn(
    data_dir: &Path,
    args: &[String],
    envs: &[(String, String)],
) -> Result<(Child, String)> {
    let bin = graphfs_bin();
    let mut cmd = Command::new(&bin);
    cmd.arg("serve");
    if !args.iter().any(|a| a == "--addr") {
        cmd.arg("--addr").arg("127.0.0.1:0");
    }
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("GRAPHFS_DEV_TOKEN", TOKEN)
        .env("GRAPHFS_LOG", "warn")
        // The suites check what extraction and search find in a file or
        // two, so every keyword a file proposes is a tag at once; the
        // vocabulary's admission (a new tag once two files propose it) has
        // tests of its own that set it back.
        .env("GRAPHFS_TAG_MIN_FREQUENCY", "1")
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("GraphFS is running at ") {
                return Ok(rest.trim().trim_end_matches('/').to_string());
            }
        }
        bail!("graphfs exited before announcing its address")
    })
    .await
    .context("graphfs did not start within 30 s")??;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, base))
}
