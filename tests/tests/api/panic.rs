//! A panicking handler answers 500 with the envelope and the process serves on — in a binary
//! built with the release profile's panic strategy (`panic = "abort"` there would kill the
//! instance and API Gateway would answer 502). Tests otherwise run in the dev profile, which
//! always unwinds, so only a release-strategy binary can catch a regression here.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use ticketing_tests::samples::root;

struct Probe(Child);

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_probe() -> (Probe, u16) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args(["build", "--quiet", "--profile", "release-probe"])
        .args(["-p", "ticketing-panic-probe"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the panic probe failed");
    let binary = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("release-probe/ticketing-panic-probe");
    let mut child = Command::new(binary)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the probe starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the probe prints its port");
    let port = line.trim().parse().expect("a port number");
    (Probe(child), port)
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_envelope_in_a_release_strategy_build() {
    let (mut probe, port) = start_probe();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");

    let answer = client.get(format!("{base}/__panic")).send().await.unwrap();
    assert_eq!(answer.status(), 500);
    assert!(answer.headers().contains_key("x-request-id"));
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["code"], "INTERNAL_ERROR", "{body}");
    ticketing_tests::assert_no_internal_text(&body.to_string());

    // The process survived the panic and serves the next request.
    let next = client
        .get(format!("{base}/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200, "{:?}", next.text().await);
    assert!(probe.0.try_wait().unwrap().is_none(), "the probe exited");
}
