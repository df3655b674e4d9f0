//! Logging with `tracing`: `RUST_LOG` when set, else the configured level; text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Added to the configured level unless it asks for debug or names the target. sctp-proto (the SCTP
/// of data channels, under str0m) logs at ERROR when a client closes its data channel with a plain
/// ABORT: a normal close, on a channel that carries nothing the server uses. A filter cannot lower a
/// record's level, so the target is silent at info and shows when an operator asks for debug
/// (`log.level = "debug"`, or any `RUST_LOG`, which replaces all of this).
const QUIET_UNLESS_DEBUG: &str = "sctp_proto=off";

pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(directives(&cfg.level)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal, so that logs piped to a file or a collector stay plain.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The filter for a configured level: the level itself, plus [`QUIET_UNLESS_DEBUG`] when the level
/// shows nothing at debug and does not mention sctp_proto itself.
fn directives(level: &str) -> String {
    let wants_debug = EnvFilter::try_new(level)
        .ok()
        .and_then(|f| f.max_level_hint())
        .is_some_and(|max| max >= tracing::level_filters::LevelFilter::DEBUG);
    if wants_debug || level.contains("sctp_proto") {
        level.to_owned()
    } else {
        format!("{level},{QUIET_UNLESS_DEBUG}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What a subscriber with the filter for `level` writes for an SCTP abort and for one of ours.
    fn logged(level: &str) -> String {
        let buf = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(directives(level)))
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "sctp_proto::association", "handle_inbound got err: abort chunk");
            tracing::error!(target: "convene_server::rooms", "a real error");
        });
        let text = buf.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_data_channel_abort_is_not_an_error_at_the_default_level() {
        let out = logged("info");
        assert!(!out.contains("abort chunk"), "{out}");
        assert!(out.contains("a real error"), "{out}");
    }

    #[test]
    fn a_data_channel_abort_shows_at_debug_or_when_named() {
        for level in [
            "debug",
            "info,convene_server=debug",
            "info,sctp_proto=error",
        ] {
            let out = logged(level);
            assert!(out.contains("abort chunk"), "{level}: {out}");
        }
    }
}
