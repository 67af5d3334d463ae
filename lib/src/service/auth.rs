use crate::cache::Cache;
use crate::domain::{Email, Identity, NewUser, Role, User};
use crate::ids::UserId;
use crate::store::{Store, StoreError};
use crate::tokens::{self, TokenService, TokenType, ACCESS_TTL_SECS, REFRESH_TTL_SECS};
use crate::AppError;
use std::sync::Arc;
use std::time::Duration;

/// What login, register and refresh hand back.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

#[derive(Clone)]
pub struct AuthService {
    store: Arc<dyn Store>,
    cache: Arc<dyn Cache>,
    tokens: TokenService,
}

const REFRESH_TTL: Duration = Duration::from_secs(REFRESH_TTL_SECS as u64);

fn session_key(jti: &str) -> String {
    format!("refresh:{jti}")
}
fn revoked_family_key(family: &str) -> String {
    format!("refresh-family-revoked:{family}")
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, cache: Arc<dyn Cache>, tokens: TokenService) -> Self {
        Self {
            store,
            cache,
            tokens,
        }
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    /// Issues an access token and a refresh token (recorded in the cache) for `user`.
    async fn open_session(&self, user: User, family: Option<String>) -> Result<Session, AppError> {
        let access_token = self.tokens.issue_access(&user)?;
        let refresh = self.tokens.issue_refresh(&user, family)?;
        self.cache
            .set(&session_key(&refresh.jti), &refresh.family, REFRESH_TTL)
            .await?;
        Ok(Session {
            user,
            access_token,
            refresh_token: refresh.token,
            expires_in: ACCESS_TTL_SECS,
        })
    }

    pub async fn register(&self, new_user: NewUser) -> Result<Session, AppError> {
        // Cheap pre-check so a taken email does not cost a bcrypt hash; the transaction decides.
        if self.store.user_by_email(&new_user.email).await?.is_some() {
            return Err(AppError::EmailTaken);
        }
        let user = User {
            id: UserId::new(),
            email: new_user.email,
            name: new_user.name,
            role: Role::User,
            password_hash: tokens::hash_password(new_user.password).await?,
            created_at: chrono::Utc::now(),
        };
        self.store.create_user(&user).await?;
        tracing::info!(user_id = %user.id, "user registered");
        self.open_session(user, None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Session, AppError> {
        // A malformed email is simply an unknown one: same answer, same timing.
        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        if !tokens::verify_password(password.to_owned(), hash).await? {
            return Err(AppError::InvalidCredentials);
        }
        let user = user.ok_or(AppError::InvalidCredentials)?;
        self.open_session(user, None).await
    }

    pub async fn me(&self, who: Identity) -> Result<User, AppError> {
        self.store
            .user_by_id(who.user_id)
            .await?
            .ok_or(AppError::Unauthorized)
    }

    /// Rotation: the presented refresh token is spent and a new pair issued in the same family.
    /// Presenting a spent token again revokes the whole family (reuse detection).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AppError> {
        let claims = self.tokens.verify(refresh_token, TokenType::Refresh)?;
        let family = claims.fam.clone().ok_or(AppError::Unauthorized)?;
        if self
            .cache
            .get(&revoked_family_key(&family))
            .await?
            .is_some()
        {
            return Err(AppError::Unauthorized);
        }
        if self.cache.take(&session_key(&claims.jti)).await?.is_none() {
            tracing::warn!(user_id = %claims.sub, "refresh token reuse detected: revoking its family");
            self.cache
                .set(&revoked_family_key(&family), "1", REFRESH_TTL)
                .await?;
            return Err(AppError::Unauthorized);
        }
        let user_id = claims
            .sub
            .parse::<UserId>()
            .map_err(|_| AppError::Unauthorized)?;
        // The role is read afresh, so a promotion takes effect at the next refresh.
        let user = self
            .store
            .user_by_id(user_id)
            .await
            .map_err(AppError::from)?
            .ok_or(AppError::Unauthorized)?;
        self.open_session(user, Some(family)).await
    }

    /// Revokes the presented token's whole family.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AppError> {
        let claims = self.tokens.verify(refresh_token, TokenType::Refresh)?;
        let family = claims.fam.ok_or(AppError::Unauthorized)?;
        self.cache
            .set(&revoked_family_key(&family), "1", REFRESH_TTL)
            .await?;
        self.cache.delete(&session_key(&claims.jti)).await?;
        Ok(())
    }

    /// Admin tool: sets a user's role by email.
    pub async fn set_role(&self, email: &str, role: Role) -> Result<User, AppError> {
        let email = Email::parse(email).map_err(|m| AppError::validation("email", m))?;
        let mut user = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or(AppError::NotFound)?;
        self.store
            .set_role(user.id, role)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AppError::NotFound,
                other => other.into(),
            })?;
        user.role = role;
        Ok(user)
    }
}
