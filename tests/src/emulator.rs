//! Lambda's own Runtime Interface Emulator — what `sam local invoke` runs inside its container —
//! run here without Docker: each function's binary under the emulator, with the environment
//! `template.yaml` gives it (local values in place of the stack's), pointed at DynamoDB Local and
//! Redis. `scripts/services` fetches the emulator (from the aws-sam-cli wheel) and exports
//! `TICKETING_RIE`.

use crate::samples::root;
use serde_json::Value;
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ticketing::config::{Config, Mode};
use ticketing::http::Function;
use ticketing::store::table;
use ticketing::AppState;

/// The emulator's binary: `TICKETING_RIE`, as `scripts/services` exports it.
pub fn rie_binary() -> PathBuf {
    let path = std::env::var_os("TICKETING_RIE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
            "TICKETING_RIE is not set: run through scripts/test, or `. scripts/services` first \
             (it fetches Lambda's Runtime Interface Emulator)"
        )
        });
    assert!(path.is_file(), "no emulator at {}", path.display());
    path
}

/// Builds the four function binaries (a no-op when `cargo test --all-targets` built them) and
/// returns the directory that holds them.
pub fn build_functions() -> PathBuf {
    let packages: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
    cargo_build("dev", &packages)
}

/// Builds `packages` with cargo's `profile` and returns the directory its binaries land in.
pub fn cargo_build(profile: &str, packages: &[&str]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root())
        .args(["build", "--quiet", "--profile", profile]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building {packages:?} ({profile}) failed");
    // Cargo puts the dev profile's output in `debug`, every other profile's under its name.
    let dir = if profile == "dev" { "debug" } else { profile };
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join(dir)
}

/// A local stand-in for one deployed stack: the template's environment with local values, a
/// fresh table on DynamoDB Local and a fresh key prefix on Redis.
pub struct LocalStack {
    pub env: BTreeMap<String, String>,
    pub namespace: String,
}

impl LocalStack {
    /// Every variable the template sets on `function`'s resource (its globals and its own),
    /// each with a local value — a variable the template adds without a local value here fails
    /// loudly — plus what only a local run needs (the DynamoDB endpoint and dummy credentials).
    pub async fn new() -> Self {
        let unique = crate::unique("rie");
        let namespace = "Ticketing".to_owned();
        let local: BTreeMap<&str, String> = [
            ("TABLE_NAME", unique.clone()),
            ("REDIS_URL", crate::redis_url()),
            ("REDIS_KEY_PREFIX", format!("{unique}:")),
            (
                "JWT_ACCESS_SECRET",
                "rie-access-secret-0123456789abcdefghijkl".into(),
            ),
            (
                "JWT_REFRESH_SECRET",
                "rie-refresh-secret-0123456789abcdefghijk".into(),
            ),
            (
                "TICKET_SIGNING_KEY",
                "rie-ticket-signing-key-0123456789abcdefg".into(),
            ),
            ("JWT_ISSUER", "ticketing-api-local".into()),
            ("JWT_AUDIENCE", "ticketing-clients-local".into()),
            ("CORS_ALLOWED_ORIGINS", "http://127.0.0.1:3000".into()),
            ("RATE_LIMIT_PER_MINUTE", "10000".into()),
            ("AUTH_RATE_LIMIT_PER_MINUTE", "10000".into()),
            ("METRICS_NAMESPACE", namespace.clone()),
            // The template's defaults.
            ("TICKETS_PER_SHARD", "2000".into()),
            ("MAX_SHARDS", "16".into()),
            ("MAIL_FROM", "Ticketing <no-reply@ticketing.local>".into()),
            ("SITE_URL", "http://127.0.0.1:3000".into()),
            ("HOLD_SECONDS", "600".into()),
            // Payments off, as the template's default: the Stripe variables resolve empty.
            ("PAYMENT_PROVIDER", "none".into()),
            ("STRIPE_SECRET_KEY", String::new()),
            ("STRIPE_WEBHOOK_SECRET", String::new()),
            ("STRIPE_PUBLISHABLE_KEY", String::new()),
            // No trace collector here: export stays off (the traces test covers the spans).
            ("OTEL_EXPORTER_OTLP_ENDPOINT", String::new()),
            ("RUST_LOG", "info".into()),
        ]
        .into_iter()
        .collect();
        let mut env = BTreeMap::new();
        let missing: Vec<String> = template_variables()
            .into_iter()
            .filter(|key| match local.get(key.as_str()) {
                Some(value) => {
                    env.insert(key.clone(), value.clone());
                    false
                }
                None => true,
            })
            .collect();
        assert!(
            missing.is_empty(),
            "template.yaml sets variables the emulator has no local value for: {missing:?}"
        );
        for (key, value) in [
            ("DYNAMODB_ENDPOINT", crate::dynamodb_endpoint()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "local".into()),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ] {
            env.insert(key.into(), value);
        }
        let stack = Self { env, namespace };
        let store = ticketing::store::DynamoStore::new(
            &stack.env["TABLE_NAME"],
            Some(crate::dynamodb_endpoint()),
            Some("us-east-1".into()),
        );
        table::ensure_table(store.client().await, &stack.env["TABLE_NAME"])
            .await
            .unwrap_or_else(|e| panic!("DynamoDB Local must be running: {e}"));
        stack
    }

    /// The state the functions build from this environment (same table, cache and secrets), for
    /// seeding data and issuing tokens they accept.
    pub fn state(&self) -> AppState {
        let config = Config::from_lookup(Mode::Lambda, |key| self.env.get(key).cloned())
            .unwrap_or_else(|e| panic!("{e}"));
        ticketing::startup::state(config, true).0
    }
}

/// The variables `template.yaml` sets on the functions (globals and each function's own).
pub fn template_variables() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let template: Yaml = serde_yaml::from_str(&text).expect("template.yaml parses");
    let mut keys: Vec<String> = Vec::new();
    let mut add = |vars: &Yaml| {
        if let Some(vars) = vars.as_mapping() {
            keys.extend(vars.keys().filter_map(|k| k.as_str().map(str::to_owned)));
        }
    };
    add(&template["Globals"]["Function"]["Environment"]["Variables"]);
    if let Some(resources) = template["Resources"].as_mapping() {
        for resource in resources.values() {
            if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
                add(&resource["Properties"]["Environment"]["Variables"]);
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// One function running under the emulator; stopped when dropped.
pub struct Emulator {
    child: Child,
    port: u16,
    /// Everything the function (and the emulator's START/END/REPORT lines) printed on stdout.
    output: Arc<Mutex<Vec<String>>>,
}

/// One invocation's answer and the lines the function printed for it.
pub struct Invocation {
    /// What the function returned, as the emulator hands it back.
    pub response: Value,
    pub status: u16,
    pub headers: Value,
    pub body: Value,
    pub output: Vec<String>,
}

impl Invocation {
    /// The Embedded Metric Format documents printed during this invocation.
    pub fn emf(&self) -> Vec<Value> {
        self.output
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|doc| doc.get("_aws").is_some())
            .collect()
    }

    /// A metric's value in this invocation's EMF documents, if it was emitted.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.emf().iter().find_map(|doc| doc[name].as_f64())
    }
}

impl Emulator {
    /// Starts `function`'s binary from `bin_dir` under the emulator with exactly `env`.
    pub fn start(
        bin_dir: &std::path::Path,
        function: Function,
        env: &BTreeMap<String, String>,
    ) -> Self {
        Self::start_binary(&bin_dir.join(function.name()), env)
    }

    /// Starts the Lambda function `binary` under the emulator with exactly `env`.
    pub fn start_binary(binary: &std::path::Path, env: &BTreeMap<String, String>) -> Self {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port()
        };
        // Its own ports for both sides, so several emulators (and test runs) live side by side.
        let (port, runtime_api_port) = (free_port(), free_port());
        let mut child = Command::new(rie_binary())
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{runtime_api_port}"))
            .arg(binary)
            .env_clear()
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the emulator starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let emulator_log = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().expect("piped stdout"), output.clone());
        collect_lines(
            child.stderr.take().expect("piped stderr"),
            emulator_log.clone(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the emulator did not listen on {port}: {:?}",
                emulator_log.lock().expect("log lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            output,
        }
    }

    /// Invokes the function once with an API Gateway payload, as `sam local invoke` does, and
    /// returns its HTTP answer with the lines it printed up to the emulator's REPORT line.
    pub async fn invoke(&self, payload: &Value) -> Invocation {
        self.invoke_until(payload, |lines| {
            lines.iter().any(|l| l.starts_with("REPORT RequestId"))
        })
        .await
    }

    /// Like [`Self::invoke`], collecting the printed lines until `done` holds for them (an
    /// instance that ends mid-invocation prints no REPORT line).
    pub async fn invoke_until(
        &self,
        payload: &Value,
        done: impl Fn(&[String]) -> bool,
    ) -> Invocation {
        let mark = self.output.lock().expect("output lock").len();
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/function/invocations",
            self.port
        );
        let text = reqwest::Client::new()
            .post(url)
            .body(payload.to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the emulator answers")
            .text()
            .await
            .expect("the emulator's answer");
        // A function that refused to start leaves the emulator nothing to hand back.
        let response: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        let output = loop {
            let lines = self.output.lock().expect("output lock")[mark..].to_vec();
            if done(&lines) {
                break lines;
            }
            assert!(Instant::now() < deadline, "still waiting after {lines:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let status = response["statusCode"].as_u64().unwrap_or(0) as u16;
        let body = response["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        Invocation {
            response: response.clone(),
            status,
            headers: response["headers"].clone(),
            body,
            output,
        }
    }
}

/// Copies a child's output into `sink`, line by line, until it closes.
fn collect_lines(from: impl std::io::Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            sink.lock().expect("output lock").push(line);
        }
    });
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
