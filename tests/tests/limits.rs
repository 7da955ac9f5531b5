//! Clients that hold the server without finishing a request: half-open
//! connections (slowloris) and bodies that stop arriving. The real `graphfs`
//! binary on loopback, with small limits so the test stays short.

use std::time::Duration;

use graphfs_e2e::Server;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bounds: they catch a server that never answers, not a slow one.
const PATIENCE: Duration = Duration::from_secs(60);

async fn server(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), args).await.unwrap();
    (dir, s)
}

fn host_port(s: &Server) -> String {
    s.base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Reads until the peer closes the connection or `PATIENCE` runs out.
async fn read_to_close(conn: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, conn.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn half_open_connections_do_not_starve_the_server() {
    let (_d, s) = server(&[
        "--max-connections",
        "16",
        "--header-read-timeout-seconds",
        "1",
    ])
    .await;
    let addr = host_port(&s);
    // Hundreds of clients that send half a request and then nothing: far
    // more than the server serves at once.
    let mut half_open = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        half_open.push(c);
    }
    // A normal client still gets its answer: each half-open connection is
    // closed at the header deadline, and the queue behind them moves on.
    let me = tokio::time::timeout(PATIENCE, s.json("/api/v1/me"))
        .await
        .expect("the server answered a normal request")
        .unwrap();
    assert_eq!(me["user"], "dev");
    // The first half-open connection was closed by the server, without an
    // answer to the request it never finished.
    let answer = read_to_close(&mut half_open[0]).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_stalled_upload_is_refused_and_stores_nothing() {
    let (_d, s) = server(&["--body-idle-timeout-seconds", "1"]).await;
    let mut c = TcpStream::connect(host_port(&s)).await.unwrap();
    let head = format!(
        "POST /api/v1/files?name=stalled.txt HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Type: text/plain\r\n\
         Content-Length: 1000\r\nConnection: close\r\n\r\n",
        s.token
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&[b'x'; 100]).await.unwrap();
    // ...and the other 900 bytes never come.
    let answer = String::from_utf8_lossy(&read_to_close(&mut c).await).to_string();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("paused"), "{answer}");
    let list: Value = s.json("/api/v1/files").await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}
