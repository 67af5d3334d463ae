//! Property tests of the pure rules: money, pagination, validation, fingerprints, request ids.

use proptest::prelude::*;
use std::collections::HashMap;
use ticketing::domain::booking::parse_idempotency_key;
use ticketing::domain::user::check_password;
use ticketing::domain::{Email, EventQuery, NewBookingRequest, PageParams};
use ticketing::ids::EventId;
use ticketing::money::{Cents, MoneyError};

proptest! {
    #[test]
    fn cents_round_trip_through_decimals(cents in 0i64..=10_000_000) {
        let written = format!("{}.{:02}", cents / 100, cents % 100);
        prop_assert_eq!(Cents::parse_exact(&written), Ok(Cents(cents)));
        // What the API shows a client parses back to the same amount.
        let shown = Cents(cents).to_json().to_string();
        prop_assert_eq!(Cents::parse_exact(&shown), Ok(Cents(cents)));
    }

    #[test]
    fn more_than_two_decimals_is_refused(cents in 0i64..1_000_000, extra in 1u32..10, zeros in 0usize..20) {
        let written = format!("{}.{:02}{}{extra}", cents / 100, cents % 100, "0".repeat(zeros));
        prop_assert_eq!(Cents::parse_exact(&written), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn pages_partition_the_list(total in 0usize..500, limit in 1u32..=100) {
        let items: Vec<usize> = (0..total).collect();
        let pages = (total as u64).div_ceil(limit as u64).max(1);
        let mut seen = Vec::new();
        for page in 1..=pages as u32 + 1 {
            let (slice, meta) = PageParams { page, limit }.slice(items.clone());
            prop_assert_eq!(meta.total, total as u64);
            prop_assert_eq!(meta.has_prev, page > 1);
            prop_assert_eq!(meta.has_next, (page as u64) < meta.total_pages);
            prop_assert!(slice.len() <= limit as usize);
            seen.extend(slice);
        }
        prop_assert_eq!(seen, items);
    }

    #[test]
    fn query_parsing_never_panics(params in proptest::collection::hash_map("[a-zA-Z]{1,10}", ".{0,20}", 0..8)) {
        let _ = EventQuery::parse(&params);
    }

    #[test]
    fn known_query_keys_with_garbage_are_400_not_panics(key in prop::sample::select(vec!["page", "limit", "minPrice", "maxPrice", "from", "to", "sortBy", "sortOrder", "status"]), value in "[^0-9a-z\\s]{1,12}") {
        let params: HashMap<String, String> = [(key.to_string(), value)].into();
        let result = EventQuery::parse(&params);
        prop_assert!(result.is_err());
    }

    #[test]
    fn blank_query_values_mean_unset(key in prop::sample::select(vec!["page", "limit", "minPrice", "from", "sortBy", "status", "venue"]), blank in "[ \t]{0,4}") {
        let params: HashMap<String, String> = [(key.to_string(), blank)].into();
        prop_assert_eq!(EventQuery::parse(&params).unwrap(), EventQuery::default());
    }

    #[test]
    fn email_normalisation_is_idempotent(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}", tld in "[a-zA-Z]{2,6}") {
        let raw = format!("  {local}@{domain}.{tld} ");
        if let Ok(email) = Email::parse(&raw) {
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
            prop_assert_eq!(email.as_str(), email.as_str().to_lowercase());
        }
    }

    #[test]
    fn accepted_passwords_meet_every_rule(password in ".{0,80}") {
        if check_password(&password).is_ok() {
            prop_assert!((8..=72).contains(&password.len()));
            prop_assert!(password.chars().any(char::is_uppercase));
            prop_assert!(password.chars().any(char::is_lowercase));
            prop_assert!(password.chars().any(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn fingerprints_identify_bodies(q1 in 1i64..=10, q2 in 1i64..=10) {
        let event = EventId::new().to_string();
        let key = uuid::Uuid::nil();
        let a = NewBookingRequest::parse(&event, q1, key).unwrap();
        let b = NewBookingRequest::parse(&event, q2, key).unwrap();
        prop_assert_eq!(a.fingerprint() == b.fingerprint(), q1 == q2);
    }

    #[test]
    fn idempotency_keys_are_uuids_only(raw in ".{0,40}") {
        if let Ok(key) = parse_idempotency_key(&raw) {
            let bare = raw.trim().trim_matches('"');
            prop_assert_eq!(key.to_string(), bare.to_lowercase());
        }
    }
}
