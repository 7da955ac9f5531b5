//! The GraphFS API handler: the axum router over the storage seams, and the
//! `graphfs` command that wires it to the embedded backends.

pub mod app;
pub mod browse;
pub mod config;
pub mod credentials;
pub mod dav;
pub mod files;
pub mod folders;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod orphans;
pub mod params;
pub mod problem;
pub mod ratelimit;
pub mod signin;
pub mod taxonomy;
pub mod tokens;
pub mod versions;
pub mod web;
