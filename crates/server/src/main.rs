//! The `convene` binary: parse the command line, load configuration, run until a signal.

use anyhow::Context;
use clap::Parser;
use convene_server::cli::{
    ApiKeyCommand, Cli, Command, ComposeArgs, ConfigCommand, ServeArgs, TokenCommand, UserCommand,
};
use convene_server::config::DEFAULT_TEMPLATE;
use convene_server::{logging, run, Listeners};

/// Everything Rust allocates goes to jemalloc (convene_server::memory says why).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, which it reads when it starts, before `main`: a C string it finds under
/// this name (the crate's prefixed build of jemalloc). `Option<&u8>` has the layout of a nullable
/// `const char *`.
#[cfg(unix)]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: Option<&u8> = Some(&convene_server::memory::JEMALLOC_CONF[0]);

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Config(ConfigCommand::Default)) => {
            print!("{DEFAULT_TEMPLATE}");
            Ok(())
        }
        Some(Command::Config(ConfigCommand::Show(args))) => {
            let config = args.load()?;
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
        Some(Command::User(cmd)) => user(cmd),
        Some(Command::Apikey(cmd)) => apikey(cmd),
        Some(Command::Token(TokenCommand::Create {
            room,
            identity,
            name,
            grant,
            ttl,
            kid,
            config,
        })) => {
            let config = config.load()?;
            let grants = convene_server::auth::tokens::grants_from_words(&grant)?;
            let ttl = convene_server::auth::tokens::parse_ttl(&ttl)?;
            let (token, _) = convene_server::auth::tokens::make(
                &config,
                &room,
                &identity,
                name,
                Some(ttl),
                grants,
                kid.as_deref(),
            )?;
            println!("{token}");
            Ok(())
        }
        Some(Command::Config(ConfigCommand::Check(args))) => {
            let config = args.load()?;
            convene_server::tls::acceptor(&config.tls, config.turn.enabled)?;
            println!("ok");
            Ok(())
        }
        Some(Command::Compose(args)) => compose(*args),
        Some(Command::Serve(args)) => serve(*args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Before any thread (the logger's, the runtime's, the media plane's) is started.
    let capped = convene_server::memory::one_arena_per_core();
    let config = args.load()?;
    logging::init(&config.log);
    if !capped {
        tracing::debug!("the allocator's arenas are not capped");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listeners = Listeners::bind(&config)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        run(config, listeners, shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

fn compose(args: ComposeArgs) -> anyhow::Result<()> {
    use convene_server::compose::remote::{progress_line, Remote};
    let server = match args.server {
        Some(url) => url,
        None => format!("http://{}", args.config.load()?.server.listen),
    };
    let remote = Remote::new(&server, &args.api_key)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut stderr = std::io::stderr();
        let done = remote
            .compose(&args.meeting, |s| progress_line(s, &mut stderr))
            .await;
        eprintln!();
        let done = done?;
        println!("composition: {}", done.id);
        println!("bytes: {}", done.bytes.unwrap_or(0));
        println!("duration_ms: {}", done.duration_ms.unwrap_or(0));
        if let Some(link) = &done.download {
            println!("download: {server}{link}");
            if let Some(to) = &args.output {
                let n = remote.download(link, to).await?;
                println!("saved: {} ({n} bytes)", to.display());
            }
        }
        anyhow::Ok(())
    })
}

fn user(cmd: UserCommand) -> anyhow::Result<()> {
    use convene_server::users;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cmd {
        UserCommand::Add {
            email,
            name,
            admin,
            config,
        } => {
            let config = config.load()?;
            let password = users::read_password("Password: ")?;
            let id = runtime.block_on(users::add(
                &config,
                &email,
                name.as_deref(),
                admin,
                &password,
            ))?;
            let what = if admin { "admin account" } else { "account" };
            println!("made {what} {} for {email}", id.0);
        }
        UserCommand::Passwd { email, config } => {
            let config = config.load()?;
            let password = users::read_password("New password: ")?;
            runtime.block_on(users::passwd(&config, &email, &password))?;
            println!("password set for {email}; its browsers are signed out");
        }
    }
    Ok(())
}

fn apikey(cmd: ApiKeyCommand) -> anyhow::Result<()> {
    use convene_server::users;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cmd {
        ApiKeyCommand::Create { name, config } => {
            let config = config.load()?;
            let (id, secret) = runtime.block_on(users::create_key(&config, &name))?;
            println!("id:     {id}\nsecret: {secret}\n(the secret is not shown again)");
        }
        ApiKeyCommand::Revoke { id, config } => {
            let config = config.load()?;
            runtime.block_on(users::revoke_key(&config, &id))?;
            println!("revoked {id}");
        }
        ApiKeyCommand::List { config } => {
            let config = config.load()?;
            for k in runtime.block_on(users::list_keys(&config))? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!("{}\t{state}\t{}", k.id, k.name);
            }
        }
    }
    Ok(())
}

/// Resolves at the first SIGTERM or Ctrl-C; a second one exits at once. The handlers are installed
/// now, not when the future is first awaited: a SIGTERM that comes while the server starts (after
/// it printed its address) would otherwise meet the default action and kill it without a drain.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let first = Signals::install();
    async move {
        first.wait().await;
        let second = Signals::install();
        tokio::spawn(async move {
            second.wait().await;
            eprintln!("second signal: exiting now");
            std::process::exit(1);
        });
    }
}

/// SIGTERM (where there is one) and Ctrl-C, listened for from creation on.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let term = signal(SignalKind::terminate())
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                })
                .ok();
            Self { term }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use tikv_jemalloc_ctl::{opt, raw};

    /// The binary's allocator is jemalloc with the settings of `memory::JEMALLOC_CONF`: a misspelt
    /// symbol name or option would leave jemalloc's defaults in place without a word.
    #[test]
    fn jemalloc_runs_with_our_settings() {
        assert!(!opt::tcache::read().expect("opt.tcache"));
        assert!(opt::background_thread::read().expect("opt.background_thread"));
        // SAFETY (both): these are `ssize_t` and `const char *` options, read as such.
        let dirty: isize = unsafe { raw::read(b"opt.dirty_decay_ms\0") }.expect("dirty decay");
        let muzzy: isize = unsafe { raw::read(b"opt.muzzy_decay_ms\0") }.expect("muzzy decay");
        assert_eq!((dirty, muzzy), (1000, 0));
        let percpu = unsafe { raw::read_str(b"opt.percpu_arena\0") }.expect("percpu arena");
        assert_eq!(percpu, b"percpu\0");
    }

    /// What Rust allocates is counted in use in the heap that /metrics reports.
    #[test]
    fn the_heap_count_sees_what_rust_allocates() {
        let before = convene_server::memory::heap_usage().expect("a heap count");
        let block = std::hint::black_box(vec![7u8; 1 << 20]);
        let during = convene_server::memory::heap_usage().expect("a heap count");
        assert!(
            during.in_use >= before.in_use + (1 << 20),
            "{before:?} -> {during:?}"
        );
        drop(block);
    }
}
