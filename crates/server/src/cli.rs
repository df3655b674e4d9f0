//! The command line. Flags are optional overrides: each one, when given, wins over the environment and
//! the config file (see `config`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, ConfigError, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "convene",
    version,
    about = "Self-hosted video meetings in one binary.",
    long_about = "Self-hosted video meetings in one binary.\n\nWith no subcommand, `convene` runs `serve`: HTTP and WebSocket on http://127.0.0.1:8080 and a SQLite database at ./data/convene.db, made and migrated at start-up.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Print or check configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage accounts (the password is read from standard input).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys for the REST API (HTTP Basic `id:secret`).
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Make access tokens (JWT) with the keys in `auth.token_keys`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Compose a meeting's recording into one video (MP4) on a running server, through its REST
    /// API with an API key; shows the progress, exits non-zero if it fails.
    Compose(Box<ComposeArgs>),
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The meeting's public id (`GET /api/v1/meetings` lists them).
    pub meeting: String,
    /// The server, as http://HOST:PORT. [default: http:// and server.listen of the configuration]
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// An API key as `id:secret` (`convene apikey create`).
    #[arg(
        long,
        value_name = "ID:SECRET",
        env = "CONVENE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: String,
    /// Save the video to this file once it is made. [default: not downloaded]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub config: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a token, e.g. `convene token create --room team --identity u42 --grant publish,subscribe,chat`.
    Create {
        #[arg(long)]
        room: String,
        /// The person's identity in your system (the token's `sub`).
        #[arg(long)]
        identity: String,
        /// Display name in the meeting. [default: the name the person types]
        #[arg(long)]
        name: Option<String>,
        /// What it grants, comma-separated: join is implied; `publish` (every source) or
        /// `publish:microphone+camera`, `subscribe`, `chat`, `room_admin`, `hidden`, `record`.
        /// [default: join only]
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Lifetime: seconds, or with a unit (`90s`, `30m`, `1h`). [default: 1h]
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Which key of auth.token_keys signs it. [default: the first]
        #[arg(long)]
        kid: Option<String>,
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key; its secret is printed this once.
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
    /// Revoke a key by its id (`ck_...`).
    Revoke {
        id: String,
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
    /// List the keys.
    List {
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Make an account, e.g. the first admin: `convene user add --email ada@example.org --admin`.
    Add {
        /// The account's email (how it signs in).
        #[arg(long)]
        email: String,
        /// Display name. [default: the part of the email before '@']
        #[arg(long)]
        name: Option<String>,
        /// Make it an administrator (only the command line can). [default: off]
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
    /// Set an account's password; every browser signed in to it is signed out.
    Passwd {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: Box<ServeArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented configuration file holding every key with its default value.
    Default,
    /// Print the configuration that `serve` would use with these options, environment and file.
    Show(Box<ServeArgs>),
    /// Check the configuration that `serve` would use (file, environment, flags): prints "ok" and
    /// exits 0, or names the bad key and exits 1. TLS certificate and key files are read too.
    Check(Box<ServeArgs>),
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file. [default: none: built-in defaults, see `convene config default`]
    #[arg(short, long, value_name = "FILE", env = "CONVENE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address for HTTP and WebSocket signaling (server.listen). [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database: sqlite://PATH or postgres://USER@HOST:PORT/DB (database.url). [default: sqlite://./data/convene.db]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Name of this node in meeting records (server.node_id). [default: node-1]
    #[arg(long, value_name = "NAME")]
    pub node_id: Option<String>,
    /// Redis of a cluster of nodes: redis://HOST:PORT (cluster.redis_url). [default: none: a single node]
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Most participants in one room (rooms.max_participants). [default: 100]
    #[arg(long, value_name = "N")]
    pub max_participants: Option<u32>,
    /// Seconds a graceful shutdown may take (server.drain_deadline_secs). [default: 20]
    #[arg(long, value_name = "SECS")]
    pub drain_deadline_secs: Option<u64>,
    /// PEM certificate chain for HTTPS (tls.cert). [default: none]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<String>,
    /// PEM private key for HTTPS (tls.key). [default: none]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<String>,
    /// Serve HTTPS with a self-signed certificate made at start-up (tls.self_signed). [default: off]
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Log format: text or json (log.format). [default: text]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Set any configuration key, e.g. `--set rooms.empty_grace_secs=60`; repeatable.
    /// Keys and defaults: `convene config default`. [default: none]
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ServeArgs {
    /// Turns the flags into `section.key` overrides, named flags after `--set` so they win.
    pub fn overrides(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let mut out = Vec::new();
        for kv in &self.set {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| ConfigError::UnknownKey(format!("{kv} (expected KEY=VALUE)")))?;
            out.push((k.trim().to_owned(), v.to_owned()));
        }
        let mut named = |key: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push((key.to_owned(), v));
            }
        };
        named("server.listen", self.listen.clone());
        named("database.url", self.database_url.clone());
        named("server.node_id", self.node_id.clone());
        named("cluster.redis_url", self.redis_url.clone());
        named(
            "rooms.max_participants",
            self.max_participants.map(|n| n.to_string()),
        );
        named(
            "server.drain_deadline_secs",
            self.drain_deadline_secs.map(|n| n.to_string()),
        );
        named("tls.cert", self.tls_cert.clone());
        named("tls.key", self.tls_key.clone());
        named(
            "tls.self_signed",
            self.tls_self_signed.then(|| "true".to_owned()),
        );
        named("log.format", self.log_format.clone());
        Ok(out)
    }

    /// The configuration these flags, the process environment and the file give.
    pub fn load(&self) -> Result<Config, ConfigError> {
        config::load(&Sources {
            file: self.config.clone(),
            env: std::env::vars()
                .filter(|(k, _)| k != "CONVENE_CONFIG")
                .collect(),
            flags: self.overrides()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_names_every_default() {
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        let d = Config::default();
        for needle in [
            d.server.listen.as_str(),
            d.database.url.as_str(),
            d.server.node_id.as_str(),
            &d.rooms.max_participants.to_string(),
            &d.server.drain_deadline_secs.to_string(),
        ] {
            assert!(
                help.contains(needle),
                "serve --help lacks the default {needle}:\n{help}"
            );
        }
        // Every option states its default.
        let options = help
            .lines()
            .filter(|l| l.trim_start().starts_with("--"))
            .count();
        let defaults = help.matches("[default:").count();
        assert!(
            defaults >= options - 2,
            "{defaults} defaults for {options} options:\n{help}"
        );
    }

    #[test]
    fn named_flags_override_set() {
        let cli = Cli::parse_from([
            "convene",
            "serve",
            "--set",
            "server.listen=1.2.3.4:1",
            "--listen",
            "127.0.0.1:9",
        ]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve")
        };
        let o = args.overrides().unwrap();
        assert_eq!(
            o.last().unwrap(),
            &("server.listen".to_owned(), "127.0.0.1:9".to_owned())
        );
        assert!(Cli::try_parse_from(["convene", "--listen", "127.0.0.1:9"]).is_ok());
    }
}
