//! A trigram index over folded text, so a substring search visits the documents that can
//! match instead of every document: a text containing a needle contains each of the needle's
//! byte trigrams, so the documents holding all of them are a superset of the matches, which
//! the caller then checks exactly. (UTF-8 never matches inside a character, so byte trigrams
//! are as sound as character trigrams and cost nothing to decode.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Three bytes in the low 24 bits of a `u32`: numbers sort and hash faster than arrays, and a
/// load indexes every trigram of every description.
type Trigram = u32;

fn trigrams(text: &str) -> impl Iterator<Item = Trigram> + '_ {
    text.as_bytes()
        .windows(3)
        .map(|w| u32::from_be_bytes([0, w[0], w[1], w[2]]))
}

/// Trigram keys are small numbers chosen by text, not by an attacker's hash-flooding (a
/// document adds each trigram once, whatever its text): a multiply spreads them enough.
#[derive(Default)]
struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Documents are numbered by the caller, in ascending order of insertion, so every posting
/// list stays sorted without sorting — and can be kept as gaps: each list is the gaps between
/// its documents as LEB128 varints, a byte for most (a common trigram's documents are close
/// together) where a `u32` takes four. The index is most of a catalog projection's memory
/// beyond the text itself, so it is kept this small.
#[derive(Debug, Default)]
pub struct TrigramIndex {
    postings: HashMap<Trigram, Postings, BuildHasherDefault<TrigramHasher>>,
    last: Option<u32>,
    seen: Option<Box<[u64]>>,
}

/// One trigram's documents, ascending, as varint gaps.
#[derive(Debug, Default)]
struct Postings {
    gaps: Vec<u8>,
    last: u32,
    len: u32,
}

impl Postings {
    fn push(&mut self, doc: u32) {
        let mut gap = if self.len == 0 { doc } else { doc - self.last };
        // Grown by an eighth, not doubled: a list's spare room stays small, and the lists a
        // late document extends do not all double at once.
        if self.gaps.capacity() - self.gaps.len() < 5 {
            self.gaps.reserve_exact((self.gaps.len() / 8).max(8));
        }
        loop {
            let byte = (gap & 0x7f) as u8;
            gap >>= 7;
            if gap == 0 {
                self.gaps.push(byte);
                break;
            }
            self.gaps.push(byte | 0x80);
        }
        self.last = doc;
        self.len += 1;
    }

    fn docs(&self) -> impl Iterator<Item = u32> + '_ {
        let mut bytes = self.gaps.iter();
        let mut doc: Option<u32> = None;
        std::iter::from_fn(move || {
            let mut gap = 0u32;
            let mut shift = 0;
            loop {
                let byte = *bytes.next()?;
                gap |= u32::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
            let next = doc.map_or(gap, |d| d + gap);
            doc = Some(next);
            Some(next)
        })
    }

    fn shrink(&mut self) {
        self.gaps.shrink_to_fit();
    }
}

impl TrigramIndex {
    /// Indexes document `doc` as the union of `fields`' trigrams (none spanning two fields).
    ///
    /// # Panics
    /// When `doc` is not above every document inserted before: the postings would lose their
    /// order, and with it every intersection.
    pub fn insert(&mut self, doc: u32, fields: &[&str]) {
        assert!(
            self.last.is_none_or(|last| doc > last),
            "documents are inserted in ascending order"
        );
        self.last = Some(doc);
        // Each trigram once per document: a bit per possible trigram (2 MiB, kept for the next
        // document) finds repeats faster than sorting the document's trigrams.
        let seen = self
            .seen
            .get_or_insert_with(|| vec![0; 1 << 18].into_boxed_slice());
        let mut own = Vec::new();
        for trigram in fields.iter().flat_map(|f| trigrams(f)) {
            let (word, bit) = ((trigram >> 6) as usize, 1u64 << (trigram & 63));
            if seen[word] & bit == 0 {
                seen[word] |= bit;
                own.push(trigram);
            }
        }
        for &trigram in &own {
            seen[(trigram >> 6) as usize] = 0;
            self.postings.entry(trigram).or_default().push(doc);
        }
    }

    /// Gives back the lists' spare room, after many documents went in at once.
    pub fn shrink(&mut self) {
        self.postings.values_mut().for_each(Postings::shrink);
        self.postings.shrink_to_fit();
    }

    /// The documents that may contain every needle (all of their trigrams present), in
    /// ascending order; `None` when no needle is long enough to have a trigram, so the index
    /// cannot narrow anything and every document is a candidate.
    pub fn candidates(&self, needles: &[&str]) -> Option<Vec<u32>> {
        let mut wanted: Vec<Trigram> = needles.iter().flat_map(|n| trigrams(n)).collect();
        if wanted.is_empty() {
            return None;
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut lists = Vec::with_capacity(wanted.len());
        for trigram in &wanted {
            match self.postings.get(trigram) {
                Some(list) => lists.push(list),
                None => return Some(Vec::new()),
            }
        }
        // Shortest first: every intersection is then at most as long as that list.
        lists.sort_unstable_by_key(|list| list.len);
        let mut found: Vec<u32> = lists[0].docs().collect();
        for list in &lists[1..] {
            intersect(&mut found, list.docs());
            if found.is_empty() {
                break;
            }
        }
        Some(found)
    }
}

/// Keeps the items of `found` that are also in `other` (both ascending).
fn intersect(found: &mut Vec<u32>, other: impl Iterator<Item = u32>) {
    let mut rest = other.peekable();
    found.retain(|doc| {
        while rest.next_if(|o| o < doc).is_some() {}
        rest.peek().is_some_and(|o| o == doc)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(docs: &[&[&str]]) -> TrigramIndex {
        let mut index = TrigramIndex::default();
        for (doc, fields) in docs.iter().enumerate() {
            index.insert(doc as u32, fields);
        }
        index
    }

    #[test]
    fn candidates_hold_every_document_containing_the_needles() {
        let docs: &[&[&str]] = &[
            &["rock night", "loud", "the hall"],
            &["jazz", "quiet evening", "club"],
            &["hall of fame", "", "arena"],
            &["ballet", "all night long", "stadium"],
            &["ünïcode façade", "", "hall"],
        ];
        let index = index(docs);
        for needle in [
            "hall", "all", "night", "jazz", "ni", "e", "façade", "ünï", "zzz", "llama", "t l",
        ] {
            let exact: Vec<u32> = docs
                .iter()
                .enumerate()
                .filter(|(_, fields)| fields.iter().any(|f| f.contains(needle)))
                .map(|(doc, _)| doc as u32)
                .collect();
            match index.candidates(&[needle]) {
                // Sound: every match is a candidate, and the list is ascending.
                Some(found) => {
                    assert!(
                        exact.iter().all(|d| found.contains(d)),
                        "{needle}: {found:?}"
                    );
                    assert!(found.windows(2).all(|w| w[0] < w[1]), "{needle}: {found:?}");
                }
                None => assert!(needle.len() < 3, "{needle} has a trigram"),
            }
        }
        // Narrowing: a needle found nowhere has no candidates, a rare one few.
        assert_eq!(index.candidates(&["zzz"]), Some(vec![]));
        assert_eq!(index.candidates(&["jazz"]), Some(vec![1]));
        assert_eq!(index.candidates(&["hall"]), Some(vec![0, 2, 4]));
        // Several needles: the documents that may contain all of them.
        assert_eq!(index.candidates(&["hall", "rock"]), Some(vec![0]));
        // Trigrams never span two fields: "t l" appears only inside one field.
        assert_eq!(index.candidates(&["ght lo"]), Some(vec![3]));
        assert_eq!(index.candidates(&["ghtlo"]), Some(vec![]));
    }

    #[test]
    fn postings_give_back_every_document_whatever_its_gap() {
        // Gaps of one byte up to the five a u32 can take, from document 0 on.
        let docs = [0, 1, 2, 130, 131, 20_000, 2_100_000, 300_000_000, u32::MAX];
        let mut list = Postings::default();
        for doc in docs {
            list.push(doc);
        }
        assert_eq!(list.docs().collect::<Vec<_>>(), docs);
        assert_eq!(list.len as usize, docs.len());
        // One byte per document where they are close together.
        let mut dense = Postings::default();
        (0..1_000).for_each(|doc| dense.push(doc));
        dense.shrink();
        assert_eq!(dense.gaps.len(), 1_000);
        assert!(dense.gaps.capacity() < 1_010);
    }

    #[test]
    fn intersections_keep_what_both_hold() {
        let long: Vec<u32> = (0..10_000).filter(|n| n % 3 == 0).collect();
        for short in [vec![0, 3, 4, 9, 9_999], (0..2_000).collect::<Vec<u32>>()] {
            let mut found = short.clone();
            intersect(&mut found, long.iter().copied());
            let exact: Vec<u32> = short.into_iter().filter(|n| n % 3 == 0).collect();
            assert_eq!(found, exact);
        }
    }

    #[test]
    #[should_panic(expected = "ascending")]
    fn documents_out_of_order_are_refused() {
        let mut index = TrigramIndex::default();
        index.insert(2, &["abc"]);
        index.insert(1, &["abd"]);
    }
}
