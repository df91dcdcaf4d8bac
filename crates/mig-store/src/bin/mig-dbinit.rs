//! `mig-dbinit`: the database step of the deployment guide in one command.
//!
//! ```text
//! mig-dbinit [-url postgres://postgres@127.0.0.1:5432/mig] [-create]
//!            [-adminpass P] [-apipass P] [-schedulerpass P] [-prefix P]
//! ```
//!
//! Connects as a superuser, optionally creates the database, applies the
//! migrations (the original's schema plus mig-rs's tables), then creates the
//! roles migadmin, migapi, migscheduler (login) and migreadonly (no login) with
//! the original's least-privilege grants. Idempotent. Passwords may also come
//! from MIGADMINPASS, MIGAPIPASS and MIGSCHEDULERPASS.

use std::process::ExitCode;

use anyhow::Context;
use mig_store::roles::{RoleNames, RolePasswords, create_roles};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

const USAGE: &str = "usage: mig-dbinit [-url postgres://postgres@127.0.0.1:5432/mig] [-create] [-adminpass P] [-apipass P] [-schedulerpass P] [-prefix P]";

struct Options {
    url: String,
    create: bool,
    passwords: RolePasswords,
    prefix: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        url: "postgres://postgres@127.0.0.1:5432/mig".to_owned(),
        create: false,
        passwords: RolePasswords {
            admin: std::env::var("MIGADMINPASS").ok(),
            api: std::env::var("MIGAPIPASS").ok(),
            scheduler: std::env::var("MIGSCHEDULERPASS").ok(),
        },
        prefix: String::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let name = arg.trim_start_matches('-');
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("flag needs an argument: -{name}"))
        };
        match name {
            "url" => options.url = value()?,
            "create" => options.create = true,
            "adminpass" => options.passwords.admin = Some(value()?),
            "apipass" => options.passwords.api = Some(value()?),
            "schedulerpass" => options.passwords.scheduler = Some(value()?),
            "prefix" => options.prefix = value()?,
            _ => return Err(format!("flag provided but not defined: {arg}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|arg| arg == "-h" || arg == "-help" || arg == "--help")
    {
        eprintln!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(err) => {
            eprintln!("{err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("FATAL: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("FATAL: {err:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let connect: PgConnectOptions = options
        .url
        .parse()
        .with_context(|| format!("invalid -url {:?}", options.url))?;
    let database = connect.get_database().unwrap_or("mig").to_owned();
    if options.create {
        let server = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone().database("postgres"))
            .await
            .context("connecting to the postgres database")?;
        let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&database)
            .fetch_optional(&server)
            .await?
            .is_some();
        if !exists {
            let quoted = format!("\"{}\"", database.replace('"', "\"\""));
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
                .execute(&server)
                .await
                .with_context(|| format!("creating database {database}"))?;
            println!("created database {database}");
        }
        server.close().await;
    }
    let store = mig_store::PgStore::connect(&options.url, 2)
        .await
        .with_context(|| format!("connecting to {database}"))?;
    store.migrate().await.context("applying the migrations")?;
    println!("schema of {database} is up to date");
    let names = RoleNames::with_prefix(options.prefix.clone())?;
    create_roles(store.pool(), &names, &options.passwords).await?;
    let roles =
        sqlx::query("SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname")
            .bind(vec![
                names.admin(),
                names.api(),
                names.scheduler(),
                names.readonly(),
            ])
            .fetch_all(store.pool())
            .await?;
    let roles: Vec<String> = roles.iter().map(|row| row.get::<String, _>(0)).collect();
    println!("roles: {}", roles.join(", "));
    Ok(())
}
