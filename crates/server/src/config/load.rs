//! Merging the three sources. Each is turned into a TOML table, the tables are overlaid in order, and
//! the result is deserialized once, so every source gets the same checks and the same error messages.

use std::path::PathBuf;

use toml::{Table, Value};

use super::Config;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("unknown configuration key `{0}`")]
    UnknownKey(String),
    #[error("unknown environment variable `{0}`: no configuration key has that name")]
    UnknownEnv(String),
    #[error("`{key}`: cannot use `{value}`: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("configuration: {0}")]
    Merged(String),
    #[error("`{key}` {reason}")]
    Invalid { key: String, reason: String },
}

/// Where settings come from, lowest precedence first.
#[derive(Debug, Default)]
pub struct Sources {
    pub file: Option<PathBuf>,
    /// All environment variables; only `CONVENE_*` are read.
    pub env: Vec<(String, String)>,
    /// `section.key` = raw value, from flags.
    pub flags: Vec<(String, String)>,
}

/// Environment variables with this prefix belong to the test suite, not to the server.
const TEST_ENV_PREFIX: &str = "CONVENE_TEST_";

pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
    let defaults = default_table();
    let mut merged = Table::new();

    if let Some(path) = &sources.file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        // Deserializing the file alone first gives errors with its line numbers.
        toml::from_str::<Config>(&text).map_err(|e| ConfigError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let table: Table = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        merged = table;
    }

    for (name, raw) in &sources.env {
        let Some(rest) = name.strip_prefix("CONVENE_") else {
            continue;
        };
        if name.starts_with(TEST_ENV_PREFIX) {
            continue;
        }
        let key = env_key(&defaults, rest).ok_or_else(|| ConfigError::UnknownEnv(name.clone()))?;
        set(&mut merged, &defaults, &key, raw)?;
    }

    for (key, raw) in &sources.flags {
        set(&mut merged, &defaults, key, raw)?;
    }

    let config: Config = Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Merged(e.message().to_owned()))?;
    config.validate()?;
    Ok(config)
}

fn default_table() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(t)) => t,
        // Config is a struct of structs of plain values: it always serializes to a table.
        _ => unreachable!("Config serializes to a TOML table"),
    }
}

/// Maps `SERVER_NODE_ID` to `server.node_id` using the known keys, so that keys with underscores work.
fn env_key(defaults: &Table, rest: &str) -> Option<String> {
    let rest = rest.to_ascii_lowercase();
    for (section, value) in defaults {
        let Value::Table(keys) = value else { continue };
        for key in keys.keys() {
            if rest == format!("{section}_{key}") {
                return Some(format!("{section}.{key}"));
            }
        }
    }
    None
}

/// Sets `section.key` from a raw string, typed by the default value of that key.
fn set(merged: &mut Table, defaults: &Table, key: &str, raw: &str) -> Result<(), ConfigError> {
    let (section, name) = key
        .split_once('.')
        .ok_or_else(|| ConfigError::UnknownKey(key.to_owned()))?;
    let default = defaults
        .get(section)
        .and_then(|s| s.as_table())
        .and_then(|s| s.get(name))
        .ok_or_else(|| ConfigError::UnknownKey(key.to_owned()))?;
    let bad = |expected| ConfigError::BadValue {
        key: key.to_owned(),
        value: raw.to_owned(),
        expected,
    };
    let value = match default {
        Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
        Value::Boolean(_) => Value::Boolean(match raw.trim() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(bad("true or false")),
        }),
        Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        _ => Value::String(raw.to_owned()),
    };
    let entry = merged
        .entry(section.to_owned())
        .or_insert_with(|| Value::Table(Table::new()));
    match entry {
        Value::Table(t) => {
            t.insert(name.to_owned(), value);
            Ok(())
        }
        _ => Err(ConfigError::Merged(format!("`{section}` must be a table"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TEMPLATE;

    /// Reads a config file on its own (used by tests and `config show`).
    fn load_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        load(&Sources {
            file: Some(path.to_owned()),
            ..Sources::default()
        })
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn template_is_the_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TEMPLATE).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn nothing_set_gives_defaults() {
        assert_eq!(load(&Sources::default()).unwrap(), Config::default());
    }

    #[test]
    fn flags_win_over_env_and_env_over_file() {
        let f =
            file("[rooms]\nmax_participants = 7\nresume_window_secs = 5\nempty_grace_secs = 9\n");
        let sources = Sources {
            file: Some(f.path().to_owned()),
            env: vec![
                ("CONVENE_ROOMS_MAX_PARTICIPANTS".into(), "8".into()),
                ("CONVENE_ROOMS_RESUME_WINDOW_SECS".into(), "6".into()),
                ("PATH".into(), "/bin".into()),
                ("CONVENE_TEST_POSTGRES_URL".into(), "postgres://x".into()),
            ],
            flags: vec![("rooms.max_participants".into(), "9".into())],
        };
        let c = load(&sources).unwrap();
        assert_eq!(c.rooms.max_participants, 9, "flag wins");
        assert_eq!(c.rooms.resume_window_secs, 6, "env wins over file");
        assert_eq!(c.rooms.empty_grace_secs, 9, "file wins over default");
        assert_eq!(c.rooms.chat_history, 100, "default stays");
    }

    #[test]
    fn unknown_keys_are_named() {
        let f = file("[rooms]\nmax_particpants = 7\n");
        let e = load_file(f.path()).unwrap_err().to_string();
        assert!(e.contains("max_particpants"), "{e}");
        let f = file("[romos]\n");
        let e = load_file(f.path()).unwrap_err().to_string();
        assert!(e.contains("romos"), "{e}");
        let e = load(&Sources {
            env: vec![("CONVENE_ROOMS_MAXIMUM".into(), "1".into())],
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("CONVENE_ROOMS_MAXIMUM"), "{e}");
        let e = load(&Sources {
            flags: vec![("rooms.maximum".into(), "1".into())],
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("rooms.maximum"), "{e}");
    }

    #[test]
    fn bad_values_are_explained() {
        let e = load(&Sources {
            env: vec![("CONVENE_ROOMS_MAX_PARTICIPANTS".into(), "many".into())],
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("rooms.max_participants") && e.contains("integer"),
            "{e}"
        );
        let e = load(&Sources {
            flags: vec![("server.listen".into(), "nowhere".into())],
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("server.listen"), "{e}");
    }

    #[test]
    fn reaction_limits_are_read_and_checked() {
        let c = load(&Sources {
            env: vec![("CONVENE_LIMITS_REACTIONS_PER_SEC".into(), "0.5".into())],
            flags: vec![("limits.reactions_burst".into(), "3".into())],
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(c.limits.reactions_per_sec, 0.5);
        assert_eq!(c.limits.reactions_burst, 3);
        for (key, value) in [
            ("limits.reactions_per_sec", "0"),
            ("limits.reactions_per_sec", "-1"),
            ("limits.reactions_per_sec", "NaN"),
            ("limits.reactions_per_sec", "inf"),
            ("limits.reactions_burst", "0"),
        ] {
            let e = load(&Sources {
                flags: vec![(key.into(), value.into())],
                ..Sources::default()
            })
            .expect_err(value)
            .to_string();
            assert!(e.contains(key), "{key}={value}: {e}");
        }
    }

    #[test]
    fn the_quality_figures_interval_is_at_least_a_second() {
        let c = load(&Sources {
            env: vec![(
                "CONVENE_ROOMS_QUALITY_FIGURES_INTERVAL_SECS".into(),
                "30".into(),
            )],
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(c.rooms.quality_figures_interval_secs, 30);
        let e = load(&Sources {
            flags: vec![("rooms.quality_figures_interval_secs".into(), "0".into())],
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("rooms.quality_figures_interval_secs"), "{e}");
    }

    #[test]
    fn lists_and_enums_from_env() {
        let c = load(&Sources {
            env: vec![
                (
                    "CONVENE_TLS_SELF_SIGNED_NAMES".into(),
                    "a.example, 10.0.0.5".into(),
                ),
                ("CONVENE_LOG_FORMAT".into(), "json".into()),
            ],
            ..Sources::default()
        })
        .unwrap();
        assert_eq!(c.tls.self_signed_names, vec!["a.example", "10.0.0.5"]);
        assert_eq!(c.log.format, crate::config::LogFormat::Json);
    }
}
