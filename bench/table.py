#!/usr/bin/env python3
"""Prints the benchmark table (Markdown) from convene-loadtest --json reports."""
import json
import sys


def f(v, fmt="{:,.0f}"):
    return "-" if v is None else fmt.format(v)


rows = []
for path in sys.argv[1:]:
    try:
        r = json.load(open(path))
    except (OSError, ValueError):
        continue
    s, t, p = r["server"], r["tool"], r["participants"]
    rows.append(
        "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["label"],
            r["target"],
            p["connected"],
            p["planned"],
            f(r["received"]["packets_per_sec"]),
            f(s.get("packets_out_per_sec")),
            f(s.get("cpu_percent"), "{:.0f}%"),
            f(s.get("cpu_us_per_received_packet"), "{:.2f}"),
            f(s.get("received_packets_per_cpu_sec")),
            f(r["delay"]["p50_us"] and r["delay"]["p50_us"] / 1e3, "{:.2f}"),
            f(r["delay"]["p99_us"] and r["delay"]["p99_us"] / 1e3, "{:.2f}"),
            "{:.3f}%".format(r["loss"]["ratio"] * 100),
            f(s.get("mem_per_participant_kib")),
            f(t.get("cpu_percent"), "{:.0f}%") + (" (skipped {})".format(t["frames_skipped"]) if t["frames_skipped"] else ""),
        )
    )
print("| scenario | server | connected | fwd pkt/s (rcvd by tool) | server pkt/s out (metrics) | server CPU | server µs/fwd pkt | fwd pkts per CPU-s | delay p50 ms | delay p99 ms | frame loss | server KiB/participant | tool CPU |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
