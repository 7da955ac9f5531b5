//! The replicated main server behind nginx survives losing a replica: three
//! API replicas and two taggers on a real MinIO and Neo4j, nginx configured
//! as the Ingress is, a steady read load from wrk, uploads alongside. One
//! replica is killed (-9) and later brought back; one tagger is killed mid-job.
//! The figures go to test-artifacts/failover-report.txt.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use graphfs_e2e::servers::{ExternalServer, backend_env, scripts_dir};
use graphfs_e2e::{Server, TOKEN, free_port, graphfs_bin};
use serde_json::Value;
use tokio::process::{Child, Command};

struct Backends {
    minio: ExternalServer,
    neo4j: ExternalServer,
}

impl Backends {
    fn env(&self) -> Vec<(String, String)> {
        let mut env = backend_env(&self.minio, &self.neo4j);
        for (k, v) in [
            ("GRAPHFS_STORAGE", "s3"),
            ("GRAPHFS_S3_BUCKET", "failover"),
            ("GRAPHFS_GRAPH", "neo4j"),
        ] {
            env.push((k.to_string(), v.to_string()));
        }
        env
    }
}

fn start_tagger(b: &Backends, dir: &Path, name: &str) -> Child {
    Command::new(graphfs_bin())
        .args(["tagger", "--data-dir"])
        .arg(dir.join(name))
        .envs(b.env())
        .env("GRAPHFS_TAGGER_LEASE_SECONDS", "3")
        .env("GRAPHFS_TAGGER_CONCURRENCY", "2")
        .env("GRAPHFS_TAGGER_POLL_MS", "100")
        .env("HOSTNAME", name)
        .env("GRAPHFS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start graphfs tagger")
}

fn start_nginx(dir: &Path, listen: &str, ports: &[u16]) -> Child {
    let upstreams: String = ports
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n"))
        .collect();
    let conf = std::fs::read_to_string(scripts_dir().join("local-cluster/nginx.conf.tmpl"))
        .unwrap()
        .replace("@DIR@", &dir.display().to_string())
        .replace("@LISTEN@", listen)
        .replace("@UPSTREAMS@", &upstreams);
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let check = std::process::Command::new("nginx")
        .args(["-t", "-q", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .output()
        .expect("nginx (Debian package) is needed");
    assert!(
        check.status.success(),
        "nginx rejected its configuration: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // One process: killed on drop, a master takes its workers with it only
    // when it has time to stop them, and SIGKILL gives it none.
    Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .args(["-g", "master_process off;"])
        .kill_on_drop(true)
        .spawn()
        .expect("start nginx")
}

#[derive(Debug, Default)]
struct WrkResult {
    requests: u64,
    non_2xx: u64,
    socket_errors: u64,
    p99_ms: f64,
}

fn parse_ms(s: &str) -> f64 {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("us") {
        v.parse::<f64>().unwrap_or(0.0) / 1000.0
    } else if let Some(v) = s.strip_suffix("ms") {
        v.parse().unwrap_or(0.0)
    } else if let Some(v) = s.strip_suffix('s') {
        v.parse::<f64>().unwrap_or(0.0) * 1000.0
    } else {
        0.0
    }
}

/// Connections the read load keeps open, each with one request at a time.
const WRK_CONNECTIONS: u64 = 8;

async fn wrk(base: &str, seconds: u64, paths: &[String]) -> WrkResult {
    let script = scripts_dir().join("local-cluster/mixed.lua");
    let out = Command::new("wrk")
        .args(["-t2", "--latency", "--timeout", "10s"])
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(script)
        .arg(base)
        .arg("--")
        .arg(TOKEN)
        .args(paths)
        .output()
        .await
        .expect("wrk (Debian package) is needed");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut r = WrkResult::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("99%") {
            r.p99_ms = parse_ms(rest);
        } else if line.contains("requests in") {
            r.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx = rest.trim().parse().unwrap_or(u64::MAX);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            r.socket_errors = rest
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        }
    }
    assert!(r.requests > 0, "wrk produced no requests:\n{text}");
    r
}

/// Uploads through nginx until told to stop; returns (accepted ids, names
/// of the refused ones).
async fn upload_loop(
    front: Arc<Server>,
    stop: Arc<AtomicBool>,
    tag: &'static str,
) -> (Vec<String>, Vec<String>) {
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let text = format!("{tag} upload {i} about rivers, deltas and estuaries");
        let name = format!("{tag}-{i}.txt");
        match front.upload(&name, text).await {
            Ok((201, f)) => ok.push(f["id"].as_str().unwrap().to_string()),
            _ => refused.push(name),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (ok, refused)
}

#[tokio::test]
async fn replicas_behind_nginx_survive_losing_one() {
    // The check below freezes a tagger (SIGSTOP) at whatever point it is
    // at, maybe inside a transaction holding locks that uploads or the other
    // tagger wait on. Neo4j ends a transaction after 10 s, under the API's
    // 15 s answer timeout, so a frozen client holds nothing for longer, as
    // a server-side timeout would in production.
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(conf.path(), "db.transaction.timeout=10s\n").unwrap();
    let conf_path = conf.path().to_str().unwrap().to_string();
    let backends = Backends {
        minio: ExternalServer::start("minio").unwrap(),
        neo4j: ExternalServer::start_with_env("neo4j", &[("GRAPHFS_NEO4J_CONF", &conf_path)])
            .unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let env = backends.env();
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut replicas = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let addr = format!("127.0.0.1:{port}");
        let data = dir.path().join(format!("api{i}"));
        replicas.push(
            Server::start_with_env(
                &data,
                &[
                    "--addr",
                    &addr,
                    "--tagger-concurrency",
                    "0",
                    "--rate-limit-rps",
                    "0",
                    "--reconcile-interval-seconds",
                    "1",
                    // Long enough that no upload's create, however slow on
                    // a loaded machine, is overtaken by the sweep; refused
                    // uploads' orphans are waited for below.
                    "--orphan-grace-seconds",
                    "15",
                ],
                &env_ref,
            )
            .await
            .unwrap(),
        );
    }
    let mut taggers = vec![
        start_tagger(&backends, dir.path(), "tagger-a"),
        start_tagger(&backends, dir.path(), "tagger-b"),
    ];
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let _nginx = start_nginx(&nginx_dir, &listen, &ports);
    let base = format!("http://{listen}");
    // The test's client for the front door: a harness server (not behind
    // nginx, tagging off) whose requests are pointed at nginx instead.
    let mut front_server = Server::start_with_env(
        &dir.path().join("probe"),
        &["--tagger-concurrency", "0"],
        &env_ref,
    )
    .await
    .unwrap();
    front_server.base = base.clone();
    let front = Arc::new(front_server);
    for _ in 0..100 {
        if front
            .client
            .get(front.url("/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Seed files to read.
    let mut seeded = Vec::new();
    for i in 0..10 {
        let (status, f) = front
            .upload(
                &format!("seed-{i}.txt"),
                format!("seed {i}: rivers and glaciers"),
            )
            .await
            .unwrap();
        assert_eq!(status, 201, "{f}");
        seeded.push(f["id"].as_str().unwrap().to_string());
    }
    // A lock taken through one replica holds on the others: a client's
    // LOCK and the PUT after it may reach different replicas.
    let dav_at = |replica: &Server, method: &str| {
        front
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/dav/files/locked.txt", replica.base),
            )
            .basic_auth("dev", Some(&front.token))
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    let status_of = |r: &reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(dav_at(&replicas[0], "PUT").body("v1").send().await.unwrap()),
        201
    );
    let locked = dav_at(&replicas[0], "LOCK")
        .header("Timeout", "Second-600")
        .body(r#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>failover</D:owner></D:lockinfo>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 200);
    let token = locked.headers()["lock-token"]
        .to_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    let without = dav_at(&replicas[1], "PUT").body("v2").send().await.unwrap();
    assert_eq!(status(without), 423, "another replica knows the lock");
    let with = dav_at(&replicas[2], "PUT")
        .header("If", format!("(<{token}>)"))
        .body("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(with),
        204,
        "the lock's token opens it on any replica"
    );
    let unlocked = dav_at(&replicas[1], "UNLOCK")
        .header("Lock-Token", format!("<{token}>"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(unlocked), 204);
    assert_eq!(
        status(dav_at(&replicas[0], "PUT").body("v3").send().await.unwrap()),
        204
    );
    // A property one replica stored is read on another, and follows a move
    // made through a third (Windows keeps its file times this way).
    let patched = dav_at(&replicas[0], "PROPPATCH")
        .body(r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(patched), 207);
    let attributes = |replica: &Server, path: &str| {
        front
            .client
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
                format!("{}/dav/files/{path}", replica.base),
            )
            .basic_auth("dev", Some(&front.token))
            .header("Depth", "0")
            .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:Win32FileAttributes xmlns:Z="urn:schemas-microsoft-com:"/></D:prop></D:propfind>"#)
            .send()
    };
    let found = attributes(&replicas[1], "locked.txt").await.unwrap();
    assert_eq!(status_of(&found), 207);
    let found = found.text().await.unwrap();
    assert!(
        found.contains("00000020"),
        "another replica reads the property: {found}"
    );
    let moved = dav_at(&replicas[2], "MOVE")
        .header(
            "Destination",
            format!("{}/dav/files/moved.txt", replicas[2].base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(status(moved), 201);
    let found = attributes(&replicas[0], "moved.txt")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        found.contains("00000020"),
        "the property followed the move: {found}"
    );
    // Only the load's uploads below are to be listed at the end.
    let gone = front
        .client
        .delete(format!("{}/dav/files/moved.txt", replicas[1].base))
        .basic_auth("dev", Some(&front.token))
        .send()
        .await
        .unwrap();
    assert_eq!(status(gone), 204);

    let paths = vec![
        "/api/v1/files?limit=20".to_string(),
        "/api/v1/search?q=rivers".to_string(),
        format!("/api/v1/files/{}", seeded[0]),
        format!("/api/v1/files/{}/content", seeded[1]),
        "/api/v1/tags".to_string(),
        "/api/v1/search?q=glac".to_string(),
        // A WebDAV client reading a file. (Not PROPFIND: nginx retries
        // only idempotent methods on another replica, and PROPFIND is not
        // one to it; a drive client retries it itself.)
        "/dav/files/seed-2.txt".to_string(),
    ];

    let mut report = String::new();
    let mut accepted = Vec::new();
    let mut refused_names: Vec<String> = Vec::new();
    for phase in ["before", "during", "after"] {
        let stop = Arc::new(AtomicBool::new(false));
        let uploads = tokio::spawn(upload_loop(front.clone(), stop.clone(), phase));
        let killer = async {
            match phase {
                "during" => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    replicas[1].kill().await.unwrap();
                }
                "after" => {}
                _ => {}
            }
        };
        let (r, ()) = tokio::join!(wrk(&base, 5, &paths), killer);
        stop.store(true, Ordering::Relaxed);
        let (ok, refused) = uploads.await.unwrap();
        let _ = writeln!(
            report,
            "{phase:>6}: {} GET/search requests, {} non-2xx, {} socket errors, p99 {:.1} ms; uploads {} accepted, {} refused",
            r.requests,
            r.non_2xx,
            r.socket_errors,
            r.p99_ms,
            ok.len(),
            refused.len()
        );
        // nginx answers every request another replica can still serve, so
        // none fails, with one exception HTTP leaves no way round: a
        // response the killed replica had begun to send (a download's
        // headers out, its body streaming) cannot be taken up elsewhere,
        // and nginx can only cut that client's connection. At most one such
        // request is in flight per connection at the instant of the kill.
        let cut_at_most = if phase == "during" {
            WRK_CONNECTIONS
        } else {
            0
        };
        assert_eq!(r.non_2xx, 0, "{phase}: reads failed\n{report}");
        assert!(
            r.socket_errors <= cut_at_most,
            "{phase}: reads failed beyond the responses in flight at the kill\n{report}"
        );
        accepted.extend(ok);
        refused_names.extend(refused);
        if phase == "during" {
            replicas[1].restart().await.unwrap();
        }
    }

    // A tagger dies mid-job: its jobs go to the other after the lease. The
    // other is paused while the burst arrives, so the first surely holds jobs.
    let survivor = taggers[1].id().expect("tagger pid") as i32;
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(survivor, libc::SIGSTOP) };
    for i in 0..30 {
        let (status, f) = front
            .upload(&format!("burst-{i}.txt"), format!("burst {i} of estuaries"))
            .await
            .unwrap();
        assert_eq!(status, 201);
        accepted.push(f["id"].as_str().unwrap().to_string());
    }
    let held = loop {
        let q = front.json("/api/v1/queue").await.unwrap();
        if q["in_flight"].as_u64().unwrap_or(0) > 0 {
            break q["in_flight"].as_u64().unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    taggers[0].kill().await.unwrap();
    unsafe { libc::kill(survivor, libc::SIGCONT) };
    let start = Instant::now();
    loop {
        let q = front.json("/api/v1/queue").await.unwrap();
        if q["pending"] == 0 && q["in_flight"] == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "queue never drained: {q}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = writeln!(
        report,
        "tagger killed holding {held} job(s): the survivor drained the queue in {:.1} s (lease 3 s)",
        start.elapsed().as_secs_f64()
    );

    // Every accepted upload is present, downloadable and tagged.
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/files?limit=200&cursor={c}"),
            None => "/api/v1/files?limit=200".to_string(),
        };
        let page = front.json(&url).await.unwrap();
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    for id in &accepted {
        let f = all
            .iter()
            .find(|f| f["id"] == id.as_str())
            .unwrap_or_else(|| panic!("accepted upload {id} lost"));
        assert_eq!(f["status"], "done", "{f}");
        let resp = front
            .get(&format!("/api/v1/files/{id}/content"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // A file nobody saw accepted can only be an upload whose answer was lost
    // with the killed replica after it had stored the file (the client saw
    // an error, so a real client retries or looks it up by name).
    let in_doubt: Vec<&Value> = all
        .iter()
        .filter(|f| {
            let id = f["id"].as_str().unwrap_or_default();
            !accepted.iter().any(|a| a == id) && !seeded.iter().any(|s| s == id)
        })
        .collect();
    for f in &in_doubt {
        assert!(
            refused_names.iter().any(|n| f["name"] == n.as_str()),
            "a file without an upload: {f}"
        );
    }
    // Nothing left behind: every object in the bucket belongs to a file
    // (orphans of refused uploads are swept once past the grace).
    let mut objects = Vec::new();
    for _ in 0..300 {
        objects = front.object_files_in("failover", &backends.minio).await;
        if objects.len() == all.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(objects.len(), all.len(), "objects left behind");
    let _ = writeln!(
        report,
        "uploads: {} accepted and present, {} refused ({} of them stored before the answer was lost), {} objects = {} files",
        accepted.len(),
        refused_names.len(),
        in_doubt.len(),
        objects.len(),
        all.len()
    );
    eprintln!("{report}");
    let artifacts = scripts_dir().join("../test-artifacts");
    let _ = std::fs::create_dir_all(&artifacts);
    let _ = std::fs::write(artifacts.join("failover-report.txt"), &report);
    drop(taggers.pop());
}
