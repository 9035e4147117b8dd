//! The one retry-on-conflict helper: optimistic writes that lost a race for
//! their items read again and try again, with jittered backoff, a bounded
//! number of times.

use super::StoreError;
use rand::Rng;
use std::future::Future;
use std::time::Duration;

/// How often an optimistic write is tried before it gives up.
pub const MAX_ATTEMPTS: u32 = 200;

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T> {
    Done(T),
    /// Lost a race (a version changed, a conflicting transaction): try again.
    Retry,
}

/// Runs `attempt` (given its number, from 0; a closure that returns an
/// `async move` block, so that the futures stay `Send`) until it is done or fails, with
/// backoff after each lost race; after [`MAX_ATTEMPTS`] lost races the answer
/// is [`StoreError::TooBusy`] about `what`.
pub async fn retry_on_conflict<T, E, F, A>(
    what: impl FnOnce() -> String,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> A,
    A: Future<Output = Result<Attempt<T>, E>>,
    E: From<StoreError>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt(n).await? {
            Attempt::Done(value) => return Ok(value),
            Attempt::Retry => backoff(n).await,
        }
    }
    Err(StoreError::TooBusy {
        what: what(),
        attempts: MAX_ATTEMPTS,
    }
    .into())
}

/// Waits a little before the next attempt: jittered, growing to at most 100 ms.
async fn backoff(attempt: u32) {
    let cap = 2u64.saturating_pow(attempt.min(7)).min(100);
    let wait = rand::rng().random_range(0..=cap);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}
