//! Memory stays bounded under many large uploads at once: the part buffers
//! of all uploads to MinIO share one budget (`--s3-upload-buffer-mb`). The
//! real `graphfs` binary on loopback with a real MinIO; the server's peak RSS
//! is read from /proc.

use bytes::Bytes;
use graphfs_e2e::servers::ExternalServer;
use graphfs_e2e::{Server, proc_status_kib, reset_peak_rss};

const MIB: u64 = 1 << 20;
const UPLOADS: u64 = 12;
const UPLOAD_MIB: u64 = 48;
const BUDGET_MIB: u64 = 32;
/// Beyond the budget: the server's other buffers (HTTP, the SDK, allocator
/// slack). Measured here: 64 MiB of growth in all with the budget; the same
/// run with a budget too large to matter grew by 239 MiB (each upload may
/// hold five 8 MiB parts).
const ALLOWANCE_MIB: u64 = 96;

/// A body of `mib` MiB sent in 1 MiB chunks, never whole in this process.
fn body(seed: u8, mib: u64) -> reqwest::Body {
    let chunks = (0..mib).map(move |i| {
        Ok::<_, std::io::Error>(Bytes::from(vec![seed.wrapping_add(i as u8); MIB as usize]))
    });
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn many_large_uploads_at_once_stay_within_the_buffer_budget() {
    let minio = ExternalServer::start("minio").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let budget = BUDGET_MIB.to_string();
    let s = Server::start_with_env(
        dir.path(),
        &[
            "--storage",
            "s3",
            "--s3-bucket",
            "memory",
            "--s3-part-size-mb",
            "8",
            "--s3-upload-buffer-mb",
            &budget,
            "--tagger-concurrency",
            "0",
        ],
        &[
            ("GRAPHFS_S3_ENDPOINT", minio.get("GRAPHFS_S3_ENDPOINT")),
            (
                "GRAPHFS_S3_ACCESS_KEY_ID",
                minio.get("GRAPHFS_S3_ACCESS_KEY_ID"),
            ),
            (
                "GRAPHFS_S3_SECRET_ACCESS_KEY",
                minio.get("GRAPHFS_S3_SECRET_ACCESS_KEY"),
            ),
        ],
    )
    .await
    .unwrap();
    let pid = s.child.id().unwrap();
    // One upload first, so that start-up and the first-use allocations are
    // not counted.
    let (status, _) = s.upload("warm-up.bin", body(0, 16)).await.unwrap();
    assert_eq!(status, 201);
    reset_peak_rss(pid).unwrap();
    let before = proc_status_kib(pid, "VmRSS:").unwrap();

    let uploads = (0..UPLOADS).map(|i| {
        let s = &s;
        async move {
            let name = format!("big-{i}.bin");
            let (status, file) = s.upload(&name, body(i as u8, UPLOAD_MIB)).await.unwrap();
            assert_eq!(status, 201, "{file}");
            assert_eq!(file["size"].as_u64(), Some(UPLOAD_MIB * MIB));
        }
    });
    futures::future::join_all(uploads).await;

    let peak = proc_status_kib(pid, "VmHWM:").unwrap();
    let growth_mib = peak.saturating_sub(before) / 1024;
    println!(
        "{UPLOADS} uploads of {UPLOAD_MIB} MiB at once, budget {BUDGET_MIB} MiB: peak RSS {} MiB, {growth_mib} MiB over the {} MiB before",
        peak / 1024,
        before / 1024
    );
    assert!(
        growth_mib <= BUDGET_MIB + ALLOWANCE_MIB,
        "peak RSS grew by {growth_mib} MiB"
    );
}
