//! A meeting joined from a program: [`Meeting`] on top of [`crate::Signaling`] and
//! [`crate::MediaSession`], with reconnection and media rebuilds as the browser SDK does them.

mod attempt;
mod backoff;
mod handle;
mod task;
mod types;
mod verdict;

pub use handle::Meeting;
pub use types::{EndReason, JoinRequest, MeetingError, MeetingEvent, MeetingOptions, Reconnect};
