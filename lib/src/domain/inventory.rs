//! An event's tickets as counters: split over K shards so a hot on-sale is not capped by one
//! item's write rate (DynamoDB serves 1,000 write units/s per partition and a transactional
//! write costs 2, so one counter item takes ~500 bookings/s at best). Invisible to clients:
//! `availableTickets` is the exact sum of the shards.

use serde::{Deserialize, Serialize};

/// How many shards an event gets, chosen once at creation from its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRule {
    /// One more shard per this many tickets.
    pub tickets_per_shard: u32,
    /// At most this many (a catalog write touches every shard in one transaction, whose limit
    /// is 100 items).
    pub max_shards: u16,
}

/// The most shards an event may have: a catalog write is one transaction over the event, its
/// shards and the catalog version (DynamoDB: at most 100 items).
pub const SHARD_LIMIT: u16 = 64;

impl ShardRule {
    pub const DEFAULT: ShardRule = ShardRule {
        tickets_per_shard: 2_000,
        max_shards: 16,
    };

    /// K = ⌈total / tickets_per_shard⌉, between 1 and `max_shards`: small events keep one item.
    pub fn shards_for(&self, total_tickets: u32) -> u16 {
        let wanted = total_tickets.div_ceil(self.tickets_per_shard.max(1));
        wanted.clamp(1, u32::from(self.max_shards.clamp(1, SHARD_LIMIT))) as u16
    }
}

impl Default for ShardRule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Splits `total` over `shards` counters that differ by at most one.
pub fn split(total: u32, shards: u16) -> Vec<u32> {
    let shards = u32::from(shards.max(1));
    (0..shards)
        .map(|i| total / shards + u32::from(i < total % shards))
        .collect()
}

/// One shard's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardCounts {
    pub available: u32,
    /// Bookings whose first take is from this shard (so Σ is the event's confirmed bookings).
    pub confirmed: u32,
}

/// All of an event's shards, in shard order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub shards: Vec<ShardCounts>,
}

impl Inventory {
    pub fn available(&self) -> u32 {
        self.shards.iter().map(|s| s.available).sum()
    }
    pub fn confirmed(&self) -> u32 {
        self.shards.iter().map(|s| s.confirmed).sum()
    }

    /// Where `quantity` tickets can come from: one shard chosen by `pick` among those that hold
    /// enough, else the fullest shards together; `None` when the event as a whole lacks them.
    pub fn plan(&self, quantity: u32, pick: usize) -> Option<Vec<ShardTake>> {
        let able: Vec<usize> = (0..self.shards.len())
            .filter(|&i| self.shards[i].available >= quantity)
            .collect();
        if !able.is_empty() {
            return Some(vec![ShardTake::new(able[pick % able.len()], quantity)]);
        }
        if self.available() < quantity {
            return None;
        }
        let mut fullest: Vec<usize> = (0..self.shards.len()).collect();
        fullest.sort_by_key(|&i| std::cmp::Reverse(self.shards[i].available));
        let mut takes = Vec::new();
        let mut left = quantity;
        for i in fullest {
            let take = left.min(self.shards[i].available);
            if take > 0 {
                takes.push(ShardTake::new(i, take));
                left -= take;
            }
            if left == 0 {
                break;
            }
        }
        Some(takes)
    }
}

/// Tickets a booking took from one shard; cancel gives them back there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTake {
    pub shard: u16,
    pub quantity: u32,
}

impl ShardTake {
    pub fn new(shard: usize, quantity: u32) -> Self {
        Self {
            shard: shard as u16,
            quantity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(available: &[u32]) -> Inventory {
        Inventory {
            shards: available
                .iter()
                .map(|&available| ShardCounts {
                    available,
                    confirmed: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn small_events_keep_one_shard_and_big_ones_are_capped() {
        let rule = ShardRule {
            tickets_per_shard: 100,
            max_shards: 8,
        };
        assert_eq!(rule.shards_for(1), 1);
        assert_eq!(rule.shards_for(100), 1);
        assert_eq!(rule.shards_for(101), 2);
        assert_eq!(rule.shards_for(1_000_000), 8);
        let silly = ShardRule {
            tickets_per_shard: 0,
            max_shards: 1_000,
        };
        assert_eq!(silly.shards_for(1_000_000), SHARD_LIMIT);
    }

    #[test]
    fn split_is_exact_and_even() {
        for (total, k) in [(100, 8), (7, 16), (0, 3), (20_000, 16), (5, 1)] {
            let parts = split(total, k);
            assert_eq!(parts.len(), usize::from(k));
            assert_eq!(parts.iter().sum::<u32>(), total);
            let (lo, hi) = (parts.iter().min().unwrap(), parts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{parts:?}");
        }
    }

    #[test]
    fn plan_prefers_one_shard_then_combines_then_refuses() {
        let inv = inventory(&[1, 5, 0, 5]);
        // Each pick lands on a shard that can serve the whole quantity.
        for pick in 0..8 {
            let plan = inv.plan(4, pick).unwrap();
            assert_eq!(plan.len(), 1);
            assert!([1, 3].contains(&plan[0].shard));
        }
        // No single shard holds 8, together they do: the fullest first.
        let plan = inv.plan(8, 0).unwrap();
        assert_eq!(plan.iter().map(|t| t.quantity).sum::<u32>(), 8);
        assert!(plan
            .iter()
            .all(|t| t.quantity <= inv.shards[usize::from(t.shard)].available));
        let all = inv.plan(11, 0).unwrap();
        assert_eq!(all.iter().map(|t| t.quantity).sum::<u32>(), 11);
        assert_eq!(all.len(), 3, "every non-empty shard: {all:?}");
        assert_eq!(inv.plan(12, 0), None);
        assert_eq!(inventory(&[0, 0]).plan(1, 3), None);
    }
}
