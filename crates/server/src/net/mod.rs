//! Sockets and what is decided per connection: timeouts, origins, security headers.

pub mod conn_info;
pub mod headers;
pub mod listener;
pub mod origin;
pub mod watchdog;

pub use conn_info::ConnInfo;
