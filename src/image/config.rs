//! The image config blob (OCI image-spec `config`, which Docker's format extends).

use serde::Deserialize;
use serde_json::Value;

/// The fields of an image config that the engine reads. The blob itself is kept verbatim.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfigFile {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub docker_version: Option<String>,
    /// The container defaults (`Cmd`, `Env`, `Labels`, ...), kept as JSON for the API models.
    #[serde(default)]
    pub config: Option<Value>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub typ: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub empty_layer: bool,
}

impl ImageConfigFile {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfigFile, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// `config.Labels`, empty when unset.
    pub fn labels(&self) -> std::collections::HashMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.get("Labels"))
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default()
    }
}

/// A digest "sha256:<64 hex>", checked.
pub fn parse_sha256(d: &str) -> Option<&str> {
    let hex = d.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_config() {
        let c = ImageConfigFile::parse(
            br#"{"architecture":"amd64","os":"linux","config":{"Labels":{"a":"b"}},
                 "rootfs":{"type":"layers","diff_ids":["sha256:00"]}}"#,
        )
        .unwrap();
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert_eq!(c.labels().get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn labels_null_is_empty() {
        let c = ImageConfigFile::parse(br#"{"config":{"Labels":null},"rootfs":{"type":"layers"}}"#)
            .unwrap();
        assert!(c.labels().is_empty());
    }

    #[test]
    fn sha256_check() {
        assert!(parse_sha256(&format!("sha256:{}", "a".repeat(64))).is_some());
        assert!(parse_sha256("sha256:abc").is_none());
        assert!(parse_sha256(&format!("sha512:{}", "a".repeat(64))).is_none());
    }
}
