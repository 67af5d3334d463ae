use super::DomainError;
use super::{text, Problems};
use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

/// Who is calling, as proven by an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub user_id: UserId,
    pub role: Role,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A trimmed, NFKC-normalised, lower-cased email address of a plausible shape, with no invisible
/// or control character (so two addresses that look alike are one, or one is refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let value = super::text::nfkc(raw.trim()).to_lowercase();
        let valid = value.len() <= 254
            && !value
                .chars()
                .any(|c| c.is_whitespace() || super::text::is_invisible_or_control(c))
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid {
            Ok(Self(value))
        } else {
            Err("must be a valid email address")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest password: bcrypt ignores every byte past 72, so a longer one could be "right"
/// with any tail. Register refuses it; login treats it as wrong.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Password rules: 8-72 bytes (bcrypt ignores bytes past 72), upper, lower, digit.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.len() < 8 || password.len() > MAX_PASSWORD_BYTES {
        return Err("must be 8-72 bytes long");
    }
    if !password.chars().any(|c| c.is_uppercase()) {
        return Err("must contain an upper-case letter");
    }
    if !password.chars().any(|c| c.is_lowercase()) {
        return Err("must contain a lower-case letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err("must contain a digit");
    }
    Ok(())
}

/// A validated registration.
#[derive(Clone)]
pub struct NewUser {
    pub email: Email,
    pub password: String,
    pub name: String,
}

impl NewUser {
    pub fn parse(email: &str, password: &str, name: &str) -> Result<Self, DomainError> {
        let mut problems = Problems::default();
        let email = Email::parse(email)
            .map_err(|m| problems.add("email", m))
            .ok();
        if let Err(message) = check_password(password) {
            problems.add("password", message);
        }
        let name = text(&mut problems, "name", name, 1, 100);
        if name.chars().any(super::text::is_control_or_bidi_override) {
            problems.add(
                "name",
                "must not contain control or text-direction override characters",
            );
        }
        let parsed = email.map(|email| Self {
            email,
            password: password.to_owned(),
            name,
        });
        problems.finish(parsed)
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// Set by redeeming a verification link.
    #[serde(default)]
    pub email_verified: bool,
    /// Moved on by a password reset or change: refresh tokens carry the epoch they were issued
    /// in, and one of an earlier epoch is refused, so every earlier session ends at once.
    #[serde(default)]
    pub session_epoch: u64,
}

// Hand-written so a password hash can never reach a log line through `{:?}`.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rules() {
        assert!(check_password("Passw0rd").is_ok());
        assert_eq!(check_password("Pa0s"), Err("must be 8-72 bytes long"));
        assert_eq!(
            check_password(&format!("Aa1{}", "x".repeat(70))),
            Err("must be 8-72 bytes long")
        );
        assert_eq!(
            check_password("password1"),
            Err("must contain an upper-case letter")
        );
        assert_eq!(
            check_password("PASSWORD1"),
            Err("must contain a lower-case letter")
        );
        assert_eq!(check_password("Password"), Err("must contain a digit"));
    }

    #[test]
    fn new_user_reports_every_field() {
        let DomainError::Invalid(errors) = NewUser::parse("nope", "short", "  ").err().unwrap()
        else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.clone().unwrap()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
    }
}
