//! convene-loadtest: simulated meeting participants against a running Convene server (or Janus
//! VideoRoom, for comparison), with exact loss and delay from stamped synthetic frames, and the
//! server's CPU and memory from /proc.

pub mod convene;
pub mod janus;
pub mod metrics;
pub mod options;
pub mod pacing;
pub mod procstat;
pub mod progress;
pub mod report;
pub mod run;
pub mod session;
pub mod spawn;
pub mod stats;
pub mod table;

pub use options::{Options, Receive, RtpPath, Sockets, Target};
pub use report::Report;
pub use run::{run, RunError};
