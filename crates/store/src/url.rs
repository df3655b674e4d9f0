//! Turning the configured database URL into what sqlx's `Any` driver needs.

use std::path::{Path, PathBuf};

use crate::StoreError;

/// A recognised database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `url` is normalised for sqlx (`mode=rwc` added for files).
    Sqlite {
        url: String,
        in_memory: bool,
    },
    Postgres {
        url: String,
    },
}

/// Classifies `url`. For a SQLite file this also creates the file's parent directory, so a fresh
/// install can point at `sqlite://data/convene.db` without preparing anything.
pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres {
            url: url.to_owned(),
        });
    }

    // Same prefix handling as sqlx: `sqlite:///abs`, `sqlite://rel`, `sqlite:rel`, `sqlite::memory:`.
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        return Err(StoreError::UnsupportedUrl(scheme.to_owned()));
    };
    let (db, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let has = |key: &str| params.iter().any(|(k, _)| *k == key);

    // An empty name would give every pooled connection its own private temporary database; treat it
    // as the in-memory database it effectively is.
    let in_memory = db.is_empty()
        || db == ":memory:"
        || params.iter().any(|&(k, v)| k == "mode" && v == "memory");
    if in_memory {
        return Ok(Target::Sqlite {
            url: url.to_owned(),
            in_memory: true,
        });
    }

    let path = PathBuf::from(percent_decode(db));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }

    // `mode=rwc` creates the file if missing; an explicit mode from the operator wins.
    let mut normalised = format!("sqlite://{db}");
    let mut sep = '?';
    for (k, v) in &params {
        normalised.push(sep);
        normalised.push_str(k);
        normalised.push('=');
        normalised.push_str(v);
        sep = '&';
    }
    if !has("mode") {
        normalised.push(sep);
        normalised.push_str("mode=rwc");
    }
    Ok(Target::Sqlite {
        url: normalised,
        in_memory: false,
    })
}

fn create_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// Decodes `%XX` escapes the way sqlx does for the file name, leaving malformed escapes as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_schemes() {
        assert!(matches!(
            parse("postgres://u@h/db"),
            Ok(Target::Postgres { .. })
        ));
        assert!(matches!(
            parse("postgresql://u@h/db"),
            Ok(Target::Postgres { .. })
        ));
        assert_eq!(
            parse("sqlite::memory:").ok(),
            Some(Target::Sqlite {
                url: "sqlite::memory:".into(),
                in_memory: true
            })
        );
        match parse("mysql://root:secret@h/db") {
            Err(StoreError::UnsupportedUrl(scheme)) => assert_eq!(scheme, "mysql"),
            other => panic!("expected UnsupportedUrl, got {other:?}"),
        }
    }

    #[test]
    fn adds_create_mode_unless_given() {
        let dir = std::env::temp_dir();
        let db = dir.join("convene-url-test.db");
        let db = db.to_string_lossy();
        assert_eq!(
            parse(&format!("sqlite://{db}")).ok(),
            Some(Target::Sqlite {
                url: format!("sqlite://{db}?mode=rwc"),
                in_memory: false
            })
        );
        assert_eq!(
            parse(&format!("sqlite:{db}?mode=ro")).ok(),
            Some(Target::Sqlite {
                url: format!("sqlite://{db}?mode=ro"),
                in_memory: false
            })
        );
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
    }
}
