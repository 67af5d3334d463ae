//! `/api/v1/auth`: register, login, me, refresh (rotation), logout; e-mail verification and
//! password reset and change.

use super::{envelope, Caller, Endpoint, JsonBody, OptionalJsonBody};
use crate::domain::NewUser;
use crate::service::Session;
use crate::tokens::REFRESH_TTL_SECS;
use crate::views::{Envelope, MeView, SessionView, UserView};
use crate::{AppError, AppState};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

pub const COOKIE_NAME: &str = "refreshToken";

pub fn endpoints(state: &AppState) -> Vec<Endpoint> {
    // Login and register also run on the tighter credentials limit.
    let limited = || from_fn_with_state(state.clone(), super::rate_limit::credentials);
    vec![
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/register",
            post(register).route_layer(limited()),
        ),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/login",
            post(login).route_layer(limited()),
        ),
        Endpoint::new(Method::GET, "/api/v1/auth/me", get(me)),
        Endpoint::new(Method::POST, "/api/v1/auth/refresh", post(refresh)),
        Endpoint::new(Method::POST, "/api/v1/auth/logout", post(logout)),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/email/verify",
            post(verify_email).route_layer(limited()),
        ),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/email/verify/resend",
            post(resend_verification).route_layer(limited()),
        ),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/password/forgot",
            post(forgot_password).route_layer(limited()),
        ),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/password/reset",
            post(reset_password).route_layer(limited()),
        ),
        Endpoint::new(
            Method::POST,
            "/api/v1/auth/password/change",
            post(change_password).route_layer(limited()),
        ),
    ]
}

/// Every auth response is `Cache-Control: no-store`.
pub(super) fn layer(router: Router<AppState>) -> Router<AppState> {
    router.layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgotBody {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeBody {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: Option<String>,
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    let raw = format!("{COOKIE_NAME}={value}; HttpOnly; Secure; SameSite=Strict; Path=/api/v1/auth; Max-Age={max_age}");
    HeaderValue::from_str(&raw).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn session_response(status: StatusCode, message: &str, session: Session) -> Response {
    let data = SessionView {
        user: UserView::from(&session.user),
        access_token: &session.access_token,
        refresh_token: &session.refresh_token,
        expires_in: session.expires_in,
    };
    let mut response = envelope(status, &Envelope::ok(message, data));
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&session.refresh_token, REFRESH_TTL_SECS),
    );
    response
}

/// The refresh token from the body, else from the cookie.
fn presented_refresh_token(
    headers: &HeaderMap,
    body: Option<RefreshBody>,
) -> Result<String, AppError> {
    if let Some(token) = body.and_then(|b| b.refresh_token).filter(|t| !t.is_empty()) {
        return Ok(token);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
        .ok_or(AppError::Unauthorized)
}

async fn register(
    State(state): State<AppState>,
    body: JsonBody<RegisterBody>,
) -> Result<Response, AppError> {
    let new_user = body.parse(|body| NewUser::parse(&body.email, &body.password, &body.name))?;
    let session = state.auth.register(new_user).await?;
    Ok(session_response(StatusCode::CREATED, "Registered", session))
}

async fn login(
    State(state): State<AppState>,
    body: JsonBody<LoginBody>,
) -> Result<Response, AppError> {
    let body = body.known()?;
    let session = state.auth.login(&body.email, &body.password).await?;
    Ok(session_response(StatusCode::OK, "Logged in", session))
}

fn user_response(message: &str, user: &crate::domain::User) -> Response {
    let data = MeView {
        user: UserView::from(user),
    };
    envelope(StatusCode::OK, &Envelope::ok(message, data))
}

async fn me(State(state): State<AppState>, Caller(who): Caller) -> Result<Response, AppError> {
    let user = state.auth.me(who).await?;
    Ok(user_response("OK", &user))
}

async fn verify_email(
    State(state): State<AppState>,
    body: JsonBody<TokenBody>,
) -> Result<Response, AppError> {
    let body = body.known()?;
    let user = state.auth.verify_email(&body.token).await?;
    Ok(user_response("Email verified", &user))
}

async fn resend_verification(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Response, AppError> {
    state.auth.resend_verification(who).await?;
    Ok(envelope(
        StatusCode::ACCEPTED,
        &Envelope::ok("Verification email sent", serde_json::Value::Null),
    ))
}

async fn forgot_password(
    State(state): State<AppState>,
    body: JsonBody<ForgotBody>,
) -> Result<Response, AppError> {
    let body = body.known()?;
    state.auth.forgot_password(&body.email).await?;
    Ok(envelope(
        StatusCode::ACCEPTED,
        &Envelope::ok(
            "If an account exists for that address, we sent a link.",
            serde_json::Value::Null,
        ),
    ))
}

async fn reset_password(
    State(state): State<AppState>,
    body: JsonBody<ResetBody>,
) -> Result<Response, AppError> {
    let body = body.known()?;
    let user = state
        .auth
        .reset_password(&body.token, &body.password)
        .await?;
    Ok(user_response("Password changed", &user))
}

async fn change_password(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: JsonBody<ChangeBody>,
) -> Result<Response, AppError> {
    let body = body.known()?;
    let session = state
        .auth
        .change_password(who, &body.current_password, &body.new_password)
        .await?;
    Ok(session_response(
        StatusCode::OK,
        "Password changed",
        session,
    ))
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshBody>,
) -> Result<Response, AppError> {
    let token = presented_refresh_token(&headers, body)?;
    let session = state.auth.refresh(&token).await?;
    Ok(session_response(StatusCode::OK, "Token refreshed", session))
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshBody>,
) -> Result<Response, AppError> {
    let token = presented_refresh_token(&headers, body)?;
    state.auth.logout(&token).await?;
    let mut response = envelope(StatusCode::OK, &Envelope::done("Logged out"));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0));
    Ok(response)
}
