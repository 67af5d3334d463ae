//! The web app, served from the API's origin by the local server (in AWS, CloudFront does this):
//! the build's files, and the app's `index.html` for browser navigations outside `/api` and
//! `/health`, as CONTRACT.md's Conventions say. Everything else keeps the JSON 404.

use crate::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The app's own policy: its scripts, styles and API calls come from this origin and nothing else.
pub const APP_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Where Stripe's own Stripe.js talks to and frames besides the origin it is loaded from, as
/// Stripe's CSP guidance lists them; a stand-in (localstripe) serves everything from one origin.
const STRIPE_JS_ORIGIN: &str = "https://js.stripe.com";
const STRIPE_API_ORIGIN: &str = "https://api.stripe.com";
const STRIPE_HOOKS_ORIGIN: &str = "https://hooks.stripe.com";

/// The app's policy when it loads Stripe.js from `js_url` (`None`: payments off): the
/// Stripe.js origin is allowed for scripts, frames and connections, and nothing else is.
pub fn app_content_security_policy(js_url: Option<&str>) -> String {
    let Some(origin) = js_url.and_then(origin_of) else {
        return APP_CONTENT_SECURITY_POLICY.to_owned();
    };
    let (connect, frames) = if origin == STRIPE_JS_ORIGIN {
        (
            format!("{origin} {STRIPE_API_ORIGIN}"),
            format!("{origin} {STRIPE_HOOKS_ORIGIN}"),
        )
    } else {
        (origin.clone(), origin.clone())
    };
    format!(
        "default-src 'self'; script-src 'self' {origin}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self' {connect}; \
         frame-src {frames}; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an absolute http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then(|| format!("{scheme}://{authority}"))
}

/// Vite names these files after their content, so a browser may keep them for good.
/// The API reference (Swagger UI over `openapi.yaml`, built by the web app's build as its own
/// page): served at this path beside the API it describes.
pub const API_REFERENCE_PATH: &str = "/api/docs";
const API_REFERENCE_PAGE: &str = "api-docs.html";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` and other unhashed files: revalidated on every use, so a deploy shows at once.
const REVALIDATE: &str = "no-cache";

/// A built web app (`web/dist`).
#[derive(Clone)]
pub struct Site {
    dir: Arc<Path>,
    policy: HeaderValue,
}

impl Site {
    /// Opens a build directory; fails when it holds no `index.html` (the app is not built).
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir: PathBuf = dir.into();
        std::fs::metadata(dir.join("index.html"))?;
        Ok(Self {
            dir: dir.into(),
            policy: HeaderValue::from_static(APP_CONTENT_SECURITY_POLICY),
        })
    }

    /// The app loads Stripe.js from `js_url`: its pages' policy allows that origin.
    pub fn with_stripe_js(mut self, js_url: &str) -> Self {
        let policy = app_content_security_policy(Some(js_url));
        // Built from a URL the configuration already checked; a value a header cannot carry
        // keeps the stricter policy (the checkout then fails visibly, not silently open).
        if let Ok(value) = HeaderValue::from_str(&policy) {
            self.policy = value;
        }
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Answers a request no API route matched.
    pub async fn serve(&self, req: Request) -> Response {
        // A GET's body means nothing here: only the head is kept.
        let (head, _) = req.into_parts();
        let path = head.uri.path();
        let under_api = ["/api", "/health"]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")));
        let readable = matches!(head.method, Method::GET | Method::HEAD);
        let head_only = head.method == Method::HEAD;
        if path == API_REFERENCE_PATH && readable {
            return self.page(API_REFERENCE_PAGE, head_only).await;
        }
        if under_api || !readable {
            return AppError::NotFound.into_response();
        }
        let html = names_html(&head.headers);
        if path != "/" && !path.ends_with('/') && !path.ends_with("/index.html") {
            if let Some(file) = self.file(head).await {
                return file;
            }
        }
        if html {
            return self.page("index.html", head_only).await;
        }
        AppError::NotFound.into_response()
    }

    /// A file of the build, with its cache policy; `None` when there is no such file.
    async fn file(&self, head: axum::http::request::Parts) -> Option<Response> {
        let cache = if head.uri.path().starts_with("/assets/") {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let response = ServeDir::new(&*self.dir)
            .append_index_html_on_directories(false)
            .oneshot(Request::from_parts(head, Body::empty()))
            .await
            .ok()?;
        if !(response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED) {
            return None;
        }
        let mut response = response.map(Body::new);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        Some(response)
    }

    /// Read on each navigation (it is small), so a rebuild of the app needs no restart.
    /// One of the build's HTML documents: revalidated on every visit, with the app's CSP.
    async fn page(&self, name: &str, head_only: bool) -> Response {
        let Ok(index) = tokio::fs::read(self.dir.join(name)).await else {
            return AppError::NotFound.into_response();
        };
        let body = if head_only {
            Body::empty()
        } else {
            Body::from(index)
        };
        (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE)),
                (header::CONTENT_SECURITY_POLICY, self.policy.clone()),
            ],
            body,
        )
            .into_response()
    }
}

/// A browser navigation: the `Accept` header names `text/html` (not merely `*/*`).
fn names_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html"))
        })
}

#[cfg(test)]
mod tests {
    use super::{app_content_security_policy, names_html, APP_CONTENT_SECURITY_POLICY};
    use axum::http::{header, HeaderMap, HeaderValue};

    fn accept(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn only_html_accepts_are_navigations() {
        assert!(names_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(names_html(&accept("TEXT/HTML; q=0.5")));
        assert!(!names_html(&accept("*/*")));
        assert!(!names_html(&accept("application/json")));
        assert!(!names_html(&accept("text/htmlx")));
        assert!(!names_html(&HeaderMap::new()));
    }

    /// Each directive of a policy, by name.
    fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
            .map(|rest| rest.split_whitespace().collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_stripe_js_origin_and_no_other_is_allowed() {
        assert_eq!(
            app_content_security_policy(None),
            APP_CONTENT_SECURITY_POLICY
        );
        let local = app_content_security_policy(Some("http://127.0.0.1:8420/js.stripe.com/v3/"));
        for name in ["script-src", "connect-src"] {
            assert_eq!(
                directive(&local, name),
                ["'self'", "http://127.0.0.1:8420"],
                "{name}"
            );
        }
        assert_eq!(directive(&local, "frame-src"), ["http://127.0.0.1:8420"]);
        assert_eq!(directive(&local, "default-src"), ["'self'"]);
        // Stripe's own Stripe.js also calls its API and frames 3-D Secure pages.
        let stripe = app_content_security_policy(Some("https://js.stripe.com/v3/"));
        assert_eq!(
            directive(&stripe, "script-src"),
            ["'self'", "https://js.stripe.com"]
        );
        assert_eq!(
            directive(&stripe, "connect-src"),
            ["'self'", "https://js.stripe.com", "https://api.stripe.com"]
        );
        assert_eq!(
            directive(&stripe, "frame-src"),
            ["https://js.stripe.com", "https://hooks.stripe.com"]
        );
        // Not a URL a browser could load a script from: payments' policy is not widened.
        for bad in [
            "javascript:alert(1)",
            "https://",
            "https://a@b/",
            "/js.stripe.com/v3/",
        ] {
            assert_eq!(
                app_content_security_policy(Some(bad)),
                APP_CONTENT_SECURITY_POLICY
            );
        }
    }
}
