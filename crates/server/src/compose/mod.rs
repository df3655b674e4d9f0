//! Compositions (issue 23 §4): one video of a meeting made from its recording's track files — a
//! grid of the video tracks as they were present over time, a shared screen on the stage, all
//! audio mixed — by ffmpeg as a child process, one at a time per node, at low CPU priority.
//!
//! `layout` cuts the meeting into segments and places tiles; `graph` turns that into ffmpeg's
//! arguments (both pure); `runner` runs ffmpeg and reads its progress (`progress`); `queue` works
//! through the node's compositions; `source` finds a meeting's recording; `api` is the REST side;
//! `remote` is `convene compose`, a client of that REST side.

pub(crate) mod api;
#[cfg(test)]
mod fixture;
pub mod graph;
pub mod layout;
pub mod progress;
pub mod queue;
pub mod remote;
pub mod runner;
pub mod source;

pub use api::{routes, CompositionList, CompositionView};
pub use queue::ComposeQueue;

/// The most compositions one meeting's list shows.
pub const LISTED_MAX: i64 = 100;

/// Deletes the compositions of meetings that ended before `before`, rows and videos; how many.
pub async fn expire(
    state: &crate::state::AppState,
    before: convene_store::Millis,
) -> Result<usize, convene_store::StoreError> {
    let gone = state.store.expire_compositions(before).await?;
    for c in &gone {
        if let Some(f) = &c.file {
            if let Err(e) = state.blobs.delete(&f.blob_key).await {
                tracing::warn!(error = %e, composition = %c.public_id, "could not delete a composition's video");
            }
        }
    }
    Ok(gone.len())
}
