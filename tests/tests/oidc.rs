//! Sign-in through a real OpenID Connect provider: Keycloak, started by the
//! tests with a realm of two users (alice in the `graphfs-admins` group, bob
//! not). Its access tokens sign in to the API besides GraphFS's own tokens;
//! the admin role comes from the groups claim; tokens for another client,
//! or tampered with, are refused. The server may start before its
//! provider, and refreshes the provider's tokens for the page, as a public
//! client or a confidential one (with its secret).

use graphfs_e2e::servers::ExternalServer;
use graphfs_e2e::{Server, free_port};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn access_token(kc: &ExternalServer, client: &str, user: &str) -> String {
    let grant = password_grant(kc, (client, None), user).await;
    grant["access_token"].as_str().unwrap().to_string()
}

/// The provider's answer to a password grant for a client (its id, and
/// its secret when it is a confidential one): access and refresh tokens.
async fn password_grant(kc: &ExternalServer, client: (&str, Option<&str>), user: &str) -> Value {
    let password = format!("{user}-password");
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client.0),
        ("username", user),
        ("password", password.as_str()),
        ("scope", "openid"),
    ];
    form.extend(client.1.map(|secret| ("client_secret", secret)));
    let resp = reqwest::Client::new()
        .post(kc.get("GRAPHFS_OIDC_TOKEN_URL"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    resp.json().await.unwrap()
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
    // GraphFS starts before its provider (a cluster starts them in any
    // order): provider tokens are unavailable, API tokens work.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}/realms/graphfs");
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--oidc-issuer-url",
            &issuer,
            "--oidc-client-id",
            "graphfs",
            "--oidc-admin-groups",
            "graphfs-admins",
        ],
    )
    .await
    .unwrap();
    // A well-formed JWT (header {"alg":"RS256","kid":"k1"}): checking it
    // needs the provider's keys.
    let unchecked = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln";
    let (status, p) = call(&s, unchecked, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 503, "{p}");
    assert!(!p.to_string().contains(&port.to_string()), "{p}");
    let (status, p) = call(&s, &s.token, Method::GET, "/api/v1/sign-in", None).await;
    assert_eq!(status, 503, "{p}");
    let (status, _) = call(&s, &s.token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);

    let kc =
        ExternalServer::start_with_env("oidc", &[("GRAPHFS_KEYCLOAK_PORT", &port.to_string())])
            .unwrap();
    assert_eq!(kc.get("GRAPHFS_OIDC_ISSUER_URL"), issuer);
    let alice = access_token(&kc, "graphfs", "alice").await;
    let bob = access_token(&kc, "graphfs", "bob").await;

    // The server reaches the provider at the first need after it is up
    // (it tries again at most every 5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let me = loop {
        let (status, me) = call(&s, &alice, Method::GET, "/api/v1/me", None).await;
        if status == 200 {
            break me;
        }
        assert_eq!(status, 503, "{me}");
        assert!(
            std::time::Instant::now() < deadline,
            "the provider was never reached"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let (status, options) = call(&s, &s.token, Method::GET, "/api/v1/sign-in", None).await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["oidc"]["client_id"], "graphfs");

    // Who each token names, and the role their groups give.
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

    // A refresh token the provider gave gets a new access token through
    // GraphFS, and that one signs in; a refresh token the provider does not
    // know, or a malformed request, is the client's mistake.
    let grant = password_grant(&kc, ("graphfs", None), "alice").await;
    let refresh = |body: Value| {
        s.request(Method::POST, "/api/v1/sign-in/refresh")
            .json(&body)
            .send()
    };
    let resp = refresh(json!({"refresh_token": grant["refresh_token"]}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let fresh: Value = resp.json().await.unwrap();
    let renewed = fresh["access_token"].as_str().unwrap();
    assert_ne!(renewed, grant["access_token"].as_str().unwrap());
    assert!(fresh["refresh_token"].is_string(), "{fresh}");
    let (status, me) = call(&s, renewed, Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        (status, me["user"].as_str()),
        (StatusCode::OK, Some("oidc:alice"))
    );
    for (what, body) in [
        (
            "an unknown refresh token",
            json!({"refresh_token": "not-a-refresh-token"}),
        ),
        ("an empty one", json!({"refresh_token": ""})),
        (
            "an unknown field",
            json!({"refresh_token": "x", "scope": "all"}),
        ),
    ] {
        let resp = refresh(body).await.unwrap();
        assert_eq!(resp.status(), 400, "{what}: {}", resp.text().await.unwrap());
    }

    // GraphFS's own tokens still sign in beside the provider's.
    let (status, me) = call(&s, &s.token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"], "dev");

    confidential_client_sends_its_secret(&kc, &issuer).await;
}

/// A provider that has GraphFS as a confidential client refuses token
/// requests without the client's secret: a server given the secret (from a
/// file, as a mounted Secret) refreshes, one without it is refused.
async fn confidential_client_sends_its_secret(kc: &ExternalServer, issuer: &str) {
    const CLIENT: &str = "graphfs-confidential";
    const SECRET: &str = "confidential-client-secret";
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let start = |data: &str, extra: Vec<String>| {
        let mut args = vec![
            "--oidc-issuer-url".to_string(),
            issuer.to_string(),
            "--oidc-client-id".to_string(),
            CLIENT.to_string(),
        ];
        args.extend(extra);
        let data = dir.path().join(data);
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            Server::start(&data, &args).await.unwrap()
        }
    };
    let with = start(
        "with",
        vec![
            "--oidc-client-secret-file".into(),
            secret_file.display().to_string(),
        ],
    )
    .await;
    let without = start("without", vec![]).await;
    let grant = || password_grant(kc, (CLIENT, Some(SECRET)), "bob");
    let refresh = |s: &Server, token: Value| {
        s.request(Method::POST, "/api/v1/sign-in/refresh")
            .json(&json!({ "refresh_token": token }))
            .send()
    };
    let resp = refresh(&with, grant().await["refresh_token"].clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let fresh: Value = resp.json().await.unwrap();
    let (status, me) = call(
        &with,
        fresh["access_token"].as_str().unwrap(),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(
        (status, me["user"].as_str()),
        (StatusCode::OK, Some("oidc:bob"))
    );
    let resp = refresh(&without, grant().await["refresh_token"].clone())
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        400,
        "without the secret the provider refuses: {}",
        resp.text().await.unwrap()
    );
}
