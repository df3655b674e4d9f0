//! Sockets and what is decided per connection: admission, timeouts, origins, security headers.

pub mod admission;
pub mod conn_info;
pub mod descriptors;
pub mod headers;
pub mod listener;
pub mod origin;
pub mod reserve;
pub mod tls_turn;
pub mod watchdog;

pub use conn_info::ConnInfo;
