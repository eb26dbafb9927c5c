//! The progress store outlives a dropped Redis connection, as after a failover. Alone in its
//! file: it drops every client connection of the test Redis server.

use eventdriven_core::contract::ChunkRef;
use eventdriven_runtime::progress::ProgressStore;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

#[tokio::test]
async fn the_store_answers_after_its_connection_is_dropped() {
    let run = format!("reconnect-{}", std::process::id());
    let chunk: ChunkRef = "000000-2".parse().unwrap();
    let store = ProgressStore::open(REDIS_URL, None)
        .await
        .expect("Redis on 127.0.0.1:6379 (make test starts it)");
    store.replace(&run, &[chunk]).await.unwrap();

    let mut admin = redis::Client::open(REDIS_URL).unwrap().get_connection().unwrap();
    let killed: u64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query(&mut admin)
        .unwrap();
    assert!(killed >= 1, "the store's connection was dropped");

    assert_eq!(store.pending(&run).await.unwrap(), [chunk]);
    store.complete(&run, chunk).await.unwrap();
    assert_eq!(store.pending_count(&run).await.unwrap(), 0);
}
