//! Extractors whose failures are contract errors: strict JSON bodies, bearer identities,
//! query maps and the client's address.

use crate::domain::FieldError;
use crate::domain::{Identity, Role};
use crate::{AppError, AppState};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// For optional body fields: absent is `None`, but an explicit `null` is refused like any other
/// wrong type (strict bodies). Use with `#[serde(default, deserialize_with = "non_null")]`.
pub(crate) fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// For optional fields where `null` means something: absent is `None`, `null` is `Some(None)`.
/// Use with `#[serde(default, deserialize_with = "nullable")]`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Request bodies over this are 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A whole body must arrive within this: the layers' read timeout is a gap between frames, so a
/// client trickling a byte just inside it could otherwise hold a connection for days.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON body: 415 for another content type, 413 past the limit, 400 `VALIDATION_ERROR` naming
/// the field for anything malformed, missing, mistyped or unknown (bodies deny unknown fields).
/// Unknown fields do not hide the other fields' problems: [`JsonBody::parse`] reports them
/// together with the handler's own validation.
pub struct JsonBody<T> {
    body: T,
    unknown: Vec<FieldError>,
}

impl<T> JsonBody<T> {
    /// Turns the body into a domain value with `parse`; the body's unknown fields, if any, are
    /// reported in one 400 together with what `parse` finds wrong.
    pub fn parse<U, E: Into<AppError>>(
        self,
        parse: impl FnOnce(T) -> Result<U, E>,
    ) -> Result<U, AppError> {
        let parsed = parse(self.body).map_err(Into::into);
        if self.unknown.is_empty() {
            return parsed;
        }
        let mut errors = self.unknown;
        if let Err(AppError::Validation(more)) = parsed {
            errors.extend(more);
        }
        Err(AppError::Validation(errors))
    }

    /// The body as sent, refused if it has unknown fields.
    pub fn known(self) -> Result<T, AppError> {
        self.parse(Ok::<T, AppError>)
    }
}

/// JSON in UTF-8: `application/json` (or `+json`), with no `charset` or `charset=utf-8`.
fn is_json(parts_ct: Option<&header::HeaderValue>) -> bool {
    let Some(Ok(ct)) = parts_ct.map(|v| v.to_str()) else {
        return false;
    };
    let mut parts = ct.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let utf8 = parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim().trim_matches('"');
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    utf8 && (mime == "application/json"
        || (mime.starts_with("application/") && mime.ends_with("+json")))
}

/// Turns a deserialisation failure into a field error in our own words (never serde's text).
fn body_error(err: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return AppError::validation("body", "must be well-formed JSON");
    }
    let text = inner.to_string();
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let within = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted("unknown field `") {
        // The path already ends at the unknown field itself.
        let field = if path == "." { name } else { path };
        AppError::validation(field, "is not a known field")
    } else if let Some(name) = quoted("missing field `") {
        AppError::validation(within(&name), "is required")
    } else if path == "." {
        AppError::validation("body", "must be a JSON object")
    } else {
        AppError::validation(path, "has the wrong type or value")
    }
}

/// Deserialises an object. When that fails and the object has fields `T` does not know, they
/// are set aside and the rest is read again, so one reply names the unknown fields and the first
/// other problem together. The happy path reads the body once.
fn deserialize_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<JsonBody<T>, AppError> {
    let read = |bytes: &[u8]| -> Result<T, AppError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(body_error)?;
        de.end()
            .map_err(|_| AppError::validation("body", "must be well-formed JSON"))?;
        Ok(value)
    };
    let first = match read(bytes) {
        Ok(body) => {
            return Ok(JsonBody {
                body,
                unknown: Vec::new(),
            })
        }
        Err(first) => first,
    };
    // Raw values keep every number's exact text for the second read (money is parsed from it).
    let Ok(mut fields) = serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(bytes) else {
        return Err(first);
    };
    let known = serde_aux::serde_introspection::serde_introspect::<T>();
    let unknown: Vec<FieldError> = fields
        .keys()
        .filter(|name| !known.contains(&name.as_str()))
        .map(|name| FieldError::new(name.clone(), "is not a known field"))
        .collect();
    if unknown.is_empty() {
        return Err(first);
    }
    fields.retain(|name, _| known.contains(&name.as_str()));
    let rest = serde_json::to_vec(&fields).map_err(|_| first)?;
    match read(&rest) {
        Ok(body) => Ok(JsonBody { body, unknown }),
        Err(AppError::Validation(more)) => Err(AppError::Validation(
            unknown.into_iter().chain(more).collect(),
        )),
        Err(other) => Err(other),
    }
}

/// Reads the body; `None` when it is empty. A non-empty body must be JSON.
async fn read_json<T: DeserializeOwned>(req: Request) -> Result<Option<JsonBody<T>>, AppError> {
    let json = is_json(req.headers().get(header::CONTENT_TYPE));
    let incomplete = || AppError::validation("body", "was not received completely");
    let bytes = tokio::time::timeout(
        BODY_DEADLINE,
        axum::body::to_bytes(req.into_body(), BODY_LIMIT),
    )
    .await
    .map_err(|_| incomplete())?
    .map_err(|e| {
        // The limit's error may sit under the body layers' wrappers: walk the chain.
        let too_long =
            std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |err| {
                err.source()
            })
            .any(|err| err.is::<http_body_util::LengthLimitError>());
        if too_long {
            AppError::PayloadTooLarge
        } else {
            // Cut off or too slow (shorter than its Content-Length, past the read timeout).
            incomplete()
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) && !json {
        return Ok(None);
    }
    if !json {
        return Err(AppError::UnsupportedMediaType);
    }
    // serde would read a struct from an array too; the contract's bodies are objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::validation("body", "must be a JSON object"));
    }
    deserialize_object(&bytes).map(Some)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(AppError::UnsupportedMediaType);
        }
        read_json(req)
            .await?
            .ok_or_else(|| AppError::validation("body", "must be well-formed JSON"))
    }
}

/// A JSON body that may be absent (refresh and logout also take the token from a cookie).
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        match read_json(req).await? {
            Some(body) => body.known().map(|body| Self(Some(body))),
            None => Ok(Self(None)),
        }
    }
}

/// The query string as a map; repeated keys keep the last value.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        // Decoding is lossy below (a bad byte becomes U+FFFD): refuse what is not UTF-8 first.
        let query = parts.uri.query().unwrap_or("");
        for (name, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
            let decodes = |raw: &str| {
                percent_encoding::percent_decode_str(&raw.replace('+', " "))
                    .decode_utf8()
                    .is_ok()
            };
            if !decodes(name) || !decodes(value) {
                let field = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
                return Err(AppError::validation(field, "must be valid UTF-8"));
            }
        }
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| Self(q.0))
            .map_err(|_| AppError::validation("query", "is malformed"))
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive (RFC
/// 9110 §11.1). `None` for another scheme or an empty token. The one parser of the header, for
/// the extractors and the rate limiter alike.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn bearer(parts: &Parts) -> Option<Result<&str, AppError>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or(AppError::Unauthorized),
    )
}

#[cfg(test)]
mod bearer_tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_required() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(bearer_token(value), Some("abc"), "{value}");
        }
        for value in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer    ",
            "Bearerabc",
            "abc",
            "",
        ] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}

/// An access token already verified by an earlier layer of this request (the rate limiter).
#[derive(Clone, Copy)]
pub(crate) struct VerifiedIdentity(pub Identity);

/// The token's identity, verified once per request (the rate limiter may have done it already).
fn token_identity(parts: &Parts, state: &AppState) -> Option<Result<Identity, AppError>> {
    if let Some(VerifiedIdentity(identity)) = parts.extensions.get::<VerifiedIdentity>() {
        return Some(Ok(*identity));
    }
    bearer(parts).map(|token| state.auth.tokens().identity(token?))
}

/// The authenticated caller (a valid access token), else 401. A token claiming admin is
/// confirmed against the stored role (read at most every 2 s), so a demoted admin is a user within
/// seconds.
pub struct Caller(pub Identity);

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let identity = token_identity(parts, state).ok_or(AppError::Unauthorized)??;
        state.auth.confirmed(identity).await.map(Self)
    }
}

/// The authenticated caller with the role the store holds now (a promotion counts as soon as a
/// demotion does), for routes whose answer the role widens: another user's booking.
pub struct CurrentCaller(pub Identity);

impl FromRequestParts<AppState> for CurrentCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let identity = token_identity(parts, state).ok_or(AppError::Unauthorized)??;
        state.auth.current(identity).await.map(Self)
    }
}

/// The caller if a token was sent (an invalid one is still 401), else anonymous; with the stored
/// role, which decides whether drafts are shown.
pub struct MaybeCaller(pub Option<Identity>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match token_identity(parts, state) {
            None => Ok(Self(None)),
            Some(identity) => Ok(Self(Some(state.auth.current(identity?).await?))),
        }
    }
}

/// An authenticated admin by the role the store holds now (not the token's claim): 401 without
/// a valid token, 403 for other roles. Promotions and demotions count within seconds.
pub struct Admin(pub Identity);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let identity = token_identity(parts, state).ok_or(AppError::Unauthorized)??;
        match state.auth.stored_role(identity.user_id).await? {
            Role::Admin => Ok(Self(Identity {
                role: Role::Admin,
                ..identity
            })),
            _ => Err(AppError::Forbidden),
        }
    }
}

/// The client's address: API Gateway's source IP in Lambda, the socket peer locally.
pub fn client_ip(extensions: &axum::http::Extensions) -> String {
    use lambda_http::request::RequestContext;
    match extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            if let Some(ip) = ctx.http.source_ip.as_deref() {
                return ip.to_owned();
            }
        }
        Some(RequestContext::ApiGatewayV1(ctx)) => {
            if let Some(ip) = ctx.identity.source_ip.as_deref() {
                return ip.to_owned();
            }
        }
        _ => {}
    }
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        age: u8,
    }

    fn parse(raw: &str) -> AppError {
        let mut de = serde_json::Deserializer::from_slice(raw.as_bytes());
        let err = serde_path_to_error::deserialize::<_, Login>(&mut de).unwrap_err();
        body_error(err)
    }

    fn field(err: AppError) -> String {
        let AppError::Validation(errors) = err else {
            panic!("{err:?}")
        };
        errors[0].field.clone().unwrap()
    }

    #[test]
    fn errors_name_the_field_in_our_words() {
        assert_eq!(
            field(parse(r#"{"email":"a","age":1,"role":"admin"}"#)),
            "role"
        );
        assert_eq!(field(parse(r#"{"age":1}"#)), "email");
        assert_eq!(field(parse(r#"{"email":"a","age":"x"}"#)), "age");
        assert_eq!(field(parse(r#"{"email":"a","#)), "body");
        let AppError::Validation(errors) = parse(r#"{"email":"a","age":"x"}"#) else {
            panic!()
        };
        assert!(
            !errors[0].message.contains("invalid type"),
            "no serde wording"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Priced {
        price: Box<RawValue>,
        name: String,
    }

    fn fields(err: AppError) -> Vec<String> {
        let AppError::Validation(errors) = err else {
            panic!("{err:?}")
        };
        errors.into_iter().filter_map(|e| e.field).collect()
    }

    /// `body_error` reads two of serde's sentences ("unknown field `…`", "missing field `…`") to
    /// name the field: a serde or serde_json release that rewords them fails here, not silently
    /// in a 400 that names "body" instead of the field.
    #[test]
    fn the_serde_wording_body_error_reads_is_pinned() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct One {
            a: u8,
        }
        let unknown = serde_json::from_str::<One>(r#"{"a":1,"b":2}"#).unwrap_err();
        assert!(
            unknown.to_string().starts_with("unknown field `b`"),
            "{unknown}"
        );
        let missing = serde_json::from_str::<One>("{}").unwrap_err();
        assert!(
            missing.to_string().starts_with("missing field `a`"),
            "{missing}"
        );
        // And what they become: the field's name in our words.
        assert_eq!(
            field(parse(r#"{"email":"a","age":1,"extra":{"x":1}}"#)),
            "extra"
        );
    }

    #[test]
    fn unknown_fields_are_reported_with_the_others() {
        // Set aside, the rest still reads, numbers keep their exact text.
        let body = deserialize_object::<Priced>(
            br#"{"x":1,"price":0.30000000000000004,"name":"a","y":[1]}"#,
        )
        .unwrap();
        assert_eq!(body.body.price.get(), "0.30000000000000004");
        assert_eq!(body.body.name, "a");
        assert_eq!(fields(body.known().unwrap_err()), vec!["x", "y"]);
        // A type error after the unknown field is named too.
        let err = deserialize_object::<Priced>(br#"{"x":1,"price":1,"name":2}"#)
            .err()
            .unwrap();
        assert_eq!(fields(err), vec!["x", "name"]);
        // The parser's own findings join the unknown fields; without them it decides alone.
        let body = deserialize_object::<Priced>(br#"{"price":1,"name":"","x":1}"#).unwrap();
        let err = body
            .parse(|_| Err::<(), _>(AppError::validation("name", "is required")))
            .unwrap_err();
        assert_eq!(fields(err), vec!["x", "name"]);
        let body = deserialize_object::<Priced>(br#"{"price":1,"name":""}"#).unwrap();
        assert!(matches!(
            body.parse(|_| Err::<(), _>(AppError::Forbidden)),
            Err(AppError::Forbidden)
        ));
        // No unknown field: the first error stands alone.
        let err = deserialize_object::<Priced>(br#"{"price":1}"#)
            .err()
            .unwrap();
        assert_eq!(fields(err), vec!["name"]);
    }

    #[test]
    fn content_types() {
        let v = |s: &'static str| header::HeaderValue::from_static(s);
        assert!(is_json(Some(&v("application/json"))));
        assert!(is_json(Some(&v("application/json; charset=utf-8"))));
        assert!(is_json(Some(&v("application/merge-patch+json"))));
        assert!(!is_json(Some(&v("text/plain"))));
        assert!(is_json(Some(&v("application/json; charset=UTF-8"))));
        assert!(is_json(Some(&v("application/json;charset=\"utf-8\""))));
        assert!(!is_json(Some(&v("application/json;charset=latin1"))));
        assert!(!is_json(Some(&v("application/json; charset=utf-16"))));
        assert!(!is_json(None));
    }
}
