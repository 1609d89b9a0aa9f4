//! The `filters` query parameter: `{"key":{"value":true}}`, or the legacy `{"key":["value"]}`.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    map: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    #[error("invalid filter '{key}={value}'")]
    InvalidValue { key: String, value: String },
    #[error("{0}")]
    Syntax(String),
}

impl Filters {
    /// Parses the JSON form; an empty string means no filters.
    pub fn parse(json: &str) -> Result<Filters, FilterError> {
        if json.trim().is_empty() {
            return Ok(Filters::default());
        }
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| FilterError::Syntax(format!("invalid filter: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| FilterError::Syntax("invalid filter: expected a JSON object".into()))?;
        let mut map = BTreeMap::new();
        for (key, v) in obj {
            let mut set = BTreeSet::new();
            match v {
                serde_json::Value::Object(values) => {
                    for (value, on) in values {
                        if on.as_bool() == Some(true) {
                            set.insert(value.clone());
                        }
                    }
                }
                serde_json::Value::Array(values) => {
                    for value in values {
                        let s = value.as_str().ok_or_else(|| {
                            FilterError::Syntax(format!(
                                "invalid filter: values of {key:?} must be strings"
                            ))
                        })?;
                        set.insert(s.to_string());
                    }
                }
                _ => {
                    return Err(FilterError::Syntax(format!(
                        "invalid filter: values of {key:?} must be an object or an array"
                    )));
                }
            }
            map.insert(key.clone(), set);
        }
        Ok(Filters { map })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Filters {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (k, v) in pairs {
            map.entry(k.to_string()).or_default().insert(v.to_string());
        }
        Filters { map }
    }

    /// Fails on the first key not in `allowed`, with dockerd's message.
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FilterError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(FilterError::UnknownKey(k.clone())),
            None => Ok(()),
        }
    }

    pub fn get(&self, key: &str) -> impl Iterator<Item = &str> {
        self.map.get(key).into_iter().flatten().map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|s| !s.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.map.values().all(BTreeSet::is_empty)
    }

    /// A boolean filter (`dangling=true`): None when absent; an error for a non-boolean value or
    /// when both true and false are given.
    pub fn bool_value(&self, key: &str) -> Result<Option<bool>, FilterError> {
        let mut out = None;
        for v in self.get(key) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(FilterError::InvalidValue {
                        key: key.into(),
                        value: v.into(),
                    });
                }
            };
            if out.is_some_and(|o| o != b) {
                return Err(FilterError::InvalidValue {
                    key: key.into(),
                    value: v.into(),
                });
            }
            out = Some(b);
        }
        Ok(out)
    }

    /// Label filters AND together: `key` requires the key, `key=value` the exact value,
    /// `key!=value` any other value or none.
    pub fn match_labels(
        &self,
        key: &str,
        labels: &std::collections::HashMap<String, String>,
    ) -> bool {
        self.match_kv(key, |k| labels.get(k).map(String::as_str))
    }

    /// [`Filters::match_labels`] over any key-value lookup.
    pub fn match_kv<'a>(&self, key: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.get(key).all(|want| {
            if let Some((k, v)) = want.split_once("!=") {
                return lookup(k) != Some(v);
            }
            match want.split_once('=') {
                Some((k, v)) => lookup(k) == Some(v),
                None => lookup(want).is_some(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parses_both_forms() {
        let a = Filters::parse(r#"{"label":{"a=b":true,"c":true}}"#).unwrap();
        let b = Filters::parse(r#"{"label":["a=b","c"]}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get("label").collect::<Vec<_>>(), vec!["a=b", "c"]);
        assert!(Filters::parse("").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_json_and_unknown_keys() {
        assert!(Filters::parse("{").is_err());
        assert!(Filters::parse(r#"{"label":"x"}"#).is_err());
        let f = Filters::parse(r#"{"bogus":["1"]}"#).unwrap();
        assert_eq!(
            f.validate(&["label"]).unwrap_err().to_string(),
            "invalid filter 'bogus'"
        );
    }

    #[test]
    fn labels_and_together() {
        let f = Filters::from_pairs([("label", "a=b"), ("label", "c")]);
        let mut labels = HashMap::from([("a".to_string(), "b".to_string())]);
        assert!(!f.match_labels("label", &labels));
        labels.insert("c".into(), "".into());
        assert!(f.match_labels("label", &labels));
        labels.insert("a".into(), "x".into());
        assert!(!f.match_labels("label", &labels));
    }

    #[test]
    fn bool_values() {
        assert_eq!(
            Filters::from_pairs([("dangling", "true")]).bool_value("dangling"),
            Ok(Some(true))
        );
        assert_eq!(Filters::default().bool_value("dangling"), Ok(None));
        assert!(
            Filters::from_pairs([("dangling", "maybe")])
                .bool_value("dangling")
                .is_err()
        );
        assert!(
            Filters::from_pairs([("dangling", "true"), ("dangling", "false")])
                .bool_value("dangling")
                .is_err()
        );
    }
}
