//! The catalog projection's memory against the catalog's raw text, at 1,000 / 3,000 / 10,000
//! events of the contract's largest fields (name and venue 200, description 5,000 characters),
//! side by side in one run: the heap the projection holds once loaded and searched (a counting
//! allocator, so the store's own copy is not counted), the peak while loading, and the time of
//! the first (loading) listing and of a search. Target: ≤ 2 × raw text + 10 MB.

use clap::Parser;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use ticketing::domain::{EventQuery, EventStatus, NewEvent, ShardRule, StatusFilter};
use ticketing::money::Cents;
use ticketing::service::catalog::CatalogProjection;
use ticketing::store::{EventStore, MemoryStore};

/// Counts the bytes live on the heap, and the most ever live since the last reset.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Parser)]
struct Args {
    #[arg(long, value_delimiter = ',', default_value = "1000,3000,10000")]
    sizes: Vec<usize>,
    /// Share of events (in percent) whose text is not all ASCII, so its folding is kept.
    #[arg(long, default_value_t = 10)]
    non_ascii_percent: u64,
}

const WORDS: [&str; 48] = [
    "Live",
    "music",
    "night",
    "with",
    "the",
    "Royal",
    "Orchestra",
    "playing",
    "classic",
    "and",
    "modern",
    "pieces",
    "jazz",
    "quartet",
    "opening",
    "act",
    "doors",
    "open",
    "at",
    "seven",
    "Festival",
    "stage",
    "Summer",
    "open-air",
    "concert",
    "hall",
    "tickets",
    "limited",
    "guest",
    "DJ",
    "set",
    "late",
    "show",
    "family",
    "friendly",
    "food",
    "drinks",
    "available",
    "venue",
    "parking",
    "accessible",
    "tour",
    "Album",
    "release",
    "party",
    "acoustic",
    "session",
    "Arena",
];
const NON_ASCII: [&str; 6] = ["Café", "Straße", "Zürich", "Ελλάδα", "Ōsaka", "Kraków"];

/// A small deterministic generator: the same catalog every run.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Words up to exactly `chars` characters.
    fn text(&mut self, chars: usize, non_ascii: bool) -> String {
        let mut out = String::new();
        while out.chars().count() < chars {
            let pick = self.next();
            let word = if non_ascii && pick.is_multiple_of(9) {
                NON_ASCII[(pick / 9) as usize % NON_ASCII.len()]
            } else {
                WORDS[(pick / 9) as usize % WORDS.len()]
            };
            out.push_str(word);
            out.push(if pick.is_multiple_of(11) { '.' } else { ' ' });
        }
        out.chars().take(chars).collect()
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "{:>7} {:>9} {:>11} {:>9} {:>10} {:>12} {:>10} {:>11} {:>9}",
        "events",
        "raw MB",
        "held MB",
        "held/raw",
        "MB/1000",
        "target MB",
        "peak MB",
        "1st list ms",
        "search ms"
    );
    for &size in &args.sizes {
        let store = MemoryStore::new();
        let mut words = Words(0x9E37_79B9_7F4A_7C15 ^ size as u64);
        let now = chrono::Utc::now();
        let mut raw = 0;
        for i in 0..size {
            let non_ascii = (i as u64 * 100 / size as u64) % 100 < args.non_ascii_percent;
            let event = NewEvent {
                name: words.text(200, non_ascii),
                description: words.text(5_000, non_ascii),
                venue: words.text(200, non_ascii),
                date: now + chrono::Duration::days(1 + (i % 700) as i64),
                price: Cents(1_000 + (i as i64 % 50) * 100),
                total_tickets: 500,
                status: EventStatus::Published,
                max_tickets_per_user: None,
            }
            .into_event(now, ShardRule::DEFAULT);
            raw += event.name.len() + event.description.len() + event.venue.len();
            store.create_event(&event).await?;
        }
        let version = ticketing::store::EventStore::catalog_version(&store).await?;
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let projection = CatalogProjection::default();
        let started = Instant::now();
        let all = StatusFilter::Any;
        let ((page, _), _) = projection
            .page(&store, version, &EventQuery::default(), all)
            .await?;
        let first = started.elapsed();
        anyhow::ensure!(page.len() == 20, "a full first page");
        let search = EventQuery::parse(&HashMap::from([(
            "search".to_owned(),
            "jazz quartet".to_owned(),
        )]))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let started = Instant::now();
        projection.page(&store, version, &search, all).await?;
        let searched = started.elapsed();
        let held = LIVE.load(Ordering::Relaxed) - before;
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let target = 2 * raw + 10_000_000;
        println!(
            "{:>7} {:>9.1} {:>11.1} {:>9.2} {:>10.2} {:>12.1} {:>10.1} {:>11.1} {:>9.2} {}",
            size,
            mb(raw),
            mb(held),
            held as f64 / raw as f64,
            mb(held) * 1000.0 / size as f64,
            mb(target),
            mb(peak),
            first.as_secs_f64() * 1e3,
            searched.as_secs_f64() * 1e3,
            if held <= target { "ok" } else { "OVER" }
        );
        drop(projection);
    }
    Ok(())
}
