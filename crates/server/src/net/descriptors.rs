//! The open-file limit, and the connection limits sized from it. Every TCP connection is a file
//! descriptor: with the usual soft limit of 1,024, a thousand idle sockets would leave no
//! descriptor for the next accept, the database or a recording. The hard limit is what an admin
//! (systemd's LimitNOFILE, ulimit -Hn) allows, and raising the soft one up to it needs no
//! privilege, so the server does that at start and counts its connections against what it got.

use crate::config::ConnectionsConfig;

/// Descriptors kept for everything but connections: at least this many ...
const OTHER_USES_MIN: u64 = 256;
/// ... or this share of the limit (the database pool, uploads, each recorded track's file,
/// media sockets, and the connections to webhooks and ffmpeg).
const OTHER_USES_DIVISOR: u64 = 8;
/// Connections allowed whatever the limit says, so that a tiny limit still serves someone.
const MIN_TOTAL: u64 = 16;

/// RLIMIT_NOFILE before and after [`raise_open_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard one (to `fs.nr_open` when the hard limit is
/// unlimited: Linux refuses more). Process-wide and idempotent.
#[cfg(unix)]
pub fn raise_open_file_limit() -> std::io::Result<OpenFileLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the valid, exclusively borrowed `lim`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let soft_before = lim.rlim_cur;
    let target = if lim.rlim_max == libc::RLIM_INFINITY {
        nr_open().unwrap_or(1 << 20)
    } else {
        lim.rlim_max
    };
    if soft_before < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads one valid rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(OpenFileLimit {
        soft_before,
        soft: soft_before.max(target),
        hard: lim.rlim_max,
    })
}

/// Without rlimits, nothing to raise: the limits are the configured ones.
#[cfg(not(unix))]
pub fn raise_open_file_limit() -> std::io::Result<OpenFileLimit> {
    Err(std::io::Error::other("no open-file limit on this platform"))
}

#[cfg(unix)]
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The connection limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnCaps {
    /// Connections for anything.
    pub total: u32,
    /// Connections beyond `total`, for health, metrics and admin only.
    pub reserve: u32,
    /// Per address; None: no limit.
    pub per_address: Option<u32>,
}

/// The limits from the configuration and the open-file limit (None: unknown, the configuration
/// alone decides, with `max_total = 0` meaning [`UNKNOWN_LIMIT_TOTAL`]). Returns a warning when
/// the configuration asked for more than the descriptors allow.
pub fn size(config: &ConnectionsConfig, open_files: Option<u64>) -> (ConnCaps, Option<String>) {
    let reserve = u64::from(config.reserve);
    let fits = open_files.map(|n| {
        let other = OTHER_USES_MIN.max(n / OTHER_USES_DIVISOR);
        n.saturating_sub(other)
            .saturating_sub(reserve)
            .max(MIN_TOTAL)
    });
    let asked = u64::from(config.max_total);
    let mut warning = None;
    let total = match (asked, fits) {
        (0, Some(fits)) => fits,
        (0, None) => UNKNOWN_LIMIT_TOTAL,
        (asked, Some(fits)) if asked > fits => {
            warning = Some(format!(
                "connections.max_total = {asked} does not fit the open-file limit of {}; \
                 using {fits} (raise the hard limit, e.g. systemd's LimitNOFILE)",
                open_files.unwrap_or(0)
            ));
            fits
        }
        (asked, _) => asked,
    };
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    let caps = ConnCaps {
        total,
        reserve: config.reserve,
        per_address: (config.max_per_address > 0).then_some(config.max_per_address),
    };
    (caps, warning)
}

/// `max_total = 0` where the open-file limit cannot be read.
pub const UNKNOWN_LIMIT_TOTAL: u64 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_total: u32) -> ConnectionsConfig {
        ConnectionsConfig {
            max_total,
            ..ConnectionsConfig::default()
        }
    }

    #[test]
    fn automatic_limits_leave_descriptors_for_the_rest() {
        let (caps, warning) = size(&config(0), Some(1024));
        // 1024 - 256 for the rest - 16 reserve.
        assert_eq!(caps.total, 752);
        assert_eq!(caps.reserve, 16);
        assert_eq!(caps.per_address, Some(256));
        assert_eq!(warning, None);
        let (caps, _) = size(&config(0), Some(1 << 20));
        assert_eq!(caps.total, (1 << 20) - (1 << 17) - 16);
        let (caps, _) = size(&config(0), Some(100));
        assert_eq!(
            caps.total, MIN_TOTAL as u32,
            "a tiny limit still serves someone"
        );
    }

    #[test]
    fn a_configured_total_is_kept_when_it_fits_and_lowered_with_a_warning_when_not() {
        assert_eq!(
            size(&config(500), Some(1024)),
            (
                ConnCaps {
                    total: 500,
                    reserve: 16,
                    per_address: Some(256)
                },
                None
            )
        );
        let (caps, warning) = size(&config(5000), Some(1024));
        assert_eq!(caps.total, 752);
        assert!(warning.is_some_and(|w| w.contains("5000")));
        assert_eq!(size(&config(5000), None).0.total, 5000);
        let unlimited = ConnectionsConfig {
            max_per_address: 0,
            ..config(0)
        };
        assert_eq!(size(&unlimited, None).0.per_address, None);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let get = || {
            let mut now = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one rlimit into the valid, exclusively borrowed `now`.
            assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) }, 0);
            now
        };
        // Start from the usual soft limit, as a login shell or systemd gives a service.
        let before = get();
        let low = libc::rlimit {
            rlim_cur: before.rlim_max.min(512),
            rlim_max: before.rlim_max,
        };
        // SAFETY: setrlimit reads one valid rlimit; lowering the soft limit needs no privilege.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        let lim = raise_open_file_limit().expect("getrlimit and setrlimit work");
        assert_eq!(lim.soft_before, low.rlim_cur);
        assert_eq!(lim.hard, before.rlim_max);
        let expected = if lim.hard == libc::RLIM_INFINITY {
            nr_open().unwrap_or(1 << 20)
        } else {
            lim.hard
        };
        assert_eq!(lim.soft, expected.max(low.rlim_cur));
        assert_eq!(
            get().rlim_cur,
            lim.soft,
            "the process's limit is the raised one"
        );
    }
}
