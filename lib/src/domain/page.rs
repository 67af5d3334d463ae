use super::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageParams {
    pub page: u32,
    pub limit: u32,
}

impl Default for PageParams {
    fn default() -> Self {
        Self { page: 1, limit: 20 }
    }
}

impl PageParams {
    pub const MAX_LIMIT: u32 = 100;

    /// Parses `page` (≥1) and `limit` (1-100) from raw query values.
    pub fn parse(problems: &mut Problems, page: Option<&str>, limit: Option<&str>) -> Self {
        let mut params = Self::default();
        if let Some(raw) = page {
            match raw.parse::<u32>() {
                Ok(n) if n >= 1 => params.page = n,
                _ => problems.add("page", "must be a whole number from 1 to 4294967295"),
            }
        }
        if let Some(raw) = limit {
            match raw.parse::<u32>() {
                Ok(n) if (1..=Self::MAX_LIMIT).contains(&n) => params.limit = n,
                _ => problems.add("limit", "must be a whole number from 1 to 100"),
            }
        }
        params
    }

    /// How many items come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
    }

    /// Cuts one page out of an already filtered and sorted list.
    pub fn slice<T>(&self, items: Vec<T>) -> (Vec<T>, PageMeta) {
        let meta = PageMeta::new(*self, items.len() as u64);
        let start = self.offset().min(items.len() as u64) as usize;
        let page = items
            .into_iter()
            .skip(start)
            .take(self.limit as usize)
            .collect();
        (page, meta)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
    pub has_next: bool,
    pub has_prev: bool,
}

impl PageMeta {
    pub fn new(params: PageParams, total: u64) -> Self {
        let total_pages = total.div_ceil(u64::from(params.limit));
        Self {
            page: params.page,
            limit: params.limit,
            total,
            total_pages,
            has_next: u64::from(params.page) < total_pages,
            has_prev: params.page > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_of_pages() {
        let (items, meta) = PageParams { page: 3, limit: 10 }.slice((0..25).collect::<Vec<_>>());
        assert_eq!(items, (20..25).collect::<Vec<_>>());
        assert_eq!(
            (meta.total, meta.total_pages, meta.has_next, meta.has_prev),
            (25, 3, false, true)
        );
        let (items, meta) = PageParams { page: 1, limit: 10 }.slice((0..25).collect::<Vec<_>>());
        assert_eq!(items.len(), 10);
        assert!(meta.has_next && !meta.has_prev);
        let (items, meta) = PageParams { page: 9, limit: 10 }.slice((0..25).collect::<Vec<_>>());
        assert!(items.is_empty() && !meta.has_next && meta.has_prev);
        let (_, meta) = PageParams::default().slice(Vec::<u8>::new());
        assert_eq!((meta.total, meta.total_pages, meta.has_next), (0, 0, false));
    }

    #[test]
    fn bad_values_are_named() {
        let mut problems = Problems::default();
        PageParams::parse(&mut problems, Some("0"), Some("101"));
        let fields: Vec<_> = problems
            .0
            .iter()
            .map(|e| e.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["page", "limit"]);
        let mut problems = Problems::default();
        assert_eq!(
            PageParams::parse(&mut problems, Some("2"), Some("5")),
            PageParams { page: 2, limit: 5 }
        );
        assert!(problems.0.is_empty());
    }
}
