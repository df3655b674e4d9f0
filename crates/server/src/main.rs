//! The `convene` binary: parse the command line, load configuration, run until a signal.

use anyhow::Context;
use clap::Parser;
use convene_server::cli::{Cli, Command, ConfigCommand, ServeArgs, UserCommand};
use convene_server::config::DEFAULT_TEMPLATE;
use convene_server::{logging, run, Listeners};

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
        Some(Command::Config(ConfigCommand::Check(args))) => {
            let config = args.load()?;
            convene_server::tls::acceptor(&config.tls)?;
            println!("ok");
            Ok(())
        }
        Some(Command::Serve(args)) => serve(*args),
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    logging::init(&config.log);
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

/// Resolves at the first SIGTERM or Ctrl-C; a second one exits at once.
async fn shutdown_signal() {
    wait_for_signal().await;
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("second signal: exiting now");
        std::process::exit(1);
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
