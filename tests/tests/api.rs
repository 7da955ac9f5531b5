//! The HTTP API end to end: the real `graphfs` binary on loopback with the
//! embedded backends in a temp folder.

use std::time::Duration;

use graphfs_e2e::Server;
use graphfs_extract::fixtures;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn server(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), args).await.unwrap();
    (dir, s)
}

fn problem_type(v: &Value) -> &str {
    v["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

async fn problem(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(ctype, "application/problem+json", "status {status}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"].as_u64(), Some(status.as_u16() as u64));
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn upload_get_and_download_with_ranges() {
    let (_d, s) = server(&[]).await;
    let content = b"GraphFS keeps files in a graph of tags.\n".repeat(100);
    let (status, file) = s.upload("notes.txt", content.clone()).await.unwrap();
    assert_eq!(status, 201, "{file}");
    let id = file["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(file["name"], "notes.txt");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&content)));
    assert_eq!(file["media_type"], "text/plain");
    assert_eq!(file["owner"], "dev");
    assert!(file["created_at"].as_str().is_some());
    assert!(matches!(
        file["status"].as_str(),
        Some("pending" | "running" | "done")
    ));

    let detail = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    assert_eq!(detail["id"], id.as_str());
    assert!(detail["similar"].is_array());

    // Whole download with its headers.
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "text/plain");
    assert_eq!(
        h[header::ETAG],
        format!("\"{}\"", file["sha256"].as_str().unwrap()).as_str()
    );
    assert_eq!(h[header::ACCEPT_RANGES], "bytes");
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"notes.txt\"")
    );
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), content.as_slice());

    // Ranges.
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .header(header::RANGE, "bytes=8-14")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()[header::CONTENT_RANGE],
        format!("bytes 8-14/{}", content.len()).as_str()
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"keeps f");
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .header(header::RANGE, "bytes=-5")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        b"tags.\n".get(1..).unwrap()
    );
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .header(header::RANGE, format!("bytes={}-", content.len()))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!(status, 416);
    assert_eq!(problem_type(&p), "range-not-satisfiable");

    // Conditional GET.
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    // Inline disposition for previews.
    let resp = s
        .get(&format!("/api/v1/files/{id}/content?disposition=inline"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );

    // Empty files are files.
    let (status, empty) = s.upload("empty.bin", Vec::new()).await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(empty["size"], 0);
    let resp = s
        .get(&format!(
            "/api/v1/files/{}/content",
            empty["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn multipart_upload_from_a_browser_form() {
    let (_d, s) = server(&[]).await;
    let send = |form: reqwest::multipart::Form| {
        s.request(Method::POST, "/api/v1/files")
            .multipart(form)
            .send()
    };
    let count = || async {
        s.json("/api/v1/files").await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let part = reqwest::multipart::Part::bytes(b"# Title\n\nSome markdown.".to_vec())
        .file_name("readme.md")
        .mime_str("text/markdown")
        .unwrap();
    let resp = send(reqwest::multipart::Form::new().part("file", part))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(
        resp.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/api/v1/files/")
    );
    let file: Value = resp.json().await.unwrap();
    assert_eq!(file["name"], "readme.md");
    assert_eq!(file["media_type"], "text/markdown");
    assert_eq!(file["size"], 23);

    // A form without a file part is a client error.
    let resp = send(reqwest::multipart::Form::new().text("note", "no file"))
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 400);

    // Fields besides the file, before or after it, are refused rather than
    // ignored, and leave no file behind.
    let before = count().await;
    for file_first in [true, false] {
        let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt");
        let form = reqwest::multipart::Form::new();
        let form = if file_first {
            form.part("file", part).text("note", "extra")
        } else {
            form.text("note", "extra").part("file", part)
        };
        let (status, body) = problem(send(form).await.unwrap()).await;
        assert_eq!(status, 400);
        assert!(body["detail"].as_str().unwrap().contains("note"), "{body}");
    }
    assert_eq!(before, count().await);
}

#[tokio::test]
async fn bad_names_and_oversized_bodies_are_refused_and_leave_nothing() {
    let (_d, s) = server(&["--max-upload-bytes", "1000"]).await;
    let me = s.json("/api/v1/me").await.unwrap();
    assert_eq!(
        me["limits"]["max_upload_bytes"], 1000,
        "clients can check the limit first"
    );
    for name in [
        "../etc/passwd",
        "a/b",
        "a\\b",
        "..",
        "   ",
        "bad\u{7}bell",
        &"x".repeat(300),
    ] {
        let resp = s
            .request(Method::POST, "/api/v1/files")
            .query(&[("name", name)])
            .body("x")
            .send()
            .await
            .unwrap();
        let (status, p) = problem(resp).await;
        assert_eq!(status, 400, "{name:?}");
        assert_eq!(problem_type(&p), "invalid-name");
    }
    // No name at all: the file is stored as `untitled`, to be renamed.
    let resp = s
        .request(Method::POST, "/api/v1/files")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let untitled: Value = resp.json().await.unwrap();
    assert_eq!(untitled["name"], "untitled");
    let resp = s
        .request(
            Method::DELETE,
            &format!("/api/v1/files/{}", untitled["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);

    // Over the limit, declared up front.
    let (status, p) = s.upload("big.bin", vec![0u8; 1001]).await.unwrap();
    assert_eq!(status, 413, "{p}");
    assert_eq!(problem_type(&p), "too-large");
    // Over the limit, streamed without a length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![1u8; 100])).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, _) = s.upload("stream.bin", body).await.unwrap();
    assert_eq!(status, 413);
    // Exactly at the limit is fine.
    let (status, _) = s.upload("fits.bin", vec![0u8; 1000]).await.unwrap();
    assert_eq!(status, 201);

    let list = s.json("/api/v1/files").await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        s.object_files().await.len(),
        1,
        "refused uploads left objects: {:?}",
        s.object_files().await
    );
}

#[tokio::test]
async fn authentication_and_ownership() {
    let (_d, s) = server(&[]).await;
    let (_, file) = s.upload("secret.txt", "alice's secret").await.unwrap();
    let id = file["id"].as_str().unwrap();

    // No token, wrong token.
    let resp = s.client.get(s.url("/api/v1/files")).send().await.unwrap();
    assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, p) = problem(resp).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (401, "unauthorized"));
    let resp = s
        .client
        .get(s.url("/api/v1/files"))
        .bearer_auth("gfs_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 401);

    // Another user sees nothing of it.
    let bob = s.token_for("bob").await.unwrap();
    let as_bob = |m: Method, p: &str| s.client.request(m, s.url(p)).bearer_auth(&bob);
    let me: Value = as_bob(Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], "bob");
    for path in [
        format!("/api/v1/files/{id}"),
        format!("/api/v1/files/{id}/content"),
    ] {
        let resp = as_bob(Method::GET, &path).send().await.unwrap();
        assert_eq!(problem(resp).await.0, 404, "{path}");
    }
    let resp = as_bob(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
    let list: Value = as_bob(Method::GET, "/api/v1/files")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    let hits: Value = as_bob(Method::GET, "/api/v1/search?q=secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(hits["items"].as_array().unwrap().is_empty());

    // Shared: bob may read but not change.
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&json!({"share_with": ["bob"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = as_bob(Method::GET, &format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "alice's secret");
    let resp = as_bob(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
    let resp = as_bob(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&json!({"name": "mine.txt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
}

#[tokio::test]
async fn listing_pages_filters_and_sorts() {
    let (_d, s) = server(&["--tagger-concurrency", "0"]).await;
    let names = [
        "b.txt", "a.png", "c.txt", "d.txt", "e.png", "f.txt", "g.txt",
    ];
    let png = [
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    for n in names {
        let body: Vec<u8> = if n.ends_with(".png") {
            png.to_vec()
        } else {
            n.as_bytes().repeat(3)
        };
        assert_eq!(s.upload(n, body).await.unwrap().0, 201);
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/files?limit=3".to_string();
    loop {
        let page = s.json(&url).await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|f| f["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/files?limit=3&cursor={c}"),
            None => break,
        }
    }
    let mut newest_first: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let by_name = s.json("/api/v1/files?sort=name&order=asc").await.unwrap();
    let got: Vec<_> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            "a.png", "b.txt", "c.txt", "d.txt", "e.png", "f.txt", "g.txt"
        ]
    );
    let images = s.json("/api/v1/files?media_type=image/").await.unwrap();
    assert_eq!(images["items"].as_array().unwrap().len(), 2);
    let prefix = s.json("/api/v1/files?name_prefix=c").await.unwrap();
    assert_eq!(prefix["items"].as_array().unwrap().len(), 1);
    let pending = s.json("/api/v1/files?status=pending").await.unwrap();
    assert_eq!(pending["items"].as_array().unwrap().len(), 7);
    let by_size = s
        .json("/api/v1/files?sort=size&order=desc&limit=1")
        .await
        .unwrap();
    assert_eq!(by_size["items"][0]["size"], 16);

    for bad in [
        "limit=0",
        "limit=1000",
        "sort=colour",
        "order=up",
        "status=sleeping",
        "cursor=zzz",
        "tag=%3Cscript%3E",
    ] {
        let resp = s.get(&format!("/api/v1/files?{bad}")).send().await.unwrap();
        let (status, p) = problem(resp).await;
        assert_eq!(status, 400, "{bad}: {p}");
    }
}

const DOCS: [(&str, &str); 6] = [
    (
        "photosynthesis.txt",
        "Photosynthesis is the process by which green plants convert sunlight into chemical energy. \
         Chlorophyll in the chloroplasts absorbs light. Photosynthesis produces oxygen and glucose, \
         and the Calvin cycle fixes carbon dioxide. Photosynthesis sustains nearly all life.",
    ),
    (
        "volcanoes.md",
        "# Volcanoes\n\nA volcano erupts when magma rises through the crust. Volcanic eruptions \
         release lava, ash and gases. The volcano Etna in Sicily and the volcano Kilauea in Hawaii \
         erupt often. Magma chambers feed each volcano.",
    ),
    (
        "orbit.html",
        "<html><head><title>Orbital mechanics</title><script>var x = 'satellite secret';</script></head>\
         <body><h1>Orbits</h1><p>A satellite in orbit falls around the planet. Orbital velocity and \
         orbital period depend on altitude. Kepler described each orbit as an ellipse.</p></body></html>",
    ),
    (
        "sales.csv",
        "region,quarter,revenue\nnorth,q1,1200\nsouth,q1,900\nnorth,q2,1500\nsouth,q2,1100\n",
    ),
    (
        "机器学习.txt",
        "机器学习是人工智能的一个分支。机器学习算法通过数据训练模型，深度学习使用神经网络。\
         机器学习在图像识别和自然语言处理中应用广泛。",
    ),
    (
        "plants.txt",
        "Green plants rely on photosynthesis in their leaves. Chlorophyll makes leaves green, and \
         photosynthesis in plants needs water, light and carbon dioxide.",
    ),
];

async fn upload_docs(s: &Server) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, text) in DOCS {
        let (status, f) = s.upload(name, text).await.unwrap();
        assert_eq!(status, 201, "{f}");
        ids.push(f["id"].as_str().unwrap().to_string());
    }
    s.wait_tagged(Duration::from_secs(120)).await.unwrap();
    ids
}

/// The ids of a graph view's nodes.
fn node_ids(view: &Value) -> Vec<String> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn tag_names(file: &Value) -> Vec<String> {
    file["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn files_are_tagged_and_searchable() {
    let (_d, s) = server(&[]).await;
    let ids = upload_docs(&s).await;
    for id in &ids {
        let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
        assert_eq!(f["status"], "done", "{f}");
        assert!(!tag_names(&f).is_empty(), "no tags on {}", f["name"]);
        for t in f["tags"].as_array().unwrap() {
            assert!(["keyword", "metadata"].contains(&t["source"].as_str().unwrap()));
            let score = t["score"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&score));
        }
    }
    let photo = s.json(&format!("/api/v1/files/{}", ids[0])).await.unwrap();
    assert!(
        tag_names(&photo).contains(&"photosynthesis".to_string()),
        "{photo}"
    );
    let volcano = s.json(&format!("/api/v1/files/{}", ids[1])).await.unwrap();
    assert!(
        tag_names(&volcano).iter().any(|t| t.contains("volcano")),
        "{volcano}"
    );
    assert!(
        tag_names(&volcano).contains(&"markdown".to_string()),
        "{volcano}"
    );
    let html = s.json(&format!("/api/v1/files/{}", ids[2])).await.unwrap();
    assert!(
        tag_names(&html).iter().any(|t| t.contains("orbit")),
        "{html}"
    );
    assert!(
        !tag_names(&html).iter().any(|t| t.contains("secret")),
        "script text leaked into tags: {html}"
    );
    let zh = s.json(&format!("/api/v1/files/{}", ids[4])).await.unwrap();
    assert!(tag_names(&zh).iter().any(|t| t.contains("学习")), "{zh}");

    // Search over extracted text, with a snippet, and over names.
    let hits = s.json("/api/v1/search?q=chlorophyll").await.unwrap();
    let found: Vec<_> = hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["file"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(found.len(), 2);
    assert!(found.contains(&ids[0].as_str()) && found.contains(&ids[5].as_str()));
    assert!(
        hits["items"][0]["snippet"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("[chlorophyll]")
    );
    let hits = s.json("/api/v1/search?q=orbit").await.unwrap();
    assert_eq!(hits["items"][0]["file"]["id"], ids[2].as_str());
    let hits = s
        .json("/api/v1/search?q=%E7%A5%9E%E7%BB%8F%E7%BD%91%E7%BB%9C")
        .await
        .unwrap(); // 神经网络
    assert_eq!(hits["items"][0]["file"]["id"], ids[4].as_str());
    let hits = s.json("/api/v1/search?q=volca").await.unwrap(); // as one types
    assert_eq!(hits["items"][0]["file"]["id"], ids[1].as_str());
    let hits = s.json("/api/v1/search?q=satellite%20secret").await.unwrap();
    assert!(
        hits["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| !h["snippet"].as_str().unwrap_or("").contains("secret")),
        "script content was indexed"
    );
    let resp = s.get("/api/v1/search?q=").send().await.unwrap();
    assert_eq!(problem(resp).await.0, 400);

    // The vocabulary, files of a tag, related tags.
    let tags = s.json("/api/v1/tags").await.unwrap();
    let vocab = tags["items"].as_array().unwrap();
    let photo_tag = vocab
        .iter()
        .find(|t| t["name"] == "photosynthesis")
        .expect("shared tag");
    assert_eq!(photo_tag["count"], 2);
    let files = s.json("/api/v1/tags/photosynthesis/files").await.unwrap();
    assert_eq!(files["items"].as_array().unwrap().len(), 2);
    let related = s.json("/api/v1/tags/photosynthesis/related").await.unwrap();
    assert!(!related["items"].as_array().unwrap().is_empty());
    let resp = s
        .get("/api/v1/tags/no-such-tag/related")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);

    // The graph around a file reaches the other file through a shared tag.
    let g = s
        .json(&format!("/api/v1/graph?file={}&depth=2", ids[0]))
        .await
        .unwrap();
    let nodes = node_ids(&g);
    assert!(nodes.contains(&format!("file:{}", ids[0])));
    assert!(nodes.contains(&"tag:photosynthesis".to_string()));
    assert!(nodes.contains(&format!("file:{}", ids[5])));
    for e in g["edges"].as_array().unwrap() {
        assert!(nodes.contains(&e["source"].as_str().unwrap().to_string()));
        assert!(nodes.contains(&e["target"].as_str().unwrap().to_string()));
    }
    let g = s
        .json("/api/v1/graph?tag=photosynthesis&max_nodes=2")
        .await
        .unwrap();
    assert_eq!(g["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(g["truncated"], true);
    // Both starts: one view holding both neighbourhoods.
    let g = s
        .json(&format!("/api/v1/graph?file={}&tag=photosynthesis", ids[5]))
        .await
        .unwrap();
    let nodes = node_ids(&g);
    assert!(nodes.contains(&format!("file:{}", ids[5])));
    assert!(nodes.contains(&"tag:photosynthesis".to_string()));
    assert!(
        nodes.contains(&format!("file:{}", ids[0])),
        "the tag's files"
    );
    // No start: the caller's tags, most used first, as a place to begin.
    let g = s.json("/api/v1/graph?max_nodes=3").await.unwrap();
    let tags = s.json("/api/v1/tags?limit=3").await.unwrap();
    let expected: Vec<_> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("tag:{}", t["name"].as_str().unwrap()))
        .collect();
    let nodes = node_ids(&g);
    assert_eq!(nodes, expected);
    assert_eq!(g["edges"].as_array().unwrap().len(), 0);
    for (bad, want) in [
        ("?file=", 404),
        ("?file=x&tag=photosynthesis", 404),
        ("?tag=", 400),
        ("?tag=a%3Bb", 400),
        ("?depth=9&tag=photosynthesis", 400),
        ("?tag=photosynthesis&max_nodes=0", 400),
    ] {
        let resp = s.get(&format!("/api/v1/graph{bad}")).send().await.unwrap();
        assert_eq!(problem(resp).await.0, want, "{bad}");
    }
}

#[tokio::test]
async fn user_tags_survive_retagging_and_removals_are_remembered() {
    let (_d, s) = server(&[]).await;
    let ids = upload_docs(&s).await;
    let id = &ids[0];
    let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    let machine_tag = tag_names(&f)
        .into_iter()
        .find(|t| t == "photosynthesis")
        .unwrap();
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&json!({"add_tags": ["Biology Notes"], "remove_tags": [machine_tag], "name": "photo.txt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let f: Value = resp.json().await.unwrap();
    assert_eq!(f["name"], "photo.txt");
    assert!(
        f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "biology notes" && t["source"] == "user")
    );
    assert!(!tag_names(&f).contains(&"photosynthesis".to_string()));

    let resp = s
        .request(Method::POST, &format!("/api/v1/files/{id}/retag"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    assert_eq!(f["status"], "done");
    let names = tag_names(&f);
    assert!(
        names.contains(&"biology notes".to_string()),
        "user tag lost: {names:?}"
    );
    assert!(
        !names.contains(&"photosynthesis".to_string()),
        "removed tag came back: {names:?}"
    );
    assert!(
        names.len() > 1,
        "machine tags were not given again: {names:?}"
    );

    // Validation of the patch itself.
    for (body, ctype, want) in [
        ("{not json", "application/json", 400),
        ("{\"colour\": \"red\"}", "application/json", 400),
        ("{\"add_tags\": [\"<b>\"]}", "application/json", 400),
        ("{\"name\": \"../x\"}", "application/json", 400),
        ("{\"name\": \"x\"}", "text/plain", 415),
    ] {
        let resp = s
            .request(Method::PATCH, &format!("/api/v1/files/{id}"))
            .header(header::CONTENT_TYPE, ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(problem(resp).await.0, want, "{body}");
    }
    // A patch says what should be true: removing a tag the file does not
    // carry changes nothing.
    let before = tag_names(&s.json(&format!("/api/v1/files/{id}")).await.unwrap());
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&json!({"remove_tags": ["never-there"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let after: Value = resp.json().await.unwrap();
    assert_eq!(tag_names(&after), before);
}

#[tokio::test]
async fn a_tag_rejected_for_good_stays_off_the_owners_files_only() {
    let (_d, s) = server(&[]).await;
    let bob = s.token_for("bob").await.unwrap();
    let text = "Photosynthesis turns light into sugar; photosynthesis feeds the plant.";
    let (_, mine) = s.upload("leaf.txt", text).await.unwrap();
    let (_, theirs) = s.upload_as(&bob, "leaf.txt", text).await.unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let id = mine["id"].as_str().unwrap().to_string();
    let theirs = theirs["id"].as_str().unwrap().to_string();
    let tag = "photosynthesis";
    assert!(tags_of(&s, &id).await.contains(&tag.to_string()));
    let listed: Value = s.json("/api/v1/tags?prefix=photosynthesis").await.unwrap();
    assert_eq!(
        listed["items"][0]["sources"],
        json!(["keyword"]),
        "{listed}"
    );

    let resp = s
        .request(Method::PUT, "/api/v1/rejected-tags/Photosynthesis")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done, json!({"name": tag, "files_changed": 1}));
    assert!(!tags_of(&s, &id).await.contains(&tag.to_string()));
    let rejected: Value = s.json("/api/v1/rejected-tags").await.unwrap();
    assert_eq!(rejected["items"], json!([tag]));

    // No tagging gives it back: a re-tag, or a new file saying the same.
    let resp = s
        .request(Method::POST, &format!("/api/v1/files/{id}/retag"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let (_, again) = s.upload("leaf-2.txt", text).await.unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let again = again["id"].as_str().unwrap();
    for f in [id.as_str(), again] {
        let names = tags_of(&s, f).await;
        assert!(!names.contains(&tag.to_string()), "{f}: {names:?}");
        assert!(!names.is_empty(), "{f} lost its other tags");
    }
    // Bob's own file is his: it keeps the tag, and his list is empty.
    let f = s
        .json_as(&bob, &format!("/api/v1/files/{theirs}"))
        .await
        .unwrap();
    assert!(tag_names(&f).contains(&tag.to_string()), "{f}");
    let listed = s.json_as(&bob, "/api/v1/rejected-tags").await.unwrap();
    assert_eq!(listed["items"], json!([]));

    // Bad names are the client's mistake; an unknown rejection is not found.
    for (method, path, want) in [
        (Method::PUT, "/api/v1/rejected-tags/%3Cb%3E", 400),
        (Method::DELETE, "/api/v1/rejected-tags/never-rejected", 404),
    ] {
        let resp = s.request(method, path).send().await.unwrap();
        assert_eq!(problem(resp).await.0, want, "{path}");
    }
    // Allowed again: the next tagging gives it.
    let resp = s
        .request(Method::DELETE, "/api/v1/rejected-tags/photosynthesis")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (_, third) = s.upload("leaf-3.txt", text).await.unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let third = third["id"].as_str().unwrap();
    assert!(tags_of(&s, third).await.contains(&tag.to_string()));
}

#[tokio::test]
async fn delete_removes_object_node_and_edges_and_is_idempotent() {
    let (_d, s) = server(&[]).await;
    let ids = upload_docs(&s).await;
    let objects_before = s.object_files().await.len();
    assert_eq!(objects_before, ids.len());
    let id = &ids[0];
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (404, "not-found"));
    let resp = s
        .get(&format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
    assert_eq!(s.object_files().await.len(), objects_before - 1);
    assert!(!s.object_files().await.contains(id));
    // Its edges are gone: the shared tag now counts one file, search skips it.
    let tags = s.json("/api/v1/tags").await.unwrap();
    let photo = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "photosynthesis")
        .unwrap();
    assert_eq!(photo["count"], 1);
    let hits = s.json("/api/v1/search?q=calvin").await.unwrap();
    assert!(hits["items"].as_array().unwrap().is_empty());
    let g = s
        .json(&format!("/api/v1/graph?file={}&depth=2", ids[5]))
        .await
        .unwrap();
    assert!(!g.to_string().contains(id.as_str()));
    // Malformed ids are simply not found.
    let resp = s
        .request(Method::DELETE, "/api/v1/files/not-an-id")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
}

#[tokio::test]
async fn data_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &[]).await.unwrap();
    let (_, f) = s
        .upload("keep.txt", "persistent bytes about glaciers and glaciers")
        .await
        .unwrap();
    let id = f["id"].as_str().unwrap().to_string();
    let bob = s.token_for("bob").await.unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    s.stop().await.unwrap();
    s.restart().await.unwrap();
    let f2 = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    assert_eq!(f2["name"], "keep.txt");
    assert_eq!(f2["status"], "done");
    let body = s
        .get(&format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "persistent bytes about glaciers and glaciers");
    let hits = s.json("/api/v1/search?q=glaciers").await.unwrap();
    assert_eq!(hits["items"].as_array().unwrap().len(), 1);
    let resp = s
        .client
        .get(s.url("/api/v1/me"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn concurrent_uploads_all_land_intact() {
    let (_d, s) = server(&[]).await;
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..32u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let body: Vec<u8> = (0..(1000 + i * 997)).map(|b| (b * (i + 1)) as u8).collect();
            let (status, f) = s.upload(&format!("c{i}.bin"), body.clone()).await.unwrap();
            assert_eq!(status, 201, "{f}");
            (
                f["id"].as_str().unwrap().to_string(),
                hex::encode(Sha256::digest(&body)),
            )
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let mut ids: Vec<_> = results.iter().map(|r| r.0.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 32);
    let list = s.json("/api/v1/files?limit=200").await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 32);
    for (id, sha) in results {
        let bytes = s
            .get(&format!("/api/v1/files/{id}/content"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sha);
    }
}

#[tokio::test]
async fn a_crash_loses_no_job() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tagger-lease-seconds", "2", "--tagger-concurrency", "1"];
    let mut s = Server::start(dir.path(), &args).await.unwrap();
    for i in 0..20 {
        let text = format!("document number {i} about rivers, rivers and mountains");
        assert_eq!(s.upload(&format!("doc{i}.txt"), text).await.unwrap().0, 201);
    }
    // Killed mid-queue, probably mid-job: no chance to release anything.
    s.kill().await.unwrap();
    s.restart().await.unwrap();
    let list = s.wait_tagged(Duration::from_secs(120)).await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(items.iter().all(|f| f["status"] == "done"), "{list}");
    let q: Value = s.json("/api/v1/queue").await.unwrap();
    assert_eq!(
        (q["pending"].as_u64(), q["in_flight"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn failing_extraction_is_retried_then_recorded_on_the_file() {
    // The limit lands on the extraction process once it has started, before
    // it reads the job. Past 1 MiB of address space (less than it already
    // holds) it can map nothing more, so reading a 4 MiB file fails every
    // attempt, the way a parser blowing its limit does, however far the
    // process got before the limit landed.
    let (_d, s) = server(&[
        "--extract-memory-mb",
        "1",
        "--tagger-max-attempts",
        "3",
        "--tagger-backoff-ms",
        "50",
    ])
    .await;
    let (_, f) = s
        .upload("doomed.txt", "some text ".repeat(400_000))
        .await
        .unwrap();
    let id = f["id"].as_str().unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    assert_eq!(f["status"], "failed", "{f}");
    let reason = f["status_reason"].as_str().unwrap();
    assert!(
        reason.contains("extraction") && reason.contains("3 attempts"),
        "{reason}"
    );
    // The server itself is fine.
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let q: Value = s.json("/api/v1/queue").await.unwrap();
    assert_eq!(q["failed"], 1);
}

#[tokio::test]
async fn a_patch_is_all_or_nothing_and_shares_only_with_known_users() {
    let (_d, s) = server(&[]).await;
    let (_, file) = s.upload("plan.txt", "the plan").await.unwrap();
    let path = format!("/api/v1/files/{}", file["id"].as_str().unwrap());
    let me = s.json("/api/v1/me").await.unwrap();
    let owner = me["user"].as_str().unwrap();
    let crowd: Vec<String> = (0..101).map(|i| format!("user{i}")).collect();
    let carol = s.token_for("carol").await.unwrap();

    // Each refused patch also renames and tags: none of that may land.
    for (share, why) in [
        (json!(["nobody-here"]), "unknown user"),
        (json!([owner]), "the owner"),
        (json!(crowd), "too many"),
        (json!(["carol", "\u{1}x"]), "a control character"),
    ] {
        let resp = s
            .request(Method::PATCH, &path)
            .json(&json!({"name": "renamed.txt", "add_tags": ["kept"], "share_with": share}))
            .send()
            .await
            .unwrap();
        let (status, p) = problem(resp).await;
        assert_eq!(
            (status.as_u16(), problem_type(&p)),
            (400, "invalid-request"),
            "{why}: {p}"
        );
        let now = s.json(&path).await.unwrap();
        assert_eq!(now["name"], "plan.txt", "{why}");
        assert!(
            now["tags"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["name"] != "kept"),
            "{why}: {now}"
        );
        assert_eq!(now["shared_with"], json!([]), "{why}");
    }
    // Nor may a contradiction.
    let resp = s
        .request(Method::PATCH, &path)
        .json(&json!({"add_tags": ["kept"], "remove_tags": ["kept"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 400);

    // A good patch lands whole.
    let resp = s
        .request(Method::PATCH, &path)
        .json(&json!({"name": "renamed.txt", "add_tags": ["kept"], "share_with": ["carol"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let now: Value = resp.json().await.unwrap();
    assert_eq!(now["name"], "renamed.txt");
    assert_eq!(now["shared_with"], json!(["carol"]));
    assert!(
        now["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "kept" && t["source"] == "user"),
        "{now}"
    );
    assert_eq!(
        s.json_as(&carol, &path).await.unwrap()["name"],
        "renamed.txt"
    );
}

#[tokio::test]
async fn re_tagging_is_rate_limited_per_user() {
    let (_d, s) = server(&["--retag-per-minute", "1", "--retag-burst", "2"]).await;
    let (_, mine) = s.upload("mine.txt", "mine").await.unwrap();
    let path = format!("/api/v1/files/{}/retag", mine["id"].as_str().unwrap());
    for _ in 0..2 {
        let resp = s.request(Method::POST, &path).send().await.unwrap();
        assert_eq!(resp.status(), 202);
    }
    let resp = s.request(Method::POST, &path).send().await.unwrap();
    let wait: u64 = resp.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let (status, p) = problem(resp).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (429, "rate-limited"));
    // Another user's budget is their own, and other requests go on.
    let bob = s.token_for("bob").await.unwrap();
    let (_, theirs) = s.upload_as(&bob, "theirs.txt", "theirs").await.unwrap();
    let theirs = format!("/api/v1/files/{}/retag", theirs["id"].as_str().unwrap());
    let resp = s
        .request_as(&bob, Method::POST, &theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(s.get("/api/v1/files").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn probes_metrics_openapi_and_unknown_routes() {
    let (_d, s) = server(&[]).await;
    s.upload("m.txt", "metrics").await.unwrap();
    assert_eq!(
        s.client
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = || async {
        let resp = s.client.get(s.url("/metrics")).send().await.unwrap();
        resp.text().await.unwrap()
    };
    let m = metrics().await;
    assert!(m.contains("graphfs_uploads_total 1"), "{m}");
    assert!(m.contains("graphfs_upload_bytes_total 7"));
    assert!(m.contains(
        "graphfs_http_requests_total{method=\"POST\",route=\"/api/v1/files\",status=\"201\"} 1"
    ));
    assert!(m.contains("graphfs_http_request_duration_seconds_bucket"));
    // Invented methods share one label: a client cannot grow the series.
    for name in ["BREW", "PROPFAKE", "X-ANY"] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        let resp = s.request(method, "/api/v1/files").send().await.unwrap();
        assert_eq!(resp.status(), 405, "{name}");
    }
    let m = metrics().await;
    assert!(
        m.contains(
            "graphfs_http_requests_total{method=\"OTHER\",route=\"/api/v1/files\",status=\"405\"} 3"
        ),
        "{m}"
    );
    assert!(!m.contains("BREW"));
    assert!(m.contains("graphfs_queue_depth{state=\"pending\"}"));

    // The OpenAPI document describes every API route the server answers.
    let doc: Value = s
        .client
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // The document and the router come from one route list: every
    // documented operation is routed (never the "no such route" 404 or a
    // 405), whatever it answers to this request.
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let url = path
            .replace("{id}", "0192f3c1a2b37c4d8e9f0a1b2c3d4e5f")
            .replace("{name}", "nosuchtag");
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = s.request(m, &url).send().await.unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            assert!(
                status != 405 && !body.contains("no such route"),
                "{method} {path} is documented but not routed: {status} {body}"
            );
            operations += 1;
        }
    }
    assert_eq!(
        operations, 41,
        "every route the server answers is documented"
    );

    let resp = s.get("/api/v1/nope").send().await.unwrap();
    assert_eq!(problem(resp).await.0, 404);
    let resp = s
        .request(Method::PUT, "/api/v1/files")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 405);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let (_d, s) = server(&["--rate-limit-rps", "1", "--rate-limit-burst", "3"]).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let resp = s.get("/api/v1/me").send().await.unwrap();
        if resp.status() == 429 {
            retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().to_string());
            let (_, p) = problem(resp).await;
            assert_eq!(problem_type(&p), "rate-limited");
            statuses.push(429);
        } else {
            statuses.push(resp.status().as_u16());
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn the_web_page_is_served_with_a_strict_policy() {
    let (_d, s) = server(&[]).await;
    let resp = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_string();
    let html = resp.text().await.unwrap();
    // The Vite build: hashed module script and stylesheet under /assets/,
    // nothing inline (the policy would block it).
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|p| p.starts_with("/assets/") && (p.ends_with(".js") || p.ends_with(".css")))
        .map(str::to_string)
        .collect();
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "the built page (make web) links its assets: {html}"
    );
    assert!(!html.contains("<script>") && !html.contains("<style"));
    let resp = s
        .client
        .get(s.url("/"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    for asset in &assets {
        let resp = s
            .client
            .get(s.url(asset))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip", "{asset}");
        assert_eq!(resp.status(), 200, "{asset}");
        assert_eq!(
            resp.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/")
        );
        assert!(!resp.text().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn office_documents_are_extracted_and_tagged() {
    use std::io::Write;
    let (_d, s) = server(&[]).await;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
        z.start_file("word/document.xml", opts).unwrap();
        z.write_all(br#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Telescope observations of distant galaxies.</w:t></w:r></w:p><w:p><w:r><w:t>Each telescope records galaxies and galaxy clusters.</w:t></w:r></w:p></w:body></w:document>"#).unwrap();
        z.finish().unwrap();
    }
    let (status, f) = s
        .upload("observations.docx", buf.into_inner())
        .await
        .unwrap();
    assert_eq!(status, 201);
    assert_eq!(
        f["media_type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let f = s
        .json(&format!("/api/v1/files/{}", f["id"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(f["status"], "done", "{f}");
    assert!(
        tag_names(&f)
            .iter()
            .any(|t| t.starts_with("telescope") || t.starts_with("galax")),
        "{f}"
    );
    let hits = s.json("/api/v1/search?q=galaxies").await.unwrap();
    assert_eq!(hits["items"].as_array().unwrap().len(), 1);
}

/// A scanned letter (a PDF holding only a picture) and a screenshot are
/// read by OCR, and so are a screenshot of Chinese text and the slides of a
/// screen recording: their words are searchable and tag them.
#[tokio::test]
async fn scanned_letters_and_screenshots_are_found_by_their_words() {
    let (_d, s) = server(&[]).await;
    let (status, png) = s
        .upload(
            "screenshot.png",
            fixtures::scan_png("Quarterly invoice for project titan"),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{png}");
    let (status, pdf) = s
        .upload(
            "letter.pdf",
            fixtures::scanned_pdf("Glaciers carve valleys slowly"),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{pdf}");
    // Chinese, read with the default languages (eng+chi_sim).
    let (status, zh) = s
        .upload(
            "截图.png",
            fixtures::rendered_png("天文望远镜观测遥远的星系\n望远镜的镜片需要定期清洁"),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{zh}");
    // A silent screen recording: its keyframes are read.
    let (status, video) = s
        .upload(
            "talk.mp4",
            fixtures::screen_recording(
                &["Harbor lighthouse maintenance", "Volcanic basalt columns"],
                None,
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{video}");
    s.wait_tagged(Duration::from_secs(120)).await.unwrap();
    let expected = [
        (&png, "titan", "titan"),
        (&pdf, "glaciers", "glacier"),
        (&zh, "望远镜", "望远镜"),
        (&video, "lighthouse", "lighthouse"),
        // Five topic tags at most: each slide is searched, one tag checked.
        (&video, "basalt", "lighthouse"),
    ];
    let id = video["id"].as_str().unwrap();
    let v = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    // Four looked for; keyframes that fall on the same one count once.
    let frames = v["metadata"]["frames_read"].as_u64().unwrap();
    assert!((2..=4).contains(&frames), "{v}");
    for (file, word, tag) in expected {
        let id = file["id"].as_str().unwrap();
        let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
        assert_eq!(f["status"], "done", "{f}");
        assert_eq!(f["metadata"]["ocr"], true, "{f}");
        // The URL parser percent-encodes the Chinese word.
        let hits = s.json(&format!("/api/v1/search?q={word}")).await.unwrap();
        let found: Vec<&str> = hits["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["file"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(found, [id], "{word}: {hits}");
        assert!(
            tag_names(&f).iter().any(|t| t.contains(tag)),
            "{tag} is not a tag of {f}"
        );
    }
}

/// The default vocabulary discipline, through HTTP: a keyword of one file
/// is searchable but not a tag; once a second file proposes it, both carry
/// it and the graph groups them.
#[tokio::test]
async fn a_keyword_becomes_a_tag_when_a_second_file_shares_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_env(dir.path(), &[], &[("GRAPHFS_TAG_MIN_FREQUENCY", "2")])
        .await
        .unwrap();
    let keyword_tags = |f: &Value| -> Vec<String> {
        f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["source"] == "keyword")
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, first) = s
        .upload(
            "ice.txt",
            "Glaciers carve valleys. A glacier moves slowly; moraines mark where it stood.",
        )
        .await
        .unwrap();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let first_id = first["id"].as_str().unwrap().to_string();
    let f = s.json(&format!("/api/v1/files/{first_id}")).await.unwrap();
    assert!(keyword_tags(&f).is_empty(), "{f}");
    let hits = s.json("/api/v1/search?q=moraines").await.unwrap();
    assert_eq!(hits["items"][0]["file"]["id"], first_id.as_str(), "{hits}");

    let (_, second) = s
        .upload(
            "alps.txt",
            "The glaciers of the Alps are shrinking: each glacier loses ice every summer.",
        )
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap().to_string();
    // The second file's tagging queues the first again; wait for both.
    let mut tagged = Vec::new();
    for _ in 0..600 {
        s.wait_tagged(Duration::from_secs(60)).await.unwrap();
        tagged.clear();
        for id in [&first_id, &second_id] {
            let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
            tagged.push(keyword_tags(&f));
        }
        if tagged.iter().all(|t| t.contains(&"glacier".to_string())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        tagged.iter().all(|t| t.contains(&"glacier".to_string())),
        "{tagged:?}"
    );
    assert!(
        !tagged[0].iter().any(|t| t.starts_with("moraine")),
        "{tagged:?}"
    );
    let view = s.json("/api/v1/graph?tag=glacier").await.unwrap();
    let ids = node_ids(&view);
    assert!(
        ids.iter().any(|n| n.contains(&first_id)) && ids.iter().any(|n| n.contains(&second_id)),
        "{view}"
    );
}

/// What one user does with tags must not reach another: merging or renaming
/// a tag (which rewrites it on everyone's files) is for admins, and a tag on
/// someone else's files answers like one nobody has.
#[tokio::test]
async fn tag_merges_are_for_admins_and_tags_cannot_be_probed() {
    let (_d, s) = server(&[]).await;
    let ids = upload_docs(&s).await;
    let mallory = s.token_for("mallory").await.unwrap();
    let as_mallory = |m: Method, path: &str| s.request_as(&mallory, m, path);
    let me = s.json_as(&mallory, "/api/v1/me").await.unwrap();
    assert_eq!(me["admin"], false);
    assert_eq!(s.json("/api/v1/me").await.unwrap()["admin"], true);

    let resp = as_mallory(Method::POST, "/api/v1/tags/photosynthesis/merge")
        .json(&json!({"into": "pay now at evil.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
    let resp = as_mallory(Method::PATCH, "/api/v1/tags/photosynthesis")
        .json(&json!({"name": "evil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
    let f = s.json(&format!("/api/v1/files/{}", ids[0])).await.unwrap();
    assert!(tag_names(&f).contains(&"photosynthesis".to_string()));
    assert!(!tag_names(&f).iter().any(|t| t.contains("evil")));

    // A tag only on the other user's files, and one nobody has: the same 404.
    for tag in ["photosynthesis", "no-such-tag-anywhere"] {
        for path in [
            format!("/api/v1/graph?tag={tag}"),
            format!("/api/v1/tags/{tag}/related"),
        ] {
            let resp = as_mallory(Method::GET, &path).send().await.unwrap();
            let (status, body) = problem(resp).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!(body["detail"], format!("tag '{tag}' not found"), "{path}");
        }
    }

    // The admin merges.
    let resp = s
        .request(Method::POST, "/api/v1/tags/photosynthesis/merge")
        .json(&json!({"into": "plant biology"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let f = s.json(&format!("/api/v1/files/{}", ids[0])).await.unwrap();
    assert!(tag_names(&f).contains(&"plant biology".to_string()));
}

async fn ids_in(s: &Server, query: &str) -> Vec<String> {
    let page = s.json(&format!("/api/v1/files?{query}")).await.unwrap();
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn folders_hold_files_and_move_with_them() {
    let (_d, s) = server(&[]).await;
    let put = |folder: &'static str, name: &'static str| {
        let s = &s;
        async move {
            let resp = s
                .request(Method::POST, "/api/v1/files")
                .query(&[("name", name), ("folder", folder)])
                .body(format!("{name} in {folder}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            let f: Value = resp.json().await.unwrap();
            (f["id"].as_str().unwrap().to_string(), f["folder"].clone())
        }
    };
    let (plan, folder) = put("projects//titan/", "plan.txt").await;
    assert_eq!(folder, "/projects/titan");
    let (notes, _) = put("/projects", "notes.txt").await;
    let (loose, folder) = put("", "loose.txt").await;
    assert_eq!(folder, "/");

    // Listing by folder, with or without what is beneath it.
    assert_eq!(
        ids_in(&s, "folder=/projects").await,
        sorted(vec![plan.clone(), notes.clone()])
    );
    assert_eq!(
        ids_in(&s, "folder=/projects&subfolders=false").await,
        vec![notes.clone()]
    );
    assert_eq!(
        ids_in(&s, "folder=/&subfolders=false").await,
        vec![loose.clone()]
    );

    // Folders: listed, made empty, refused when bad, removed when empty.
    let root = s.json("/api/v1/folders").await.unwrap();
    assert_eq!(root["path"], "/");
    assert_eq!(root["folders"][0]["name"], "projects");
    let made = s
        .request(Method::POST, "/api/v1/folders")
        .json(&json!({"path": "/archive/2025"}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let again = s
        .request(Method::POST, "/api/v1/folders")
        .json(&json!({"path": "archive/2025/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let bad = s
        .request(Method::POST, "/api/v1/folders")
        .json(&json!({"path": "/a/../b"}))
        .send()
        .await
        .unwrap();
    let (status, p) = problem(bad).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (400, "invalid-name"));
    let resp = s
        .request(Method::POST, "/api/v1/files")
        .query(&[("name", "x.txt"), ("folder", "/a/\u{7}")])
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 400);
    let resp = s.get("/api/v1/folders?path=/nowhere").send().await.unwrap();
    assert_eq!(problem(resp).await.0, 404);
    let resp = s
        .request(Method::DELETE, "/api/v1/folders?path=/projects")
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (409, "conflict"));
    for path in ["/archive/2025", "/archive"] {
        let resp = s
            .request(Method::DELETE, &format!("/api/v1/folders?path={path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204, "{path}");
    }

    // A file moves by PATCH; a folder moves with its files.
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{notes}"))
        .json(&json!({"folder": "/desk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let moved: Value = resp.json().await.unwrap();
    assert_eq!(moved["folder"], "/desk");
    let resp = s
        .request(Method::POST, "/api/v1/folders/move")
        .json(&json!({"from": "/projects", "to": "/old/projects"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let moved: Value = resp.json().await.unwrap();
    assert_eq!(moved["moved_files"], 1);
    let plan_now = s.json(&format!("/api/v1/files/{plan}")).await.unwrap();
    assert_eq!(plan_now["folder"], "/old/projects/titan");
    let resp = s
        .request(Method::POST, "/api/v1/folders/move")
        .json(&json!({"from": "/old", "to": "/old/inner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 409);

    // Search and the graph keep to a folder; each file is IN its folder.
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let hit_ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["file"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let hits = s.json("/api/v1/search?q=plan&folder=/old").await.unwrap();
    assert_eq!(hit_ids(&hits), vec![plan.clone()]);
    let hits = s
        .json("/api/v1/search?q=plan&folder=/old&subfolders=false")
        .await
        .unwrap();
    assert_eq!(hit_ids(&hits), Vec::<String>::new());
    let view = s
        .json("/api/v1/graph?folder=/old/projects/titan")
        .await
        .unwrap();
    let has_in = |v: &Value, from: &str, to: &str| {
        v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "IN" && e["source"] == from && e["target"] == to)
    };
    let plan_node = format!("file:{plan}");
    assert!(
        has_in(&view, &plan_node, "folder:/old/projects/titan"),
        "{view}"
    );
    assert!(has_in(
        &view,
        "folder:/old/projects/titan",
        "folder:/old/projects"
    ));
    let around = s.json(&format!("/api/v1/graph?file={plan}")).await.unwrap();
    assert!(
        has_in(&around, &plan_node, "folder:/old/projects/titan"),
        "{around}"
    );
    let resp = s.get("/api/v1/graph?folder=/nowhere").send().await.unwrap();
    assert_eq!(problem(resp).await.0, 404);

    // Another user sees none of it.
    let bob = s.token_for("bob").await.unwrap();
    let theirs = s.json_as(&bob, "/api/v1/folders").await.unwrap();
    assert_eq!(theirs["folders"], json!([]));
    let page = s.json_as(&bob, "/api/v1/files?folder=/old").await.unwrap();
    assert_eq!(page["items"], json!([]));
    let resp = s
        .request_as(&bob, Method::POST, "/api/v1/folders/move")
        .json(&json!({"from": "/old", "to": "/mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
}

/// The numbers of a file's versions, as listed (newest first).
async fn version_numbers(s: &Server, id: &str) -> Vec<u64> {
    let versions = s
        .json(&format!("/api/v1/files/{id}/versions"))
        .await
        .unwrap();
    versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// The names of a file's tags, sorted.
async fn tags_of(s: &Server, id: &str) -> Vec<String> {
    let f = s.json(&format!("/api/v1/files/{id}")).await.unwrap();
    sorted(tag_names(&f))
}

#[tokio::test]
async fn versions_keep_what_new_content_replaced() {
    let (_d, s) = server(&["--versions-kept", "2"]).await;
    let drafts = [
        "Telescope notes: the galaxy survey and the telescope mirror, galaxy by galaxy.",
        "Pasta recipe: boil the pasta, then the sauce; pasta with basil sauce.",
        "Football report: the match ended with a late goal; the match was close.",
    ];
    let write = |body: &'static str| {
        s.request(Method::POST, "/api/v1/files")
            .query(&[("name", "draft.txt"), ("folder", "/writing")])
            .body(body)
            .send()
    };
    let first = write(drafts[0]).await.unwrap();
    assert_eq!(first.status(), 201);
    let id = first.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let first_tags = tags_of(&s, &id).await;
    assert!(!first_tags.is_empty(), "the first draft is tagged");

    // The same path again is the same file with new content (200, not 201).
    for body in &drafts[1..] {
        let resp = write(body).await.unwrap();
        assert_eq!(resp.status(), 200);
        let f: Value = resp.json().await.unwrap();
        assert_eq!(f["id"], id.as_str());
        assert_eq!(f["sha256"], hex::encode(Sha256::digest(body.as_bytes())));
        s.wait_tagged(Duration::from_secs(60)).await.unwrap();
        assert_ne!(tags_of(&s, &id).await, first_tags, "tagged anew");
    }
    let page = s.json("/api/v1/files?folder=/writing").await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "one file");
    let numbers = version_numbers(&s, &id).await;
    assert_eq!(numbers, [2, 1], "newest first");
    for (n, body) in [(1, drafts[0]), (2, drafts[1])] {
        let got = s
            .get(&format!("/api/v1/files/{id}/versions/{n}/content"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.text().await.unwrap(), body, "version {n}");
    }
    assert_eq!(s.object_files().await.len(), 3, "the file and two versions");

    // A create-only upload to the taken path is refused; nothing changes.
    let resp = s
        .request(Method::POST, "/api/v1/files")
        .query(&[
            ("name", "draft.txt"),
            ("folder", "/writing"),
            ("create_only", "true"),
        ])
        .body("never stored")
        .send()
        .await
        .unwrap();
    let (status, p) = problem(resp).await;
    assert_eq!((status.as_u16(), problem_type(&p)), (409, "conflict"));

    // Restoring the first brings its bytes and its tags back; the content it
    // replaced is kept, and the oldest goes beyond the retention of two.
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let resp = s
        .request(
            Method::POST,
            &format!("/api/v1/files/{id}/versions/1/restore"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let restored: Value = resp.json().await.unwrap();
    assert_eq!(restored["sha256"], hex::encode(Sha256::digest(drafts[0])));
    let content = s
        .get(&format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(content.text().await.unwrap(), drafts[0]);
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        tags_of(&s, &id).await,
        first_tags,
        "the tags follow the content"
    );
    let numbers = version_numbers(&s, &id).await;
    assert_eq!(numbers, [3, 2]);
    assert_eq!(
        s.object_files().await.len(),
        3,
        "the dropped version's object is gone"
    );

    // Bad numbers are 400 and 404; another user sees no versions, and one
    // the file is shared with may read them but not restore.
    let resp = s
        .get(&format!("/api/v1/files/{id}/versions/first/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 400);
    let resp = s
        .get(&format!("/api/v1/files/{id}/versions/1/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
    let bob = s.token_for("bob").await.unwrap();
    let resp = s
        .request_as(&bob, Method::GET, &format!("/api/v1/files/{id}/versions"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 404);
    let resp = s
        .request(Method::PATCH, &format!("/api/v1/files/{id}"))
        .json(&json!({"share_with": ["bob"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let theirs = s
        .json_as(&bob, &format!("/api/v1/files/{id}/versions"))
        .await
        .unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 2);
    let resp = s
        .request_as(
            &bob,
            Method::POST,
            &format!("/api/v1/files/{id}/versions/2/restore"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);

    // Deleting the file deletes every version's bytes too.
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(s.object_files().await, Vec::<String>::new());
}

/// The taxonomy's parents are drawn as BROADER edges between tags, and
/// expanding a tag brings its broader and narrower tags that the caller's
/// files carry, never another user's.
#[tokio::test]
async fn the_graph_draws_the_taxonomy_as_broader_edges() {
    let dir = tempfile::tempdir().unwrap();
    let taxonomy = dir.path().join("topics.csv");
    std::fs::write(
        &taxonomy,
        "name,description,aliases,parent\n\
         finance,Money: budgets and accounts,,\n\
         invoices,Bills sent and received,,finance\n\
         taxes,Tax returns and receipts,,finance\n\
         payroll,Salaries paid,,finance\n",
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--taxonomy", taxonomy.to_str().unwrap()],
    )
    .await
    .unwrap();
    for (name, tag) in [
        ("march.txt", "invoices"),
        ("ledger.txt", "finance"),
        ("return.txt", "taxes"),
    ] {
        let (status, f) = s.upload(name, format!("{name} contents")).await.unwrap();
        assert_eq!(status, 201, "{f}");
        let resp = s
            .request(
                Method::PATCH,
                &format!("/api/v1/files/{}", f["id"].as_str().unwrap()),
            )
            .json(&json!({ "add_tags": [tag] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let broader = |v: &Value| -> Vec<(String, String)> {
        let mut e: Vec<_> = v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "BROADER")
            .map(|e| {
                (
                    e["source"].as_str().unwrap().to_string(),
                    e["target"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        e.sort();
        e
    };
    let want = vec![
        ("tag:invoices".to_string(), "tag:finance".to_string()),
        ("tag:taxes".to_string(), "tag:finance".to_string()),
    ];
    // Expanding "finance": its narrower tags come in (no file of the
    // caller's is about payroll, so that topic does not).
    let view = s.json("/api/v1/graph?tag=finance").await.unwrap();
    let nodes: Vec<&str> = view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        nodes.contains(&"tag:invoices") && nodes.contains(&"tag:taxes"),
        "{nodes:?}"
    );
    assert!(!nodes.contains(&"tag:payroll"), "{nodes:?}");
    assert_eq!(broader(&view), want, "{view}");
    // Expanding "invoices" brings "finance", its broader tag.
    let view = s.json("/api/v1/graph?tag=invoices").await.unwrap();
    assert!(broader(&view).contains(&want[0]), "{view}");
    // Where the graph begins, the top tags are joined the same way.
    let view = s.json("/api/v1/graph").await.unwrap();
    assert_eq!(broader(&view), want, "{view}");
    // Another user's view of the tag holds none of the first user's tags.
    let bob = s.token_for("bob").await.unwrap();
    let resp = s
        .request_as(&bob, Method::GET, "/api/v1/graph?tag=finance")
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert!(
        !body.contains("tag:invoices") && !body.contains("tag:taxes"),
        "{body}"
    );
}

/// An admin imports a taxonomy through the API or `graphfs vocab import`
/// while servers run: it is in force at once for the graph's hierarchy,
/// every user reads it, only an admin changes it, and a reset brings back
/// the server's default.
#[tokio::test]
async fn an_admin_imports_a_taxonomy_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("default.csv");
    std::fs::write(
        &default,
        "name,description,parent\n\
         finance,Money: budgets and accounts,\n\
         invoices,Bills sent and received,finance\n",
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--taxonomy", default.to_str().unwrap()],
    )
    .await
    .unwrap();
    let names = |doc: &Value| -> Vec<String> {
        doc["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let doc = s.json("/api/v1/taxonomy").await.unwrap();
    assert_eq!(doc["imported"], false, "{doc}");
    assert_eq!(names(&doc), ["finance", "invoices"]);

    // Only an admin changes it; every user reads it.
    let bob = s.token_for("bob").await.unwrap();
    let more = "name,description,aliases,parent\npayroll,Salaries paid,wages|salary,finance\n";
    let resp = s
        .request_as(&bob, Method::PUT, "/api/v1/taxonomy")
        .header("content-type", "text/csv")
        .body(more)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
    let put = |body: &'static str, kind: &'static str, query: &'static str| {
        s.request(Method::PUT, &format!("/api/v1/taxonomy{query}"))
            .header("content-type", kind)
            .body(body)
            .send()
    };
    let resp = put(more, "text/csv", "").await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["imported"], true, "{doc}");
    assert_eq!(names(&doc), ["finance", "invoices", "payroll"], "extended");
    assert_eq!(doc["topics"][2]["aliases"], json!(["wages", "salary"]));
    assert_eq!(s.json_as(&bob, "/api/v1/taxonomy").await.unwrap(), doc);

    // Mistakes are refused, saying what is wrong, and change nothing.
    let (status, p) = problem(
        put(
            "name,description,parent\nbonus,Extra pay,salaries\n",
            "text/csv",
            "",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("\"salaries\" is not a topic"),
        "{p}"
    );
    let (status, p) = problem(
        put("name,description\nwages,Pay\n", "text/csv", "")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "an alias of another topic: {p}");
    assert_eq!(
        problem(put(more, "text/plain", "").await.unwrap()).await.0,
        415
    );
    assert_eq!(
        problem(put(more, "text/csv", "?mode=merge").await.unwrap())
            .await
            .0,
        400
    );
    assert_eq!(
        problem(put("topics: [", "application/yaml", "").await.unwrap())
            .await
            .0,
        400
    );
    assert_eq!(
        names(&s.json("/api/v1/taxonomy").await.unwrap()),
        ["finance", "invoices", "payroll"]
    );

    // The graph's hierarchy follows the import at once.
    let (status, f) = s.upload("june.txt", "salaries for june").await.unwrap();
    assert_eq!(status, 201, "{f}");
    let resp = s
        .request(
            Method::PATCH,
            &format!("/api/v1/files/{}", f["id"].as_str().unwrap()),
        )
        .json(&json!({ "add_tags": ["payroll", "finance"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let view = s.json("/api/v1/graph?tag=finance").await.unwrap();
    assert!(
        view["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "BROADER"
                && e["source"] == "tag:payroll"
                && e["target"] == "tag:finance"),
        "{view}"
    );

    // The command line imports into the same index; the running server
    // follows within its refresh interval (a few seconds).
    let yaml = dir.path().join("kitchen.yaml");
    std::fs::write(
        &yaml,
        "topics:\n  - name: cooking\n    description: recipes and meals\n  \
         - name: soup\n    description: soups and broths\n    parent: cooking\n",
    )
    .unwrap();
    let out = s
        .cli(&["vocab", "import", yaml.to_str().unwrap(), "--replace"])
        .await
        .unwrap();
    assert!(out.contains("imported 2 topics"), "{out}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let doc = s.json("/api/v1/taxonomy").await.unwrap();
        if names(&doc) == ["cooking", "soup"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never followed: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let exported = s.cli(&["vocab", "export"]).await.unwrap();
    assert!(exported.contains("parent: cooking"), "{exported}");
    let view = s.json("/api/v1/graph?tag=finance").await.unwrap();
    assert!(
        !view["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "BROADER"),
        "the replaced taxonomy's hierarchy is gone: {view}"
    );

    // A reset brings back the server's default; the version keeps growing.
    let resp = s
        .request_as(&bob, Method::DELETE, "/api/v1/taxonomy")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(resp).await.0, 403);
    let resp = s
        .request(Method::DELETE, "/api/v1/taxonomy")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["imported"], false, "{doc}");
    assert_eq!(names(&doc), ["finance", "invoices"]);
    assert_eq!(doc["version"], 3, "{doc}");
}
