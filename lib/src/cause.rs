//! An error's cause kept whole, shareable by the layers that carry it (store, cache, HTTP).

/// What lies under a 500 or a 503: the original error, kept whole (with its own sources) for the
/// one log line the finalize layer writes; never sent to a client. Shared (`Arc`) because store
/// and HTTP errors are cloned (retries, extensions).
#[derive(Debug, Clone)]
pub struct Cause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// The cause and its sources, outermost first: "a: b: c".
    pub fn chain(&self) -> String {
        Chain(&*self.0).to_string()
    }

    /// The original error (whose `source()` leads on down the chain).
    pub fn error(&self) -> &(dyn std::error::Error + 'static) {
        &*self.0
    }
}

/// Displays an error with its sources, outermost first ("a: b: c"): what a log line needs,
/// since an error's own `Display` leaves its sources out.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(source) = next {
            write!(f, ": {source}")?;
            next = source.source();
        }
        Ok(())
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// For `strum::EnumIter`, which fills fields with defaults.
impl Default for Cause {
    fn default() -> Self {
        Self::new("unspecified")
    }
}

impl Cause {
    /// An error (kept with its sources) or a sentence.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(std::sync::Arc::from(error.into()))
    }
}

/// Two causes are the same when they read the same, sources included (the store suites compare
/// results).
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.chain() == other.chain()
    }
}

impl Eq for Cause {}

impl From<&str> for Cause {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for Cause {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_source_and_equality_reads_it() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(Chain(&Outer(io())).to_string(), "outer: refused");
        let cause = Cause::new(Outer(io()));
        assert_eq!(cause.to_string(), "outer");
        assert_eq!(cause.chain(), "outer: refused");
        assert_eq!(cause, Cause::new(Outer(io())));
        assert_ne!(cause, Cause::new("outer"));
    }
}
