use anyhow::{bail, Context};
use clap::Parser;
use convene_loadtest::spawn::spawn_server;
use convene_loadtest::{procstat, run, table, Options, Target};

fn main() -> anyhow::Result<()> {
    let opts = Options::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(main_async(opts))
}

async fn main_async(mut opts: Options) -> anyhow::Result<()> {
    if opts.chat_every.is_some() && opts.target != Target::Convene {
        bail!("--chat-every is for Convene only (the Janus VideoRoom plugin has no chat)");
    }
    let mut spawned = None;
    if let Some(bin) = opts.spawn_server.clone() {
        if opts.target != Target::Convene {
            bail!("--spawn-server starts Convene only; start Janus with bench/janus.sh");
        }
        let (s, url, pid) = spawn_server(&bin, &opts.server_args).await?;
        opts.url = url;
        opts.server_pid = Some(pid);
        spawned = Some(s);
    }
    if let Some(n) = opts.nice {
        procstat::set_nice(n).with_context(|| format!("setting the tool's nice value to {n}"))?;
    }
    let json = opts.json;
    let record = opts.record;
    let result = run(opts).await;
    if let Some(mut s) = spawned {
        // Stopped before the files are counted, so that they are whole.
        let _ = s.child.start_kill();
        let _ = s.child.wait().await;
        if record {
            let (files, bytes) = s.recorded();
            eprintln!("recorded: {files} files, {:.1} MB", bytes as f64 / 1e6);
        }
        s.stop().await;
    }
    let r = result?;
    eprint!("{}", table::table(&r));
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    Ok(())
}
