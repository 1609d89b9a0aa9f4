//! Request extractors that fail the way dockerd fails: JSON `{"message"}` with status 400.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::models::Filters;

/// Largest JSON body accepted (a container create with many env vars is a few KiB).
const JSON_LIMIT: usize = 16 << 20;

/// A JSON body, read as moby's `httputils.ReadJSON`: any JSON content type, an empty body is
/// `None`, trailing content is an error, keys match fields as Go matches them (`gojson`).
pub struct DockerJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for DockerJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            let mime = ct.split(';').next().unwrap_or("").trim();
            if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
                return Err(ApiError::invalid(format!(
                    "unsupported Content-Type header ({ct}): must be 'application/json'"
                )));
            }
        }
        let _ = state;
        let bytes = axum::body::to_bytes(req.into_body(), JSON_LIMIT)
            .await
            .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(DockerJson(None));
        }
        let value =
            super::gojson::from_slice(&bytes).map_err(|e| ApiError::invalid(e.to_string()))?;
        Ok(DockerJson(Some(value)))
    }
}

/// How much of a refused request's body is read (and dropped) before the answer goes out.
const DRAIN_LIMIT: usize = 16 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and drops a request's body, bounded in size and time, before an error answers it: a
/// client still writing its body (the CLI's `docker exec` against an unknown path) then reads
/// the daemon's message instead of failing with `write: broken pipe`.
pub async fn drain(body: axum::body::Body) {
    let _ = tokio::time::timeout(DRAIN_TIME, axum::body::to_bytes(body, DRAIN_LIMIT)).await;
}

/// The raw query string as (key, value) pairs, in order, repeated keys kept.
pub struct Query(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(Query)
            .map_err(|e| ApiError::invalid(format!("invalid query string: {e}")))
    }
}

impl Query {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A resize's `h` and `w` (absent: 0), each a 400 naming it when it is no number.
    pub fn terminal_size(&self) -> Result<(u16, u16), ApiError> {
        let dim = |k: &str| {
            self.get(k)
                .unwrap_or("0")
                .parse()
                .map_err(|_| ApiError::invalid(format!("invalid value for {k}")))
        };
        Ok((dim("h")?, dim("w")?))
    }

    /// moby's `BoolValue`: absent, "", "0", "no", "false" and "none" are false; anything else true.
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            )
        })
    }

    /// The `filters` parameter, parsed.
    pub fn filters(&self) -> Result<Filters, ApiError> {
        Filters::parse(self.get("filters").unwrap_or(""))
            .map_err(|e| ApiError::invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Query {
        Query(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn bool_values_follow_moby() {
        let query = q(&[
            ("a", "1"),
            ("b", "no"),
            ("c", "true"),
            ("d", ""),
            ("e", "none"),
            ("f", "yes"),
        ]);
        assert!(query.bool("a"));
        assert!(!query.bool("b"));
        assert!(query.bool("c"));
        assert!(!query.bool("d"));
        assert!(!query.bool("e"));
        assert!(query.bool("f"));
        assert!(!query.bool("missing"));
    }

    #[test]
    fn repeated_keys() {
        let query = q(&[("names", "a"), ("names", "b")]);
        assert_eq!(query.all("names"), vec!["a", "b"]);
    }
}
