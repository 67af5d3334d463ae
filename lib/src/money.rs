//! Money is stored exactly as integer cents and shown as a decimal number with at most 2 decimals.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// Why a decimal text is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a JSON number at all.
    NotANumber,
    /// More than two decimals (also in disguise: `0.30000000000000004`, `1e-400`).
    TooPrecise,
    /// Negative (`-0` included) or beyond what cents can hold.
    OutOfRange,
}

impl Cents {
    /// Parses the exact text of a JSON number (digits, optional fraction and exponent), never
    /// through a float, so nothing is rounded into validity: the value must be exactly a whole
    /// number of cents, and not negative.
    pub fn parse_exact(text: &str) -> Result<Self, MoneyError> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || (mantissa.contains('.') && !all_digits(frac)) {
            return Err(MoneyError::NotANumber);
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if !all_digits(digits) {
                    return Err(MoneyError::NotANumber);
                }
                // Beyond any price either way; the sign decides which error below.
                let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 4).min(1_000_000);
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let digits = format!("{int}{frac}");
        let digits = digits.trim_start_matches('0');
        // value = digits × 10^(exponent − frac.len()); in cents, two places further.
        let shift = exponent - frac.len() as i64 + 2;
        let cents = if digits.is_empty() {
            0
        } else if shift >= 0 {
            if digits.len() as i64 + shift > 18 {
                return Err(MoneyError::OutOfRange);
            }
            let base: i64 = digits.parse().map_err(|_| MoneyError::OutOfRange)?;
            base * 10_i64.pow(shift as u32)
        } else {
            let cut = (-shift) as usize;
            let kept = &digits[..digits.len().saturating_sub(cut)];
            let dropped = &digits[digits.len().saturating_sub(cut)..];
            if dropped.bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooPrecise);
            }
            if kept.len() > 18 {
                return Err(MoneyError::OutOfRange);
            }
            if kept.is_empty() {
                0
            } else {
                kept.parse().map_err(|_| MoneyError::OutOfRange)?
            }
        };
        if negative {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Self(cents))
    }

    /// The JSON number for clients (e.g. 1999 → 19.99, 1500 → 15.0: a float, as serde_json writes it).
    pub fn to_json(self) -> serde_json::Value {
        let text = format!("{}.{:02}", self.0 / 100, (self.0 % 100).abs());
        let sign = if self.0 < 0 && self.0 > -100 { "-" } else { "" };
        let parsed: f64 = format!("{sign}{text}").parse().unwrap_or(0.0);
        serde_json::Number::from_f64(parsed)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }

    /// The amount as people read it: `12.50`.
    pub fn to_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    pub fn times(self, quantity: u32) -> Self {
        Self(self.0 * i64::from(quantity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_text_is_never_rounded_into_validity() {
        let ok = |t: &str| Cents::parse_exact(t);
        assert_eq!(ok("19.99"), Ok(Cents(1999)));
        assert_eq!(ok("0"), Ok(Cents(0)));
        assert_eq!(ok("0.3"), Ok(Cents(30)));
        assert_eq!(ok("100000"), Ok(Cents(10_000_000)));
        assert_eq!(ok("1.50"), Ok(Cents(150)));
        assert_eq!(ok("1.500000"), Ok(Cents(150)));
        assert_eq!(ok("1e2"), Ok(Cents(10_000)));
        assert_eq!(ok("12.5E-1"), Ok(Cents(125)));
        assert_eq!(ok("0.30000000000000004"), Err(MoneyError::TooPrecise));
        assert_eq!(ok("1e-400"), Err(MoneyError::TooPrecise));
        assert_eq!(ok("100000.00000000001"), Err(MoneyError::TooPrecise));
        assert_eq!(ok("19.999"), Err(MoneyError::TooPrecise));
        assert_eq!(ok("-0"), Err(MoneyError::OutOfRange));
        assert_eq!(ok("-1"), Err(MoneyError::OutOfRange));
        assert_eq!(ok("1e400"), Err(MoneyError::OutOfRange));
        assert_eq!(ok("99999999999999999999"), Err(MoneyError::OutOfRange));
        for bad in [
            "", "abc", "\"10\"", "1.", ".5", "1e", "null", "true", "0x10", "1 ",
        ] {
            assert_eq!(ok(bad), Err(MoneyError::NotANumber), "{bad}");
        }
    }

    #[test]
    fn renders_as_short_decimal() {
        assert_eq!(Cents(1999).to_json().to_string(), "19.99");
        assert_eq!(Cents(1500).to_json().to_string(), "15.0");
        assert_eq!(Cents(5).to_json().to_string(), "0.05");
        assert_eq!(Cents(1999).times(3), Cents(5997));
    }
}
