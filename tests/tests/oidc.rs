//! Sign-in through a real OpenID Connect provider: Keycloak, started by the
//! tests with a realm of two users (alice in the `graphfs-admins` group, bob
//! not). Its access tokens sign in to the API besides GraphFS's own tokens;
//! the admin role comes from the groups claim; tokens for another client,
//! or tampered with, are refused.

use graphfs_e2e::Server;
use graphfs_e2e::servers::ExternalServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn access_token(kc: &ExternalServer, client: &str, user: &str) -> String {
    let resp = reqwest::Client::new()
        .post(kc.get("GRAPHFS_OIDC_TOKEN_URL"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", user),
            ("password", &format!("{user}-password")),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    s: &Server,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s.request_as(token, method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn provider_tokens_sign_in_and_groups_give_roles() {
    let kc = ExternalServer::start("oidc").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--oidc-issuer-url",
            kc.get("GRAPHFS_OIDC_ISSUER_URL"),
            "--oidc-client-id",
            "graphfs",
            "--oidc-admin-groups",
            "graphfs-admins",
        ],
    )
    .await
    .unwrap();
    let alice = access_token(&kc, "graphfs", "alice").await;
    let bob = access_token(&kc, "graphfs", "bob").await;

    // Who each token names, and the role their groups give.
    let (status, me) = call(&s, &alice, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["user"].as_str(), me["admin"].as_bool()),
        (Some("oidc:alice"), Some(true))
    );
    let (_, me) = call(&s, &bob, Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        (me["user"].as_str(), me["admin"].as_bool()),
        (Some("oidc:bob"), Some(false))
    );

    // Alice's file is hers; she can share it with bob, who has signed in
    // once and so is a known user; bob reads it but may not merge tags.
    let (status, file) = s
        .upload_as(&alice, "plan.txt", "the provider's plan")
        .await
        .unwrap();
    assert_eq!(status, 201, "{file}");
    let path = format!("/api/v1/files/{}", file["id"].as_str().unwrap());
    let (status, _) = call(&s, &bob, Method::GET, &path, None).await;
    assert_eq!(status, 404, "not shared yet");
    let share = json!({"share_with": ["oidc:bob"], "add_tags": ["plans"]});
    let (status, changed) = call(&s, &alice, Method::PATCH, &path, Some(share)).await;
    assert_eq!(status, 200, "{changed}");
    let (status, _) = call(&s, &bob, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let merge = json!({"into": "schemes"});
    let (status, _) = call(
        &s,
        &bob,
        Method::POST,
        "/api/v1/tags/plans/merge",
        Some(merge.clone()),
    )
    .await;
    assert_eq!(status, 403, "bob is not in graphfs-admins");
    let (status, merged) = call(
        &s,
        &alice,
        Method::POST,
        "/api/v1/tags/plans/merge",
        Some(merge),
    )
    .await;
    assert_eq!(status, 200, "{merged}");

    // Refused: a token the provider issued to another client (wrong
    // audience), a tampered one, and garbage shaped like a JWT.
    let elsewhere = access_token(&kc, "elsewhere", "alice").await;
    let mut tampered = alice.clone().into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (what, token) in [
        ("another client's token", elsewhere.as_str()),
        ("a tampered token", tampered.as_str()),
        ("garbage", "eyJub3QiOiJ.a.jwt"),
    ] {
        let (status, p) = call(&s, token, Method::GET, "/api/v1/me", None).await;
        assert_eq!(status, 401, "{what}: {p}");
    }

    // GraphFS's own tokens still sign in beside the provider's.
    let (status, me) = call(&s, &s.token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"], "dev");
}
