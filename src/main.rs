use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use iriswire::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "iriswire",
    version,
    about = "PostgreSQL wire-protocol front end for InterSystems IRIS"
)]
struct Cli {
    /// PostgreSQL listen address (default 127.0.0.1:6432)
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Metrics and health listen address (default 127.0.0.1:9930)
    #[arg(long = "http-listen", global = true)]
    http_listen: Option<String>,
    /// TOML configuration file
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where the embedded SQLite default keeps its databases
    #[arg(long = "data-dir", global = true)]
    data_dir: Option<String>,
    /// sqlite | iris-embedded | iris-native
    #[arg(long, global = true)]
    backend: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server
    Serve,
    /// Validate the configuration and exit
    CheckConfig,
    /// Print a SCRAM-SHA-256 verifier for USER (password read from stdin)
    Passwd { user: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut o = Overrides::default();
    o.set("listen", "listen", cli.listen);
    o.set("http_listen", "http-listen", cli.http_listen);
    o.set("data_dir", "data-dir", cli.data_dir);
    o.set("backend", "backend", cli.backend);
    if let Command::Passwd { user } = &cli.command {
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim_end().is_empty() {
            eprintln!("iriswire: passwd reads the password from standard input");
            return ExitCode::from(2);
        }
        let verifier =
            iriswire::frontend::auth::scram_verifier(line.trim_end_matches(['\n', '\r']), 4096);
        println!("[[users]]\nname = {user:?}\npassword = {verifier:?}");
        return ExitCode::SUCCESS;
    }
    let source = iriswire::state::ConfigSource {
        file: cli.config.clone(),
        overrides: o.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &o) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iriswire: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            println!(
                "configuration is valid (backend {})",
                config.backend.as_str()
            );
            ExitCode::SUCCESS
        }
        Command::Serve => {
            iriswire::logging::init_logging(&config);
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("iriswire: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(iriswire::server::run(config, source)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("iriswire: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Passwd { .. } => unreachable!("handled above"),
    }
}
