//! A trigram index over folded text, so a substring search visits the documents that can
//! match instead of every document: a text containing a needle contains each of the needle's
//! byte trigrams, so the documents holding all of them are a superset of the matches, which
//! the caller then checks exactly. (UTF-8 never matches inside a character, so byte trigrams
//! are as sound as character trigrams and cost nothing to decode.)

use std::collections::HashMap;

type Trigram = [u8; 3];

fn trigrams(text: &str) -> impl Iterator<Item = Trigram> + '_ {
    text.as_bytes().windows(3).map(|w| [w[0], w[1], w[2]])
}

/// Documents are numbered by the caller, in ascending order of insertion, so every posting
/// list stays sorted without sorting.
#[derive(Debug, Default)]
pub struct TrigramIndex {
    postings: HashMap<Trigram, Vec<u32>>,
    last: Option<u32>,
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
        let mut own: Vec<Trigram> = fields.iter().flat_map(|f| trigrams(f)).collect();
        own.sort_unstable();
        own.dedup();
        for trigram in own {
            self.postings.entry(trigram).or_default().push(doc);
        }
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
                Some(list) => lists.push(list.as_slice()),
                None => return Some(Vec::new()),
            }
        }
        // Shortest first: every intersection is then at most as long as that list.
        lists.sort_unstable_by_key(|list| list.len());
        let mut found = lists[0].to_vec();
        for list in &lists[1..] {
            intersect(&mut found, list);
            if found.is_empty() {
                break;
            }
        }
        Some(found)
    }

    /// The number of distinct trigrams indexed, for tests and memory estimates.
    pub fn trigram_count(&self) -> usize {
        self.postings.len()
    }
}

/// Keeps the items of `found` that are also in `other` (both ascending).
fn intersect(found: &mut Vec<u32>, other: &[u32]) {
    if other.len() > found.len() * 16 {
        // Far longer: look each item up rather than walk the whole list.
        found.retain(|doc| other.binary_search(doc).is_ok());
        return;
    }
    let mut rest = other.iter().peekable();
    found.retain(|doc| {
        while rest.next_if(|o| *o < doc).is_some() {}
        rest.peek().is_some_and(|o| *o == doc)
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
    fn intersections_walk_or_look_up_alike() {
        let long: Vec<u32> = (0..10_000).filter(|n| n % 3 == 0).collect();
        for short in [vec![0, 3, 4, 9, 9_999], (0..2_000).collect::<Vec<u32>>()] {
            let mut found = short.clone();
            intersect(&mut found, &long);
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
