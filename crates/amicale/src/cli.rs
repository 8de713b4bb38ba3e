//! The roles of the binary, as run by `main`.

use std::io::{IsTerminal, Read};

use clap::{Parser, Subcommand};

use crate::app::{self, shutdown_pair};
use crate::auth::model::NewPassword;
use crate::auth::{password, store};
use crate::error::{AppError, AppResult};
use crate::runtime::{self, Application};
use amicale_delivery::config::{Config, LogFormat};
use amicale_kernel::Login;
use amicale_kernel::crypto::random_token;

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
    Demo {
        /// Number of persons (grows an existing demo network up to it; up
        /// to 1,000,000 for benchmarks).
        #[arg(long, default_value_t = crate::demo::DEFAULT_PEOPLE)]
        people: usize,
    },
    /// Send a template to the recipients of a CSV file (column `email`, other
    /// columns become person fields). Prints the send's id; follow it at
    /// /admin/sends/ID. Nothing is queued when a row is invalid.
    Send {
        /// Id of the template (its current version is sent and frozen).
        #[arg(long)]
        template: i64,
        /// The CSV file of recipients (comma or semicolon separated).
        #[arg(long)]
        to: std::path::PathBuf,
        /// Name of the send in Administration.
        #[arg(long)]
        label: Option<String>,
        /// Language variant to send: fr or en.
        #[arg(long, default_value = "fr")]
        locale: String,
        /// What recipients unsubscribe from with the link of these messages,
        /// and whose earlier unsubscriptions are honoured: campaigns,
        /// mailings or events.
        #[arg(long, default_value = "campaigns")]
        category: String,
    },
    /// Import persons from a CSV or XLSX file; prints a JSON report.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Export persons as CSV or XLSX to standard output.
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Render, check and convert message templates (no database needed).
    Template {
        #[command(subcommand)]
        action: TemplateCommand,
    },
    /// DKIM keys (no database needed).
    Dkim {
        #[command(subcommand)]
        action: DkimCommand,
    },
    /// Automatic rules.
    Rules {
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// Periodic tasks: list them, or run one slot now.
    Schedule {
        #[command(subcommand)]
        action: ScheduleCommand,
    },
    /// SMS tools (no database needed).
    Sms {
        #[command(subcommand)]
        action: SmsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Prints, as JSON, what the active rules would send on a day (today
    /// in the network time zone by default); sends nothing.
    DryRun {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// Each periodic task with its last and next slot, as JSON.
    List,
    /// Runs the latest due slot of TASK now, unless it already ran.
    Run { task: String },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Persons: columns first name, last name, e-mail, promo, cursus, campus,
    /// role and any other field, named in French or English. Matches
    /// existing persons by e-mail or external reference. Exits non-zero when
    /// rows were rejected in all-or-nothing mode (nothing is then written).
    People {
        file: std::path::PathBuf,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// all: nothing is written if a row is rejected; valid: the valid rows are.
        #[arg(long, default_value = "all")]
        mode: String,
        /// Send an invitation e-mail to each person created.
        #[arg(long)]
        invite: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Persons, one row each, with the import's column names.
    People {
        #[arg(long, default_value = "csv")]
        format: String,
        /// A filter `name=value` as in the CRM list (city=Lyon, promo=2010,
        /// role=alumni, status=active, q=…); repeat to combine.
        #[arg(long = "filter")]
        filters: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// Render a template with data from a JSON file; errors give line and column.
    Render {
        /// The template source.
        #[arg(long)]
        file: std::path::PathBuf,
        /// A JSON object: {"person": {...}, "event": {...}, ...}.
        #[arg(long)]
        data: std::path::PathBuf,
        /// Language of dates and day/month names: fr or en.
        #[arg(long, default_value = "fr")]
        locale: String,
        /// email (HTML, escaped) or sms (text, not escaped).
        #[arg(long, default_value = "email")]
        kind: String,
    },
    /// Convert a JUNGO2 template (FILE, or standard input) to Amicale's syntax;
    /// unknown signets are listed on standard error and the exit code is 1.
    ConvertJungo2 {
        /// The JUNGO2 text; standard input when absent.
        file: Option<std::path::PathBuf>,
    },
    /// Check a template's syntax and merge fields without rendering it.
    Check {
        /// The template source.
        #[arg(long)]
        file: std::path::PathBuf,
        /// email or sms.
        #[arg(long, default_value = "email")]
        kind: String,
        /// person or event: which sends the template is for.
        #[arg(long, default_value = "person")]
        trigger: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Generate a signing key, write it (PKCS#8 PEM, mode 600) and print the
    /// DNS TXT record to publish at <selector>._domainkey.<domain>.
    Generate {
        /// ed25519 (small, fast) or rsa (RSA-2048, what every receiver checks).
        #[arg(long, default_value = "rsa")]
        algorithm: String,
        /// The signing domain, usually the From address's domain.
        #[arg(long)]
        domain: String,
        /// The selector, e.g. amicale2026.
        #[arg(long)]
        selector: String,
        /// Where to write the private key.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum SmsCommand {
    /// Print the encoding, characters and segments of a text as JSON.
    Info {
        /// The SMS text.
        text: String,
    },
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
        // try_init: tests may start several servers in one process.
        LogFormat::Json => {
            let _ = builder.json().try_init();
        }
        LogFormat::Text => {
            let _ = builder
                .with_ansi(std::io::stderr().is_terminal())
                .try_init();
        }
    }
}

fn password_input(from_stdin: bool) -> AppResult<(NewPassword, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        let line = s.lines().next().unwrap_or("").to_owned();
        let pw = NewPassword::parse(&line, &line).map_err(|key| {
            AppError::Config(amicale_kernel::Locale::En.t_args(
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

fn email_arg(email: &str) -> AppResult<Login> {
    Login::parse(email).map_err(|key| AppError::Config(amicale_kernel::Locale::En.t(key)))
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
                print_demo(
                    &app.state().db,
                    &app.state().base_url,
                    crate::demo::DEFAULT_PEOPLE,
                )
                .await?;
            }
            let (trigger, shutdown) = shutdown_pair();
            tokio::spawn(wait_for_signal(trigger));
            app.serve(shutdown).await
        }
        Command::Worker => {
            let (trigger, shutdown) = shutdown_pair();
            tokio::spawn(wait_for_signal(trigger));
            runtime::run_worker(config, shutdown).await
        }
        Command::Migrate => {
            let db = amicale_store::connect(&config.database_url).await?;
            amicale_store::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Demo { people } => {
            let db = connect_migrated(&config).await?;
            let base = config
                .base_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.bind));
            print_demo(&db, &base, people).await
        }
        Command::Admin { action } => admin(action, &config).await,
        Command::Send {
            template,
            to,
            label,
            locale,
            category,
        } => send(&config, template, &to, label, &locale, &category).await,
        Command::Import {
            what:
                ImportCommand::People {
                    file,
                    dry_run,
                    mode,
                    invite,
                },
        } => import_people(&config, &file, dry_run, &mode, invite).await,
        Command::Export {
            what: ExportCommand::People { format, filters },
        } => export_people(&config, &format, &filters).await,
        Command::Rules {
            action: RulesCommand::DryRun { date },
        } => rules_dry_run(&config, date.as_deref()).await,
        Command::Schedule { action } => schedule_command(&config, action).await,
        Command::Template { .. } | Command::Sms { .. } | Command::Dkim { .. } => Err(
            AppError::Internal("offline commands run before the configuration is read".into()),
        ),
    }
}

async fn cli_state(config: &Config) -> AppResult<crate::app::AppState> {
    connect_migrated(config).await?;
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    crate::app::AppState::new(config.clone(), base_url, false).await
}

fn print_json(v: &impl serde::Serialize) -> AppResult<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| AppError::Internal(e.to_string()))?
    );
    Ok(())
}

async fn rules_dry_run(config: &Config, date: Option<&str>) -> AppResult<()> {
    let state = cli_state(config).await?;
    let now = chrono::Utc::now();
    let day = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::Config(format!("--date {d}: expected YYYY-MM-DD")))?,
        None => now.with_timezone(&state.tz).date_naive(),
    };
    let (planned, skipped) = crate::events::rules::dry_run(&state, day, now, None).await?;
    let mut out: Vec<serde_json::Value> = planned
        .iter()
        .map(|p| {
            serde_json::json!({
                "rule": p.rule_name,
                "rule_id": p.rule,
                "template": p.template_name,
                "recipient": p.recipient,
                "address": p.address,
                "event": p.event_title,
                "channel": p.channel,
                "excluded": p.excluded,
                "already_sent": p.already,
            })
        })
        .collect();
    for (r, template, why) in skipped {
        out.push(serde_json::json!({
            "rule": r.name,
            "rule_id": r.id,
            "template": template,
            "recipient": null,
            "channel": r.channel,
            "excluded": why.as_str(),
        }));
    }
    print_json(&out)
}

async fn schedule_command(config: &Config, action: ScheduleCommand) -> AppResult<()> {
    let state = cli_state(config).await?;
    let scheduler = crate::schedule::Scheduler::new(
        state.db.clone(),
        state.tz,
        crate::schedule::tasks::all(state.clone()),
    );
    let now = chrono::Utc::now();
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&state.tz).to_rfc3339();
    match action {
        ScheduleCommand::List => {
            scheduler.register(now).await?;
            let rows: Vec<serde_json::Value> = scheduler
                .overview(now)
                .await?
                .into_iter()
                .map(|(t, last, next)| {
                    serde_json::json!({
                        "task": t.name,
                        "cron": t.expr,
                        "last": last.as_ref().map(|s| local(s.slot_at)),
                        "last_outcome": last.as_ref().map(|s| s.outcome.clone()),
                        "last_detail": last.and_then(|s| s.detail),
                        "next": next.map(local),
                    })
                })
                .collect();
            print_json(&rows)
        }
        ScheduleCommand::Run { task } => match scheduler.run_now(&task, now).await? {
            Some((slot, outcome)) => {
                print_json(
                    &serde_json::json!({"task": task, "slot": local(slot), "outcome": outcome}),
                )?;
                if outcome == "error" {
                    return Err(AppError::Internal(format!(
                        "task {task} failed; see the log"
                    )));
                }
                Ok(())
            }
            None => Err(AppError::Config(format!(
                "unknown task `{task}`; `amicale schedule list` shows them"
            ))),
        },
    }
}

async fn import_people(
    config: &Config,
    file: &std::path::Path,
    dry_run: bool,
    mode: &str,
    invite: bool,
) -> AppResult<()> {
    use crate::people::import;
    let mode = import::Mode::parse(mode)
        .ok_or_else(|| AppError::Config("--mode must be all or valid".into()))?;
    let bytes = std::fs::read(file)?;
    let table = import::read_limited(&bytes, &import::Limits::of(config))
        .map_err(|e| AppError::Rejected(format!("{}: {e}", file.display())))?;
    let db = connect_migrated(config).await?;
    let report = import::run(&db, &table, mode, dry_run).await?;
    if invite && !report.created_ids.is_empty() {
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.bind));
        let state = crate::app::AppState::new(config.clone(), base_url, false).await?;
        let l = amicale_kernel::Locale::parse(&config.default_locale).unwrap_or_default();
        let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
        crate::people::accounts::invite(&state, &txn, &report.created_ids, None, l).await?;
        txn.commit().await?;
    }
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| AppError::Internal(e.to_string()))?
    );
    if mode == import::Mode::All && !report.rejected.is_empty() {
        return Err(AppError::Rejected(format!(
            "{} rows rejected: nothing was imported",
            report.rejected.len()
        )));
    }
    Ok(())
}

async fn export_people(config: &Config, format: &str, filters: &[String]) -> AppResult<()> {
    use crate::people::export::{self, CsvSink, Format};
    use crate::people::search::{Criteria, Scope};
    let format = Format::parse(format)
        .ok_or_else(|| AppError::Config("--format must be csv or xlsx".into()))?;
    let mut map = serde_json::Map::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| AppError::Config(format!("--filter {f}: expected name=value")))?;
        map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
    }
    let criteria: Criteria = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| AppError::Config(format!("--filter: {e}")))?;
    let db = connect_migrated(config).await?;
    let (cond, invalid) = criteria.condition(amicale_store::Backend::of(&db), Scope::Crm);
    if let Some(i) = invalid.first() {
        return Err(AppError::Config(format!(
            "--filter {}: not a number",
            i.field
        )));
    }
    let stdout = std::io::stdout();
    match format {
        Format::Csv => {
            let mut sink = CsvSink(csv::Writer::from_writer(std::io::BufWriter::new(stdout)));
            export::write(&db, cond, None, &export::key_header, &mut sink).await?;
            sink.0.flush()?;
        }
        Format::Xlsx => {
            // A zip needs to seek back: written to a temporary file first,
            // then copied out.
            let mut tmp = tempfile_in_temp_dir()?;
            {
                let mut sink = crate::people::xlsx::XlsxWriter::new(
                    std::io::BufWriter::new(&mut tmp.1),
                    "People",
                )?;
                export::write(&db, cond, None, &export::key_header, &mut sink).await?;
                let mut w = sink.finish()?;
                std::io::Write::flush(&mut w)?;
            }
            use std::io::Seek;
            tmp.1.seek(std::io::SeekFrom::Start(0))?;
            std::io::copy(&mut tmp.1, &mut std::io::stdout())?;
            let _ = std::fs::remove_file(&tmp.0);
        }
    }
    Ok(())
}

fn tempfile_in_temp_dir() -> AppResult<(std::path::PathBuf, std::fs::File)> {
    let path = std::env::temp_dir().join(format!(
        "amicale-export-{}",
        amicale_kernel::crypto::random_token(12)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

async fn connect_migrated(config: &Config) -> AppResult<sea_orm::DatabaseConnection> {
    let db = amicale_store::connect(&config.database_url).await?;
    amicale_store::migrate(&db).await?;
    Ok(db)
}

async fn print_demo(
    db: &sea_orm::DatabaseConnection,
    base_url: &str,
    people: usize,
) -> AppResult<()> {
    let login = crate::demo::load(db, people).await?;
    // Framed, so it stands out among the migration and server logs.
    let lines = [
        format!("Demo network ready at {base_url}"),
        format!("  administrator e-mail:    {}", login.email),
        format!("  administrator password:  {}", login.password),
        format!("  member e-mail:           {}", login.member_email),
        format!("  member password:         {}", login.member_password),
    ];
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    println!("\n┌{}┐", "─".repeat(width + 2));
    for l in &lines {
        println!("│ {l:<width$} │");
    }
    println!("└{}┘\n", "─".repeat(width + 2));
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
            let locale = amicale_kernel::Locale::parse(&locale)
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
            store::clear_account(&db, email.as_str()).await?;
            println!("password of {email} changed; its sessions are closed");
            if generated {
                println!("password: {}", pw.expose());
            }
            Ok(())
        }
    }
}

fn merge_kind(kind: &str) -> Result<amicale_merge::Kind, String> {
    match kind {
        "email" | "html" | "newsletter" => Ok(amicale_merge::Kind::Html),
        "sms" | "text" => Ok(amicale_merge::Kind::Text),
        other => Err(format!("unknown kind `{other}` (email or sms)")),
    }
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Commands that need neither configuration nor database. Returns the exit
/// code, or None when the command is not one of them.
pub fn run_offline(cli: &Cli) -> Option<std::process::ExitCode> {
    use std::process::ExitCode;
    let fail = |msg: String| {
        eprintln!("{msg}");
        ExitCode::FAILURE
    };
    match &cli.command {
        Command::Dkim {
            action:
                DkimCommand::Generate {
                    algorithm,
                    domain,
                    selector,
                    out,
                },
        } => {
            use amicale_mailkit::dkim::{Algorithm, Signer, SigningKey};
            let alg = match algorithm.as_str() {
                "ed25519" => Algorithm::Ed25519Sha256,
                "rsa" => Algorithm::RsaSha256,
                other => {
                    return Some(fail(format!(
                        "unknown algorithm `{other}` (ed25519 or rsa)"
                    )));
                }
            };
            let key = match SigningKey::generate(alg) {
                Ok(k) => k,
                Err(e) => return Some(fail(e.to_string())),
            };
            let record = key.dns_txt_record();
            let signer = Signer::new(domain.clone(), selector.clone(), key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options.open(out).and_then(|mut f| {
                std::io::Write::write_all(&mut f, signer.key.to_pkcs8_pem().as_bytes())
            });
            if let Err(e) = written {
                return Some(fail(format!("{}: {e}", out.display())));
            }
            println!("{} IN TXT \"{record}\"", signer.dns_name());
            Some(ExitCode::SUCCESS)
        }
        Command::Sms {
            action: SmsCommand::Info { text },
        } => {
            let a = amicale_sms::analyse(text);
            println!(
                "{}",
                serde_json::json!({"encoding": a.encoding.as_str(), "characters": a.characters, "segments": a.segments})
            );
            Some(ExitCode::SUCCESS)
        }
        Command::Template { action } => Some(match action {
            TemplateCommand::Render {
                file,
                data,
                locale,
                kind,
            } => {
                let run = || -> Result<String, String> {
                    let source = read(file)?;
                    let ctx: serde_json::Value = serde_json::from_str(&read(data)?)
                        .map_err(|e| format!("{}: {e}", data.display()))?;
                    let locale = match locale.as_str() {
                        "fr" => amicale_merge::Locale::Fr,
                        "en" => amicale_merge::Locale::En,
                        other => return Err(format!("unknown locale `{other}` (fr or en)")),
                    };
                    amicale_merge::Engine::new()
                        .render(&source, merge_kind(kind)?, locale, &ctx)
                        .map_err(|e| format!("{}: {e}", file.display()))
                };
                match run() {
                    Ok(out) => {
                        print!("{out}");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            }
            TemplateCommand::ConvertJungo2 { file } => {
                let source = match file {
                    Some(f) => read(f),
                    None => {
                        let mut s = String::new();
                        std::io::stdin()
                            .read_to_string(&mut s)
                            .map(|_| s)
                            .map_err(|e| e.to_string())
                    }
                };
                match source {
                    Err(e) => fail(e),
                    Ok(source) => {
                        let conv = amicale_merge::jungo2::convert(&source);
                        print!("{}", conv.output);
                        for u in &conv.unknown {
                            eprintln!(
                                "line {}, column {}: unknown signet {}",
                                u.line, u.column, u.signet
                            );
                        }
                        if conv.unknown.is_empty() {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                }
            }
            TemplateCommand::Check {
                file,
                kind,
                trigger,
            } => {
                let run = || -> Result<Vec<String>, String> {
                    let source = read(file)?;
                    let trigger = match trigger.as_str() {
                        "person" => amicale_merge::Trigger::Person,
                        "event" => amicale_merge::Trigger::Event,
                        other => {
                            return Err(format!("unknown trigger `{other}` (person or event)"));
                        }
                    };
                    Ok(
                        match amicale_merge::validate(&source, merge_kind(kind)?, &[trigger]) {
                            Ok(()) => Vec::new(),
                            Err(errors) => errors
                                .iter()
                                .map(|e| format!("{}: {e}", file.display()))
                                .collect(),
                        },
                    )
                };
                match run() {
                    Ok(problems) if problems.is_empty() => {
                        println!("{}: ok", file.display());
                        ExitCode::SUCCESS
                    }
                    Ok(problems) => fail(problems.join("\n")),
                    Err(e) => fail(e),
                }
            }
        }),
        _ => None,
    }
}

async fn send(
    config: &Config,
    template: i64,
    file: &std::path::Path,
    label: Option<String>,
    locale: &str,
    category: &str,
) -> AppResult<()> {
    use crate::comms::eligibility::Category;
    use crate::comms::templates::{render, store as tstore};
    use crate::compose;
    use amicale_delivery::{batch, outbox::Origin};
    use amicale_kernel::SendChannel;
    let locale = match locale {
        "fr" => "fr",
        "en" => "en",
        _ => return Err(AppError::Config("--locale must be fr or en".into())),
    };
    let category = match Category::parse(category) {
        Some(c) if c != Category::FollowUp => c,
        _ => {
            return Err(AppError::Config(
                "--category must be campaigns, mailings or events".into(),
            ));
        }
    };
    let base_url = config
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let state = crate::app::AppState::new(config.clone(), base_url, false).await?;
    let (t, v) = tstore::get(&state.db, template).await?;
    let data = std::fs::read(file)?;
    let common = serde_json::json!({
        "network": {"name": state.config.network_name, "url": state.base_url, "contact_email": state.mail_from.email.to_string()},
        "sender": {"name": state.config.network_name, "email": state.mail_from.email.to_string()},
    });
    let selected =
        batch::from_csv(&data, &common, locale).map_err(|p| AppError::Config(p.join("\n")))?;
    if selected.is_empty() {
        return Err(AppError::Config("the file has no recipients".into()));
    }
    // Those who left this category, or whose address bounced for good, are
    // not queued; everyone else gets their own signed unsubscribe link.
    let total = selected.len();
    let label = label.unwrap_or_else(|| t.name.clone());
    let letter = compose::Letter::new(label, Origin::Batch, None, SendChannel::Email, &t, &v);
    let mut audience = compose::Addresses::new(selected, category);
    let planned = compose::plan(&state, &mut audience, &letter).await?;
    let mut reasons: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for (_, c) in &planned {
        if let Err(why) = c.decision {
            *reasons.entry(why.as_str()).or_default() += 1;
        }
    }
    let eligible: Vec<&compose::Composed> = planned
        .iter()
        .map(|(_, c)| c)
        .filter(|c| c.decision.is_ok())
        .collect();
    let why: Vec<String> = reasons.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "{total} selected, {} will receive it{}",
        eligible.len(),
        if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join(", "))
        }
    );
    let Some(first) = eligible.first() else {
        println!("nothing to send");
        return Ok(());
    };
    // Render once before queueing: a template that cannot be filled from this
    // file is refused now, not discovered on the first delivery.
    let l = amicale_kernel::Locale::parse(locale).unwrap_or_default();
    let kind = amicale_delivery::templates::model::TemplateKind::parse(&t.kind)
        .unwrap_or(amicale_delivery::templates::model::TemplateKind::Email);
    render::render(
        &state,
        kind,
        &render::variant_for(&v, l),
        &first.merge_data,
        l,
    )
    .map_err(|e| AppError::Config(format!("the template cannot be filled from this file: {e}")))?;
    let done = compose::send(&state, &mut audience, &letter).await?;
    let (id, count) = (done.send.unwrap_or_default(), done.queued);
    println!("send {id}: {count} recipients queued");
    Ok(())
}
