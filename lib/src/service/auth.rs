use crate::account_tokens::AccountToken;
use crate::domain::ids::UserId;
use crate::domain::lockout::{LockoutPolicy, LoginFailures, Recorded};
use crate::domain::mail::OutboxMail;
use crate::domain::user::{check_password, MAX_PASSWORD_BYTES};
use crate::domain::{Email, Identity, NewUser, Role, User};
use crate::store::{Rotation, SessionRecord, Store, StoreError};
use crate::tokens::{self, TokenService, TokenType, ACCESS_TTL_SECS, REFRESH_TTL_SECS};
use crate::AppError;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use std::time::Instant;

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
    /// Shared: the state is cloned for every request, and the keys are not cheap to copy
    /// (four allocations, zeroed again on drop).
    tokens: Arc<TokenService>,
    roles: Arc<RoleCache>,
    lockout: LockoutPolicy,
}

/// Recording a failure re-reads and writes again this often when other failures of the same
/// address land in between, before answering 503.
const LOCKOUT_WRITE_TRIES: u32 = 8;

/// The text an address's failures are counted under: a valid address in its normal form (as
/// accounts are keyed), anything else trimmed, NFKC and lower-cased (no account has it, and it
/// is locked alike).
fn lockout_address(raw: &str) -> String {
    match Email::parse(raw) {
        Ok(email) => email.to_string(),
        Err(_) => crate::domain::text::nfkc(raw.trim())
            .to_lowercase()
            .chars()
            .take(320)
            .collect(),
    }
}

/// How long this instance trusts a role it read from the store: admin rights follow a promotion
/// or demotion within this (the contract allows 5 s), at one store read per user and period.
const ROLE_FRESHNESS: Duration = Duration::from_secs(2);
/// Past this many remembered users, expired entries are dropped before adding another.
const ROLE_CACHE_SWEEP_AT: usize = 10_000;

/// Stored roles recently read, per instance (in memory, not Redis: a role must never come from
/// a cache that outlives the store's answer by more than `ROLE_FRESHNESS`).
#[derive(Default)]
struct RoleCache(Mutex<HashMap<UserId, (Role, Instant)>>);

impl RoleCache {
    fn get(&self, user: UserId) -> Option<Role> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&user)
            .filter(|(_, at)| at.elapsed() < ROLE_FRESHNESS)
            .map(|(role, _)| *role)
    }

    fn put(&self, user: UserId, role: Role) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= ROLE_CACHE_SWEEP_AT {
            map.retain(|_, (_, at)| at.elapsed() < ROLE_FRESHNESS);
        }
        map.insert(user, (role, Instant::now()));
    }
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, tokens: TokenService, lockout: LockoutPolicy) -> Self {
        Self {
            store,
            tokens: Arc::new(tokens),
            roles: Arc::default(),
            lockout,
        }
    }

    pub fn tokens(&self) -> &TokenService {
        &self.tokens
    }

    /// The role the store holds for `user` (read at most every `ROLE_FRESHNESS`); a user who no
    /// longer exists is unauthorised.
    pub async fn stored_role(&self, user: UserId) -> Result<Role, AppError> {
        if let Some(role) = self.roles.get(user) {
            return Ok(role);
        }
        let role = self
            .store
            .user_by_id(user)
            .await?
            .ok_or(AppError::Unauthorized)?
            .role;
        self.roles.put(user, role);
        Ok(role)
    }

    /// A token's identity with the role the store holds, where the role matters: a token that
    /// claims admin is confirmed (a demotion takes effect within the role cache's 2 s); a user's is
    /// taken as it is.
    pub async fn confirmed(&self, who: Identity) -> Result<Identity, AppError> {
        if !who.is_admin() {
            return Ok(who);
        }
        self.current(who).await
    }

    /// A token's identity with the role the store holds now, whatever the token claims (a
    /// promotion counts too): for what the role shows beyond admin routes (drafts, other users'
    /// bookings).
    pub async fn current(&self, who: Identity) -> Result<Identity, AppError> {
        let role = self.stored_role(who.user_id).await?;
        Ok(Identity { role, ..who })
    }

    /// Issues an access token and the first refresh token of a new family, recorded in the store.
    async fn open_session(&self, user: User) -> Result<Session, AppError> {
        let access_token = self.tokens.issue_access(&user)?;
        let refresh = self.tokens.issue_refresh(&user, None)?;
        self.store
            .open_session(&SessionRecord {
                family: refresh.family,
                user: user.id,
                current_token: refresh.jti,
                expires_at: chrono::Utc::now() + chrono::Duration::seconds(REFRESH_TTL_SECS),
            })
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
            email_verified: false,
            session_epoch: 0,
        };
        let verification = OutboxMail::verification(user.id, user.created_at);
        self.store.create_user(&user, Some(&verification)).await?;
        tracing::info!(user_id = %user.id, "user registered");
        self.open_session(user).await
    }

    /// A login: refused while the address is locked (whether an account holds it or not), and
    /// a failure counted towards the lock in the store, so every instance sees one count.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session, AppError> {
        let now = Utc::now();
        let address = lockout_address(email);
        let (failures, version) = self.store.login_failures(&address).await?;
        if let Some(until) = failures.locked_at(now) {
            return Err(AppError::AccountLocked {
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            });
        }
        match self.check_credentials(email, password).await {
            Ok(user) => {
                if version > 0 {
                    self.store.clear_login_failures(&address).await?;
                }
                self.open_session(user).await
            }
            Err(AppError::InvalidCredentials) => {
                self.record_failure(&address, failures, version, now)
                    .await?;
                Err(AppError::InvalidCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Counts a failed login by one conditional write (re-read and retried when another
    /// failure of the address landed first), so concurrent failures all count.
    async fn record_failure(
        &self,
        address: &str,
        mut failures: LoginFailures,
        mut version: u64,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), AppError> {
        for tries in 1..=LOCKOUT_WRITE_TRIES {
            let recorded = failures.record(now, self.lockout);
            if recorded == Recorded::AlreadyLocked {
                return Ok(());
            }
            // The failure that locks writes the lock's notice with it: one mail per lock.
            let notice = match recorded {
                Recorded::Locked { until } => Some(OutboxMail::account_locked(address, until, now)),
                _ => None,
            };
            match self
                .store
                .put_login_failures(address, &failures, version, notice.as_ref())
                .await
            {
                Ok(()) => {
                    if let Recorded::Locked { until } = recorded {
                        tracing::warn!(%until, "an address was locked after repeated failed logins");
                    }
                    return Ok(());
                }
                Err(StoreError::Contention(_)) if tries < LOCKOUT_WRITE_TRIES => {
                    super::bookings::backoff(tries.min(4)).await;
                    (failures, version) = self.store.login_failures(address).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(AppError::unavailable(
            "login failures of one address kept changing",
        ))
    }

    /// The account `email` and `password` name, or `InvalidCredentials` (same work either way).
    async fn check_credentials(&self, email: &str, password: &str) -> Result<User, AppError> {
        // A malformed email is simply an unknown one: same answer, same timing.
        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        if user.is_none() {
            // A known address costs two reads (address, then user): an unknown one pays the
            // second too, so the answer's timing does not tell them apart.
            self.store.user_by_id(UserId::new()).await?;
        }
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        // bcrypt would ignore the bytes past 72 and accept any tail: such a password is never
        // right, after the same hashing work as any wrong one.
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        let verified = tokens::verify_password(password.to_owned(), hash).await?;
        if !verified || too_long {
            return Err(AppError::InvalidCredentials);
        }
        user.ok_or(AppError::InvalidCredentials)
    }

    pub async fn me(&self, who: Identity) -> Result<User, AppError> {
        self.store
            .user_by_id(who.user_id)
            .await?
            .ok_or(AppError::Unauthorized)
    }

    /// Rotation: the presented refresh token is spent and a new one issued in the same family,
    /// by one conditional write in the store. Presenting a token the store proves spent revokes
    /// the whole family (reuse detection); the cache plays no part, so losing it changes nothing.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AppError> {
        let claims = self.tokens.verify(refresh_token, TokenType::Refresh)?;
        let family = claims.fam.clone().ok_or(AppError::Unauthorized)?;
        let user_id = claims
            .sub
            .parse::<UserId>()
            .map_err(|_| AppError::Unauthorized)?;
        // The role is read afresh, so the new access token carries the stored one.
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        // A password reset or change since this token's login ended its session.
        if claims.sep.unwrap_or(0) != user.session_epoch {
            return Err(AppError::Unauthorized);
        }
        let next = self.tokens.issue_refresh(&user, Some(family.clone()))?;
        let now = chrono::Utc::now();
        let expires_at = now + chrono::Duration::seconds(REFRESH_TTL_SECS);
        match self
            .store
            .rotate_session(&family, &claims.jti, &next.jti, expires_at, now)
            .await?
        {
            Rotation::Rotated => {}
            Rotation::Spent => {
                tracing::warn!(user_id = %user.id, "refresh token reuse detected: revoking its family");
                self.store.revoke_session(&family).await?;
                return Err(AppError::Unauthorized);
            }
            Rotation::Revoked | Rotation::Unknown => return Err(AppError::Unauthorized),
        }
        Ok(Session {
            access_token: self.tokens.issue_access(&user)?,
            refresh_token: next.token,
            expires_in: ACCESS_TTL_SECS,
            user,
        })
    }

    /// Revokes the presented token's whole family, durably.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AppError> {
        let claims = self.tokens.verify(refresh_token, TokenType::Refresh)?;
        let family = claims.fam.ok_or(AppError::Unauthorized)?;
        self.store.revoke_session(&family).await?;
        Ok(())
    }

    /// Redeems a verification link's token: the address is verified, the token spent.
    pub async fn verify_email(&self, token: &str) -> Result<User, AppError> {
        let token = AccountToken::parse(token).ok_or(AppError::InvalidToken)?;
        let user = self
            .store
            .verify_email(token.user, &token.hash(), Utc::now())
            .await?;
        tracing::info!(user_id = %user.id, "email address verified");
        Ok(user)
    }

    /// A new verification link for the caller (the earlier ones stop working when it is sent);
    /// nothing for an address already verified.
    pub async fn resend_verification(&self, who: Identity) -> Result<(), AppError> {
        let user = self.me(who).await?;
        if !user.email_verified {
            let mail = OutboxMail::verification(user.id, Utc::now());
            self.store.enqueue_mail(&mail).await?;
        }
        Ok(())
    }

    /// A reset link for whoever holds `email`: the same single write whether or not an account
    /// has the address (the mail worker finds out, and sends nothing for none), so the answer
    /// and its timing say nothing about which addresses exist.
    pub async fn forgot_password(&self, email: &str) -> Result<(), AppError> {
        let email = Email::parse(email).map_err(|m| AppError::validation("email", m))?;
        let mail = OutboxMail::password_reset(email.as_str(), Utc::now());
        self.store.enqueue_mail(&mail).await?;
        Ok(())
    }

    /// Sets a new password by a reset link's token: every session ends, the address's login
    /// lock is lifted, the token is spent — one transaction.
    pub async fn reset_password(&self, token: &str, password: &str) -> Result<User, AppError> {
        let token = AccountToken::parse(token).ok_or(AppError::InvalidToken)?;
        check_password(password).map_err(|m| AppError::validation("password", m))?;
        let user = self
            .store
            .user_by_id(token.user)
            .await?
            .ok_or(AppError::InvalidToken)?;
        let password_hash = tokens::hash_password(password.to_owned()).await?;
        let user = self
            .store
            .reset_password(
                user.id,
                &lockout_address(user.email.as_str()),
                &token.hash(),
                &password_hash,
                Utc::now(),
            )
            .await?;
        tracing::info!(user_id = %user.id, "password reset: every session ended");
        Ok(user)
    }

    /// Changes the caller's password after checking the current one: every earlier session
    /// ends (the caller's too) and a new one opens.
    pub async fn change_password(
        &self,
        who: Identity,
        current: &str,
        new: &str,
    ) -> Result<Session, AppError> {
        check_password(new).map_err(|m| AppError::validation("newPassword", m))?;
        let user = self.me(who).await?;
        let right = current.len() <= MAX_PASSWORD_BYTES
            && tokens::verify_password(current.to_owned(), Some(user.password_hash.clone()))
                .await?;
        if !right {
            return Err(AppError::InvalidCredentials);
        }
        let password_hash = tokens::hash_password(new.to_owned()).await?;
        let user = self
            .store
            .change_password(user.id, &user.password_hash, &password_hash)
            .await
            .map_err(|e| match e {
                // Changed meanwhile: the password checked is no longer the current one.
                StoreError::Contention(_) => AppError::InvalidCredentials,
                other => other.into(),
            })?;
        tracing::info!(user_id = %user.id, "password changed: every earlier session ended");
        self.open_session(user).await
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
        self.roles.put(user.id, role);
        Ok(user)
    }
}
