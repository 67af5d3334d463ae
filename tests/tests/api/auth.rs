//! The contract's Auth section, on both backends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::Arc;
use ticketing::cache::RedisCache;
use ticketing::config::{Config, Mode};
use ticketing::domain::Role;
use ticketing_tests::{cache_for, on_both_backends, until_definitive, Backend, TestApp, PASSWORD};

fn register_body(email: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "name": "Ada Lovelace" })
}

async fn register_returns_user_tokens_and_cookie(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(register_body("  Ada@Example.COM ")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let data = &reply.body["data"];
    assert_eq!(data["user"]["email"], "ada@example.com");
    assert_eq!(data["user"]["role"], "user");
    assert_eq!(data["user"]["name"], "Ada Lovelace");
    assert_eq!(data["expiresIn"], 900);
    assert!(data["user"]["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(data["accessToken"].is_string() && data["refreshToken"].is_string());
    assert!(
        !reply.raw.contains("password") && !reply.raw.contains("$2b$"),
        "{}",
        reply.raw
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let cookie = reply.header("set-cookie").unwrap();
    for part in [
        "refreshToken=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth",
        "Max-Age=604800",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let token = data["accessToken"].as_str().unwrap();
    let me = app.call("GET", "/api/v1/auth/me", Some(token), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["data"]["user"]["id"], data["user"]["id"]);
    assert_eq!(me.header("cache-control"), Some("no-store"));
}

async fn duplicate_email_is_409_case_insensitively(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(register_body("dup@example.com")),
    )
    .await;
    app.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(register_body("DUP@example.com ")),
    )
    .await
    .expect(409, "EMAIL_TAKEN");
}

/// Addresses that look alike are one address (NFKC: full-width letters are plain ones) or are
/// refused (an invisible character in them); names may not hide control or direction-override
/// characters.
async fn look_alike_addresses_and_hidden_characters(backend: Backend) {
    let app = TestApp::new(backend).await;
    let register = |email: &str, name: &str| {
        app.call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": email, "password": PASSWORD, "name": name })),
        )
    };
    let unique = ulid::Ulid::new().to_string().to_lowercase();
    let plain = format!("adminx{unique}@example.com");
    assert_eq!(register(&plain, "Ada").await.status, 201);
    let full_width = format!("ＡＤＭＩＮx{unique}@example.com");
    register(&full_width, "Ada")
        .await
        .expect(409, "EMAIL_TAKEN");
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": full_width, "password": PASSWORD })),
        )
        .await;
    assert_eq!(login.status, 200, "the same account: {}", login.raw);
    for hidden in ["\u{200b}", "\u{202e}", "\u{feff}", "\u{0}"] {
        let email = format!("adminx{unique}{hidden}@example.com");
        let reply = register(&email, "Ada").await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), ["email"], "{hidden:?}");
    }
    for name in [
        "Ada\u{0}",
        "Ada\u{1b}[31m",
        "Ada \u{202e}evol",
        "\u{2066}Ada",
    ] {
        let reply = register(&format!("n{}@example.com", ulid::Ulid::new()), name).await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), ["name"], "{name:?}");
    }
    // Joiners hold emoji and scripts together: such a name is fine.
    let family = register(
        &format!("z{}@example.com", ulid::Ulid::new()),
        "Ada 👩\u{200d}💻",
    )
    .await;
    assert_eq!(family.status, 201, "{}", family.raw);
}

async fn racing_registrations_give_one_201_and_409s(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let tasks = (0..5).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            until_definitive(|| {
                app.call(
                    "POST",
                    "/api/v1/auth/register",
                    None,
                    Some(register_body("race@example.com")),
                )
            })
            .await
        })
    });
    let replies: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = replies.iter().filter(|r| r.status == 201).count();
    let taken = replies
        .iter()
        .filter(|r| r.status == 409 && r.code() == "EMAIL_TAKEN")
        .count();
    assert_eq!(
        (created, taken),
        (1, 4),
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
}

async fn registration_rules_each_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let cases = [
        (
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "A" }),
            "email",
        ),
        (
            json!({ "email": "a@example.com", "password": "Sh0rt", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": format!("Aa1{}", "x".repeat(70)), "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "alllower1", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "ALLUPPER1", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "NoDigitsHere", "name": "A" }),
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "   " }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "x".repeat(101) }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD }),
            "name",
        ),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": 5 }),
            "name",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .call("POST", "/api/v1/auth/register", None, Some(body.clone()))
            .await;
        reply.expect(400, "VALIDATION_ERROR");
        assert_eq!(reply.field_errors(), vec![field], "{body}");
    }
    // Nothing was created by any of them.
    app.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(register_body("a@example.com")),
    )
    .await;
}

async fn role_in_the_body_is_refused_and_creates_nobody(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut body = register_body("mallory@example.com");
    body["role"] = json!("admin");
    let reply = app
        .call("POST", "/api/v1/auth/register", None, Some(body))
        .await;
    reply.expect(400, "VALIDATION_ERROR");
    assert_eq!(reply.field_errors(), vec!["role"]);
    let login = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "mallory@example.com", "password": PASSWORD })),
        )
        .await;
    login.expect(401, "INVALID_CREDENTIALS");
}

/// bcrypt reads 72 bytes of a password: a login password longer than that is wrong, whatever
/// its first 72 bytes, like any wrong password.
async fn a_password_past_72_bytes_never_logs_in(backend: Backend) {
    let app = TestApp::new(backend).await;
    let password = format!("Aa1{}", "x".repeat(69));
    assert_eq!(password.len(), 72);
    let email = "long@example.com";
    let registered = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": email, "password": password, "name": "Long" })),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.raw);
    let login = |password: String| {
        app.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
    };
    login(format!("{password}Z"))
        .await
        .expect(401, "INVALID_CREDENTIALS");
    login(format!("{password}{password}"))
        .await
        .expect(401, "INVALID_CREDENTIALS");
    assert_eq!(login(password).await.status, 200);
}

async fn login_failures_are_indistinguishable(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.call(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(register_body("bob@example.com")),
    )
    .await;
    let ok = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "BOB@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert!(ok
        .header("set-cookie")
        .unwrap()
        .starts_with("refreshToken="));
    let wrong = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "bob@example.com", "password": "Wrong1Pass" })),
        )
        .await;
    let unknown = app
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "nobody@example.com", "password": "Wrong1Pass" })),
        )
        .await;
    wrong.expect(401, "INVALID_CREDENTIALS");
    unknown.expect(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body["message"], unknown.body["message"]);
}

/// After 5 failed logins for one address, every login for it is 429 `ACCOUNT_LOCKED` with
/// `Retry-After` — the right password too, on every instance, for an unknown address alike (same
/// status, code and message) — while other addresses log in; a success resets the count, and
/// concurrent failures all count.
async fn repeated_failures_lock_the_address(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    for email in ["carol@example.com", "dave@example.com"] {
        app.call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(register_body(email)),
        )
        .await
        .expect(201, "");
    }
    let login = |email: &'static str, password: &'static str| {
        let app = app.clone();
        async move {
            app.call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": email, "password": password })),
            )
            .await
        }
    };
    // A success resets the count: 4 failures, a success, 4 more, and still not locked.
    for _ in 0..4 {
        login("carol@example.com", "Wrong1Pass")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    login("carol@example.com", PASSWORD).await.expect(200, "");
    for _ in 0..4 {
        login("carol@example.com", "Wrong1Pass")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    login("carol@example.com", PASSWORD).await.expect(200, "");
    // Five failures in a row lock it, however the address is written.
    for _ in 0..5 {
        login("CAROL@example.com", "Wrong1Pass")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    let locked = login("carol@example.com", PASSWORD).await;
    locked.expect(429, "ACCOUNT_LOCKED");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another instance sees the same lock; another address is not locked.
    let other = TestApp::with_store(backend, app.state.store.clone()).await;
    other
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "carol@example.com", "password": PASSWORD })),
        )
        .await
        .expect(429, "ACCOUNT_LOCKED");
    login("dave@example.com", PASSWORD).await.expect(200, "");
    // An unknown address locks alike: nothing tells it from an account.
    for _ in 0..5 {
        login("nobody@example.com", "Wrong1Pass")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    let unknown = login("nobody@example.com", "Wrong1Pass").await;
    unknown.expect(429, "ACCOUNT_LOCKED");
    assert_eq!(unknown.body["message"], locked.body["message"]);
    assert_eq!(unknown.body.get("data"), locked.body.get("data"));
    // Eight failures at once all count: the address ends up locked.
    let burst = (0..8).map(|_| login("dave@example.com", "Wrong1Pass"));
    for reply in futures::future::join_all(burst).await {
        assert!(
            reply.status == 401 || reply.code() == "ACCOUNT_LOCKED",
            "{}",
            reply.raw
        );
    }
    login("dave@example.com", PASSWORD)
        .await
        .expect(429, "ACCOUNT_LOCKED");
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn forged_and_misused_tokens_are_401(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (access, refresh, user_id) = app.register().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |typ: &str, exp: i64| {
        json!({ "sub": user_id, "role": "admin", "typ": typ, "jti": "j", "iat": now - 10, "exp": exp,
                "iss": "ticketing-api", "aud": "ticketing-clients", "fam": "f" })
    };
    let access_secret = Config::for_tests().jwt.access_secret.expose().to_owned();
    let sign = |claims: &Value, secret: &str| {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let forged = [
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "none", "typ": "JWT" })),
                b64(&claims("access", now + 600))
            ),
        ),
        (
            "foreign secret",
            sign(
                &claims("access", now + 600),
                "some-other-secret-that-is-long-enough!!",
            ),
        ),
        ("expired", sign(&claims("access", now - 60), &access_secret)),
        (
            "refresh typ under the access secret",
            sign(&claims("refresh", now + 600), &access_secret),
        ),
        ("a refresh token as access", refresh.clone()),
        ("garbage", "not.a.token".into()),
        (
            "nbf in the future",
            sign(
                &with(claims("access", now + 600), "nbf", json!(now + 120)),
                &access_secret,
            ),
        ),
        (
            "iat in the future",
            sign(
                &with(claims("access", now + 600), "iat", json!(now + 120)),
                &access_secret,
            ),
        ),
        ("a crit header", {
            let header = Header {
                crit: Some(vec!["exp".into()]),
                ..Header::default()
            };
            encode(
                &header,
                &claims("access", now + 600),
                &EncodingKey::from_secret(access_secret.as_bytes()),
            )
            .unwrap()
        }),
        (
            "longer than 8 KB",
            sign(
                &with(claims("access", now + 600), "pad", json!("x".repeat(9000))),
                &access_secret,
            ),
        ),
    ];
    // Within the clock skew, `nbf` and `iat` slightly ahead are fine.
    let skewed = with(
        with(claims("access", now + 600), "nbf", json!(now + 20)),
        "iat",
        json!(now + 20),
    );
    app.call(
        "GET",
        "/api/v1/auth/me",
        Some(&sign(&skewed, &access_secret)),
        None,
    )
    .await
    .expect(200, "");
    for (what, token) in forged {
        app.call("GET", "/api/v1/auth/me", Some(&token), None)
            .await
            .expect(401, "UNAUTHORIZED");
        assert_eq!(
            app.call("GET", "/api/v1/bookings", Some(&token), None)
                .await
                .status,
            401,
            "{what}"
        );
    }
    app.call("GET", "/api/v1/auth/me", None, None)
        .await
        .expect(401, "UNAUTHORIZED");
    // An access token where a refresh token belongs.
    app.with_refresh_token("refresh", &access)
        .await
        .expect(401, "UNAUTHORIZED");
    app.with_refresh_token("logout", &access)
        .await
        .expect(401, "UNAUTHORIZED");
    // No refresh token at all.
    app.call("POST", "/api/v1/auth/refresh", None, None)
        .await
        .expect(401, "UNAUTHORIZED");
    app.call("POST", "/api/v1/auth/logout", None, None)
        .await
        .expect(401, "UNAUTHORIZED");
}

async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, first, _) = app.register().await;
    let rotated = app
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refreshToken": first })),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.raw);
    let second = rotated.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    assert!(rotated.header("set-cookie").unwrap().contains(&second));
    let access = rotated.body["data"]["accessToken"].as_str().unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/auth/me", Some(access), None)
            .await
            .status,
        200
    );

    // The spent token again: 401, and the whole family (including `second`) is revoked.
    app.with_refresh_token("refresh", &first)
        .await
        .expect(401, "UNAUTHORIZED");
    app.with_refresh_token("refresh", &second)
        .await
        .expect(401, "UNAUTHORIZED");
}

async fn refresh_from_cookie_and_logout(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, refresh, _) = app.register().await;
    let cookie = format!("theme=dark; refreshToken={refresh}");
    let rotated = app
        .call_with(
            "POST",
            "/api/v1/auth/refresh",
            None,
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.raw);
    let current = rotated.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let logout = app
        .call(
            "POST",
            "/api/v1/auth/logout",
            None,
            Some(json!({ "refreshToken": current })),
        )
        .await;
    assert_eq!(logout.status, 200, "{}", logout.raw);
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(logout.header("cache-control"), Some("no-store"));
    app.with_refresh_token("refresh", &current)
        .await
        .expect(401, "UNAUTHORIZED");
}

/// Several accounts from one address share the address's budget: the general limit counts an
/// authenticated request against the IP as well as the user.
async fn authenticated_requests_count_against_their_ip_too(backend: Backend) {
    let config = Config::from_lookup(Mode::Local, |k| match k {
        "RATE_LIMIT_PER_MINUTE" => Some("5".into()),
        _ => None,
    })
    .unwrap();
    let app = TestApp::with_config(backend, config).await;
    let (first, _) = app.quick_user(Role::User).await;
    let (second, _) = app.quick_user(Role::User).await;
    for token in [&first, &first, &first, &second, &second] {
        let reply = app.call("GET", "/api/v1/bookings", Some(token), None).await;
        assert_eq!(reply.status, 200, "{}", reply.raw);
    }
    // The second user has sent 2 of its 5, but the address has sent 5.
    let limited = app
        .call("GET", "/api/v1/bookings", Some(&second), None)
        .await;
    limited.expect(429, "RATE_LIMITED");
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    // Anonymous requests from the address are over its budget too.
    app.call("GET", "/api/v1/events", None, None)
        .await
        .expect(429, "RATE_LIMITED");
}

/// The Bearer scheme is case-insensitive, for the rate limiter and the extractors alike; any
/// other scheme or an empty token is 401.
async fn the_bearer_scheme_is_case_insensitive(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (token, _) = app.quick_user(Role::User).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {token}");
        let reply = app
            .call_with(
                "GET",
                "/api/v1/auth/me",
                None,
                &[("authorization", &value)],
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.raw);
    }
    for value in [
        format!("Basic {token}"),
        "Bearer ".into(),
        format!("Bearer{token}"),
    ] {
        app.call_with(
            "GET",
            "/api/v1/auth/me",
            None,
            &[("authorization", &value)],
            None,
        )
        .await
        .expect(401, "UNAUTHORIZED");
    }
}

async fn login_is_rate_limited_per_ip(backend: Backend) {
    let config = Config::from_lookup(Mode::Local, |k| match k {
        "AUTH_RATE_LIMIT_PER_MINUTE" => Some("3".into()),
        "RATE_LIMIT_PER_MINUTE" => Some("1000".into()),
        _ => None,
    })
    .unwrap();
    let app = TestApp::with_config(backend, config).await;
    let body = json!({ "email": "nobody@example.com", "password": "Wrong1Pass" });
    for remaining in (0..3).rev() {
        let reply = app
            .call("POST", "/api/v1/auth/login", None, Some(body.clone()))
            .await;
        reply.expect(401, "INVALID_CREDENTIALS");
        assert_eq!(reply.header("ratelimit-limit"), Some("3"));
        assert_eq!(
            reply.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let limited = app
        .call("POST", "/api/v1/auth/login", None, Some(body))
        .await;
    limited.expect(429, "RATE_LIMITED");
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert!(limited.header("ratelimit-reset").is_some());
    // Other routes run on the general limit.
    assert_eq!(
        app.call("GET", "/api/v1/events", None, None).await.status,
        200
    );
}

on_both_backends!(
    repeated_failures_lock_the_address,
    a_cache_loss_keeps_every_session,
    concurrent_refreshes_of_one_token_give_one_200,
    role_changes_reach_admin_routes_within_seconds,
    register_returns_user_tokens_and_cookie,
    duplicate_email_is_409_case_insensitively,
    look_alike_addresses_and_hidden_characters,
    racing_registrations_give_one_201_and_409s,
    registration_rules_each_refused,
    role_in_the_body_is_refused_and_creates_nobody,
    login_failures_are_indistinguishable,
    a_password_past_72_bytes_never_logs_in,
    forged_and_misused_tokens_are_401,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_from_cookie_and_logout,
    login_is_rate_limited_per_ip,
    authenticated_requests_count_against_their_ip_too,
    the_bearer_scheme_is_case_insensitive,
);

/// Sessions live in the store: a cache that forgot everything (flushed, evicted, restarted)
/// changes nothing for a token never spent, and raises no reuse alarm; a token proven spent
/// still revokes its family.
async fn a_cache_loss_keeps_every_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_, refresh, _) = app.register().await;
    let second = app.with_refresh_token("refresh", &refresh).await;
    second.expect(200, "");
    let rt2 = second.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same store with an empty cache: as after FLUSHALL.
    let forgetful = TestApp::with_parts(
        backend,
        Config::for_tests(),
        app.state.store.clone(),
        cache_for(backend).await,
    );
    let third = forgetful.with_refresh_token("refresh", &rt2).await;
    third.expect(200, "");
    let rt3 = third.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // rt2 is proven spent now: its reuse revokes the family, rt3 included.
    forgetful
        .with_refresh_token("refresh", &rt2)
        .await
        .expect(401, "UNAUTHORIZED");
    forgetful
        .with_refresh_token("refresh", &rt3)
        .await
        .expect(401, "UNAUTHORIZED");
}

/// Twenty refreshes of one token at once: exactly one rotation wins.
async fn concurrent_refreshes_of_one_token_give_one_200(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let (_, refresh, _) = app.register().await;
    let tasks = (0..20).map(|_| {
        let (app, refresh) = (app.clone(), refresh.clone());
        tokio::spawn(async move {
            until_definitive(|| app.with_refresh_token("refresh", &refresh)).await
        })
    });
    let replies: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        r.expect(401, "UNAUTHORIZED");
    }
}

/// The stored role decides on admin routes within 5 seconds, whatever the token says.
async fn role_changes_reach_admin_routes_within_seconds(backend: Backend) {
    let app = TestApp::new(backend).await;
    let email = format!("boss-{}@example.com", ulid::Ulid::new()).to_lowercase();
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(register_body(&email)),
        )
        .await;
    let access = reply.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = || {
        app.call(
            "POST",
            "/api/v1/events",
            Some(&access),
            Some(json!({ "name": "x", "venue": "v", "date": "2099-01-01T00:00:00Z", "price": 1, "totalTickets": 1 })),
        )
    };
    create().await.expect(403, "FORBIDDEN");
    // What only an admin may see: a draft, another user's booking.
    let admin = app.admin_token().await;
    let draft = app
        .create_event(&admin, json!({ "status": "draft", "totalTickets": 5 }))
        .await;
    let public = app.create_event(&admin, json!({ "totalTickets": 5 })).await;
    let (other, _) = app.quick_user(Role::User).await;
    let booked = app
        .book(&other, &uuid::Uuid::new_v4().to_string(), &public, 1)
        .await;
    let theirs = format!(
        "/api/v1/bookings/{}",
        booked.body["data"]["id"].as_str().unwrap()
    );
    let draft_uri = format!("/api/v1/events/{draft}");
    app.call("GET", &draft_uri, Some(&access), None)
        .await
        .expect(404, "NOT_FOUND");
    app.call("GET", &theirs, Some(&access), None)
        .await
        .expect(404, "NOT_FOUND");
    app.state.auth.set_role(&email, Role::Admin).await.unwrap();
    within_five_seconds(|| async { create().await.status == 201 }).await;
    // With the same old token, the stored role decides what is visible too.
    within_five_seconds(|| async {
        app.call("GET", &draft_uri, Some(&access), None)
            .await
            .status
            == 200
            && app.call("GET", &theirs, Some(&access), None).await.status == 200
    })
    .await;
    // The same token, issued when the user was a user, now works; `/auth/me` agrees.
    let me = app
        .call("GET", "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(me.body["data"]["user"]["role"], "admin");

    // Demotion through another instance's store write (as the admin tool does).
    let user_id = me.body["data"]["user"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.state.store.set_role(user_id, Role::User).await.unwrap();
    within_five_seconds(|| async { create().await.status == 403 }).await;
    let me = app
        .call("GET", "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(me.body["data"]["user"]["role"], "user");
}

async fn within_five_seconds<F, Fut>(mut holds: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !holds().await {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "not within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// With Redis down, register, login, refresh and logout are all served, nothing half-writes,
/// and rate limits fail open.
#[tokio::test]
async fn auth_is_served_while_redis_is_down() {
    let app = TestApp::new(Backend::Real).await;
    let store = app.state.store.clone();
    let dead = Arc::new(RedisCache::new("redis://127.0.0.1:1", "x:"));
    let broken = TestApp::with_parts(Backend::Real, Config::for_tests(), store, dead);
    let email = format!("down-{}@example.com", ulid::Ulid::new()).to_lowercase();
    let registered = broken
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(register_body(&email)),
        )
        .await;
    registered.expect(201, "");
    // Exactly one account: a second register is EMAIL_TAKEN, not a half-written first.
    broken
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(register_body(&email)),
        )
        .await
        .expect(409, "EMAIL_TAKEN");
    let login = broken
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": email, "password": PASSWORD })),
        )
        .await;
    login.expect(200, "");
    let refresh = login.body["data"]["refreshToken"].as_str().unwrap();
    let rotated = broken.with_refresh_token("refresh", refresh).await;
    rotated.expect(200, "");
    let next = rotated.body["data"]["refreshToken"].as_str().unwrap();
    broken
        .with_refresh_token("logout", next)
        .await
        .expect(200, "");
    broken
        .with_refresh_token("refresh", next)
        .await
        .expect(401, "UNAUTHORIZED");
    // The rate limiter fails open: public reads are still served.
    assert_eq!(
        broken
            .call("GET", "/api/v1/events", None, None)
            .await
            .status,
        200
    );
}
