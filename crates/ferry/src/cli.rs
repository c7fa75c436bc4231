use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ferry_config::{Overrides, Settings};

/// Ferry: a multi-account cloud in one binary. It speaks the AWS wire
/// protocols, so `aws`, boto3, the AWS SDKs, `sftp` and `psql` work
/// against it unchanged.
#[derive(Parser, Debug)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the server (HTTP for every AWS service, SFTP).
    Serve(ServeArgs),
    /// Create and list accounts (against a data dir, or a running server).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Print the commented default configuration file.
    Config,
    /// Load generators against a running server (Ferry or any peer).
    #[command(subcommand)]
    Bench(ferry_bench::Command),
}

/// Where settings come from: defaults, ferry.toml, FERRY_* variables, flags.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Settings file [default: ./ferry.toml if it exists].
    #[arg(long, env = "FERRY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Data directory (embedded store, blobs, operator.json) [default: ./ferry-data].
    #[arg(long, env = "FERRY_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Metadata store: empty for embedded SQLite, or postgres://... [default: embedded].
    #[arg(long, env = "FERRY_STORE", global = true)]
    store: Option<String>,
    /// Object bytes: empty for local files under the data dir [default: local].
    #[arg(long, env = "FERRY_BLOBS", global = true)]
    blobs: Option<String>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// HTTP listen address for every service [default: 127.0.0.1:4566].
    #[arg(long, env = "FERRY_LISTEN")]
    listen: Option<String>,
    /// SFTP listen address [default: 127.0.0.1:2222].
    #[arg(long, env = "FERRY_SFTP_LISTEN")]
    sftp_listen: Option<String>,
    /// Base host name for virtual-host routing (repeatable; localhost is always included).
    #[arg(long = "domain", env = "FERRY_DOMAIN", value_delimiter = ',')]
    domains: Vec<String>,
}

/// Where account commands act: on a data dir directly, or on a running server.
#[derive(Args, Debug)]
pub struct Target {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A running Ferry (e.g. http://127.0.0.1:4566); the operator's keys come
    /// from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or <data-dir>/operator.json.
    #[arg(long, env = "FERRY_ENDPOINT")]
    pub endpoint: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account with an `admin` user; prints its id and keys as JSON.
    Create {
        /// Account name (unique).
        name: String,
        /// pooled (shared store) or siloed (own store and blob root).
        #[arg(long, default_value = "pooled")]
        tier: String,
        /// Contact email [default: <id>@accounts.ferry.local].
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// List accounts as a JSON array.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Create a new access key for an account's `admin` user; prints it as JSON.
    Key {
        /// The 12-digit account id.
        account_id: String,
        #[command(flatten)]
        target: Target,
    },
}

impl StoreArgs {
    /// Settings with these overrides (and no listener overrides).
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings::load(self.config.as_deref(), self.overrides())?)
    }

    fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            ..Default::default()
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => {
            let mut o = a.store.overrides();
            o.listen = a.listen;
            o.sftp_listen = a.sftp_listen;
            o.domains = a.domains;
            let settings = Settings::load(a.store.config.as_deref(), o)?;
            crate::serve::serve(settings).await
        }
        Command::Account(c) => crate::account::run(c).await,
        Command::Config => {
            print!("{}", ferry_config::DEFAULT_TOML);
            Ok(())
        }
        Command::Bench(c) => Ok(ferry_bench::run(c).await?),
    }
}
