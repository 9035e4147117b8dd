//! System-wide ids: unique across processes, within 2^53-1, and the counter
//! item is touched once per block, not once per id.

use domain::ids::MAX_ID;
use shared::store::ids::DEFAULT_BLOCK_SIZE;
use shared::Ctx;
use std::collections::HashSet;
use std::sync::Arc;
use tests::dynamo::{client, test_ctx, RequestCounter};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ids_are_unique_across_containers_and_cheap() {
    let t = test_ctx().await;
    // Three "containers": separate contexts (separate allocators) on one table.
    let counters: Vec<RequestCounter> = (0..3).map(|_| RequestCounter::default()).collect();
    let contexts: Vec<Arc<Ctx>> = counters
        .iter()
        .map(|c| Arc::new(Ctx::new(client(c), t.config.clone())))
        .collect();
    let per_container = 2_500;
    let mut tasks = Vec::new();
    for ctx in &contexts {
        for _ in 0..5 {
            let ctx = ctx.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..per_container / 5 {
                    ids.push(ctx.next_id().await.unwrap());
                }
                ids
            }));
        }
    }
    let mut all = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!((1..=MAX_ID).contains(&id), "id {id} out of range");
            assert!(all.insert(id), "id {id} handed out twice");
        }
    }
    assert_eq!(all.len(), 3 * per_container);
    for counter in &counters {
        let blocks = (per_container as i64 + DEFAULT_BLOCK_SIZE - 1) / DEFAULT_BLOCK_SIZE;
        assert_eq!(
            counter.count() as i64,
            blocks,
            "one counter update per block"
        );
        assert!(counter.operations().iter().all(|op| op == "UpdateItem"));
    }
}
