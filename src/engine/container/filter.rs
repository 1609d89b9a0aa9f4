//! `docker ps` filters: the `filters` of `GET /containers/json` checked and compiled once
//! ([`ContainerFilter::new`]), then matched against each container as dockerd's
//! `includeContainerInList` does (moby daemon/list.go), with its messages.
//!
//! What is matched is [`Listed`]: the few fields of a container record that a list shows or a
//! filter reads, parsed from the store row without the rest of its config (a list of 1000
//! containers must not pay for 1000 full HostConfigs).

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::state::{ContainerState, Status};
use crate::engine::{Error, Result};
use crate::models::Filters;
use crate::store::ContainerRow;

/// dockerd's `acceptedPsFilterTags`. `isolation` is Windows-only: accepted and ignored on Linux.
const ACCEPTED: &[&str] = &[
    "ancestor",
    "before",
    "exited",
    "id",
    "isolation",
    "label",
    "name",
    "status",
    "health",
    "since",
    "volume",
    "network",
    "is-task",
    "publish",
    "expose",
];

const STATES: &str = "created, running, paused, restarting, removing, exited, dead";
const HEALTHS: &[&str] = &["none", "starting", "healthy", "unhealthy"];

/// A container as lists and filters see it.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub id: String,
    /// With dockerd's leading slash.
    pub name: String,
    pub image_id: String,
    pub image_ref: String,
    /// Unix nanoseconds.
    pub created_at: i64,
    pub config: ListedConfig,
    pub host: ListedHost,
    pub state: ContainerState,
    /// The layers column, parsed only when sizes are asked for.
    pub layers_json: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedConfig {
    #[serde(rename = "Entrypoint")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Labels")]
    pub labels: Option<HashMap<String, String>>,
    #[serde(rename = "ExposedPorts")]
    pub exposed_ports: Option<HashMap<String, IgnoredAny>>,
    #[serde(rename = "Healthcheck")]
    pub healthcheck: Option<ListedHealthcheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedHealthcheck {
    #[serde(rename = "Test")]
    pub test: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedHost {
    #[serde(rename = "NetworkMode")]
    pub network_mode: Option<String>,
    #[serde(rename = "Binds")]
    pub binds: Option<Vec<String>>,
    #[serde(rename = "Mounts")]
    pub mounts: Option<Vec<ListedMount>>,
    #[serde(rename = "PortBindings")]
    pub port_bindings: Option<HashMap<String, Option<Vec<ListedPortBinding>>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedMount {
    #[serde(rename = "Type")]
    pub typ: Option<String>,
    #[serde(rename = "Source")]
    pub source: Option<String>,
    #[serde(rename = "Target")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedPortBinding {
    #[serde(rename = "HostPort")]
    pub host_port: Option<String>,
}

impl Listed {
    /// Parses what lists need of a row; a damaged row is an error naming the container.
    pub fn from_row(row: ContainerRow) -> Result<Listed> {
        let damaged = |what: &str, e| super::record::damaged(&row, what, e);
        Ok(Listed {
            config: serde_json::from_str(&row.config).map_err(|e| damaged("config", e))?,
            host: serde_json::from_str(&row.host_config).map_err(|e| damaged("host config", e))?,
            state: serde_json::from_str(&row.state).map_err(|e| damaged("state", e))?,
            layers_json: row.layers,
            id: row.id,
            name: row.name,
            image_id: row.image_id,
            image_ref: row.image_ref,
            created_at: row.created_at,
        })
    }

    pub fn bare_name(&self) -> &str {
        self.name.strip_prefix('/').unwrap_or(&self.name)
    }

    /// dockerd's health status: `none` without a healthcheck (or with `NONE`) and before the
    /// first start. Berth runs no probes yet, so a started container with a healthcheck stays
    /// where dockerd puts it until a first probe answers: `starting`.
    pub fn health(&self) -> &'static str {
        let has_check = self
            .config
            .healthcheck
            .as_ref()
            .and_then(|h| h.test.as_deref())
            .is_some_and(|t| !t.is_empty() && t[0] != "NONE");
        if has_check && self.state.started_at != 0 {
            "starting"
        } else {
            "none"
        }
    }

    /// The networks the container is attached to, by name: its network mode's network
    /// (`default` is `bridge`); none for `container:<id>` (it shares another's).
    pub fn network(&self) -> Option<&str> {
        match self.host.network_mode.as_deref() {
            None | Some("") | Some("default") => Some("bridge"),
            Some(m) if m.starts_with("container:") => None,
            Some(m) => Some(m),
        }
    }

    /// Mount points as dockerd's `volume` filter sees them: (name or source, destination).
    fn mount_points(&self) -> impl Iterator<Item = (&str, &str)> {
        let binds = self.host.binds.iter().flatten().filter_map(|b| {
            let mut parts = b.splitn(3, ':');
            let source = parts.next()?;
            let dest = parts.next()?;
            Some((source, dest))
        });
        let mounts = self.host.mounts.iter().flatten().map(|m| {
            (
                m.source.as_deref().unwrap_or(""),
                m.target.as_deref().unwrap_or(""),
            )
        });
        binds.chain(mounts)
    }

    /// (container port, host port or 0, protocol) for every port the record exposes or
    /// publishes, as dockerd's summary `Ports` list them.
    fn ports(&self) -> Vec<(u16, u16, String)> {
        let mut out = Vec::new();
        let bindings = self.host.port_bindings.as_ref();
        for (key, list) in bindings.into_iter().flatten() {
            let Ok(p) = PortRange::parse(key) else {
                continue;
            };
            let published: Vec<u16> = list
                .iter()
                .flatten()
                .filter_map(|b| PortRange::parse(b.host_port.as_deref()?).ok())
                .map(|h| h.start)
                .collect();
            if published.is_empty() {
                out.push((p.start, 0, p.proto.clone()));
            }
            for h in published {
                out.push((p.start, h, p.proto.clone()));
            }
        }
        for key in self.config.exposed_ports.iter().flat_map(|m| m.keys()) {
            if bindings.is_some_and(|b| b.contains_key(key)) {
                continue;
            }
            if let Ok(p) = PortRange::parse(key) {
                out.push((p.start, 0, p.proto));
            }
        }
        out
    }
}

/// `<port>[-<port>][/<proto>]`, as moby's `network.ParsePortRange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
    pub proto: String,
}

impl PortRange {
    pub fn parse(s: &str) -> std::result::Result<PortRange, String> {
        if s.is_empty() {
            return Err("invalid port range: value is empty".into());
        }
        let (range, proto) = s.split_once('/').unwrap_or((s, ""));
        let proto = if proto.is_empty() {
            "tcp".to_string()
        } else {
            proto.to_ascii_lowercase()
        };
        let (start, end) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        let start_n =
            port_number(start).map_err(|e| format!("invalid start port '{start}': {e}"))?;
        let end_n = match end {
            Some(end) if end != start => {
                port_number(end).map_err(|e| format!("invalid end port '{end}': {e}"))?
            }
            _ => start_n,
        };
        if end_n < start_n {
            return Err(format!("invalid port range: {s}"));
        }
        Ok(PortRange {
            start: start_n,
            end: end_n,
            proto,
        })
    }

    fn contains(&self, port: u16, proto: &str) -> bool {
        self.proto == proto && (self.start..=self.end).contains(&port)
    }
}

/// Go's `strconv.ParseUint(s, 10, 16)` errors, as moby words them.
fn port_number(s: &str) -> std::result::Result<u16, &'static str> {
    if s.is_empty() {
        return Err("value is empty");
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax");
    }
    s.parse::<u16>().map_err(|_| "value out of range")
}

/// Go's `strconv.Atoi` error text, which dockerd passes on.
pub fn atoi(s: &str) -> std::result::Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {s:?}: {why}")
    })
}

/// One `name` or `id` value: dockerd's `Args.Match`, an exact match or else an unanchored
/// regular expression (a value that is not one only matches exactly).
#[derive(Debug)]
struct Pattern {
    text: String,
    regex: Option<regex::Regex>,
}

impl Pattern {
    fn new(text: &str) -> Pattern {
        Pattern {
            text: text.to_string(),
            regex: regex::Regex::new(text).ok(),
        }
    }

    fn matches(&self, s: &str) -> bool {
        self.text == s || self.regex.as_ref().is_some_and(|r| r.is_match(s))
    }
}

/// One `label` value: `key`, `key=value` or `key!=value`.
#[derive(Debug)]
enum LabelTest {
    Has(String),
    Is(String, String),
    IsNot(String, String),
}

impl LabelTest {
    fn new(v: &str) -> LabelTest {
        match v.split_once('=') {
            Some((k, val)) => match k.strip_suffix('!') {
                Some(k) => LabelTest::IsNot(k.into(), val.into()),
                None => LabelTest::Is(k.into(), val.into()),
            },
            None => LabelTest::Has(v.into()),
        }
    }

    fn matches(&self, labels: Option<&HashMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
        match self {
            LabelTest::Has(k) => get(k).is_some(),
            LabelTest::Is(k, v) => get(k) == Some(v.as_str()),
            LabelTest::IsNot(k, v) => get(k) != Some(v.as_str()),
        }
    }
}

/// The filters and options of one `GET /containers/json`, checked and compiled.
#[derive(Debug, Default)]
pub struct ContainerFilter {
    /// Stopped containers too (`all`, or implied by `status` or `limit`).
    pub all: bool,
    /// At most this many (the newest); 0 for no limit.
    pub limit: usize,
    names: Vec<Pattern>,
    /// The `id` values; resolved to full IDs by [`ContainerFilter::resolve`].
    id_values: Vec<String>,
    ids: Option<HashSet<String>>,
    labels: Vec<LabelTest>,
    exited: Vec<i64>,
    status: Vec<Status>,
    health: Vec<String>,
    is_task: Option<bool>,
    /// Names or IDs as given; `before_id`/`since_id` once resolved.
    pub before: Option<String>,
    pub since: Option<String>,
    before_id: Option<String>,
    since_id: Option<String>,
    /// The `ancestor` values as given; the image IDs they stand for once resolved.
    pub ancestors: Vec<String>,
    ancestor_ids: Option<HashSet<String>>,
    volumes: Vec<String>,
    networks: Vec<String>,
    publish: Vec<PortRange>,
    expose: Vec<PortRange>,
}

impl ContainerFilter {
    /// Checks every filter as dockerd's `foldFilter` does, in its order, with its messages.
    /// `limit` <= 0 means none.
    pub fn new(filters: &Filters, all: bool, limit: i64) -> Result<ContainerFilter> {
        filters
            .validate(ACCEPTED)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let mut f = ContainerFilter {
            all: all || limit > 0,
            limit: usize::try_from(limit.max(0)).unwrap_or(usize::MAX),
            ..Default::default()
        };
        for v in filters.get("exited") {
            let code =
                atoi(v).map_err(|e| Error::invalid(format!("invalid filter 'exited={v}': {e}")))?;
            f.exited.push(code);
        }
        for v in filters.get("status") {
            let s = parse_status(v).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid filter 'status={v}': invalid value for state ({v}): must be one of {STATES}"
                ))
            })?;
            f.status.push(s);
            f.all = true;
        }
        f.is_task = is_task(filters)?;
        for v in filters.get("health") {
            if !HEALTHS.contains(&v) {
                return Err(Error::invalid(format!(
                    "invalid filter 'health={v}': invalid value for health ({v}): must be one of {}",
                    HEALTHS.join(", ")
                )));
            }
            f.health.push(v.to_string());
        }
        // dockerd keeps the last value of each when several are given.
        f.before = filters.get("before").last().map(str::to_string);
        f.since = filters.get("since").last().map(str::to_string);
        f.ancestors = filters.get("ancestor").map(str::to_string).collect();
        for (key, out) in [("publish", &mut f.publish), ("expose", &mut f.expose)] {
            for v in filters.get(key) {
                if v.contains(':') {
                    return Err(Error::invalid(format!(
                        "filter for '{key}' should not contain ':': {v}"
                    )));
                }
                let range = PortRange::parse(v).map_err(|e| {
                    Error::invalid(format!("error while looking up for {key} {v}: {e}"))
                })?;
                out.push(range);
            }
        }
        f.names = filters.get("name").map(Pattern::new).collect();
        f.id_values = filters.get("id").map(str::to_string).collect();
        f.labels = filters.get("label").map(LabelTest::new).collect();
        f.volumes = filters.get("volume").map(str::to_string).collect();
        f.networks = filters.get("network").map(str::to_string).collect();
        Ok(f)
    }

    /// Resolves what needs the whole list (newest first): `id` values to the unique container
    /// each is a prefix of, `before`/`since` to a container (full ID or exact name; a unique
    /// ID prefix too, as dockerd before 25 took), and sets the image IDs `ancestor` stands for
    /// (None when no `ancestor` filter was given).
    pub fn resolve<L: Borrow<Listed>>(
        &mut self,
        list: &[L],
        ancestor_ids: Option<HashSet<String>>,
    ) -> Result<()> {
        if !self.id_values.is_empty() {
            let mut ids = HashSet::new();
            for v in &self.id_values {
                if v.is_empty() {
                    continue;
                }
                let mut found = list
                    .iter()
                    .map(Borrow::borrow)
                    .filter(|c| c.id.starts_with(v.as_str()));
                // An ambiguous prefix matches nothing, as dockerd's GetByPrefix fails on it.
                if let (Some(c), None) = (found.next(), found.next()) {
                    ids.insert(c.id.clone());
                }
            }
            self.ids = Some(ids);
        }
        self.before_id = self.before.as_deref().map(|v| find(list, v)).transpose()?;
        self.since_id = self.since.as_deref().map(|v| find(list, v)).transpose()?;
        self.ancestor_ids = ancestor_ids;
        Ok(())
    }

    /// The containers to show, from the list newest first, with dockerd's iteration: skip until
    /// `before`'s container, stop at `since`'s, stop after `limit`.
    pub fn select<'a, L: Borrow<Listed>>(&self, list: &'a [L]) -> Vec<&'a Listed> {
        let mut out = Vec::new();
        let mut skipping = self.before_id.is_some();
        for c in list.iter().map(Borrow::borrow) {
            if skipping {
                skipping = self.before_id.as_deref() != Some(c.id.as_str());
                continue;
            }
            if self.since_id.as_deref() == Some(c.id.as_str()) {
                break;
            }
            if self.limit > 0 && out.len() == self.limit {
                break;
            }
            if self.matches(c) {
                out.push(c);
            }
        }
        out
    }

    /// Every filter but the positional ones (before, since, limit).
    pub fn matches(&self, c: &Listed) -> bool {
        let running = c.state.is_running();
        if !running && !self.all {
            return false;
        }
        if !self.names.is_empty()
            && !self
                .names
                .iter()
                .any(|p| p.matches(&c.name) || p.matches(c.bare_name()))
        {
            return false;
        }
        if let Some(ids) = &self.ids
            && !ids.contains(&c.id)
        {
            return false;
        }
        // Berth runs no swarm tasks: every container is a plain one.
        if self.is_task == Some(true) {
            return false;
        }
        if !self
            .labels
            .iter()
            .all(|t| t.matches(c.config.labels.as_ref()))
        {
            return false;
        }
        if !self.exited.is_empty()
            && (running || c.state.started_at == 0 || !self.exited.contains(&c.state.exit_code))
        {
            return false;
        }
        if !self.status.is_empty() && !self.status.contains(&c.state.status) {
            return false;
        }
        if !self.health.is_empty() && !self.health.iter().any(|h| h == c.health()) {
            return false;
        }
        if !self.volumes.is_empty()
            && !c
                .mount_points()
                .any(|(src, dst)| self.volumes.iter().any(|v| v == src || v == dst))
        {
            return false;
        }
        if let Some(ids) = &self.ancestor_ids
            && !ids.contains(&c.image_id)
        {
            return false;
        }
        if !self.networks.is_empty()
            && !c
                .network()
                .is_some_and(|n| self.networks.iter().any(|v| v == n))
        {
            return false;
        }
        if !self.publish.is_empty() || !self.expose.is_empty() {
            let hit = c.ports().iter().any(|(private, public, proto)| {
                self.publish.iter().any(|r| r.contains(*public, proto))
                    || self.expose.iter().any(|r| r.contains(*private, proto))
            });
            if !hit {
                return false;
            }
        }
        true
    }
}

fn parse_status(v: &str) -> Option<Status> {
    Some(match v {
        "created" => Status::Created,
        "running" => Status::Running,
        "paused" => Status::Paused,
        "restarting" => Status::Restarting,
        "removing" => Status::Removing,
        "exited" => Status::Exited,
        "dead" => Status::Dead,
        _ => return None,
    })
}

/// dockerd's `GetBoolOrDefault`: "1"/"true" or "0"/"false", not both, not neither.
fn is_task(filters: &Filters) -> Result<Option<bool>> {
    if !filters.contains("is-task") {
        return Ok(None);
    }
    let values: Vec<&str> = filters.get("is-task").collect();
    let yes = values.iter().any(|v| matches!(*v, "1" | "true"));
    let no = values.iter().any(|v| matches!(*v, "0" | "false"));
    if yes == no {
        return Err(Error::invalid(format!(
            "invalid filter 'is-task=[{}]'",
            values.join(" ")
        )));
    }
    Ok(Some(yes))
}

/// A `before`/`since` container: full ID, exact name (with or without the slash), else a
/// unique ID prefix.
fn find<L: Borrow<Listed>>(list: &[L], v: &str) -> Result<String> {
    let bare = v.strip_prefix('/').unwrap_or(v);
    let list = || list.iter().map(Borrow::borrow);
    if let Some(c) = list()
        .find(|c| c.id == v)
        .or_else(|| list().find(|c| c.bare_name() == bare))
    {
        return Ok(c.id.clone());
    }
    let mut found = list().filter(|c| !v.is_empty() && c.id.starts_with(v));
    match (found.next(), found.next()) {
        (Some(c), None) => Ok(c.id.clone()),
        _ => Err(Error::no_such_container(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, name: &str) -> Listed {
        Listed {
            id: id.into(),
            name: format!("/{name}"),
            image_id: "sha256:aaa".into(),
            image_ref: "busybox".into(),
            ..Default::default()
        }
    }

    fn running(mut l: Listed) -> Listed {
        l.state.status = Status::Running;
        l.state.started_at = 1;
        l
    }

    fn exited(mut l: Listed, code: i64) -> Listed {
        l.state.status = Status::Exited;
        l.state.started_at = 1;
        l.state.exit_code = code;
        l
    }

    fn filter(pairs: &[(&str, &str)]) -> ContainerFilter {
        ContainerFilter::new(&Filters::from_pairs(pairs.iter().copied()), true, 0).unwrap()
    }

    fn err(pairs: &[(&str, &str)]) -> Error {
        ContainerFilter::new(&Filters::from_pairs(pairs.iter().copied()), false, 0).unwrap_err()
    }

    /// The names `select` keeps, after `resolve`.
    fn names(f: &mut ContainerFilter, list: &[Listed]) -> Vec<String> {
        f.resolve(list, None).unwrap();
        f.select(list)
            .iter()
            .map(|c| c.bare_name().to_string())
            .collect()
    }

    #[test]
    fn unknown_filters_and_bad_values_get_dockerds_messages() {
        assert_eq!(err(&[("bogus", "1")]).message, "invalid filter 'bogus'");
        assert_eq!(
            err(&[("status", "foo")]).message,
            "invalid filter 'status=foo': invalid value for state (foo): must be one of created, running, paused, restarting, removing, exited, dead"
        );
        assert_eq!(
            err(&[("health", "sick")]).message,
            "invalid filter 'health=sick': invalid value for health (sick): must be one of none, starting, healthy, unhealthy"
        );
        assert_eq!(
            err(&[("exited", "x")]).message,
            "invalid filter 'exited=x': strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err(&[("is-task", "maybe")]).message,
            "invalid filter 'is-task=[maybe]'"
        );
        assert_eq!(
            err(&[("is-task", "true"), ("is-task", "false")]).message,
            "invalid filter 'is-task=[false true]'"
        );
        assert_eq!(
            err(&[("publish", "80:80")]).message,
            "filter for 'publish' should not contain ':': 80:80"
        );
        assert_eq!(
            err(&[("expose", "http")]).message,
            "error while looking up for expose http: invalid start port 'http': invalid syntax"
        );
        assert_eq!(
            err(&[("expose", "90-80")]).message,
            "error while looking up for expose 90-80: invalid port range: 90-80"
        );
        assert_eq!(
            err(&[("publish", "70000")]).message,
            "error while looking up for publish 70000: invalid start port '70000': value out of range"
        );
        for e in [err(&[("bogus", "1")]), err(&[("status", "x")])] {
            assert_eq!(e.kind, crate::engine::ErrorKind::InvalidParameter);
        }
        // isolation is Windows-only: accepted, no effect.
        let mut f = filter(&[("isolation", "process")]);
        assert_eq!(names(&mut f, &[c("1", "a")]), ["a"]);
    }

    #[test]
    fn all_status_and_limit() {
        let list = [
            running(c("1", "up")),
            exited(c("2", "down"), 0),
            c("3", "new"),
        ];
        let none = Filters::default();
        let mut f = ContainerFilter::new(&none, false, 0).unwrap();
        assert_eq!(names(&mut f, &list), ["up"]);
        let mut f = ContainerFilter::new(&none, true, 0).unwrap();
        assert_eq!(names(&mut f, &list), ["up", "down", "new"]);
        // limit implies all and keeps the newest (the list comes newest first).
        let mut f = ContainerFilter::new(&none, false, 2).unwrap();
        assert_eq!(names(&mut f, &list), ["up", "down"]);
        let mut f = ContainerFilter::new(&none, false, -1).unwrap();
        assert_eq!(names(&mut f, &list), ["up"]);
        // status implies all.
        let fs = Filters::from_pairs([("status", "exited"), ("status", "created")]);
        let mut f = ContainerFilter::new(&fs, false, 0).unwrap();
        assert_eq!(names(&mut f, &list), ["down", "new"]);
        // limit counts what matches.
        let fs = Filters::from_pairs([("status", "created")]);
        let mut f = ContainerFilter::new(&fs, false, 1).unwrap();
        assert_eq!(names(&mut f, &list), ["new"]);
    }

    #[test]
    fn exited_needs_a_stopped_container_that_ran() {
        let list = [
            running(c("1", "up")),
            exited(c("2", "zero"), 0),
            exited(c("3", "three"), 3),
            c("4", "new"),
        ];
        let mut f = filter(&[("exited", "0")]);
        assert_eq!(names(&mut f, &list), ["zero"]);
        let mut f = filter(&[("exited", "3"), ("exited", "0")]);
        assert_eq!(names(&mut f, &list), ["zero", "three"]);
        // Without all, stopped containers are not listed at all.
        let fs = Filters::from_pairs([("exited", "0")]);
        let mut f = ContainerFilter::new(&fs, false, 0).unwrap();
        assert!(names(&mut f, &list).is_empty());
    }

    #[test]
    fn names_are_regular_expressions_with_or_without_the_slash() {
        let list = [c("1", "web-1"), c("2", "web-2"), c("3", "db")];
        let mut f = filter(&[("name", "web")]);
        assert_eq!(names(&mut f, &list), ["web-1", "web-2"]);
        let mut f = filter(&[("name", "^/db$")]);
        assert_eq!(names(&mut f, &list), ["db"]);
        let mut f = filter(&[("name", "^db$")]);
        assert_eq!(names(&mut f, &list), ["db"]);
        let mut f = filter(&[("name", "-2$"), ("name", "^db")]);
        assert_eq!(names(&mut f, &list), ["web-2", "db"]);
        // Not a valid expression: only an exact name matches.
        let mut f = filter(&[("name", "web-1(")]);
        assert!(names(&mut f, &list).is_empty());
    }

    #[test]
    fn ids_are_unique_prefixes() {
        let list = [c("abc111", "a"), c("abc222", "b"), c("def333", "d")];
        let mut f = filter(&[("id", "abc1")]);
        assert_eq!(names(&mut f, &list), ["a"]);
        let mut f = filter(&[("id", "abc")]);
        assert!(names(&mut f, &list).is_empty(), "ambiguous matches nothing");
        let mut f = filter(&[("id", "abc2"), ("id", "def333")]);
        assert_eq!(names(&mut f, &list), ["b", "d"]);
        // With name: both must hold.
        let mut f = filter(&[("id", "abc2"), ("name", "a")]);
        assert!(names(&mut f, &list).is_empty());
    }

    #[test]
    fn labels_and_together_with_eq_and_ne() {
        let mut a = c("1", "a");
        a.config.labels = Some(HashMap::from([
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "front".to_string()),
        ]));
        let mut b = c("2", "b");
        b.config.labels = Some(HashMap::from([("app".to_string(), "db".to_string())]));
        let list = [a, b, c("3", "none")];
        let mut f = filter(&[("label", "app")]);
        assert_eq!(names(&mut f, &list), ["a", "b"]);
        let mut f = filter(&[("label", "app=web"), ("label", "tier")]);
        assert_eq!(names(&mut f, &list), ["a"]);
        let mut f = filter(&[("label", "app=db"), ("label", "tier")]);
        assert!(names(&mut f, &list).is_empty());
        let mut f = filter(&[("label", "app!=web")]);
        assert_eq!(names(&mut f, &list), ["b", "none"]);
        // The first '=' splits: the value may hold '=' and '!='.
        let t = LabelTest::new("k=x!=y");
        assert!(matches!(t, LabelTest::Is(ref k, ref v) if k == "k" && v == "x!=y"));
    }

    #[test]
    fn before_and_since_are_positions_in_creation_order() {
        // Newest first, as the store gives them.
        let list = [c("4", "d"), c("3", "c"), c("2", "b"), c("1", "a")];
        let mut f = filter(&[("before", "c")]);
        assert_eq!(names(&mut f, &list), ["b", "a"]);
        let mut f = filter(&[("since", "/b")]);
        assert_eq!(names(&mut f, &list), ["d", "c"]);
        let mut f = filter(&[("since", "1"), ("before", "4")]);
        assert_eq!(names(&mut f, &list), ["c", "b"]);
        let mut f = filter(&[("before", "nope")]);
        let e = f.resolve(&list, None).unwrap_err();
        assert_eq!(e.message, "No such container: nope");
        assert_eq!(e.kind, crate::engine::ErrorKind::NotFound);
    }

    #[test]
    fn ancestors_match_the_resolved_image_ids() {
        let mut other = c("2", "other");
        other.image_id = "sha256:bbb".into();
        let list = [c("1", "bb"), other];
        let mut f = filter(&[("ancestor", "busybox")]);
        f.resolve(&list, Some(HashSet::from(["sha256:aaa".to_string()])))
            .unwrap();
        assert_eq!(f.select(&list).len(), 1);
        assert_eq!(f.select(&list)[0].bare_name(), "bb");
        // An ancestor that names no image: nothing matches.
        f.resolve(&list, Some(HashSet::new())).unwrap();
        assert!(f.select(&list).is_empty());
    }

    #[test]
    fn health_from_the_healthcheck_and_whether_it_ran() {
        let check = |test: &[&str]| {
            Some(ListedHealthcheck {
                test: Some(test.iter().map(|s| s.to_string()).collect()),
            })
        };
        let mut up = running(c("1", "up"));
        up.config.healthcheck = check(&["CMD", "true"]);
        let mut off = running(c("2", "off"));
        off.config.healthcheck = check(&["NONE"]);
        let mut created = c("3", "created");
        created.config.healthcheck = check(&["CMD", "true"]);
        let list = [up, off, created, running(c("4", "plain"))];
        let mut f = filter(&[("health", "none")]);
        assert_eq!(names(&mut f, &list), ["off", "created", "plain"]);
        let mut f = filter(&[("health", "starting")]);
        assert_eq!(names(&mut f, &list), ["up"]);
        let mut f = filter(&[("health", "healthy")]);
        assert!(names(&mut f, &list).is_empty());
    }

    #[test]
    fn is_task_is_never_true_here() {
        let list = [c("1", "a")];
        let mut f = filter(&[("is-task", "true")]);
        assert!(names(&mut f, &list).is_empty());
        let mut f = filter(&[("is-task", "0")]);
        assert_eq!(names(&mut f, &list), ["a"]);
    }

    #[test]
    fn networks_by_network_mode() {
        let mode = |name: &str, m: Option<&str>| {
            let mut l = c(name, name);
            l.host.network_mode = m.map(str::to_string);
            l
        };
        let list = [
            mode("dflt", None),
            mode("default", Some("default")),
            mode("bridge", Some("bridge")),
            mode("host", Some("host")),
            mode("none", Some("none")),
            mode("shared", Some("container:abc")),
        ];
        let mut f = filter(&[("network", "bridge")]);
        assert_eq!(names(&mut f, &list), ["dflt", "default", "bridge"]);
        let mut f = filter(&[("network", "host"), ("network", "none")]);
        assert_eq!(names(&mut f, &list), ["host", "none"]);
        let mut f = filter(&[("network", "abc")]);
        assert!(names(&mut f, &list).is_empty());
    }

    #[test]
    fn volumes_by_source_name_or_destination() {
        let mut binds = c("1", "binds");
        binds.host.binds = Some(vec!["/host/data:/data:ro".into()]);
        let mut mounts = c("2", "mounts");
        mounts.host.mounts = Some(vec![
            ListedMount {
                typ: Some("volume".into()),
                source: Some("cache".into()),
                target: Some("/cache".into()),
            },
            ListedMount {
                typ: Some("tmpfs".into()),
                source: None,
                target: Some("/scratch".into()),
            },
        ]);
        let list = [binds, mounts, c("3", "plain")];
        for (v, want) in [
            ("/host/data", vec!["binds"]),
            ("/data", vec!["binds"]),
            ("cache", vec!["mounts"]),
            ("/scratch", vec!["mounts"]),
            ("/nope", vec![]),
        ] {
            let mut f = filter(&[("volume", v)]);
            assert_eq!(names(&mut f, &list), want, "volume={v}");
        }
        let mut f = filter(&[("volume", "/nope"), ("volume", "/cache")]);
        assert_eq!(names(&mut f, &list), ["mounts"]);
    }

    #[test]
    fn publish_and_expose_with_port_ranges() {
        let mut web = c("1", "web");
        web.host.port_bindings = Some(HashMap::from([(
            "80/tcp".to_string(),
            Some(vec![ListedPortBinding {
                host_port: Some("8080".into()),
            }]),
        )]));
        web.config.exposed_ports = Some(HashMap::from([
            ("80/tcp".to_string(), IgnoredAny),
            ("53/udp".to_string(), IgnoredAny),
        ]));
        let list = [web, c("2", "plain")];
        for (key, v, hit) in [
            ("publish", "8080", true),
            ("publish", "8080/tcp", true),
            ("publish", "8080/udp", false),
            ("publish", "8000-8100", true),
            ("publish", "80", false),
            ("expose", "80", true),
            ("expose", "80/TCP", true),
            ("expose", "53/udp", true),
            ("expose", "53", false),
            ("expose", "50-60/udp", true),
            ("expose", "8080", false),
        ] {
            let mut f = filter(&[(key, v)]);
            let want: Vec<&str> = if hit { vec!["web"] } else { vec![] };
            assert_eq!(names(&mut f, &list), want, "{key}={v}");
        }
    }

    #[test]
    fn port_ranges_parse_as_moby() {
        assert_eq!(
            PortRange::parse("80").unwrap(),
            PortRange {
                start: 80,
                end: 80,
                proto: "tcp".into()
            }
        );
        assert_eq!(PortRange::parse("80-80/UDP").unwrap().proto, "udp");
        assert_eq!(PortRange::parse("1-3/sctp").unwrap().end, 3);
        assert!(PortRange::parse("").is_err());
        assert!(PortRange::parse("-1").is_err());
        assert!(PortRange::parse("1-").is_err());
    }

    #[test]
    fn rows_parse_only_what_lists_need() {
        let row = ContainerRow {
            id: "0123".into(),
            name: "/web".into(),
            image_id: "sha256:i".into(),
            image_ref: "busybox".into(),
            created_at: 1,
            config: r#"{"Cmd":["sh"],"Labels":{"a":"b"},"ExposedPorts":{"80/tcp":{}},"Env":["X=1"],"Healthcheck":{"Test":["CMD","true"]}}"#.into(),
            host_config: r#"{"NetworkMode":"host","Binds":["/a:/b"],"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"81"}]},"Memory":0}"#.into(),
            state: r#"{"status":"running","started_at":5}"#.into(),
            layers: "[]".into(),
        };
        let l = Listed::from_row(row.clone()).unwrap();
        assert_eq!(l.config.labels.as_ref().unwrap()["a"], "b");
        assert_eq!(l.network(), Some("host"));
        assert_eq!(l.health(), "starting");
        assert_eq!(l.ports(), [(80, 81, "tcp".to_string())]);
        let mut bad = row;
        bad.host_config = "{".into();
        let e = Listed::from_row(bad).unwrap_err();
        assert!(e.message.contains("container web (0123)"), "{e}");
    }
}
