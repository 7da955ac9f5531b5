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

/// The `graphfs` binary: `GRAPHFS_BIN`, or the one built beside this test.
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

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub token: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
}

impl Server {
    /// Starts `graphfs serve` on a free loopback port with `data_dir`.
    pub async fn start(data_dir: &Path, args: &[&str]) -> Result<Server> {
        Self::start_with_env(data_dir, args, &[]).await
    }

    pub async fn start_with_env(
        data_dir: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Server> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
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
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
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
        let out = Command::new(graphfs_bin())
            .args(["token", "--user", user, "--data-dir"])
            .arg(&self.data_dir)
            .output()
            .await?;
        if !out.status.success() {
            bail!("graphfs token: {}", String::from_utf8_lossy(&out.stderr));
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

    /// Keys of the objects in the embedded store.
    pub fn object_files(&self) -> Vec<String> {
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
    cmd.arg("serve")
        .arg("--addr")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("GRAPHFS_DEV_TOKEN", TOKEN)
        .env("GRAPHFS_LOG", "warn")
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
