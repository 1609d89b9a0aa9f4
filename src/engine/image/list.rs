//! `docker images`.

use std::collections::HashMap;

use crate::engine::{Engine, Error, Result};
use crate::image::{ImageConfigFile, Reference};
use crate::models::{Filters, ImageSummary};
use crate::util::time::parse_rfc3339;

const FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];

impl Engine {
    pub async fn list_images(&self, all: bool, filters: &Filters) -> Result<Vec<ImageSummary>> {
        let _ = all; // Without a builder there are no intermediate images to hide.
        filters
            .validate(FILTERS)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let dangling = filters
            .bool_value("dangling")
            .map_err(|e| Error::invalid(e.to_string()))?;
        let before = self.time_bound(filters, "before").await?;
        let since = self.time_bound(filters, "since").await?;
        let until = match filters.get("until").next() {
            Some(v) => Some(parse_until(v)?),
            None => None,
        };
        let patterns: Vec<&str> = filters.get("reference").collect();

        let mut refs_by_image: HashMap<String, Vec<Reference>> = HashMap::new();
        for r in self.store().all_refs().await? {
            if let Ok(parsed) = Reference::parse(&r.reference) {
                refs_by_image.entry(r.image_id).or_default().push(parsed);
            }
        }
        let usage = self.image_usage().await?;
        let mut out = Vec::new();
        for row in self.store().images().await? {
            let config = ImageConfigFile::parse(row.config.as_bytes()).unwrap_or_default();
            let created = created_nanos(row.created.as_deref());
            let refs = refs_by_image.remove(&row.id).unwrap_or_default();
            let tags: Vec<&Reference> = refs.iter().filter(|r| r.digest().is_none()).collect();
            if let Some(d) = dangling
                && d != tags.is_empty()
            {
                continue;
            }
            if before.is_some_and(|b| created >= b)
                || since.is_some_and(|s| created <= s)
                || until.is_some_and(|u| created > u)
            {
                continue;
            }
            let labels = config.labels();
            if !filters.match_labels("label", &labels) {
                continue;
            }
            let mut repo_tags: Vec<String> = tags.iter().map(|r| r.familiar_string()).collect();
            let repo_digests: Vec<String> = refs
                .iter()
                .filter(|r| r.digest().is_some())
                .map(|r| r.familiar_string())
                .collect();
            if !patterns.is_empty() {
                repo_tags.retain(|t| {
                    let r = tags.iter().find(|r| &r.familiar_string() == t);
                    r.is_some_and(|r| patterns.iter().any(|p| familiar_match(p, r)))
                });
                if repo_tags.is_empty() {
                    continue;
                }
            }
            out.push(ImageSummary {
                id: row.id.clone(),
                parent_id: String::new(),
                repo_tags,
                repo_digests,
                created: created / 1_000_000_000,
                size: row.size,
                shared_size: -1,
                labels,
                containers: usage.get(&row.id).copied().unwrap_or(0),
                manifests: None,
                descriptor: None,
            });
        }
        Ok(out)
    }

    /// For `before`/`since`: the creation time of the image the filter names.
    async fn time_bound(&self, filters: &Filters, key: &str) -> Result<Option<i64>> {
        let Some(value) = filters.get(key).next() else {
            return Ok(None);
        };
        let resolved = self.resolve_image(value).await?;
        let row = self
            .store()
            .image(&resolved.id)
            .await?
            .ok_or_else(|| Error::no_such_image(value))?;
        Ok(Some(created_nanos(row.created.as_deref())))
    }

    /// How many containers use each image.
    pub(crate) async fn image_usage(&self) -> Result<HashMap<String, i64>> {
        let mut usage = HashMap::new();
        for c in self.store().containers().await? {
            *usage.entry(c.image_id).or_insert(0) += 1;
        }
        Ok(usage)
    }
}

pub(crate) fn created_nanos(created: Option<&str>) -> i64 {
    created.and_then(parse_rfc3339).unwrap_or(0)
}

/// `until` takes a Unix timestamp (with optional fraction) or an RFC 3339 time, as dockerd.
fn parse_until(v: &str) -> Result<i64> {
    if let Some(t) = parse_rfc3339(v) {
        return Ok(t);
    }
    v.parse::<f64>()
        .map(|secs| (secs * 1e9) as i64)
        .map_err(|_| Error::invalid(format!("invalid filter 'until={v}'")))
}

/// distribution's `FamiliarMatch`: the pattern against "name:tag", then against the name alone.
fn familiar_match(pattern: &str, r: &Reference) -> bool {
    glob_match(pattern, &r.familiar_string()) || glob_match(pattern, &r.familiar_name())
}

/// Go's `path.Match`: `*` and `?` never match '/', `[...]` classes with ranges and `^`/`!`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != '/')
                .any(|i| glob_at(rest, &n[i..]))
        }
        Some('?') => n.first().is_some_and(|&c| c != '/') && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(&c) = n.first() else { return false };
            match class_match(&p[1..], c) {
                Some((matched, used)) => matched && glob_at(&p[1 + used..], &n[1..]),
                None => false,
            }
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(&lit) => n.first() == Some(&lit) && glob_at(&p[1..], &n[1..]),
    }
}

/// Matches `c` against a class body; returns (matched, chars consumed including ']').
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if lo <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_like_go_path_match() {
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("busybox:*", "busybox:latest"));
        assert!(!glob_match("*", "foo/bar"));
        assert!(glob_match("*/*", "foo/bar"));
        assert!(glob_match("b?sybox", "busybox"));
        assert!(glob_match("[a-c]usybox", "busybox"));
        assert!(!glob_match("[^a-c]usybox", "busybox"));
        assert!(!glob_match("busy", "busybox"));
    }

    #[test]
    fn familiar_match_tries_name_and_tag() {
        let r = Reference::parse("busybox").unwrap().with_default_tag();
        assert!(familiar_match("busybox", &r));
        assert!(familiar_match("busybox:latest", &r));
        assert!(!familiar_match("busybox:1", &r));
        let r = Reference::parse("localhost:5000/a/b:1").unwrap();
        assert!(familiar_match("localhost:5000/a/*", &r));
    }

    #[test]
    fn until_forms() {
        assert_eq!(parse_until("10").unwrap(), 10_000_000_000);
        assert_eq!(parse_until("1970-01-01T00:00:10Z").unwrap(), 10_000_000_000);
        assert!(parse_until("soon").is_err());
    }
}
