//! `ticketing-admin`: table bootstrap and role changes, against the same configuration as the
//! functions (`TABLE_NAME`, `DYNAMODB_ENDPOINT`, `AWS_REGION`).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use ticketing::config::{Config, Mode};
use ticketing::domain::Role;
use ticketing::store::{table, DynamoStore};
use ticketing::AppError;

#[derive(Parser)]
#[command(about = "Administer the ticketing store")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and its indexes if missing and wait until active (idempotent).
    InitTable,
    /// Make a user an admin.
    Promote { email: String },
    /// Make an admin a plain user.
    Demote { email: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // The tool issues no tokens: the local mode's generated secrets are harmless here.
    let config = match Config::from_env(Mode::Local) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match args.command {
        Command::InitTable => {
            let store = DynamoStore::new(
                &config.table_name,
                config.dynamodb_endpoint.clone(),
                config.aws_region.clone(),
            );
            match table::ensure_table(store.client().await, &config.table_name).await {
                Ok(true) => println!("created table {}", config.table_name),
                Ok(false) => println!("table {} already exists", config.table_name),
                Err(e) => {
                    // The whole chain: what failed, and the SDK's reason under it.
                    eprintln!("init-table failed: {:#}", anyhow::Error::from(e));
                    return ExitCode::FAILURE;
                }
            }
        }
        Command::Promote { email } => return set_role(config, &email, Role::Admin).await,
        Command::Demote { email } => return set_role(config, &email, Role::User).await,
    }
    ExitCode::SUCCESS
}

async fn set_role(config: Config, email: &str, role: Role) -> ExitCode {
    let (state, _) = ticketing::startup::state(config, true);
    match state.auth.set_role(email, role).await {
        Ok(user) => {
            println!("{} is now {:?}", user.email, user.role);
            ExitCode::SUCCESS
        }
        Err(AppError::NotFound) => {
            eprintln!("no user with email {email}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("could not change the role of {email}: {e}");
            ExitCode::FAILURE
        }
    }
}
