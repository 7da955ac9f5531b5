//! The Neo4j graph index against a real Neo4j 5 on loopback.

use std::sync::Arc;

use graphfs_domain::{GraphIndex, contract};
use graphfs_e2e::servers::ExternalServer;
use graphfs_store_neo4j::{Neo4jConfig, Neo4jGraphIndex};

fn config(neo4j: &ExternalServer) -> Neo4jConfig {
    Neo4jConfig {
        uri: neo4j.get("GRAPHFS_NEO4J_URI").to_string(),
        user: neo4j.get("GRAPHFS_NEO4J_USER").to_string(),
        password: neo4j.get("GRAPHFS_NEO4J_PASSWORD").to_string(),
        max_connections: 8,
        timeout: std::time::Duration::from_secs(30),
    }
}

#[tokio::test]
async fn neo4j_index_meets_the_contract() {
    let mut neo4j = ExternalServer::start("neo4j").unwrap();
    let index = Arc::new(Neo4jGraphIndex::connect(config(&neo4j)).await.unwrap());
    contract::graph_index(index.clone()).await;

    // Schema creation is idempotent: connecting again changes nothing.
    Neo4jGraphIndex::connect(config(&neo4j)).await.unwrap();

    // An outage is `Unavailable`, and the index recovers when Neo4j is back.
    neo4j.stop().unwrap();
    let err = index.ping().await.unwrap_err();
    assert!(
        matches!(err, graphfs_domain::Error::Unavailable { .. }),
        "{err:?}"
    );
    neo4j.resume().unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if index.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ok, "index did not reconnect after Neo4j came back");
}
