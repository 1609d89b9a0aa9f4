//! Request bodies decoded as Go's `encoding/json` decodes them into dockerd's structs: an
//! object key matches a struct field exactly or, failing that, case-insensitively (docker-py
//! sends `CPURealtimePeriod` for `CpuRealtimePeriod`, others send `image` for `Image`), and
//! when two keys name the same field the last one wins. Unknown keys are ignored, as before.
//!
//! Written by hand because serde has no such mode for types we do not own (bollard-stubs'):
//! this is a `Deserializer` over a parsed `serde_json::Value` that, when a struct is asked for,
//! renames the object's keys to the struct's own field names before handing it on, at every
//! depth.

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

#[derive(Debug, thiserror::Error)]
pub enum GoJsonError {
    #[error("invalid JSON: {0}")]
    Syntax(serde_json::Error),
    #[error("unexpected content after JSON")]
    Trailing,
    #[error("invalid JSON: {0}")]
    Type(serde_json::Error),
}

/// Deserializes `T` from JSON text with Go's key matching; one document, nothing after it.
pub fn from_slice<T: de::DeserializeOwned>(json: &[u8]) -> Result<T, GoJsonError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = <Value as de::Deserialize>::deserialize(&mut de).map_err(GoJsonError::Syntax)?;
    de.end().map_err(|_| GoJsonError::Trailing)?;
    T::deserialize(GoValue(value)).map_err(GoJsonError::Type)
}

/// Deserializes `T` from a parsed value with Go's key matching.
#[cfg(test)]
fn from_value<T: de::DeserializeOwned>(v: serde_json::Value) -> Result<T, GoJsonError> {
    from_slice(v.to_string().as_bytes())
}

/// JSON as parsed, objects in document order (serde_json's map is sorted; the last of two
/// keys naming one field must win by position, as in Go).
enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| E::custom("not a JSON number"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = a.next_element()? {
                    items.push(v);
                }
                Ok(Value::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(e) = a.next_entry()? {
                    entries.push(e);
                }
                Ok(Value::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Value {
    fn into_json(self) -> serde_json::Value {
        match self {
            Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(Value::into_json).collect())
            }
            Value::Object(entries) => serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_json()))
                    .collect(),
            ),
            other => other.scalar(),
        }
    }

    /// A scalar as serde_json's value, to forward to its deserializer.
    fn scalar(self) -> serde_json::Value {
        match self {
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            _ => serde_json::Value::Null,
        }
    }
}

struct GoValue(Value);

/// The object's entries with their keys renamed to `fields` where they match one exactly or
/// case-insensitively; of several entries naming one field, the last.
fn canonical(map: Vec<(String, Value)>, fields: &[&'static str]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::with_capacity(map.len());
    for (key, value) in map {
        let name = if fields.contains(&key.as_str()) {
            key
        } else {
            match fields.iter().find(|f| f.eq_ignore_ascii_case(&key)) {
                Some(f) => (*f).to_string(),
                None => key,
            }
        };
        out.retain(|(k, _)| *k != name);
        out.push((name, value));
    }
    out
}

impl<'de> de::Deserializer<'de> for GoValue {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Null => visitor.visit_unit(),
            other => de::Deserializer::deserialize_any(other.scalar(), visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(canonical(map, fields))),
            other => de::Deserializer::deserialize_struct(other.scalar(), name, fields, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(GoValue(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            // Enums with data come as `{"Variant": ...}`; none of dockerd's bodies has one,
            // but keep serde_json's handling for them.
            Value::Object(entries) => {
                let obj = entries
                    .into_iter()
                    .map(|(k, v)| (k, v.into_json()))
                    .collect();
                de::Deserializer::deserialize_enum(
                    serde_json::Value::Object(obj),
                    name,
                    variants,
                    visitor,
                )
            }
            other => de::Deserializer::deserialize_enum(other.scalar(), name, variants, visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Entries {
    entries: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
}

impl Entries {
    fn new(entries: Vec<(String, Value)>) -> Entries {
        Entries {
            entries: entries.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self.value.take().unwrap_or(Value::Null);
        seed.deserialize(GoValue(value))
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.0.next() {
            Some(v) => seed.deserialize(GoValue(v)).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ContainerCreateBody;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively_at_every_depth() {
        let body: ContainerCreateBody = from_value(json!({
            "image": "busybox",
            "CMD": ["true"],
            "Labels": {"keep": "As-Is"},
            "hostconfig": {
                "CPURealtimePeriod": 1000,
                "memory": 1 << 24,
                "RestartPolicy": {"name": "no"},
                "Mounts": [{"type": "bind", "source": "/a", "target": "/b"}],
            },
            "unknown": 1,
        }))
        .unwrap();
        assert_eq!(body.image.as_deref(), Some("busybox"));
        assert_eq!(body.cmd, Some(vec!["true".to_string()]));
        // Map keys (labels) are data, never renamed.
        assert_eq!(body.labels.unwrap()["keep"], "As-Is");
        let host = body.host_config.unwrap();
        assert_eq!(host.cpu_realtime_period, Some(1000));
        assert_eq!(host.memory, Some(1 << 24));
        let m = &host.mounts.unwrap()[0];
        assert_eq!(m.source.as_deref(), Some("/a"));
        assert_eq!(m.target.as_deref(), Some("/b"));
    }

    #[test]
    fn an_exact_match_wins_and_the_last_duplicate_counts() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct S {
            #[serde(rename = "Name")]
            name: Option<String>,
        }
        let s: S = from_slice(br#"{"name": "a", "Name": "b"}"#).unwrap();
        assert_eq!(s.name.as_deref(), Some("b"));
        let s: S = from_slice(br#"{"Name": "b", "name": "c"}"#).unwrap();
        assert_eq!(s.name.as_deref(), Some("c"));
        let s: S = from_slice(br#"{"name": null}"#).unwrap();
        assert_eq!(s.name, None);
    }

    #[test]
    fn type_errors_still_fail() {
        assert!(from_value::<ContainerCreateBody>(json!({"Image": 5})).is_err());
        assert!(from_value::<ContainerCreateBody>(json!({"Cmd": {"a": 1}})).is_err());
    }
}
