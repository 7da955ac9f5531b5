//! API tokens end to end: users make, list and revoke their own through the
//! API; operators do it with `graphfs token`; the tokens file is followed
//! as it changes. The real `graphfs` binary on loopback, embedded backends.

use std::time::{Duration, Instant};

use graphfs_e2e::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Generous: it catches a change that never takes effect, not a slow one.
const PATIENCE: Duration = Duration::from_secs(60);

async fn server(dir: &std::path::Path, args: &[&str]) -> Server {
    Server::start(dir, args).await.unwrap()
}

/// The status `GET /api/v1/me` answers with this token.
async fn me_with(s: &Server, token: &str) -> StatusCode {
    s.request_as(token, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap()
        .status()
}

/// Waits until `token` answers `want` (a change another process made
/// reaches this one through the token cache's short TTL).
async fn until_status(s: &Server, token: &str, want: StatusCode) {
    let start = Instant::now();
    while me_with(s, token).await != want {
        assert!(start.elapsed() < PATIENCE, "token never answered {want}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn users_make_list_and_revoke_their_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]).await;
    let made = s
        .request(Method::POST, "/api/v1/tokens")
        .json(&json!({"label": "  laptop ", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    assert_eq!(made.headers()["cache-control"], "no-store");
    let made: Value = made.json().await.unwrap();
    let token = made["token"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["label"], "laptop");
    assert_eq!(made["source"], "api");
    assert!(made["expires_at"].is_string());
    assert_eq!(me_with(&s, &token).await, StatusCode::OK);

    // The list shows it, and never a secret.
    let list = s
        .request(Method::GET, "/api/v1/tokens")
        .send()
        .await
        .unwrap();
    let text = list.text().await.unwrap();
    assert!(!text.contains(&token), "a secret was listed");
    let list: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{list}");

    // Another user can neither see nor revoke it.
    let bob = s.token_for("bob").await.unwrap();
    let bobs = s.json_as(&bob, "/api/v1/tokens").await.unwrap();
    assert!(!bobs.to_string().contains(&id), "{bobs}");
    let resp = s
        .request_as(&bob, Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(me_with(&s, &token).await, StatusCode::OK);

    // Revoked: it stops working at once on this server.
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_with(&s, &token).await, StatusCode::UNAUTHORIZED);
    let again = s
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    // Bad requests are client errors.
    for body in [
        json!({"label": ""}),
        json!({"label": "   "}),
        json!({"label": "a\u{7}b"}),
        json!({"label": "x".repeat(65)}),
        json!({"label": "ok", "expires_in_days": 0}),
        json!({"label": "ok", "expires_in_days": 3651}),
        json!({"label": "ok", "colour": "red"}),
        json!([]),
    ] {
        let resp = s
            .request(Method::POST, "/api/v1/tokens")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn operators_list_and_revoke_tokens_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]).await;
    let alice = s
        .token_cli(&[
            "--user",
            "alice",
            "--label",
            "ci job",
            "--expires-in-days",
            "7",
        ])
        .await
        .unwrap();
    assert_eq!(me_with(&s, &alice).await, StatusCode::OK);
    let listing = s.token_cli(&["list", "--user", "alice"]).await.unwrap();
    let line = listing
        .lines()
        .find(|l| l.contains("ci job"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(!listing.contains(&alice), "a secret was listed");
    let id = line.split_whitespace().next().unwrap();
    s.token_cli(&["revoke", "--id", id]).await.unwrap();
    // The server process learns of it within its token cache's TTL.
    until_status(&s, &alice, StatusCode::UNAUTHORIZED).await;
    assert!(s.token_cli(&["revoke", "--id", id]).await.is_err());
    assert!(
        s.token_cli(&[]).await.is_err(),
        "--user is needed to make one"
    );
}

#[tokio::test]
async fn the_tokens_file_is_followed_as_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    let alice = "alice-token-0123456789abcdef";
    let bob = "bob-token-0123456789abcdef";
    std::fs::write(&file, format!("# users\nalice:{alice}\n")).unwrap();
    let s = server(
        &dir.path().join("data"),
        &[
            "--tokens-file",
            file.to_str().unwrap(),
            "--tokens-file-sync-seconds",
            "1",
        ],
    )
    .await;
    assert_eq!(me_with(&s, alice).await, StatusCode::OK);
    assert_eq!(me_with(&s, bob).await, StatusCode::UNAUTHORIZED);
    // A file tokens come from cannot be revoked through the API.
    let alices = s.json_as(alice, "/api/v1/tokens").await.unwrap();
    let id = alices["items"][0]["id"].as_str().unwrap();
    assert_eq!(alices["items"][0]["source"], "file");
    let resp = s
        .request_as(alice, Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // alice leaves the file and bob joins it.
    std::fs::write(&file, format!("bob:{bob}\n")).unwrap();
    until_status(&s, bob, StatusCode::OK).await;
    until_status(&s, alice, StatusCode::UNAUTHORIZED).await;

    // A broken file changes nothing: bob keeps working.
    std::fs::write(&file, "not a token line\n").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(me_with(&s, bob).await, StatusCode::OK);
}
