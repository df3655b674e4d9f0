//! The `/ws` endpoint: one task per connection that reads, checks and routes client messages, and a
//! writer that sends what the room queues.

mod connection;
mod powers;
mod session;

pub use connection::{serve_relayed, ws_handler};
