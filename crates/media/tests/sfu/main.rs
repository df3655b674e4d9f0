//! Integration tests of the media core over a simulated network (virtual time, no sockets).

mod client;
mod sim;

mod forwarding;
