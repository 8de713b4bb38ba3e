//! The roles of the binary, as run by `main`.

use std::io::{IsTerminal, Read};

use clap::{Parser, Subcommand};

use crate::app::{self, Application, shutdown_pair};
use crate::auth::model::{Email, NewPassword};
use crate::auth::{password, store};
use crate::config::{Config, LogFormat};
use crate::crypto::random_token;
use crate::error::{AppError, AppResult};

/// Amicale: alumni and partner network platform.
///
/// Configuration comes from `amicale.toml` (or the file named by
/// AMICALE_CONFIG) and AMICALE_* environment variables; see the README.
#[derive(Parser, Debug)]
#[command(name = "amicale", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server, the delivery workers and the scheduler (one process).
    Serve {
        /// Fill the database with the demo network first and print the
        /// administrator's login.
        #[arg(long)]
        demo: bool,
    },
    /// Run delivery workers and the scheduler only, without HTTP (extra nodes).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage administrator accounts.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Fill the database with the demo network and print the administrator's login.
    Demo,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an administrator. Without --password-stdin a strong password is
    /// generated and printed.
    Create {
        /// Login e-mail of the new administrator.
        #[arg(long)]
        email: String,
        /// Name shown in the interface.
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Interface language of the account: fr or en.
        #[arg(long, default_value = "fr")]
        locale: String,
    },
    /// Set a new password for an account and end its sessions. Without
    /// --password-stdin a strong password is generated and printed.
    ResetPassword {
        /// Login e-mail of the account.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

fn password_input(from_stdin: bool) -> AppResult<(NewPassword, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        let line = s.lines().next().unwrap_or("").to_owned();
        let pw = NewPassword::parse(&line, &line).map_err(|key| {
            AppError::Config(crate::web::i18n::Locale::En.t_args(
                key,
                &[("min", crate::auth::model::MIN_PASSWORD.to_string())],
            ))
        })?;
        Ok((pw, false))
    } else {
        let generated = random_token(15);
        Ok((
            NewPassword::parse(&generated, &generated).map_err(|e| AppError::Internal(e.into()))?,
            true,
        ))
    }
}

fn email_arg(email: &str) -> AppResult<Email> {
    Email::parse(email).map_err(|key| AppError::Config(crate::web::i18n::Locale::En.t(key)))
}

async fn wait_for_signal(trigger: app::ShutdownTrigger) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing requests and sends in flight");
    trigger.fire();
}

pub async fn run(cli: Cli, config: Config) -> AppResult<()> {
    match cli.command {
        Command::Serve { demo } => {
            let app = Application::build(config, demo).await?;
            if demo {
                print_demo(&app.state().db, &app.state().base_url).await?;
            }
            let (trigger, shutdown) = shutdown_pair();
            tokio::spawn(wait_for_signal(trigger));
            app.serve(shutdown).await
        }
        Command::Worker => {
            let (trigger, shutdown) = shutdown_pair();
            tokio::spawn(wait_for_signal(trigger));
            app::run_worker(config, shutdown).await
        }
        Command::Migrate => {
            let db = crate::db::connect(&config.database_url).await?;
            crate::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo => {
            let db = connect_migrated(&config).await?;
            let base = config
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.bind));
            print_demo(&db, &base).await
        }
        Command::Admin { action } => admin(action, &config).await,
    }
}

async fn connect_migrated(config: &Config) -> AppResult<sea_orm::DatabaseConnection> {
    let db = crate::db::connect(&config.database_url).await?;
    crate::db::migrate(&db).await?;
    Ok(db)
}

async fn print_demo(db: &sea_orm::DatabaseConnection, base_url: &str) -> AppResult<()> {
    let login = crate::demo::load(db).await?;
    println!("Demo network ready at {base_url}");
    println!("  administrator e-mail:    {}", login.email);
    println!("  administrator password:  {}", login.password);
    Ok(())
}

async fn admin(action: AdminCommand, config: &Config) -> AppResult<()> {
    let db = connect_migrated(config).await?;
    match action {
        AdminCommand::Create {
            email,
            name,
            password_stdin,
            locale,
        } => {
            let email = email_arg(&email)?;
            let locale = crate::web::i18n::Locale::parse(&locale)
                .ok_or_else(|| AppError::Config("--locale must be fr or en".into()))?;
            let (pw, generated) = password_input(password_stdin)?;
            store::create_user(&db, &email, &pw, &name, true, locale.code())
                .await
                .map_err(|e| AppError::Config(e.to_string()))?;
            println!("administrator {email} created");
            if generated {
                println!("password: {}", pw.expose());
            }
            Ok(())
        }
        AdminCommand::ResetPassword {
            email,
            password_stdin,
        } => {
            let email = email_arg(&email)?;
            let user = store::find_by_email(&db, &email)
                .await?
                .ok_or_else(|| AppError::Config(format!("no account with e-mail {email}")))?;
            let (pw, generated) = password_input(password_stdin)?;
            let hash = password::hash(pw.expose().to_owned()).await?;
            store::set_password(&db, user.id, hash, None).await?;
            store::clear_failures(&db, email.as_str()).await?;
            println!("password of {email} changed; its sessions are closed");
            if generated {
                println!("password: {}", pw.expose());
            }
            Ok(())
        }
    }
}
