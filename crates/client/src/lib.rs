//! A Rust client for Convene, used by the test suites and the load generator.

pub mod signaling;

pub use signaling::{join_msg, ClientError, Closed, Signaling};
