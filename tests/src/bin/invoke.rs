//! `scripts/invoke FUNCTION EVENT`: what `sam local invoke FUNCTION -e events/EVENT.json` does,
//! without Docker — the function's binary under Lambda's Runtime Interface Emulator with the
//! template's environment, on DynamoDB Local + Redis (a fresh table and key prefix), with the
//! data the sample points at seeded and real tokens in place of its placeholders. Prints the
//! API Gateway response and every line the function printed (logs and EMF metrics).

use std::process::ExitCode;
use ticketing::http::Function;
use ticketing_tests::emulator::{build_functions, Emulator, LocalStack};
use ticketing_tests::samples::{self, SAMPLES};

const USAGE: &str =
    "usage: scripts/invoke FUNCTION EVENT   e.g. scripts/invoke bookings bookings-create
  FUNCTION: auth | events | bookings | health
  EVENT:    a file of events/ (with or without .json)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [function, event] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Some(function) = Function::ALL.into_iter().find(|f| f.name() == function) else {
        eprintln!("unknown function {function:?}\n{USAGE}");
        return ExitCode::from(2);
    };
    let event = event.trim_end_matches(".json");
    let event = event.rsplit('/').next().unwrap_or(event);
    if !SAMPLES.iter().any(|(name, _)| *name == event) {
        let known: Vec<&str> = SAMPLES.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "no event {event:?} in events/ (known: {})",
            known.join(", ")
        );
        return ExitCode::from(2);
    }
    let bin_dir = build_functions();
    let stack = LocalStack::new().await;
    let session = samples::seed(&stack.state()).await;
    let emulator = Emulator::start(&bin_dir, function, &stack.env);
    let call = emulator.invoke(&session.prepare(event)).await;
    println!("status: {}", call.status);
    println!("headers: {}", call.headers);
    println!(
        "body: {}",
        serde_json::to_string_pretty(&call.body).unwrap_or_default()
    );
    println!("--- what the function printed ---");
    for line in &call.output {
        println!("{line}");
    }
    if call.status >= 500 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
