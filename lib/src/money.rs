//! Money is stored exactly as integer cents and shown as a decimal number with at most 2 decimals.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// Parses a JSON number with at most two decimals. `None` for more precision or non-finite.
    pub fn from_decimal(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        let scaled = value * 100.0;
        let rounded = scaled.round();
        // A binary float never hits k/100 exactly; allow the representation error only (tiny in
        // absolute terms for any price we accept), so 1000.001 is refused.
        if (scaled - rounded).abs() > 1e-6 || rounded.abs() > 9e15 {
            return None;
        }
        Some(Self(rounded as i64))
    }

    /// The JSON number for clients (e.g. 1999 → 19.99, 1500 → 15).
    pub fn to_json(self) -> serde_json::Value {
        let text = format!("{}.{:02}", self.0 / 100, (self.0 % 100).abs());
        let sign = if self.0 < 0 && self.0 > -100 { "-" } else { "" };
        let parsed: f64 = format!("{sign}{text}").parse().unwrap_or(0.0);
        serde_json::Number::from_f64(parsed)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }

    pub fn times(self, quantity: u32) -> Self {
        Self(self.0 * i64::from(quantity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_up_to_two_decimals_exactly() {
        assert_eq!(Cents::from_decimal(19.99), Some(Cents(1999)));
        assert_eq!(Cents::from_decimal(0.1 + 0.2), Some(Cents(30)));
        assert_eq!(Cents::from_decimal(100000.0), Some(Cents(10_000_000)));
        assert_eq!(Cents::from_decimal(0.0), Some(Cents(0)));
        assert_eq!(Cents::from_decimal(1.005), None);
        assert_eq!(Cents::from_decimal(19.999), None);
        assert_eq!(Cents::from_decimal(f64::NAN), None);
    }

    #[test]
    fn renders_as_short_decimal() {
        assert_eq!(Cents(1999).to_json().to_string(), "19.99");
        assert_eq!(Cents(1500).to_json().to_string(), "15.0");
        assert_eq!(Cents(5).to_json().to_string(), "0.05");
        assert_eq!(Cents(1999).times(3), Cents(5997));
    }
}
