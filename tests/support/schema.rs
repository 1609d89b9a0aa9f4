//! A small, self-contained validator for JSON responses against the Docker
//! Engine API spec (Swagger 2.0, `api-spec/v1.53.yaml`).
//!
//! Test support code: include it from an integration test with
//! `#[path = "support/schema.rs"] mod schema;`. It depends only on `std`,
//! `serde_json` and `serde_yaml_ng`.
//!
//! Supported schema keywords (everything the v1.53 spec uses for response
//! bodies): `$ref` (`#/definitions/X`), `type` (object, array, string,
//! integer, number, boolean), `properties`, `required`, `items`,
//! `additionalProperties` (schema or bool), `allOf`, `x-nullable`, `enum`
//! (compared as JSON values), `format` for integers (`int`, `int8`..`int64`,
//! `uint8`..`uint64`: the value must be integral and in range) and for
//! strings (`date-time` / `dateTime`: RFC 3339), `minimum`, `maximum`,
//! `minItems`, `maxItems`, `minLength` and `maxLength`. `pattern` and the
//! other string formats (`ip-address`, `cidr`, `uri`, `binary`) are ignored.
//!
//! A `required` name that the schema does not declare as a property is not
//! enforced: that is a spec bug (v1.53 requires `UnpackedSize` in
//! `ImageManifestSummary.ImageData`, whose property is `Size.Unpacked`).
//!
//! Unknown properties are allowed (dockerd sends fields the spec does not
//! list) unless a schema says `additionalProperties: false`.
//!
//! Nulls: by default (lenient) JSON `null` is accepted as the value of any
//! object property or map entry, because dockerd itself sends `null` for
//! fields that are not `x-nullable` (Go nil slices and maps). With
//! [`Spec::strict_nulls`]`(true)` null is only accepted where the schema (or
//! the definition it refers to) says `x-nullable: true`. A null document root
//! or array element always needs `x-nullable: true`.
//!
//! Every violation is reported as `<JSON pointer>: <message>`, e.g.
//! `/RepoTags: expected array, got null` or
//! `/: missing required property "Id"`.

#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Deeper than any real document; guards against `$ref` cycles in a
/// malformed spec.
const MAX_DEPTH: usize = 256;

/// A parsed Swagger 2.0 spec. Cheap to clone (the document is shared).
#[derive(Clone, Debug)]
pub struct Spec {
    doc: Arc<Value>,
    strict_nulls: bool,
}

impl Spec {
    /// Load and parse a Swagger 2.0 YAML (or JSON) spec. Panics with a clear
    /// message if the file cannot be read or is not a Swagger 2.0 document.
    pub fn load(path: &Path) -> Spec {
        Spec {
            doc: Arc::new(parse_spec_file(path)),
            strict_nulls: false,
        }
    }

    /// The project's spec, `api-spec/v1.53.yaml` under `CARGO_MANIFEST_DIR`,
    /// parsed once per test binary.
    pub fn load_default() -> Spec {
        static DOC: OnceLock<Arc<Value>> = OnceLock::new();
        let doc = DOC.get_or_init(|| Arc::new(parse_spec_file(&Self::default_path())));
        Spec {
            doc: Arc::clone(doc),
            strict_nulls: false,
        }
    }

    /// Path of the default spec file.
    pub fn default_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("api-spec/v1.53.yaml")
    }

    /// Builder: with `true`, JSON null is only accepted where the schema says
    /// `x-nullable: true`; with `false` (the default) null is accepted for
    /// any object property or map value.
    pub fn strict_nulls(mut self, strict: bool) -> Spec {
        self.strict_nulls = strict;
        self
    }

    /// Validate `body` against the schema of the response `status` of
    /// operation `method` `path_template` (e.g. `"GET"`,
    /// `"/images/{name}/json"`, `200`). Returns all violations, each prefixed
    /// with a JSON pointer. A response the spec documents without a schema
    /// accepts any body.
    pub fn validate_response(
        &self,
        method: &str,
        path_template: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let method_key = method.to_ascii_lowercase();
        let Some(op) = self
            .doc
            .get("paths")
            .and_then(|p| p.get(path_template))
            .and_then(|p| p.get(&method_key))
        else {
            return Err(vec![format!(
                "no operation {} {path_template} in the spec",
                method.to_ascii_uppercase()
            )]);
        };
        let responses = op.get("responses").and_then(Value::as_object);
        let response =
            responses.and_then(|r| r.get(&status.to_string()).or_else(|| r.get("default")));
        let Some(response) = response else {
            let documented: Vec<&str> = responses
                .map(|r| r.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(vec![format!(
                "status {status} is not documented for {} {path_template} (documented: {})",
                method.to_ascii_uppercase(),
                documented.join(", ")
            )]);
        };
        match response.get("schema") {
            None => Ok(()),
            Some(schema) => self.run(schema, body),
        }
    }

    /// Validate `body` against a named definition, e.g. `"ImageInspect"`.
    pub fn validate_definition(&self, name: &str, body: &Value) -> Result<(), Vec<String>> {
        match self.doc.get("definitions").and_then(|d| d.get(name)) {
            Some(schema) => self.run(schema, body),
            None => Err(vec![format!("no definition {name:?} in the spec")]),
        }
    }

    /// All `(METHOD, path template)` pairs in the spec, sorted by path, then
    /// method. Methods are upper case.
    pub fn operations(&self) -> Vec<(String, String)> {
        const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
        let mut ops = Vec::new();
        if let Some(paths) = self.doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some(item) = item.as_object() else {
                    continue;
                };
                for method in item.keys() {
                    if METHODS.contains(&method.as_str()) {
                        ops.push((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
        ops.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        ops
    }

    fn run(&self, schema: &Value, body: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        self.check(schema, body, "", None, 0, &mut errors);
        // allOf members can report the same problem twice.
        let mut seen = BTreeSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/definitions/")?;
        self.doc.get("definitions")?.get(name)
    }

    /// Whether `schema`, the definition it refers to, or one of its `allOf`
    /// members says `x-nullable: true`.
    fn is_nullable(&self, schema: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        if schema.get("x-nullable").and_then(Value::as_bool) == Some(true) {
            return true;
        }
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            return self.is_nullable(target, depth + 1);
        }
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|members| members.iter().any(|m| self.is_nullable(m, depth + 1)))
    }

    /// Names of the properties declared by `schema` and (through `$ref` and
    /// `allOf`) everything it is composed of.
    fn collect_properties(&self, schema: &Value, depth: usize, out: &mut BTreeSet<String>) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(target) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
        {
            self.collect_properties(target, depth + 1, out);
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
            for m in members {
                self.collect_properties(m, depth + 1, out);
            }
        }
    }

    /// Validate the value of an object property or map entry, where lenient
    /// mode accepts null.
    fn check_member(
        &self,
        schema: &Value,
        value: &Value,
        ptr: &str,
        depth: usize,
        errors: &mut Vec<String>,
    ) {
        if value.is_null() && !self.strict_nulls {
            return;
        }
        self.check(schema, value, ptr, None, depth, errors);
    }

    /// `known`: property names declared by sibling `allOf` members, which an
    /// `additionalProperties` schema of this member must not claim.
    fn check(
        &self,
        schema: &Value,
        value: &Value,
        ptr: &str,
        known: Option<&BTreeSet<String>>,
        depth: usize,
        errors: &mut Vec<String>,
    ) {
        let at = if ptr.is_empty() { "/" } else { ptr };
        if depth > MAX_DEPTH {
            errors.push(format!(
                "{at}: schema nesting deeper than {MAX_DEPTH} (a $ref cycle?)"
            ));
            return;
        }
        let Some(schema_obj) = schema.as_object() else {
            // `true`/`{}`-like schemas: anything goes.
            return;
        };
        if value.is_null() && self.is_nullable(schema, depth) {
            return;
        }

        if let Some(reference) = schema_obj.get("$ref").and_then(Value::as_str) {
            // Swagger 2.0: siblings of `$ref` are ignored (x-nullable was
            // handled above).
            match self.resolve(reference) {
                Some(target) => self.check(target, value, ptr, known, depth + 1, errors),
                None => errors.push(format!("{at}: unresolvable $ref {reference:?}")),
            }
            return;
        }

        let mut all_known: Option<BTreeSet<String>> = None;
        if let Some(members) = schema_obj.get("allOf").and_then(Value::as_array) {
            let mut names = known.cloned().unwrap_or_default();
            self.collect_properties(schema, depth, &mut names);
            for member in members {
                self.check(member, value, ptr, Some(&names), depth + 1, errors);
            }
            all_known = Some(names);
        }
        let known = all_known.as_ref().or(known);

        if let Some(ty) = schema_obj.get("type") {
            let ok = match ty {
                Value::String(t) => type_matches(t, value),
                Value::Array(ts) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| type_matches(t, value)),
                _ => true,
            };
            if !ok {
                let expected = match ty {
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" or "),
                    other => other.as_str().unwrap_or("?").to_string(),
                };
                errors.push(format!(
                    "{at}: expected {expected}, got {}",
                    json_type(value)
                ));
                return;
            }
        }

        if let Some(options) = schema_obj.get("enum").and_then(Value::as_array)
            && !options.iter().any(|o| json_eq(o, value))
        {
            let listed: Vec<String> = options.iter().map(Value::to_string).collect();
            errors.push(format!(
                "{at}: {value} is not one of [{}]",
                listed.join(", ")
            ));
        }

        match value {
            Value::Object(map) => self.check_object(schema_obj, map, ptr, known, depth, errors),
            Value::Array(items) => {
                if let Some(min) = schema_obj.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    errors.push(format!(
                        "{at}: expected at least {min} items, got {}",
                        items.len()
                    ));
                }
                if let Some(max) = schema_obj.get("maxItems").and_then(Value::as_u64)
                    && (items.len() as u64) > max
                {
                    errors.push(format!(
                        "{at}: expected at most {max} items, got {}",
                        items.len()
                    ));
                }
                if let Some(item_schema) = schema_obj.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(
                            item_schema,
                            item,
                            &format!("{ptr}/{i}"),
                            None,
                            depth + 1,
                            errors,
                        );
                    }
                }
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = schema_obj.get("minLength").and_then(Value::as_u64)
                    && len < min
                {
                    errors.push(format!(
                        "{at}: string shorter than {min} characters: {value}"
                    ));
                }
                if let Some(max) = schema_obj.get("maxLength").and_then(Value::as_u64)
                    && len > max
                {
                    errors.push(format!(
                        "{at}: string longer than {max} characters: {value}"
                    ));
                }
                let is_string_type =
                    schema_obj.get("type").and_then(Value::as_str) == Some("string");
                if let Some(format) = schema_obj.get("format").and_then(Value::as_str)
                    && is_string_type
                    && matches!(format, "date-time" | "dateTime")
                    && !is_rfc3339(s)
                {
                    errors.push(format!("{at}: {value} is not an RFC 3339 date-time"));
                }
            }
            Value::Number(n) => {
                let is_integer_type =
                    schema_obj.get("type").and_then(Value::as_str) == Some("integer");
                if let Some(format) = schema_obj.get("format").and_then(Value::as_str)
                    && is_integer_type
                    && let Some((lo, hi)) = integer_format_range(format)
                {
                    let in_range = match (n.as_i64(), n.as_u64()) {
                        (Some(i), _) => i128::from(i) >= lo && i128::from(i) <= hi,
                        (None, Some(u)) => i128::from(u) >= lo && i128::from(u) <= hi,
                        (None, None) => false,
                    };
                    if !in_range {
                        errors.push(format!("{at}: {n} is out of range for format {format}"));
                    }
                }
                if let Some(v) = n.as_f64() {
                    if let Some(min) = schema_obj.get("minimum").and_then(Value::as_f64)
                        && v < min
                    {
                        errors.push(format!("{at}: {n} is less than the minimum {min}"));
                    }
                    if let Some(max) = schema_obj.get("maximum").and_then(Value::as_f64)
                        && v > max
                    {
                        errors.push(format!("{at}: {n} is greater than the maximum {max}"));
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    fn check_object(
        &self,
        schema: &serde_json::Map<String, Value>,
        map: &serde_json::Map<String, Value>,
        ptr: &str,
        known: Option<&BTreeSet<String>>,
        depth: usize,
        errors: &mut Vec<String>,
    ) {
        let at = if ptr.is_empty() { "/" } else { ptr };
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                // A required name the schema does not declare is a spec bug
                // (v1.53: `UnpackedSize` in ImageManifestSummary.ImageData,
                // whose property is `Size.Unpacked`): not enforced.
                let declared = properties.is_some_and(|p| p.contains_key(name))
                    || known.is_some_and(|k| k.contains(name));
                if declared && !map.contains_key(name) {
                    errors.push(format!("{at}: missing required property {name:?}"));
                }
            }
        }
        let additional = schema.get("additionalProperties");
        for (key, member) in map {
            let child = format!("{ptr}/{}", escape_pointer(key));
            if let Some(prop_schema) = properties.and_then(|p| p.get(key)) {
                self.check_member(prop_schema, member, &child, depth + 1, errors);
            } else if known.is_some_and(|k| k.contains(key)) {
                // Declared (and validated) by a sibling allOf member.
            } else {
                match additional {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{at}: unexpected property {key:?}"));
                    }
                    Some(s @ Value::Object(_)) => {
                        self.check_member(s, member, &child, depth + 1, errors)
                    }
                    _ => {}
                }
            }
        }
    }
}

fn parse_spec_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read API spec {}: {e}", path.display()));
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse API spec {} as YAML: {e}", path.display()));
    let doc = yaml_to_json(yaml)
        .unwrap_or_else(|e| panic!("cannot convert API spec {}: {e}", path.display()));
    if doc.get("swagger").and_then(Value::as_str) != Some("2.0") {
        panic!(
            "API spec {} is not a Swagger 2.0 document (no `swagger: \"2.0\"`)",
            path.display()
        );
    }
    for section in ["paths", "definitions"] {
        if !doc.get(section).is_some_and(Value::is_object) {
            panic!("API spec {} has no `{section}` mapping", path.display());
        }
    }
    doc
}

/// Convert parsed YAML to JSON. Scalar mapping keys (the spec's status codes
/// are YAML integers) become strings.
fn yaml_to_json(yaml: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Value::Number(
                    serde_json::Number::from_f64(f)
                        .ok_or_else(|| format!("non-finite number {n}"))?,
                )
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(
            seq.into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = serde_json::Map::new();
            for (k, v) in mapping {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        // Go's encoding/json refuses 1.0 for an integer field, so only
        // numbers written without fraction or exponent count.
        "integer" => value.is_i64() || value.is_u64(),
        "null" => value.is_null(),
        // `file` and unknown types: not checked.
        _ => true,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn integer_format_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i128::from(i8::MIN), i128::from(i8::MAX)),
        "int16" => (i128::from(i16::MIN), i128::from(i16::MAX)),
        "int32" => (i128::from(i32::MIN), i128::from(i32::MAX)),
        "int64" | "int" => (i128::from(i64::MIN), i128::from(i64::MAX)),
        "uint8" => (0, i128::from(u8::MAX)),
        "uint16" => (0, i128::from(u16::MAX)),
        "uint32" => (0, i128::from(u32::MAX)),
        "uint64" | "uint" => (0, i128::from(u64::MAX)),
        _ => return None,
    })
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, options: &[u8]| b.get(i).is_some_and(|c| options.contains(c));
    let date_time_ok = (|| {
        digits(0..4)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        let hour = digits(11..13)?;
        let minute = digits(14..16)?;
        let second = digits(17..19)?;
        let ok = sep(4, b"-")
            && sep(7, b"-")
            && sep(10, b"Tt")
            && sep(13, b":")
            && sep(16, b":")
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour <= 23
            && minute <= 59
            && second <= 60;
        ok.then_some(())
    })()
    .is_some();
    if !date_time_ok {
        return false;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digits(i + 1..i + 3).is_some_and(|h| h <= 23)
                && sep(i + 3, b":")
                && digits(i + 4..i + 6).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// RFC 6901 escaping of one JSON pointer segment.
fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
