//! Integration tests of the media core over a simulated network (virtual time, no sockets).

mod client;
mod sim;

mod bwe;
mod contract;
mod control;
mod cores;
mod forwarding;
mod garbage;
mod glare;
mod join;
mod lifecycle;
mod overload;
mod record;
