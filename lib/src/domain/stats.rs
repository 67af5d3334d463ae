//! An event's figures for its organiser: kept as counters beside the ones bookings already
//! write (on the inventory shards, and per shard and day), summed over the K shards on read — so
//! no item is written by every booking of a hot event, and a read costs O(K), not O(bookings).

use crate::money::Cents;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// One admitted-or-not ticket of a confirmed booking, as the attendee list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub booking_id: crate::domain::ids::BookingId,
    pub ticket_number: String,
    pub holder_name: String,
    pub holder_email: String,
    pub checked_in_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\r', '\n']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// What one shard holds towards the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShardFigures {
    pub available: u32,
    pub confirmed: u32,
    pub cancelled: u32,
    pub checked_in: u32,
    pub gross: Cents,
    /// Checkout: tickets of holds standing now, those holds, lapsed holds, Σ refunds accepted
    /// or requested.
    pub held: u32,
    pub pending: u32,
    pub expired: u32,
    pub refunded: Cents,
}

/// Tickets and revenue confirmed on one day (UTC), as one shard counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySales {
    pub day: NaiveDate,
    pub tickets: u32,
    pub revenue: Cents,
}

/// The figures of `GET /events/:id/stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStats {
    pub tickets_sold: u32,
    pub tickets_held: u32,
    pub tickets_checked_in: u32,
    pub confirmed_bookings: u32,
    pub pending_bookings: u32,
    pub cancelled_bookings: u32,
    pub expired_bookings: u32,
    pub gross_revenue: Cents,
    pub refunded: Cents,
    pub sales_by_day: Vec<DaySales>,
}

impl EventStats {
    /// Sums the shards' figures and their days' sales: every ticket taken and not held is sold
    /// (without payments nothing is held, pending, expired or refunded).
    pub fn sum(
        total_tickets: u32,
        shards: &[ShardFigures],
        days: impl IntoIterator<Item = DaySales>,
    ) -> Self {
        let available: u32 = shards.iter().map(|s| s.available).sum();
        let held: u32 = shards.iter().map(|s| s.held).sum();
        let mut by_day: BTreeMap<NaiveDate, (u32, i64)> = BTreeMap::new();
        for sale in days {
            let entry = by_day.entry(sale.day).or_default();
            entry.0 += sale.tickets;
            entry.1 += sale.revenue.0;
        }
        Self {
            tickets_sold: total_tickets.saturating_sub(available).saturating_sub(held),
            tickets_held: held,
            tickets_checked_in: shards.iter().map(|s| s.checked_in).sum(),
            confirmed_bookings: shards.iter().map(|s| s.confirmed).sum(),
            pending_bookings: shards.iter().map(|s| s.pending).sum(),
            cancelled_bookings: shards.iter().map(|s| s.cancelled).sum(),
            expired_bookings: shards.iter().map(|s| s.expired).sum(),
            gross_revenue: Cents(shards.iter().map(|s| s.gross.0).sum()),
            refunded: Cents(shards.iter().map(|s| s.refunded.0).sum()),
            sales_by_day: by_day
                .into_iter()
                .map(|(day, (tickets, revenue))| DaySales {
                    day,
                    tickets,
                    revenue: Cents(revenue),
                })
                .collect(),
        }
    }

    pub fn net_revenue(&self) -> Cents {
        Cents(self.gross_revenue.0 - self.refunded.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(csv_field("Lovelace, Ada"), "\"Lovelace, Ada\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn shards_and_days_add_up() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2027, 1, d).unwrap();
        let shards = [
            ShardFigures {
                available: 90,
                confirmed: 3,
                cancelled: 1,
                checked_in: 2,
                gross: Cents(4_000),
                held: 4,
                pending: 1,
                expired: 2,
                refunded: Cents(500),
            },
            ShardFigures {
                available: 95,
                confirmed: 2,
                cancelled: 0,
                checked_in: 0,
                gross: Cents(1_500),
                ..Default::default()
            },
        ];
        let sales = [
            DaySales {
                day: day(2),
                tickets: 4,
                revenue: Cents(2_000),
            },
            DaySales {
                day: day(1),
                tickets: 3,
                revenue: Cents(1_500),
            },
            DaySales {
                day: day(2),
                tickets: 2,
                revenue: Cents(2_000),
            },
        ];
        let stats = EventStats::sum(200, &shards, sales);
        assert_eq!((stats.tickets_sold, stats.tickets_held), (11, 4));
        assert_eq!((stats.pending_bookings, stats.expired_bookings), (1, 2));
        assert_eq!(stats.tickets_checked_in, 2);
        assert_eq!((stats.confirmed_bookings, stats.cancelled_bookings), (5, 1));
        assert_eq!(stats.gross_revenue, Cents(5_500));
        assert_eq!(stats.net_revenue(), Cents(5_000));
        assert_eq!(
            stats.sales_by_day,
            vec![
                DaySales {
                    day: day(1),
                    tickets: 3,
                    revenue: Cents(1_500)
                },
                DaySales {
                    day: day(2),
                    tickets: 6,
                    revenue: Cents(4_000)
                },
            ]
        );
    }
}
