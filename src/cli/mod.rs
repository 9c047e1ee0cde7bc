//! The command line: `serve [--role all|web|worker]`, `migrate`, `merchant create|reset-password`,
//! `api-key create`, `mail list|show`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, Secret};
use crate::domain::{Email, Slug};

/// Satchel: self-hosted digital product delivery.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// Configuration file (missing is fine: built-in defaults apply).
    #[arg(long, global = true, default_value = "satchel.toml", env = "SATCHEL_CONFIG")]
    pub config: PathBuf,
    /// Database URL (`sqlite:…` or `postgres://…`); overrides the configuration.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the service until Ctrl-C or SIGTERM.
    Serve {
        /// What this process does: `all` (HTTP, mail worker and sweeps), `web` (HTTP only) or
        /// `worker` (mail worker and sweeps; HTTP only for /healthz, /readyz and /metrics).
        /// Overrides `server.role`; web and worker need PostgreSQL.
        #[arg(long)]
        role: Option<crate::domain::Role>,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage merchants.
    Merchant {
        /// What to do with merchants.
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// Manage API keys.
    ApiKey {
        /// What to do with API keys.
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Read the file mailbox (mail written to `data_dir/mailbox/` when no SMTP server is set).
    Mail {
        /// What to do with the mailbox.
        #[command(subcommand)]
        command: MailCommand,
    },
}

/// `satchel mail …`
#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// List the emails in the mailbox, oldest first: id, date, recipient, subject.
    List,
    /// Print one email as written (RFC 5322).
    Show {
        /// The email's id, or the start of it.
        id: String,
    },
}

/// `satchel merchant …`
#[derive(Subcommand, Debug)]
pub enum MerchantCommand {
    /// Create a merchant and its first dashboard user.
    Create {
        /// Business name shown to customers.
        #[arg(long)]
        name: String,
        /// Email the merchant signs in with.
        #[arg(long)]
        email: String,
        /// Short name used in URLs (default: made from the name).
        #[arg(long)]
        slug: Option<String>,
        /// Dashboard password (default: a random one, printed once).
        #[arg(long, env = "SATCHEL_MERCHANT_PASSWORD")]
        password: Option<String>,
        /// Turn on test mode: `/buy/{product}` completes payments without a card.
        #[arg(long)]
        test_mode: bool,
    },
    /// Give a dashboard user a new random password, printed once; their sessions end.
    ResetPassword {
        /// The user's sign-in email (the owner's or a member's), or the shop's slug or id for its owner.
        #[arg(long)]
        merchant: String,
    },
}

/// `satchel api-key …`
#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create an API key; it is printed once and stored hashed.
    Create {
        /// The merchant: its slug, its id, or a dashboard user's email.
        #[arg(long)]
        merchant: String,
        /// A label to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Runs the command line; logs to stderr, results to stdout.
pub fn main(cli: Cli) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(&cli.config).context("reading the configuration")?;
    if let Some(url) = cli.database_url {
        config.database.url = Some(Secret(url));
    }
    match cli.command {
        Command::Serve { role } => {
            if let Some(role) = role {
                config.server.role = role;
            }
            crate::App::build(config).await?.run_until_stopped().await?
        }
        Command::Migrate => {
            crate::app::connect_db(&config).await?;
            println!("database is up to date");
        }
        Command::Merchant { command: MerchantCommand::Create { name, email, slug, password, test_mode } } => {
            let db = crate::app::connect_db(&config).await?;
            let email = Email::parse("--email", &email)?;
            let slug = match slug {
                Some(slug) => Slug::parse("--slug", &slug)?,
                None => Slug::from_name(&name).context("--slug: cannot make one from the name; give --slug")?,
            };
            let name = name.trim();
            anyhow::ensure!(!name.is_empty(), "--name must not be empty");
            let generated = password.is_none();
            let password = password.unwrap_or_else(crate::db::merchants::generate_password);
            let hash = crate::domain::hash_password(&password)?;
            let mut merchant = crate::db::merchants::create(&db, &slug, name, &email, &hash).await?;
            if test_mode {
                let change = crate::db::merchants::SettingsChange { test_mode: Some(true), ..Default::default() };
                merchant = crate::db::merchants::update_settings(&db, &merchant.id, &change).await?;
            }
            let url = config.public_url(config.server.port);
            println!("Created merchant {} ({})", merchant.name, merchant.slug);
            println!("  id:        {}", merchant.id);
            println!("  sign in:   {url}/dashboard as {}", email.as_str());
            if generated {
                println!("  password:  {password}   (shown once; keep it)");
            }
            println!("  API key:   satchel api-key create --merchant {}", merchant.slug);
            if merchant.test_mode {
                println!("  test mode: on; buy any product at {url}/buy/{{product id}} without a card");
            }
            println!(
                "  webhooks:  {url}/webhooks/{}/standard  (secret {})",
                merchant.slug, merchant.standard_webhook_secret
            );
        }
        Command::Merchant { command: MerchantCommand::ResetPassword { merchant } } => {
            let db = crate::app::connect_db(&config).await?;
            let (user, password) = crate::accounts::reset_from_cli(&db, &merchant).await?;
            let url = config.public_url(config.server.port);
            println!("New dashboard password for {}", user.email);
            println!("  password:  {password}   (shown once; keep it)");
            println!("  sign in:   {url}/dashboard; every session of this user was signed out");
            println!("  change it: Settings → Password, once signed in");
        }
        Command::Mail { command } => {
            let mailbox = crate::mail::Mailbox::new(config.mailbox_dir());
            if config.mail.smtp.is_some() {
                eprintln!("note: mail goes to an SMTP server; the mailbox only holds mail from before that");
            }
            match command {
                MailCommand::List => {
                    let entries = mailbox.list().with_context(|| format!("reading {}", mailbox.dir().display()))?;
                    if entries.is_empty() {
                        eprintln!("no mail in {}", mailbox.dir().display());
                    }
                    for e in entries {
                        println!("{}  {}  {}  {}", e.id, e.date, e.to, e.subject);
                    }
                }
                MailCommand::Show { id } => {
                    let message = mailbox.read(&id).with_context(|| format!("reading {}", mailbox.dir().display()))?;
                    let message = message.with_context(|| format!("no single email in the mailbox matches {id}"))?;
                    print!("{message}");
                }
            }
        }
        Command::ApiKey { command: ApiKeyCommand::Create { merchant, name } } => {
            let db = crate::app::connect_db(&config).await?;
            let merchant = crate::db::merchants::find_named(&db, &merchant)
                .await
                .with_context(|| format!("no merchant has the slug, id or user email {merchant}"))?;
            let (key, info) = crate::db::api_keys::create(&db, &merchant.id, &name).await?;
            println!("{}", key.expose());
            eprintln!("API key {} ({}) for {}: shown once, stored hashed.", info.prefix, info.id, merchant.slug);
        }
    }
    Ok(())
}
