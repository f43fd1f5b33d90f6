//! `nexus`: the one binary. See `nexus --help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nexus::{Application, StartError};
use nexus_core::config::Settings;
use nexus_core::identity::Role;

#[derive(Parser)]
#[command(
    name = "nexus",
    version,
    about = "Nexus: knowledge hub and cohort learning platform backend"
)]
struct Cli {
    /// Configuration file (TOML). Without it, ./nexus.toml is read if present.
    #[arg(long, global = true, env = "NEXUS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve HTTP until SIGTERM or SIGINT.
    Serve {
        /// Address to listen on (overrides `bind` / NEXUS_BIND).
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users from the operator's shell.
    #[command(subcommand)]
    User(UserCommand),
    /// Fill an empty database with the benchmark data set (fixed seed, deterministic).
    Seed {
        /// Build DESIGN.md's benchmark data set.
        #[arg(long, required = true)]
        bench: bool,
        /// Number of notes (default: the benchmark's 100,000).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        notes: u32,
        /// Number of users.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        users: u32,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a verified account. The password is read from standard input (first line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "learner", value_parser = parse_role)]
        role: Role,
    },
    /// Give a user a role.
    SetRole {
        handle: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable a user (signed out everywhere at once), or enable them again.
    Disable {
        handle: String,
        /// Enable instead of disable.
        #[arg(long)]
        enable: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "expected learner, mentor or admin".to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nexus: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Config => {
            print!("{}", settings.to_redacted_toml());
            match settings.database_target() {
                Ok(t) => println!("\n# effective database backend: {}", t.backend_name()),
                Err(e) => println!("\n# database_url is invalid: {e}"),
            }
            ExitCode::SUCCESS
        }
        Command::Openapi => match serde_json::to_string_pretty(&nexus_http::openapi()) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("nexus: cannot render the OpenAPI document: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            run(settings, serve)
        }
        Command::Migrate => run(settings, migrate),
        Command::User(cmd) => run(settings, move |s| user(s, cmd)),
        Command::Seed {
            bench: _,
            notes,
            users,
        } => run(settings, move |s| seed(s, notes, users)),
    }
}

/// Starts logging and a runtime, runs `task`, and turns its outcome into an exit status.
fn run<F, Fut>(settings: Settings, task: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = Result<(), StartError>>,
{
    nexus_http::telemetry::init_tracing(settings.log_format);
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nexus: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("nexus: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn serve(settings: Settings) -> Result<(), StartError> {
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        database = settings.database_target().map(|t| t.backend_name()).unwrap_or("invalid"),
        "starting nexus {}",
        env!("CARGO_PKG_VERSION")
    );
    let app = Application::build(settings).await?;
    let addr = app.local_addr().map_err(anyhow::Error::from)?;
    tracing::info!("listening on http://{addr}");
    app.run_until(nexus_http::server::shutdown_signal()).await?;
    Ok(())
}

async fn migrate(settings: Settings) -> Result<(), StartError> {
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    tracing::info!(backend = db.backend().name(), "migrations applied");
    db.close().await;
    Ok(())
}

async fn user(settings: Settings, cmd: UserCommand) -> Result<(), StartError> {
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    let services = nexus_service::Services::new(db.clone(), std::sync::Arc::new(settings))?;
    let outcome = match cmd {
        UserCommand::Create {
            email,
            handle,
            display_name,
            role,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(anyhow::Error::from)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            services
                .create_user_as_operator(&email, &handle, display_name.as_deref(), password, role)
                .await
                .map(|id| println!("created {handle} ({id}) as {role}"))
        }
        UserCommand::SetRole { handle, role } => services
            .set_role_as_operator(&handle, role)
            .await
            .map(|()| println!("{handle} is now {role}")),
        UserCommand::Disable { handle, enable } => services
            .set_disabled_as_operator(&handle, !enable)
            .await
            .map(|()| {
                println!(
                    "{handle} is {}",
                    if enable { "enabled" } else { "disabled" }
                )
            }),
    };
    db.close().await;
    outcome.map_err(|e| match e {
        nexus_core::AppError::Validation(fields) => StartError::Config(
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => StartError::Other(anyhow::anyhow!("{}", other.public_detail())),
    })
}

async fn seed(settings: Settings, notes: u32, users: u32) -> Result<(), StartError> {
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    let services = nexus_service::Services::new(db.clone(), std::sync::Arc::new(settings))?;
    let shape = nexus::seed::Shape {
        topics: 50,
        users: users as usize,
        notes: notes as usize,
    };
    let result = nexus::seed::run(&services, shape).await;
    db.close().await;
    Ok(result?)
}
