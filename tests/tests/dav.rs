//! The drive: WebDAV at `/dav/` driven by real clients (litmus, rclone) and
//! by hand, on the real binary; `make test` runs it on both backends.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use graphfs_e2e::Server;
use graphfs_extract::fixtures;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

async fn server(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["--rate-limit-rps", "0"];
    all.extend_from_slice(args);
    let s = Server::start(dir.path(), &all).await.unwrap();
    (dir, s)
}

fn dav(s: &Server, method: &str, path: &str) -> reqwest::RequestBuilder {
    s.client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            s.url(&format!("/dav/files{path}")),
        )
        .basic_auth("dev", Some(&s.token))
}

/// litmus's per-group summary lines: (group, passed, run).
fn litmus_summary(out: &str) -> Vec<(String, u32, u32)> {
    out.lines()
        .filter_map(|l| {
            // "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%"
            let rest = l.strip_prefix("<- summary for `")?;
            let (group, rest) = rest.split_once("': of ")?;
            let (run, rest) = rest.split_once(" tests run: ")?;
            let (passed, _) = rest.split_once(" passed")?;
            Some((group.to_string(), passed.parse().ok()?, run.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn litmus_passes_against_the_drive() {
    let (_d, s) = server(&[]).await;
    let resp = dav(&s, "MKCOL", "/litmus/").send().await.unwrap();
    assert_eq!(resp.status(), 201);
    // litmus writes debug.log and child.log where it runs.
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("litmus")
        .current_dir(scratch.path())
        .arg("-k")
        .arg(s.url("/dav/files/litmus/"))
        .arg("dev")
        .arg(&s.token)
        .env("TESTS", "basic copymove props locks http")
        .output()
        .expect("litmus is installed (tests/deps.sh debian)");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = litmus_summary(&text);
    println!("litmus: {summary:?}");
    let groups: Vec<&str> = summary.iter().map(|(g, ..)| g.as_str()).collect();
    assert_eq!(
        groups,
        ["basic", "copymove", "props", "locks", "http"],
        "{text}"
    );
    for (group, passed, run) in &summary {
        assert_eq!(passed, run, "litmus {group}: {passed}/{run}\n{text}");
    }
    // Every group ran all its tests (a failed `begin` would skip the rest).
    let runs: Vec<u32> = summary.iter().map(|(_, _, r)| *r).collect();
    assert!(runs.iter().all(|r| *r >= 4), "{summary:?}");
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// rclone with the drive configured as the remote `gfs:`.
fn rclone_cmd(s: &Server, args: &[&str]) -> Command {
    let obscured = Command::new("rclone")
        .args(["obscure", &s.token])
        .output()
        .expect("rclone is installed (tests/deps.sh debian)");
    let pass = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    let mut cmd = Command::new("rclone");
    cmd.args(args)
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_GFS_TYPE", "webdav")
        .env("RCLONE_CONFIG_GFS_URL", s.url("/dav/files/"))
        .env("RCLONE_CONFIG_GFS_VENDOR", "other")
        .env("RCLONE_CONFIG_GFS_USER", "dev")
        .env("RCLONE_CONFIG_GFS_PASS", pass);
    cmd
}

fn rclone(s: &Server, args: &[&str]) -> String {
    let out = rclone_cmd(s, args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "rclone {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn folder_files(s: &Server, folder: &str) -> Vec<(String, String)> {
    let page = s
        .json(&format!("/api/v1/files?folder={folder}&limit=200"))
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["folder"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn rclone_syncs_a_folder_tree_in_and_back_out() {
    let (_d, s) = server(&[]).await;
    let local = tempfile::tempdir().unwrap();
    let tree = local.path().join("tree");
    write(
        &tree.join("notes/rivers.txt"),
        b"Rivers carry sediment to their deltas.",
    );
    write(
        &tree.join("notes/deep/estuary.md"),
        b"# Estuaries\nTides meet rivers.",
    );
    write(&tree.join("images/scan.png"), &fixtures::png(4, 3));
    write(&tree.join("文档/报告.txt"), "季度报告".as_bytes());
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    write(&tree.join("big.bin"), &big);

    rclone(&s, &["sync", tree.to_str().unwrap(), "gfs:tree"]);

    // The API sees the same tree: folders kept, names as sent.
    assert_eq!(
        folder_files(&s, "/tree").await,
        [
            ("/tree".into(), "big.bin".into()),
            ("/tree/images".into(), "scan.png".into()),
            ("/tree/notes".into(), "rivers.txt".into()),
            ("/tree/notes/deep".into(), "estuary.md".into()),
            ("/tree/文档".into(), "报告.txt".into()),
        ]
    );
    let listed = rclone(&s, &["lsf", "-R", "--files-only", "gfs:tree"]);
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "big.bin",
            "images/scan.png",
            "notes/deep/estuary.md",
            "notes/rivers.txt",
            "文档/报告.txt"
        ]
    );

    // Read back byte for byte.
    let back = local.path().join("back");
    rclone(&s, &["copy", "gfs:tree", back.to_str().unwrap()]);
    for rel in [
        "notes/rivers.txt",
        "images/scan.png",
        "文档/报告.txt",
        "big.bin",
    ] {
        assert_eq!(
            std::fs::read(back.join(rel)).unwrap(),
            std::fs::read(tree.join(rel)).unwrap(),
            "{rel}"
        );
    }
    rclone(&s, &["check", tree.to_str().unwrap(), "gfs:tree"]);

    // A deletion and a change sync too.
    std::fs::remove_file(tree.join("notes/rivers.txt")).unwrap();
    write(
        &tree.join("notes/deep/estuary.md"),
        b"# Estuaries\nSalt water.",
    );
    rclone(&s, &["sync", tree.to_str().unwrap(), "gfs:tree"]);
    let files = folder_files(&s, "/tree/notes").await;
    assert_eq!(files, [("/tree/notes/deep".into(), "estuary.md".into())]);
    let resp = dav(&s, "GET", "/tree/notes/deep/estuary.md")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        b"# Estuaries\nSalt water."
    );

    // What came in through the drive is tagged like any upload.
    let tagged = s.wait_tagged(Duration::from_secs(120)).await.unwrap();
    let items = tagged["items"].as_array().unwrap();
    let estuary = items.iter().find(|f| f["name"] == "estuary.md").unwrap();
    assert_eq!(estuary["status"], "done", "{estuary}");
    let hits = s.json("/api/v1/search?q=salt").await.unwrap();
    assert_eq!(hits["items"][0]["file"]["name"], "estuary.md", "{hits}");
}

#[tokio::test]
async fn the_drive_answers_clients_as_webdav_expects() {
    let (_d, s) = server(&["--max-upload-bytes", "1000"]).await;

    // No credentials, or bad ones: a challenge the client can answer.
    let resp = s
        .client
        .request(
            Method::from_bytes(b"PROPFIND").unwrap(),
            s.url("/dav/files/"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=")
    );
    let resp = s
        .client
        .get(s.url("/dav/files/"))
        .basic_auth("dev", Some("wrong-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A Bearer token works as well as Basic.
    let resp = s
        .client
        .request(
            Method::from_bytes(b"PROPFIND").unwrap(),
            s.url("/dav/files/"),
        )
        .bearer_auth(&s.token)
        .header("Depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    // A whole-tree listing is refused with the standard error, not walked.
    let resp = dav(&s, "PROPFIND", "/")
        .header("Depth", "infinity")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_IMPLEMENTED);
    assert!(resp.text().await.unwrap().contains("propfind-finite-depth"));

    // Writes: into a missing folder 409, over the size limit 413, a
    // collection that exists 405, a create-only PUT over a file 412.
    let resp = dav(&s, "PUT", "/nowhere/a.txt")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = dav(&s, "PUT", "/big.txt")
        .body(vec![b'x'; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let listed = s.json("/api/v1/files").await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    assert_eq!(
        dav(&s, "MKCOL", "/desk").send().await.unwrap().status(),
        201
    );
    assert_eq!(
        dav(&s, "MKCOL", "/desk").send().await.unwrap().status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let resp = dav(&s, "PUT", "/desk/a.txt")
        .body("first")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_string();
    let resp = dav(&s, "PUT", "/desk/a.txt")
        .header(header::IF_NONE_MATCH, "*")
        .body("second")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    // An overwrite keeps the file (same id), with new bytes and a new ETag.
    let before = s.json("/api/v1/files?folder=/desk").await.unwrap();
    let resp = dav(&s, "PUT", "/desk/a.txt")
        .body("second")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let after = s.json("/api/v1/files?folder=/desk").await.unwrap();
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
    assert_eq!(after["items"][0]["id"], before["items"][0]["id"]);
    assert_eq!(after["items"][0]["size"], 6);
    let resp = dav(&s, "GET", "/desk/a.txt").send().await.unwrap();
    assert_ne!(resp.headers()[header::ETAG].to_str().unwrap(), etag);
    // What the overwrite replaced is the file's first version.
    let id = after["items"][0]["id"].as_str().unwrap();
    let versions = s
        .json(&format!("/api/v1/files/{id}/versions"))
        .await
        .unwrap();
    assert_eq!(versions["items"][0]["version"], 1, "{versions}");
    let first = s
        .get(&format!("/api/v1/files/{id}/versions/1/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.text().await.unwrap(), "first");
    // RFC 4331 quota at the drive's root: the file (6 bytes) and its
    // version (5).
    let resp = s
        .client
        .request(Method::from_bytes(b"PROPFIND").unwrap(), s.url("/dav/"))
        .basic_auth("dev", Some(&s.token))
        .header("Depth", "0")
        .body(
            r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    let body = resp.text().await.unwrap();
    assert!(body.contains("quota-used-bytes>11<"), "{body}");
    // Ranges.
    let resp = dav(&s, "GET", "/desk/a.txt")
        .header(header::RANGE, "bytes=1-3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"eco");
    // A non-empty folder's DELETE takes what is in it.
    assert_eq!(
        dav(&s, "DELETE", "/desk").send().await.unwrap().status(),
        204
    );
    let listed = s.json("/api/v1/files").await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");

    // Another user's drive holds none of it.
    assert_eq!(
        dav(&s, "MKCOL", "/mine").send().await.unwrap().status(),
        201
    );
    let resp = dav(&s, "PUT", "/mine/secret.txt")
        .body("s")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let bob = s.token_for("bob").await.unwrap();
    let as_bob = |method: &str, path: &str| {
        s.client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                s.url(&format!("/dav/files{path}")),
            )
            .basic_auth("bob", Some(&bob))
    };
    let resp = as_bob("PROPFIND", "/")
        .header("Depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    let body = resp.text().await.unwrap();
    assert!(!body.contains("mine"), "{body}");
    for (method, path) in [
        ("GET", "/mine/secret.txt"),
        ("DELETE", "/mine/secret.txt"),
        ("PROPFIND", "/mine/"),
    ] {
        let resp = as_bob(method, path).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{method} {path}");
    }
    let resp = dav(&s, "GET", "/mine/secret.txt").send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // Every tree has the same paths: one user's lock neither blocks nor
    // shows in another's tree at the same path.
    assert_eq!(as_bob("MKCOL", "/mine").send().await.unwrap().status(), 201);
    let resp = dav(&s, "LOCK", "/mine/secret.txt")
        .header("Timeout", "Second-600")
        .body(
            r#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>dev-owner-note</D:owner></D:lockinfo>"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = dav(&s, "PUT", "/mine/secret.txt")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::LOCKED,
        "the owner's own lock holds"
    );
    let resp = as_bob("PUT", "/mine/secret.txt")
        .body("bob's")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "bob's tree is not locked");
    let resp = as_bob("PROPFIND", "/mine/secret.txt")
        .header("Depth", "0")
        .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    let body = resp.text().await.unwrap();
    assert!(
        !body.contains("dev-owner-note") && !body.contains("locktoken"),
        "{body}"
    );
    let _: Value = s.json("/api/v1/files").await.unwrap();
}

/// What a client stored on a file with PROPPATCH stays with the file when
/// it moves, through the drive or the API, and goes when it is deleted:
/// a new file at the old path starts with none. Another user sees none.
#[tokio::test]
async fn dead_properties_stay_with_their_file() {
    let (_d, s) = server(&[]).await;
    let note = |value: &str| {
        format!(
            r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-graphfs-test"><D:set><D:prop><Z:note>{value}</Z:note></D:prop></D:set></D:propertyupdate>"#
        )
    };
    let read_note = |path: &str| {
        dav(&s, "PROPFIND", path)
            .header("Depth", "0")
            .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:note xmlns:Z="urn:x-graphfs-test"/></D:prop></D:propfind>"#)
            .send()
    };
    assert_eq!(dav(&s, "MKCOL", "/p").send().await.unwrap().status(), 201);
    let resp = dav(&s, "PUT", "/p/a.txt")
        .body("props")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = dav(&s, "PROPPATCH", "/p/a.txt")
        .body(note("kept-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 207);
    let body = read_note("/p/a.txt").await.unwrap().text().await.unwrap();
    assert!(body.contains("kept-1"), "{body}");

    // Moved through the drive, then through the API: the note follows.
    let resp = dav(&s, "MOVE", "/p/a.txt")
        .header("Destination", s.url("/dav/files/p/b.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let listed = s.json("/api/v1/files?folder=/p").await.unwrap();
    let id = listed["items"][0]["id"].as_str().unwrap().to_string();
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&serde_json::json!({"folder": "/q", "name": "c.txt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body = read_note("/q/c.txt").await.unwrap().text().await.unwrap();
    assert!(body.contains("kept-1"), "the note followed: {body}");
    let resp = s
        .request(Method::POST, "/api/v1/folders/move")
        .json(&serde_json::json!({"from": "/q", "to": "/r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body = read_note("/r/c.txt").await.unwrap().text().await.unwrap();
    assert!(
        body.contains("kept-1"),
        "the note followed the folder: {body}"
    );

    // Another user's file at the same path has no note.
    let bob = s.token_for("bob").await.unwrap();
    let as_bob = |method: &str, path: &str| {
        s.client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                s.url(&format!("/dav/files{path}")),
            )
            .basic_auth("bob", Some(&bob))
    };
    assert_eq!(as_bob("MKCOL", "/r").send().await.unwrap().status(), 201);
    let resp = as_bob("PUT", "/r/c.txt").body("bob").send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let body = as_bob("PROPFIND", "/r/c.txt")
        .header("Depth", "0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("kept-1"), "{body}");

    // Deleted through the API: a new file at that path starts bare.
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = dav(&s, "PUT", "/r/c.txt")
        .body("again")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body = read_note("/r/c.txt").await.unwrap().text().await.unwrap();
    assert!(
        !body.contains("kept-1"),
        "a new file has no old note: {body}"
    );
}

/// A scripted session of cadaver, the command-line WebDAV client:
/// `commands` on its standard input, the credentials in a `.netrc`.
fn cadaver(s: &Server, home: &Path, commands: &str) -> String {
    use std::io::Write;
    let host = reqwest::Url::parse(&s.url("/")).unwrap();
    std::fs::write(
        home.join(".netrc"),
        format!(
            "machine {}\nlogin dev\npassword {}\n",
            host.host_str().unwrap(),
            s.token
        ),
    )
    .unwrap();
    let mut child = Command::new("cadaver")
        .arg(s.url("/dav/files/"))
        .current_dir(home)
        .env("HOME", home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cadaver is installed (tests/deps.sh debian)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{commands}\nquit\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_cadaver_session_works_the_drive() {
    let (_d, s) = server(&[]).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("report.txt"), "quarterly figures\n").unwrap();
    let out = cadaver(
        &s,
        home.path(),
        "mkcol docs\ncd docs\nput report.txt\nls\npropset report.txt colour blue\n\
         propget report.txt colour\nlock report.txt\nunlock report.txt\n\
         copy report.txt copy.txt\nmove report.txt final.txt\nget final.txt back.txt\n\
         delete copy.txt\nls",
    );
    // Every command reports success; none fails.
    assert!(!out.contains("failed"), "{out}");
    for step in [
        "Creating `docs': succeeded",
        "Uploading report.txt to `/dav/files/docs/report.txt'",
        "Setting property on `report.txt': succeeded",
        "Locking `report.txt': succeeded",
        "Unlocking `report.txt': succeeded",
        "Copying `/dav/files/docs/report.txt' to `/dav/files/docs/copy.txt':  succeeded",
        "Moving `/dav/files/docs/report.txt' to `/dav/files/docs/final.txt':  succeeded",
        "Deleting `copy.txt': succeeded",
    ] {
        assert!(out.contains(step), "missing {step:?} in\n{out}");
    }
    assert!(out.contains("blue"), "the property reads back: {out}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("back.txt")).unwrap(),
        "quarterly figures\n"
    );
    // The API sees what the session left: one file, renamed, in /docs.
    assert_eq!(
        folder_files(&s, "/docs").await,
        [("/docs".to_string(), "final.txt".to_string())]
    );
}

/// The hrefs a PROPFIND answer lists, below `under`, without it.
async fn listed(resp: reqwest::Response, under: &str) -> Vec<String> {
    assert_eq!(resp.status(), 207);
    let body = resp.text().await.unwrap();
    let mut out: Vec<String> = body
        .split("<D:href>")
        .skip(1)
        .filter_map(|rest| rest.split("</D:href>").next())
        .filter_map(|href| href.strip_prefix(under))
        .filter(|rest| !rest.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn tag_and_search_folders_show_what_the_api_finds() {
    let (_d, s) = server(&[]).await;
    let mut ids = Vec::new();
    for (name, text) in [
        ("delta.txt", "river deltas and sediment"),
        ("glacier.txt", "glaciers carve valleys"),
        ("budget.txt", "quarterly budget figures"),
    ] {
        let (status, f) = s.upload(name, text).await.unwrap();
        assert_eq!(status, 201);
        ids.push(f["id"].as_str().unwrap().to_string());
    }
    s.wait_tagged(Duration::from_secs(120)).await.unwrap();
    for (id, tags) in [(&ids[0], vec!["earth", "water"]), (&ids[1], vec!["earth"])] {
        let resp = s
            .request(Method::PATCH, &format!("/api/v1/files/{id}"))
            .json(&serde_json::json!({ "add_tags": tags }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let propfind = |path: &str| {
        s.client
            .request(Method::from_bytes(b"PROPFIND").unwrap(), s.url(path))
            .basic_auth("dev", Some(&s.token))
            .header("Depth", "1")
    };

    // The mount's top, then the tags.
    let top = listed(propfind("/dav/").send().await.unwrap(), "/dav/").await;
    assert_eq!(top, ["files/", "search/", "shared/", "tags/"]);
    let tags = listed(propfind("/dav/tags/").send().await.unwrap(), "/dav/tags/").await;
    assert!(tags.contains(&"earth/".to_string()), "{tags:?}");
    assert!(tags.contains(&"water/".to_string()), "{tags:?}");

    // A tag's folder: its files, and the tags beside it as subfolders; a
    // nested folder is the intersection, as the API lists it.
    let earth = listed(
        propfind("/dav/tags/earth/").send().await.unwrap(),
        "/dav/tags/earth/",
    )
    .await;
    assert!(earth.contains(&"delta.txt".to_string()), "{earth:?}");
    assert!(earth.contains(&"glacier.txt".to_string()), "{earth:?}");
    assert!(earth.contains(&"water/".to_string()), "{earth:?}");
    assert!(!earth.contains(&"budget.txt".to_string()), "{earth:?}");
    let both = listed(
        propfind("/dav/tags/earth/water/").send().await.unwrap(),
        "/dav/tags/earth/water/",
    )
    .await;
    let api = s
        .json("/api/v1/files?tag=earth&tag=water&tag_match=all")
        .await
        .unwrap();
    let api_names: Vec<String> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let files_in_both: Vec<String> = both.into_iter().filter(|n| !n.ends_with('/')).collect();
    assert_eq!(files_in_both, api_names);
    assert_eq!(files_in_both, ["delta.txt"]);
    let got = s
        .client
        .get(s.url("/dav/tags/earth/glacier.txt"))
        .basic_auth("dev", Some(&s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "glaciers carve valleys");

    // Copying into a tag's folder tags the file; deleting it there untags it.
    let copy = s
        .client
        .request(
            Method::from_bytes(b"COPY").unwrap(),
            s.url("/dav/files/budget.txt"),
        )
        .basic_auth("dev", Some(&s.token))
        .header("Destination", s.url("/dav/tags/water/budget.txt"))
        .send()
        .await
        .unwrap();
    assert!(copy.status().is_success(), "{}", copy.status());
    let budget = s.json(&format!("/api/v1/files/{}", ids[2])).await.unwrap();
    assert!(budget["tags"].to_string().contains("\"water\""), "{budget}");
    let resp = s
        .client
        .delete(s.url("/dav/tags/water/budget.txt"))
        .basic_auth("dev", Some(&s.token))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let budget = s.json(&format!("/api/v1/files/{}", ids[2])).await.unwrap();
    assert!(
        !budget["tags"].to_string().contains("\"water\""),
        "{budget}"
    );
    assert_eq!(budget["name"], "budget.txt");
    // The views are read-only otherwise.
    let resp = s
        .client
        .put(s.url("/dav/tags/water/new.txt"))
        .basic_auth("dev", Some(&s.token))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // A search folder lists what the search finds.
    let found = listed(
        propfind("/dav/search/glaciers/").send().await.unwrap(),
        "/dav/search/glaciers/",
    )
    .await;
    assert_eq!(found, ["glacier.txt"]);
    let hits = s.json("/api/v1/search?q=glaciers").await.unwrap();
    assert_eq!(hits["items"][0]["file"]["name"], "glacier.txt");

    // None of it shows to another user.
    let bob = s.token_for("bob").await.unwrap();
    let as_bob = |path: &str| {
        s.client
            .request(Method::from_bytes(b"PROPFIND").unwrap(), s.url(path))
            .basic_auth("bob", Some(&bob))
            .header("Depth", "1")
    };
    assert_eq!(
        listed(as_bob("/dav/tags/").send().await.unwrap(), "/dav/tags/").await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(
            as_bob("/dav/search/glaciers/").send().await.unwrap(),
            "/dav/search/glaciers/"
        )
        .await,
        Vec::<String>::new()
    );
    let resp = as_bob("/dav/tags/earth/").send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // What is shared with bob shows under /shared/<owner>/, read-only.
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{}", ids[1]))
        .json(&serde_json::json!({ "share_with": ["bob"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        listed(as_bob("/dav/shared/").send().await.unwrap(), "/dav/shared/").await,
        ["dev/"]
    );
    assert_eq!(
        listed(
            as_bob("/dav/shared/dev/").send().await.unwrap(),
            "/dav/shared/dev/"
        )
        .await,
        ["glacier.txt"]
    );
    let got = s
        .client
        .get(s.url("/dav/shared/dev/glacier.txt"))
        .basic_auth("bob", Some(&bob))
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "glaciers carve valleys");
    let resp = s
        .client
        .delete(s.url("/dav/shared/dev/glacier.txt"))
        .basic_auth("bob", Some(&bob))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        listed(as_bob("/dav/files/").send().await.unwrap(), "/dav/files/").await,
        Vec::<String>::new()
    );
    // The owner's own drive has no shared/ entries of its own.
    assert_eq!(
        listed(
            propfind("/dav/shared/").send().await.unwrap(),
            "/dav/shared/"
        )
        .await,
        Vec::<String>::new()
    );
    let page = s.json("/api/v1/files?shared=true").await.unwrap();
    assert_eq!(page["items"], serde_json::json!([]));
    let page = s.json_as(&bob, "/api/v1/files?shared=true").await.unwrap();
    assert_eq!(page["items"][0]["name"], "glacier.txt");
}

/// Polls the API until `want` holds for the folder's files (the mount
/// uploads a file once it is closed, in the background).
async fn until_listed(s: &Server, folder: &str, want: &[(&str, &str)]) {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(f, n)| (f.to_string(), n.to_string()))
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = folder_files(s, folder).await;
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the API never listed {want:?} under {folder}; it lists {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct Mount {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        // fuse3 names it fusermount3; older FUSE, fusermount.
        for unmount in ["fusermount3", "fusermount"] {
            if Command::new(unmount)
                .arg("-u")
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success())
            {
                break;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn rclone_mount_makes_it_a_drive() {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("no /dev/fuse on this machine: the mount is not tried");
        return;
    }
    let (_d, s) = server(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("GraphFS");
    std::fs::create_dir(&mnt).unwrap();
    let child = rclone_cmd(
        &s,
        &[
            "mount",
            "gfs:",
            mnt.to_str().unwrap(),
            "--vfs-cache-mode",
            "writes",
            "--vfs-write-back",
            "0s",
            "--dir-cache-time",
            "0s",
            "--cache-dir",
            dir.path().join("cache").to_str().unwrap(),
        ],
    )
    .spawn()
    .unwrap();
    let mount = Mount {
        child,
        dir: mnt.clone(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .contains(mnt.to_str().unwrap())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "rclone mount did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Files written into the mounted drive are GraphFS files in their folders.
    std::fs::create_dir_all(mnt.join("projects/titan")).unwrap();
    std::fs::write(
        mnt.join("projects/titan/plan.txt"),
        "launch window in March",
    )
    .unwrap();
    std::fs::write(mnt.join("projects/notes.txt"), "fuel and oxidiser").unwrap();
    until_listed(
        &s,
        "/projects",
        &[("/projects", "notes.txt"), ("/projects/titan", "plan.txt")],
    )
    .await;
    // Read back through the mount, renamed, deleted: the API follows.
    assert_eq!(
        std::fs::read_to_string(mnt.join("projects/titan/plan.txt")).unwrap(),
        "launch window in March"
    );
    std::fs::rename(mnt.join("projects/titan"), mnt.join("projects/apollo")).unwrap();
    std::fs::remove_file(mnt.join("projects/notes.txt")).unwrap();
    until_listed(&s, "/projects", &[("/projects/apollo", "plan.txt")]).await;
    // A file uploaded through the API shows in the mount.
    let resp = s
        .request(Method::POST, "/api/v1/files")
        .query(&[("name", "from-api.txt"), ("folder", "/projects")])
        .body("made by the API")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(
        std::fs::read_to_string(mnt.join("projects/from-api.txt")).unwrap(),
        "made by the API"
    );
    drop(mount);
}
