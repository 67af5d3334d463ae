//! The `auth` Lambda function: build configuration and clients once, then serve the router.
use ticketing::config::{Config, Mode};
use ticketing::http::{router, Function};
use ticketing::AppState;

// Lambda hands an instance one event at a time: one thread is enough and starts faster.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ticketing::telemetry::init();
    let config = Config::from_env(Mode::Lambda)?;
    // Clients are created here but connect lazily, on the first request that needs them.
    let (state, _) = AppState::from_config(config, true);
    lambda_http::run(router(state, Function::Auth)).await
}
