//! CPU cost of forwarding: one publisher (Opus + 3-layer VP8 simulcast) to N subscribers,
//! over the same simulated network as the tests. Only time spent inside the SFU's
//! `handle_input` / `handle_timeout` is counted (not the str0m test clients).
//!
//! Run: `cargo bench -p convene-media --bench forward`

#[path = "../tests/sfu/client.rs"]
mod client;
#[path = "../tests/sfu/sim.rs"]
mod sim;

use std::time::Duration;

fn run(n: usize) {
    let mut w = sim::World::new(42);
    w.join("publisher", true, true);
    for i in 0..n {
        w.join(&format!("sub{i}"), false, false);
    }
    // Connect, negotiate, let BWE settle.
    w.run_for(Duration::from_secs(3));
    let before = w.sfu.stats();
    w.sfu_time = Duration::ZERO;
    let measure = Duration::from_secs(5);
    w.run_for(measure);
    let after = w.sfu.stats();
    let forwarded = after.packets_forwarded - before.packets_forwarded;
    let packets_out = after.packets_out - before.packets_out;
    let packets_in = after.packets_in - before.packets_in;
    let cpu = w.sfu_time;
    println!(
        "N={n:>3}: sfu cpu {:>7.1} ms for {:.0} s media | {:>7} pkts fwd, {:>7} pkts out, {:>6} pkts in | {:>6.2} us/pkt fwd, {:>5.2} us/pkt out | {:>5.1}% of one core",
        cpu.as_secs_f64() * 1e3,
        measure.as_secs_f64(),
        forwarded,
        packets_out,
        packets_in,
        cpu.as_secs_f64() * 1e6 / forwarded.max(1) as f64,
        cpu.as_secs_f64() * 1e6 / packets_out.max(1) as f64,
        cpu.as_secs_f64() * 100.0 / measure.as_secs_f64(),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    for n in [1, 10, 100] {
        run(n);
    }
}
