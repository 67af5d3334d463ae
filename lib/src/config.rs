//! Configuration from the environment, validated once at start-up with one clear message per
//! bad variable.

use std::fmt;

/// Where the configuration is used: Lambda functions refuse to start without real secrets; the
/// local server may invent them (with a warning) so a newcomer needs no set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lambda,
    Local,
}

/// A secret value: never printed, not even by `{:?}`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub dynamodb_endpoint: Option<String>,
    pub aws_region: Option<String>,
    pub redis_url: Option<String>,
    /// Prefix of every cache key, so several deployments (or test runs) can share one Redis.
    pub redis_key_prefix: String,
    pub jwt: JwtSettings,
    /// What ticket codes are signed with (`TICKET_SIGNING_KEY`, ≥ 32 bytes): the seed of an
    /// Ed25519 key, so a scanner could verify codes offline with the public key alone.
    pub ticket_signing_key: Secret,
    pub cors_allowed_origins: Vec<String>,
    pub rate_limit_per_minute: u64,
    pub auth_rate_limit_per_minute: u64,
    /// CloudWatch namespace of the functions' metrics (`METRICS_NAMESPACE`, default `Ticketing`).
    pub metrics_namespace: String,
    /// How many inventory shards a new event gets (`TICKETS_PER_SHARD`, default 2000;
    /// `MAX_SHARDS`, default 16, at most 64).
    pub shard_rule: crate::domain::ShardRule,
    /// How long a checkout holds its tickets (`HOLD_SECONDS`, default 600, at least 5).
    pub hold_seconds: u64,
    /// Card payments (`PAYMENT_PROVIDER=stripe` and its settings); `None`: every booking is
    /// confirmed at once.
    pub payments: Option<StripeSettings>,
    /// What prices are charged in (`CURRENCY`, default `usd`).
    pub currency: String,
    /// Failed logins within 15 minutes that lock an address (`LOGIN_LOCKOUT_FAILURES`, default 5).
    pub lockout: crate::domain::lockout::LockoutPolicy,
    /// Where mail goes and what its links point at.
    pub mail: MailSettings,
    /// Whether booking needs a verified address (`REQUIRE_VERIFIED_EMAIL=true`; default no).
    pub require_verified_email: bool,
    /// Where spans go as traces (`OTEL_EXPORTER_OTLP_ENDPOINT`; unset: no traces). With traces on,
    /// Redis commands get spans too.
    pub otlp_endpoint: Option<String>,
    /// Warnings to log once tracing is up (e.g. generated secrets).
    pub warnings: Vec<String>,
}

/// Mail through SES v2.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// A local SES-compatible server (`SES_ENDPOINT`, e.g. aws-ses-v2-local); unset: SES itself.
    pub ses_endpoint: Option<String>,
    /// The sender (`MAIL_FROM`).
    pub from: String,
    /// The origin the mails' links use (`SITE_URL`, no trailing slash).
    pub site_url: String,
}

/// Stripe: keys (validated at start-up, never logged) and where its API and Stripe.js are.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `None` in a Lambda function that is not given them: only the functions that call
    /// Stripe or take its webhooks are (least privilege; see [`Config::require_stripe_secrets`]).
    pub secrets: Option<StripeSecrets>,
    pub publishable_key: String,
    /// `STRIPE_API_BASE`: a Stripe-compatible test server (localstripe), default Stripe's.
    pub api_base: String,
    /// `STRIPE_JS_URL`: the Stripe.js the web app loads.
    pub js_url: String,
}

/// What moves money (`STRIPE_SECRET_KEY`) and proves a webhook is Stripe's
/// (`STRIPE_WEBHOOK_SECRET`).
#[derive(Debug, Clone)]
pub struct StripeSecrets {
    pub secret_key: Secret,
    pub webhook_secret: Secret,
}

/// The local server's own origin: what links point at unless `SITE_URL` says otherwise.
pub const DEFAULT_SITE_URL: &str = "http://127.0.0.1:3000";

/// What signs and checks the access and refresh tokens.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub access_secret: Secret,
    pub refresh_secret: Secret,
    pub issuer: String,
    pub audience: String,
}

/// The variable that turns trace export on: the collector's base URL.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads the process environment.
    pub fn from_env(mode: Mode) -> Result<Self, ConfigError> {
        Self::from_lookup(mode, |key| std::env::var(key).ok())
    }

    /// For a function that calls Stripe or takes its webhooks: with payments on, both keys
    /// must have been given (a function that only shows the publishable key needs neither).
    pub fn require_stripe_secrets(self) -> Result<Self, ConfigError> {
        match &self.payments {
            Some(stripe) if stripe.secrets.is_none() => Err(ConfigError(vec![
                "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are required by this function with PAYMENT_PROVIDER=stripe".into(),
            ])),
            _ => Ok(self),
        }
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(
        mode: Mode,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut warnings = Vec::new();

        let mut secret = |key: &str| match get(key) {
            Some(value) if value.len() >= MIN_SECRET_BYTES => Secret::new(value),
            Some(_) => {
                problems.push(format!("{key} must be at least {MIN_SECRET_BYTES} bytes"));
                Secret::new(String::new())
            }
            None if mode == Mode::Local => {
                warnings.push(format!(
                    "{key} is not set: using a random secret; tokens will not survive a restart"
                ));
                Secret::new(random_secret())
            }
            None => {
                problems.push(format!(
                    "{key} is required (at least {MIN_SECRET_BYTES} bytes)"
                ));
                Secret::new(String::new())
            }
        };
        let jwt_access_secret = secret("JWT_ACCESS_SECRET");
        let jwt_refresh_secret = secret("JWT_REFRESH_SECRET");
        let ticket_signing_key = secret("TICKET_SIGNING_KEY");
        if !jwt_access_secret.expose().is_empty()
            && jwt_access_secret.expose() == jwt_refresh_secret.expose()
        {
            problems.push("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must differ".into());
        }

        let mut positive_number = |key: &str, default: u64| match get(key) {
            None => default,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    problems.push(format!(
                        "{key} must be a positive whole number, got {raw:?}"
                    ));
                    default
                }
            },
        };
        let rate_limit_per_minute = positive_number("RATE_LIMIT_PER_MINUTE", 300);
        let hold_seconds = positive_number("HOLD_SECONDS", 600);
        let lockout_failures = positive_number(
            "LOGIN_LOCKOUT_FAILURES",
            u64::from(crate::domain::lockout::DEFAULT_FAILURES),
        );
        let auth_rate_limit_per_minute = positive_number("AUTH_RATE_LIMIT_PER_MINUTE", 20);
        let default_rule = crate::domain::ShardRule::DEFAULT;
        let tickets_per_shard = positive_number(
            "TICKETS_PER_SHARD",
            u64::from(default_rule.tickets_per_shard),
        );
        let max_shards = positive_number("MAX_SHARDS", u64::from(default_rule.max_shards));
        let limit = crate::domain::inventory::SHARD_LIMIT;
        if tickets_per_shard > u64::from(u32::MAX) {
            problems.push(format!("TICKETS_PER_SHARD must be at most {}", u32::MAX));
        }
        if max_shards > u64::from(limit) {
            problems.push(format!(
                "MAX_SHARDS must be from 1 to {limit}, got {max_shards}"
            ));
        }
        let shard_rule = crate::domain::ShardRule {
            tickets_per_shard: tickets_per_shard.min(u64::from(u32::MAX)) as u32,
            max_shards: max_shards.min(u64::from(limit)) as u16,
        };

        if hold_seconds < 5 {
            problems.push(format!(
                "HOLD_SECONDS must be at least 5, got {hold_seconds}"
            ));
        }
        let currency = get("CURRENCY").unwrap_or_else(|| "usd".into());
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            problems.push(format!(
                "CURRENCY must be a three-letter lower-case ISO code, got {currency:?}"
            ));
        }
        let payments = match get("PAYMENT_PROVIDER").as_deref() {
            None | Some("none") => None,
            Some("stripe") => {
                let mut required = |key: &str, prefix: &str| match get(key) {
                    Some(value) if value.starts_with(prefix) && value.len() > prefix.len() => value,
                    Some(_) => {
                        problems.push(format!("{key} must start with {prefix}"));
                        String::new()
                    }
                    None => {
                        problems.push(format!("{key} is required with PAYMENT_PROVIDER=stripe"));
                        String::new()
                    }
                };
                // A Lambda function given neither key is one that never calls Stripe; one key
                // alone is a mistake, and the local server runs every route, so needs both.
                let given =
                    get("STRIPE_SECRET_KEY").is_some() || get("STRIPE_WEBHOOK_SECRET").is_some();
                let secrets = (given || mode == Mode::Local).then(|| StripeSecrets {
                    secret_key: Secret::new(required("STRIPE_SECRET_KEY", "sk_")),
                    webhook_secret: Secret::new(required("STRIPE_WEBHOOK_SECRET", "whsec_")),
                });
                let publishable_key = required("STRIPE_PUBLISHABLE_KEY", "pk_");
                let api_base =
                    get("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into());
                let js_url =
                    get("STRIPE_JS_URL").unwrap_or_else(|| "https://js.stripe.com/v3/".into());
                for (key, url) in [("STRIPE_API_BASE", &api_base), ("STRIPE_JS_URL", &js_url)] {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        problems.push(format!("{key} must be an http(s) URL, got {url:?}"));
                    }
                }
                Some(StripeSettings {
                    secrets,
                    publishable_key,
                    api_base,
                    js_url,
                })
            }
            Some(other) => {
                problems.push(format!(
                    "PAYMENT_PROVIDER must be none or stripe, got {other:?}"
                ));
                None
            }
        };
        if lockout_failures > 100 {
            problems.push(format!(
                "LOGIN_LOCKOUT_FAILURES must be from 1 to 100, got {lockout_failures}"
            ));
        }

        let ses_endpoint = get("SES_ENDPOINT");
        let site_url = get("SITE_URL")
            .unwrap_or_else(|| DEFAULT_SITE_URL.into())
            .trim_end_matches('/')
            .to_owned();
        for (key, url) in [
            ("SES_ENDPOINT", ses_endpoint.as_deref()),
            ("SITE_URL", Some(&site_url)),
        ] {
            if let Some(url) =
                url.filter(|u| !(u.starts_with("http://") || u.starts_with("https://")))
            {
                problems.push(format!("{key} must be an http(s) URL, got {url:?}"));
            }
        }
        let mail_from =
            get("MAIL_FROM").unwrap_or_else(|| "Ticketing <no-reply@ticketing.local>".into());
        if !mail_from.contains('@') || mail_from.contains(['\r', '\n']) {
            problems.push(format!(
                "MAIL_FROM must be an e-mail address, got {mail_from:?}"
            ));
        }
        let require_verified_email = match get("REQUIRE_VERIFIED_EMAIL").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                problems.push(format!(
                    "REQUIRE_VERIFIED_EMAIL must be true or false, got {other:?}"
                ));
                false
            }
        };

        let dynamodb_endpoint = get("DYNAMODB_ENDPOINT");
        if let Some(endpoint) = &dynamodb_endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                problems.push(format!(
                    "DYNAMODB_ENDPOINT must be an http(s) URL, got {endpoint:?}"
                ));
            }
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                problems.push(format!(
                    "REDIS_URL must start with redis:// or rediss://, got {url:?}"
                ));
            }
        }
        if mode == Mode::Lambda && redis_url.is_none() {
            problems.push("REDIS_URL is required".into());
        }

        let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
            .map(|raw| {
                raw.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                problems.push(format!(
                    "CORS_ALLOWED_ORIGINS entry {origin:?} must be an http(s) origin or *"
                ));
            }
        }

        let metrics_namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| "Ticketing".into());
        // CloudWatch's rule for namespaces: 1-255 of these characters, not starting with "AWS/".
        let namespace_ok = metrics_namespace.len() <= 255
            && !metrics_namespace.starts_with("AWS/")
            && metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c));
        if !namespace_ok {
            problems.push(format!(
                "METRICS_NAMESPACE must be 1-255 of A-Z a-z 0-9 . - _ / # : and not start with AWS/, got {metrics_namespace:?}"
            ));
        }

        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Self {
            table_name: get("TABLE_NAME").unwrap_or_else(|| "ticketing".into()),
            dynamodb_endpoint,
            aws_region: get("AWS_REGION"),
            redis_url,
            redis_key_prefix: get("REDIS_KEY_PREFIX").unwrap_or_default(),
            jwt: JwtSettings {
                access_secret: jwt_access_secret,
                refresh_secret: jwt_refresh_secret,
                issuer: get("JWT_ISSUER").unwrap_or_else(|| "ticketing-api".into()),
                audience: get("JWT_AUDIENCE").unwrap_or_else(|| "ticketing-clients".into()),
            },
            ticket_signing_key,
            cors_allowed_origins,
            rate_limit_per_minute,
            auth_rate_limit_per_minute,
            metrics_namespace,
            shard_rule,
            hold_seconds,
            payments,
            currency,
            lockout: crate::domain::lockout::LockoutPolicy {
                failures: lockout_failures.min(100) as u32,
            },
            mail: MailSettings {
                ses_endpoint,
                from: mail_from,
                site_url,
            },
            require_verified_email,
            otlp_endpoint: get(OTLP_ENDPOINT_VAR),
            warnings,
        })
    }

    /// A configuration for tests and tools: fixed secrets, in-memory defaults.
    pub fn for_tests() -> Self {
        Self::from_lookup(Mode::Local, |key| match key {
            "JWT_ACCESS_SECRET" => Some("test-access-secret-0123456789abcdefghij".into()),
            "JWT_REFRESH_SECRET" => Some("test-refresh-secret-0123456789abcdefghij".into()),
            "TICKET_SIGNING_KEY" => Some("test-ticket-signing-key-0123456789abcdef".into()),
            "RATE_LIMIT_PER_MINUTE" => Some("100000".into()),
            "AUTH_RATE_LIMIT_PER_MINUTE" => Some("100000".into()),
            _ => None,
        })
        .expect("the test configuration is valid")
    }
}

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    const GOOD: [(&str, &str); 4] = [
        (
            "JWT_ACCESS_SECRET",
            "a-very-long-access-secret-of-32-bytes!!",
        ),
        (
            "JWT_REFRESH_SECRET",
            "a-very-long-refresh-secret-of-32-bytes!",
        ),
        (
            "TICKET_SIGNING_KEY",
            "a-very-long-ticket-signing-key-32-bytes",
        ),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
    ];

    #[test]
    fn lambda_mode_refuses_missing_secrets_and_redis() {
        let err = Config::from_lookup(Mode::Lambda, lookup(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("JWT_ACCESS_SECRET is required"), "{text}");
        assert!(text.contains("JWT_REFRESH_SECRET is required"), "{text}");
        assert!(text.contains("TICKET_SIGNING_KEY is required"), "{text}");
        assert!(text.contains("REDIS_URL is required"), "{text}");
    }

    #[test]
    fn short_secret_and_bad_numbers_are_named() {
        let err = Config::from_lookup(
            Mode::Lambda,
            lookup(&[
                ("JWT_ACCESS_SECRET", "short"),
                (
                    "JWT_REFRESH_SECRET",
                    "a-very-long-refresh-secret-of-32-bytes!",
                ),
                (
                    "TICKET_SIGNING_KEY",
                    "a-very-long-ticket-signing-key-32-bytes",
                ),
                ("REDIS_URL", "http://nope"),
                ("RATE_LIMIT_PER_MINUTE", "lots"),
                ("CORS_ALLOWED_ORIGINS", "example.com"),
                ("METRICS_NAMESPACE", "AWS/Lambda"),
                ("TICKETS_PER_SHARD", "0"),
                ("MAX_SHARDS", "65"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 7, "{err}");
        assert!(err.0[0].contains("JWT_ACCESS_SECRET must be at least 32 bytes"));
        assert!(err.0[2].contains("TICKETS_PER_SHARD"), "{err}");
        assert!(
            err.0[3].contains("MAX_SHARDS must be from 1 to 64"),
            "{err}"
        );
        assert!(err.0[6].contains("METRICS_NAMESPACE"), "{err}");
    }

    #[test]
    fn payments_off_unless_asked_and_stripe_needs_its_keys() {
        let local = |pairs: &[(&str, &str)]| Config::from_lookup(Mode::Local, lookup(pairs));
        assert_eq!(local(&[]).unwrap().hold_seconds, 600);
        assert!(local(&[]).unwrap().payments.is_none());
        assert!(local(&[("PAYMENT_PROVIDER", "none")]).is_ok());
        let keys = [
            ("PAYMENT_PROVIDER", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_1"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_1"),
        ];
        let stripe = local(&keys).unwrap().payments.unwrap();
        assert!(stripe.secrets.is_some());
        assert_eq!(stripe.api_base, "https://api.stripe.com");
        assert_eq!(stripe.js_url, "https://js.stripe.com/v3/");
        assert!(!format!("{stripe:?}").contains("sk_test_1"));
        let mut wrong = keys;
        wrong[1] = ("STRIPE_SECRET_KEY", "pk_test_1");
        let err = local(&wrong).unwrap_err().to_string();
        assert!(
            err.contains("STRIPE_SECRET_KEY must start with sk_"),
            "{err}"
        );
        // The local server runs every route: it needs both keys.
        let err = local(&keys[..1]).unwrap_err().to_string();
        assert!(err.contains("STRIPE_SECRET_KEY is required"), "{err}");
        assert!(err.contains("STRIPE_WEBHOOK_SECRET is required"), "{err}");
        assert!(local(&[("CURRENCY", "US Dollar")]).is_err());
        for (key, value) in [
            ("PAYMENT_PROVIDER", "stripe"),
            ("PAYMENT_PROVIDER", "paypal"),
            ("HOLD_SECONDS", "4"),
            ("HOLD_SECONDS", "ten"),
        ] {
            let err = local(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn the_lockout_threshold_is_configurable_and_checked() {
        let local = |pairs: &[(&str, &str)]| Config::from_lookup(Mode::Local, lookup(pairs));
        assert_eq!(local(&[]).unwrap().lockout.failures, 5);
        let three = local(&[("LOGIN_LOCKOUT_FAILURES", "3")]).unwrap();
        assert_eq!(three.lockout.failures, 3);
        for bad in ["0", "101", "five", "-1"] {
            let err = local(&[("LOGIN_LOCKOUT_FAILURES", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("LOGIN_LOCKOUT_FAILURES"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_shard_rule_is_configurable() {
        let config = Config::from_lookup(
            Mode::Local,
            lookup(&[("TICKETS_PER_SHARD", "10"), ("MAX_SHARDS", "8")]),
        )
        .unwrap();
        assert_eq!(config.shard_rule.shards_for(100), 8);
        assert_eq!(config.shard_rule.shards_for(25), 3);
        let defaults = Config::from_lookup(Mode::Local, lookup(&[])).unwrap();
        assert_eq!(defaults.shard_rule, crate::domain::ShardRule::DEFAULT);
    }

    #[test]
    fn local_mode_generates_secrets_with_a_warning() {
        let config = Config::from_lookup(Mode::Local, lookup(&[])).unwrap();
        assert_eq!(config.jwt.access_secret.expose().len(), 64);
        assert_ne!(
            config.jwt.access_secret.expose(),
            config.jwt.refresh_secret.expose()
        );
        assert_eq!(config.warnings.len(), 3);
        assert_eq!(config.ticket_signing_key.expose().len(), 64);
        assert_eq!(config.table_name, "ticketing");
        assert!(config.redis_url.is_none());
    }

    #[test]
    fn only_functions_that_call_stripe_need_its_secrets() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = GOOD.to_vec();
            pairs.extend([
                ("PAYMENT_PROVIDER", "stripe"),
                ("STRIPE_PUBLISHABLE_KEY", "pk_test_1"),
            ]);
            pairs.extend_from_slice(extra);
            Config::from_lookup(Mode::Lambda, lookup(&pairs))
        };
        // The health function shows the publishable key and is given no secret.
        let public = with(&[]).unwrap();
        assert!(public.payments.as_ref().unwrap().secrets.is_none());
        let err = public.require_stripe_secrets().unwrap_err().to_string();
        assert!(
            err.contains("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"),
            "{err}"
        );
        // One key alone is a mistake, wherever it is given.
        let err = with(&[("STRIPE_SECRET_KEY", "sk_test_1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("STRIPE_WEBHOOK_SECRET is required"), "{err}");
        let both = with(&[
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_1"),
        ])
        .unwrap()
        .require_stripe_secrets()
        .unwrap();
        assert!(!format!("{both:?}").contains("sk_test_1"));
        // Payments off: nothing to require.
        let off = Config::from_lookup(Mode::Lambda, lookup(&GOOD)).unwrap();
        assert!(off.require_stripe_secrets().is_ok());
    }

    #[test]
    fn valid_lambda_config_parses_and_hides_secrets() {
        let config = Config::from_lookup(Mode::Lambda, lookup(&GOOD)).unwrap();
        assert!(!format!("{config:?}").contains("a-very-long"));
        assert_eq!(config.rate_limit_per_minute, 300);
    }
}
