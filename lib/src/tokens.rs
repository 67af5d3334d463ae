//! JWTs (HS256, separate secrets per token type) and password hashing (bcrypt, off the executor).

use crate::config::JwtSettings;
use crate::domain::ids::UserId;
use crate::domain::{Identity, Role, User};
use crate::AppError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 7 * 24 * 60 * 60;
pub const BCRYPT_COST: u32 = 10;
/// Longer tokens are refused before any parsing (ours are ~400 bytes).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated for `nbf` and `iat` in the future.
pub const CLOCK_SKEW_SECS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub typ: TokenType,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The login a refresh token belongs to: reuse of a spent token revokes the whole family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Not issued by us, but honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// A refresh token's session epoch: the user's when it was issued. A password reset or
    /// change moves the user's on, and a token of an earlier epoch is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sep: Option<u64>,
}

/// A freshly issued refresh token with what the session store needs to know about it.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub token: String,
    pub jti: String,
    pub family: String,
}

#[derive(Clone)]
pub struct TokenService {
    access_enc: EncodingKey,
    access_dec: DecodingKey,
    refresh_enc: EncodingKey,
    refresh_dec: DecodingKey,
    issuer: String,
    audience: String,
}

impl TokenService {
    pub fn new(settings: &JwtSettings) -> Self {
        let access = settings.access_secret.expose().as_bytes();
        let refresh = settings.refresh_secret.expose().as_bytes();
        Self {
            access_enc: EncodingKey::from_secret(access),
            access_dec: DecodingKey::from_secret(access),
            refresh_enc: EncodingKey::from_secret(refresh),
            refresh_dec: DecodingKey::from_secret(refresh),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

    fn sign(&self, claims: &Claims) -> Result<String, AppError> {
        let key = match claims.typ {
            TokenType::Access => &self.access_enc,
            TokenType::Refresh => &self.refresh_enc,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key)
            .map_err(AppError::internal)
    }

    fn claims(&self, user: &User, typ: TokenType, ttl: i64, family: Option<String>) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: user.id.to_string(),
            role: user.role,
            typ,
            jti: ulid::Ulid::new().to_string(),
            iat: now,
            exp: now + ttl,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sep: family.as_ref().map(|_| user.session_epoch),
            fam: family,
            nbf: None,
        }
    }

    pub fn issue_access(&self, user: &User) -> Result<String, AppError> {
        self.sign(&self.claims(user, TokenType::Access, ACCESS_TTL_SECS, None))
    }

    /// A refresh token in `family` (a new family for a new login).
    pub fn issue_refresh(
        &self,
        user: &User,
        family: Option<String>,
    ) -> Result<IssuedRefresh, AppError> {
        let family = family.unwrap_or_else(|| ulid::Ulid::new().to_string());
        let claims = self.claims(
            user,
            TokenType::Refresh,
            REFRESH_TTL_SECS,
            Some(family.clone()),
        );
        Ok(IssuedRefresh {
            token: self.sign(&claims)?,
            jti: claims.jti,
            family,
        })
    }

    /// Validates a token of the expected type. The algorithm, issuer, audience, expiry and `typ`
    /// are pinned, so `alg: none`, foreign secrets, expired or wrong-type tokens are all 401; so
    /// are oversized tokens, a `crit` header (we understand no extension), and `nbf`/`iat` in
    /// the future beyond the tolerated clock skew.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, AppError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AppError::Unauthorized);
        }
        let key = match expected {
            TokenType::Access => &self.access_dec,
            TokenType::Refresh => &self.refresh_dec,
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|_| AppError::Unauthorized)?;
        let claims = data.claims;
        let latest = chrono::Utc::now().timestamp() + CLOCK_SKEW_SECS;
        let from_the_future = claims.iat > latest || claims.nbf.is_some_and(|nbf| nbf > latest);
        if data.header.crit.is_some() || from_the_future || claims.typ != expected {
            return Err(AppError::Unauthorized);
        }
        Ok(claims)
    }

    pub fn identity(&self, access_token: &str) -> Result<Identity, AppError> {
        let claims = self.verify(access_token, TokenType::Access)?;
        let user_id = claims
            .sub
            .parse::<UserId>()
            .map_err(|_| AppError::Unauthorized)?;
        Ok(Identity {
            user_id,
            role: claims.role,
        })
    }
}

/// Hashes on the blocking pool: bcrypt is deliberately slow and would stall the executor.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}

/// Verifies `password` against `hash`, or against a dummy hash when the user is unknown, so an
/// unknown email costs as much time as a wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        bcrypt::verify(password, &hash).unwrap_or(false) && known
    })
    .await
    .map_err(AppError::internal)
}

/// A valid hash of a random password: verifying against it when the email is unknown makes an
/// unknown email take as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        bcrypt::hash(ulid::Ulid::new().to_string(), BCRYPT_COST).unwrap_or_else(|_| {
            // Cost 10 is always valid; this is unreachable but must not panic on a client's request.
            "$2b$10$abcdefghijklmnopqrstuu5Y3Qe1nG2Jb0h0c5bV3a6qCkqk6a1yW".into()
        })
    })
}
