//! `nexus`: the one binary. See `nexus --help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
        /// Do not run background jobs in this process (run `nexus worker` instead).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run background jobs (emails, webhooks, schedules) until SIGTERM or SIGINT. Any
    /// number of workers may run at once.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users from the operator's shell.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage courses from the operator's shell.
    #[command(subcommand)]
    Course(CourseCommand),
    /// Fill an empty database: the benchmark data set (`--bench`, fixed seed,
    /// deterministic) or a demo cohort to explore (`--demo`).
    #[command(group(clap::ArgGroup::new("data").required(true).args(["bench", "demo"])))]
    Seed {
        /// Build DESIGN.md's benchmark data set.
        #[arg(long)]
        bench: bool,
        /// Load the shipped course and a cohort in its fifth week: 2 mentors, 12
        /// learners with reviewed work for weeks 1-4 (one at risk), hub notes. Every
        /// account's password is `nexus demo password`.
        #[arg(long)]
        demo: bool,
        /// The course folder the demo imports.
        #[arg(
            long,
            default_value = "courses/scalable-architectures",
            requires = "demo"
        )]
        course: std::path::PathBuf,
        /// Number of notes (default: the benchmark's 100,000).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        notes: u32,
        /// Number of users.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        users: u32,
        /// Notes per transaction.
        #[arg(long, default_value_t = nexus::seed::BATCH as u32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
    },
    /// Drive load against a running Nexus and report throughput, latency and errors.
    Bench(BenchArgs),
}

/// See BENCHMARKS.md for the method and the server settings a run needs.
#[derive(clap::Args)]
struct BenchArgs {
    /// The server, `http://host:port`.
    #[arg(long)]
    url: String,
    #[arg(long, value_enum)]
    scenario: nexus::bench::scenario::Scenario,
    /// Keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,
    /// Seconds measured.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    duration: Duration,
    /// Seconds of load before measuring.
    #[arg(long, default_value = "2", value_parser = parse_secs)]
    warmup: Duration,
    /// A request without an answer after this many seconds is an error.
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    timeout: Duration,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Then run the same scenario against the ceiling (`nexus-ceiling`, started and
    /// stopped here) and report every figure as a fraction of it.
    #[arg(long)]
    ceiling: bool,
    /// The `nexus-ceiling` executable (default: beside this one).
    #[arg(long, value_name = "PATH")]
    ceiling_bin: Option<PathBuf>,
    /// The server's PID: its peak RSS (VmHWM) is read after the load.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected seconds, e.g. 10 or 0.5 (got {s:?})"))
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

#[derive(Subcommand)]
enum CourseCommand {
    /// Import a course folder (`course.yaml`, `weeks/NN-*.md`, `rubrics/*.yaml`): a new
    /// course, or the next version of the course with its slug.
    Import {
        /// The course folder.
        dir: PathBuf,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "expected learner, mentor or admin".to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The harness is a client: it runs before, and without, the server's configuration.
    let command = match cli.command {
        Command::Bench(args) => return bench(args),
        other => other,
    };
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nexus: {e}");
            return ExitCode::from(2);
        }
    };
    // Job kinds and schedules are known to the service layer's registry, not to the
    // configuration's own validation; a misspelt one is the same start-up error.
    if let Err(e) = nexus_service::check_settings(&settings) {
        eprintln!("nexus: configuration problems:\n{e}");
        return ExitCode::from(2);
    }
    match command {
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
        Command::Serve { bind, no_worker } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            run(settings, move |s| serve(s, !no_worker))
        }
        Command::Worker => run(settings, |s| {
            nexus::run_worker(s, nexus_http::server::shutdown_signal())
        }),
        Command::Migrate => run(settings, migrate),
        Command::User(cmd) => run(settings, move |s| user(s, cmd)),
        Command::Course(cmd) => run(settings, move |s| course(s, cmd)),
        Command::Seed {
            demo: true, course, ..
        } => run(settings, move |s| seed_demo(s, course)),
        Command::Seed {
            notes,
            users,
            batch,
            ..
        } => run(settings, move |s| seed(s, notes, users, batch)),
        Command::Bench(args) => bench(args),
    }
}

fn bench(args: BenchArgs) -> ExitCode {
    let ceiling_bin = if args.ceiling {
        match args.ceiling_bin.map(Ok).unwrap_or_else(default_ceiling_bin) {
            Ok(path) => Some(path),
            Err(e) => {
                eprintln!("nexus bench: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let opts = nexus::bench::Options {
        url: args.url,
        scenario: args.scenario,
        connections: args.connections as usize,
        warmup: args.warmup,
        duration: args.duration,
        timeout: args.timeout,
        ceiling_bin,
        server_pid: args.server_pid,
        writer: nexus::bench::scenario::Writer::default(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nexus bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(nexus::bench::run(&opts)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nexus bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    print!("{report}");
    if let Some(path) = args.json {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&path, json));
        if let Err(e) = written {
            eprintln!("nexus bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn default_ceiling_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let bin = exe.with_file_name(format!("nexus-ceiling{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: build it (`cargo build --release -p nexus` builds both) or pass --ceiling-bin",
            bin.display()
        ))
    }
}

/// Starts logging and a runtime, runs `task`, and turns its outcome into an exit status.
fn run<F, Fut>(settings: Settings, task: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = Result<(), StartError>>,
{
    // Held until `run` returns, so the last lines (shutdown, errors) reach stderr.
    let _log_flush = nexus_http::telemetry::init_tracing(settings.log_format);
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

async fn serve(settings: Settings, worker: bool) -> Result<(), StartError> {
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        database = settings.database_target().map(|t| t.backend_name()).unwrap_or("invalid"),
        "starting nexus {}",
        env!("CARGO_PKG_VERSION")
    );
    let mut app = Application::build(settings).await?;
    if !worker {
        app = app.without_worker();
    }
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
                .identity()
                .operator()
                .create_user(&email, &handle, display_name.as_deref(), password, role)
                .await
                .map(|id| println!("created {handle} ({id}) as {role}"))
        }
        UserCommand::SetRole { handle, role } => services
            .identity()
            .operator()
            .set_role(&handle, role)
            .await
            .map(|()| println!("{handle} is now {role}")),
        UserCommand::Disable { handle, enable } => services
            .identity()
            .operator()
            .set_disabled(&handle, !enable)
            .await
            .map(|()| {
                println!(
                    "{handle} is {}",
                    if enable { "enabled" } else { "disabled" }
                )
            }),
    };
    db.close().await;
    outcome.map_err(operator_error)
}

/// A use case's refusal as the operator's shell reports it: invalid input is a usage
/// error (exit 2) naming every field.
fn operator_error(e: nexus_core::AppError) -> StartError {
    match e {
        nexus_core::AppError::Validation(fields) => StartError::Config(
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => StartError::Other(anyhow::anyhow!("{}", other.public_detail())),
    }
}

async fn course(settings: Settings, cmd: CourseCommand) -> Result<(), StartError> {
    let CourseCommand::Import { dir } = cmd;
    let files = nexus_service::learning::CourseFiles::from_dir(&dir).map_err(operator_error)?;
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    let services = nexus_service::Services::new(db.clone(), std::sync::Arc::new(settings))?;
    let outcome = services
        .learning()
        .courses()
        .import_as_operator(files)
        .await;
    db.close().await;
    let report = outcome.map_err(operator_error)?;
    let course = &report.course;
    println!(
        "imported {} version {} ({}): {} weeks, {} phases, {} projects, {} rubrics",
        course.document.slug,
        course.version,
        if report.created {
            "new course"
        } else {
            "new version"
        },
        course.document.weeks.len(),
        course.document.phases.len(),
        course.document.projects.len(),
        course.document.rubrics.len(),
    );
    for p in &report.progression {
        println!(
            "progression: week {} objective {} ({}) is below the week before's highest ({})",
            p.week,
            p.code,
            p.bloom.as_str(),
            p.previous_highest.as_str()
        );
    }
    for path in &report.ignored_files {
        println!("ignored: {path}");
    }
    Ok(())
}

async fn seed_demo(settings: Settings, course: std::path::PathBuf) -> Result<(), StartError> {
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    let result = nexus::demo::run(db.clone(), std::sync::Arc::new(settings), &course).await;
    db.close().await;
    let summary = result?;
    println!(
        "seeded the demo: cohort {} with mentors {} and learners {}",
        summary.cohort,
        summary.mentors.join(", "),
        summary.learners.join(", ")
    );
    println!(
        "sign in as {} (a learner; `sam` is at risk), {} (a mentor) or {} (admin), \
         password `{}`",
        nexus::demo::email("ada"),
        nexus::demo::email("mia"),
        nexus::demo::email("demo-admin"),
        nexus::demo::DEMO_PASSWORD
    );
    Ok(())
}

async fn seed(
    mut settings: Settings,
    notes: u32,
    users: u32,
    batch: u32,
) -> Result<(), StartError> {
    // One process writing a whole data set: a larger page cache keeps the indexes being
    // written in memory (about a quarter less system time for 100,000 notes on SQLite).
    settings.database.sqlite_cache_mib = settings.database.sqlite_cache_mib.max(64);
    let db = nexus::open_database(&settings).await?;
    db.migrate().await?;
    let services = nexus_service::Services::new(db.clone(), std::sync::Arc::new(settings))?;
    let shape = nexus::seed::Shape {
        topics: 50,
        users: users as usize,
        notes: notes as usize,
        batch: batch as usize,
    };
    let result = nexus::seed::run(&services, shape).await;
    db.close().await;
    Ok(result?)
}
