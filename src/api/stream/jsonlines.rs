//! JSON-lines progress streams (`{"stream": ...}`, `{"status": ...}`, `{"error": ...}`), one
//! record per line, as `docker load`, `pull` and `build` read them.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Serialize;

/// Encodes records as newline-terminated JSON.
pub fn encode<T: Serialize>(records: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        if serde_json::to_writer(&mut out, r).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// A complete stream sent at once, with dockerd's content type.
pub fn response<T: Serialize>(records: &[T]) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(encode(records)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_record_per_line() {
        let out = super::encode(&[
            serde_json::json!({"stream": "a\n"}),
            serde_json::json!({"stream": "b"}),
        ]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"stream\":\"a\\n\"}\n{\"stream\":\"b\"}\n"
        );
    }
}
