//! aws-ses-v2-local, the SES v2 stand-in, as tests use it: one shared instance per test binary
//! (each test writes to its own addresses and reads only those), or a private one that a test
//! stops and starts again. `scripts/services` installs it and exports `SES_LOCAL_BIN`.

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ticketing::mail::{MailWorker, Pass, SesMailer};
use ticketing::AppState;
use tokio::sync::OnceCell;

/// One mail as the stand-in received it.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Content ids and types of the attachments.
    pub attachments: Vec<Value>,
}

pub struct SesLocal {
    child: Option<Child>,
    port: u16,
}

fn binary() -> String {
    std::env::var("SES_LOCAL_BIN").unwrap_or_else(|_| {
        panic!("SES_LOCAL_BIN is not set: run through scripts/test, or `. scripts/services` first")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SesLocal {
    /// A private instance on a port of its own.
    pub async fn start() -> Self {
        let mut ses = Self {
            child: None,
            port: free_port(),
        };
        ses.resume().await;
        ses
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it (SES is down: sends fail until `resume`). Its store of sent mails goes with it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, and waits until it answers.
    pub async fn resume(&mut self) {
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aws-ses-v2-local starts");
        self.child = Some(child);
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            let url = format!("{}/health-check", self.endpoint());
            if client.get(&url).send().await.is_ok() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "aws-ses-v2-local did not answer on port {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every mail it received for `address`, oldest first.
    pub async fn mails_to(&self, address: &str) -> Vec<SentMail> {
        let store: Value = reqwest::get(format!("{}/store", self.endpoint()))
            .await
            .expect("the stand-in answers")
            .json()
            .await
            .expect("its store is JSON");
        store["emails"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mail| SentMail {
                to: mail["destination"]["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                subject: mail["subject"].as_str().unwrap_or_default().to_owned(),
                text: mail["body"]["text"].as_str().unwrap_or_default().to_owned(),
                html: mail["body"]["html"].as_str().unwrap_or_default().to_owned(),
                attachments: mail["attachments"].as_array().cloned().unwrap_or_default(),
            })
            .filter(|mail| mail.to.iter().any(|to| to == address))
            .collect()
    }

    /// A worker of `state`'s outbox that sends here.
    pub fn worker(&self, state: &AppState) -> MailWorker {
        let mailer = Arc::new(SesMailer::new(
            Some(self.endpoint()),
            Some("us-east-1".into()),
        ));
        MailWorker::new(state, mailer)
    }
}

impl Drop for SesLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The test binary's shared instance.
pub async fn shared_ses() -> &'static SesLocal {
    static SHARED: OnceCell<SesLocal> = OnceCell::const_new();
    SHARED.get_or_init(SesLocal::start).await
}

/// Runs `worker` until `address` has received `count` mails here (or panics after 20 s).
pub async fn deliver_until(
    ses: &SesLocal,
    worker: &MailWorker,
    address: &str,
    count: usize,
) -> Vec<SentMail> {
    let started = Instant::now();
    loop {
        let pass: Pass = worker.drain().await.expect("the outbox is readable");
        let mails = ses.mails_to(address).await;
        if mails.len() >= count {
            return mails;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{address} got {} of {count} mails (last pass: {pass:?})",
            mails.len()
        );
        if pass.sent + pass.failed == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The link's token in a mail's text (`…?token=<token>`).
pub fn token_in(mail: &SentMail) -> String {
    let start = mail
        .text
        .find("token=")
        .expect("the mail has a link with a token")
        + 6;
    mail.text[start..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
