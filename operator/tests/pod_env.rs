//! The environment the operator gives API and tagger pods is what the
//! `graphfs` binary reads: every variable is one of its flags.

use graphfs_operator::build::env;

fn help(sub: &str) -> String {
    let out = std::process::Command::new(graphfs_e2e::graphfs_bin())
        .args([sub, "--help"])
        .output()
        .expect("run graphfs (built by `make build`)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn api_pod_environment_is_understood_by_graphfs_serve() {
    let serve = help("serve");
    for var in [
        env::ADDR,
        env::TOKENS_FILE,
        env::ADMIN_USERS,
        env::OIDC_ISSUER_URL,
        env::OIDC_CLIENT_ID,
        env::OIDC_USER_CLAIM,
        env::OIDC_GROUPS_CLAIM,
        env::OIDC_ADMIN_GROUPS,
        env::MAX_UPLOAD_BYTES,
        env::TAGGER_CONCURRENCY,
        env::LOG_FORMAT,
        env::DATA_DIR,
        env::STORAGE,
        env::S3_ENDPOINT,
        env::S3_REGION,
        env::S3_BUCKET,
        env::S3_ACCESS_KEY_ID,
        env::S3_SECRET_ACCESS_KEY,
        env::GRAPH,
        env::NEO4J_URI,
        env::NEO4J_USER,
        env::NEO4J_PASSWORD,
    ] {
        assert!(
            serve.contains(&format!("[env: {var}")),
            "graphfs serve does not read {var}"
        );
    }
}

#[test]
fn tagger_pod_backend_environment_is_understood_by_graphfs_tagger() {
    let tagger = help("tagger");
    for var in [
        env::TAGGER_CONCURRENCY,
        env::TAGGING_MODE,
        env::LLM_BASE_URL,
        env::LLM_CHAT_MODEL,
        env::LLM_VISION_MODEL,
        env::LLM_TRANSCRIPTION_MODEL,
        env::LLM_API_KEY,
        env::LLM_TIMEOUT_SECONDS,
        env::EMBEDDING_BASE_URL,
        env::EMBEDDING_MODEL,
        env::DATA_DIR,
        env::STORAGE,
        env::S3_ENDPOINT,
        env::GRAPH,
        env::NEO4J_URI,
    ] {
        assert!(
            tagger.contains(&format!("[env: {var}")),
            "graphfs tagger does not read {var}"
        );
    }
}
