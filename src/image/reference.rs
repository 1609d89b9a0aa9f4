//! Image references (`busybox`, `foo/bar:1.0`, `localhost:5000/a/b@sha256:...`), parsed and
//! normalised exactly as docker does with distribution/reference's `ParseNormalizedNamed`, and
//! printed in the full (`docker.io/library/busybox:latest`) or familiar (`busybox:latest`) form.
//!
//! Grammar (distribution/reference):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | '[' ipv6 ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! remote-name      := path-component ['/' path-component]*
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//! algorithm        := component [ /[+._-]/ component ]*   with component := /[A-Za-z][A-Za-z0-9]*/
//! ```
//!
//! The parser is hand-written; every predicate below mirrors one production above.

use std::fmt;
use std::str::FromStr;

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy Docker Hub domain, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace of Docker Hub's official images (`busybox` is `library/busybox`).
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag implied when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of the path (repository name without domain).
pub const REPOSITORY_NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a reference was rejected; the texts are docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository part (as docker slices it: up to the first `:`) has uppercase letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    NotLowercase(String),
    /// Only lowercasing the whole reference would make it valid (e.g. `A_B/c`).
    #[error("repository name must be lowercase")]
    NameContainsUppercase,
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// A bare 64-hex string could be an image ID; docker refuses to treat it as a name.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    AmbiguousIdentifier(String),
    #[error("invalid tag format")]
    InvalidTag,
    #[error("invalid digest format")]
    InvalidDigest,
    /// go-digest: hex of a known algorithm is not lowercase, or the algorithm name is malformed.
    #[error("invalid checksum digest format")]
    InvalidChecksumFormat,
    /// go-digest: hex length does not fit the algorithm.
    #[error("invalid checksum digest length")]
    InvalidChecksumLength,
    /// go-digest: algorithm not available (docker has sha256, sha384 and sha512).
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
}

/// A normalised, named image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, ... Empty only in docker's odd case where the first
    /// component looks like a domain (has a `.`) but is not one (`a_b.c/foo`).
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Parses `s` as docker does (`ParseNormalizedNamed`): familiar names are expanded to
    /// `docker.io/library/NAME`, `index.docker.io` becomes `docker.io`. No default tag is added;
    /// see [`Reference::with_default_tag`].
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_identifier(s) {
            return Err(ReferenceError::AmbiguousIdentifier(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        // Docker checks case on everything up to the first ':', which may include an `@digest`
        // algorithm; reproduced as is so the messages match.
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::NotLowercase(remote.to_string()));
        }
        parse_plain(&format!("{domain}/{remainder}"))
    }

    /// The registry domain (`docker.io`, `localhost:5000`, `[::1]:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:<hex>`).
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Adds the `latest` tag when there is neither tag nor digest (docker's `TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// Replaces the tag, keeping any digest (docker's `WithTag`).
    pub fn with_tag(mut self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag);
        }
        self.tag = Some(tag.to_string());
        Ok(self)
    }

    /// Replaces the digest, keeping any tag (docker's `WithDigest`: syntax check only).
    pub fn with_digest(mut self, digest: &str) -> Result<Reference, ReferenceError> {
        if !is_digest_syntax(digest) {
            return Err(ReferenceError::InvalidDigest);
        }
        self.digest = Some(digest.to_string());
        Ok(self)
    }

    /// The repository alone, without tag or digest (docker's `TrimNamed`).
    pub fn trimmed(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// Docker's `ParseDockerRef` normalisation: a reference with both tag and digest keeps only
    /// the digest; one with neither gets `latest`.
    pub fn into_docker_ref(mut self) -> Reference {
        if self.digest.is_some() {
            self.tag = None;
            self
        } else {
            self.with_default_tag()
        }
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository name as docker shows it: `busybox`, `foo/bar`, `localhost:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        // Only a single component under library/ is shortened; `library/a/b` stays whole.
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The familiar name with tag and digest: `busybox:latest`, `busybox@sha256:...`.
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(digest);
        }
    }
}

/// The full form: `docker.io/library/busybox:latest`.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// True for a bare 64-character lowercase hex string: what docker treats as an image ID.
pub fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True if `tag` is a valid tag (`[\w][\w.-]{0,127}`).
pub fn is_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// Splits off the domain as docker's `splitDockerDomain` does, canonicalising Docker Hub names.
fn split_docker_domain(name: &str) -> (String, String) {
    let (domain, remote) = match name.split_once('/') {
        // A single component is always a Docker Hub name, even `localhost` or `example.com`.
        None => {
            return (
                DEFAULT_DOMAIN.to_string(),
                format!("{OFFICIAL_REPO_PREFIX}{name}"),
            );
        }
        Some(("localhost", rest)) => ("localhost", rest),
        Some((LEGACY_DEFAULT_DOMAIN, rest)) => (DEFAULT_DOMAIN, rest),
        Some((first, rest)) if first.contains(['.', ':']) => (first, rest),
        // Namespaces are lowercase, so an uppercase first component must be a host name.
        Some((first, rest)) if first.to_lowercase() != first => (first, rest),
        Some(_) => (DEFAULT_DOMAIN, name),
    };
    let remote = if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{remote}")
    } else {
        remote.to_string()
    };
    (domain.to_string(), remote)
}

/// distribution's `Parse`: the reference grammar without normalisation.
fn parse_plain(s: &str) -> Result<Reference, ReferenceError> {
    let Some((name, tag, digest)) = match_reference(s) else {
        let lower = s.to_lowercase();
        if lower != s && match_reference(&lower).is_some() {
            return Err(ReferenceError::NameContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    let (domain, path) = split_name(name);
    if path.len() > REPOSITORY_NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    if let Some(d) = digest {
        validate_digest(d)?;
    }
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// Matches `name [":" tag] ["@" digest]`, returning the three parts.
fn match_reference(s: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    // Neither name nor tag may contain '@', so the first one starts the digest.
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => (rest, Some(d)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !is_digest_syntax(d)) {
        return None;
    }
    // A ':' with no '/' after it cannot be a port (a domain is always followed by '/'), so it
    // must start the tag.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return None;
    }
    let valid_name = match name.split_once('/') {
        Some((first, rest)) if is_domain_and_port(first) && is_remote_name(rest) => true,
        _ => is_remote_name(name),
    };
    valid_name.then_some((name, tag, digest))
}

/// Splits a valid name into domain and path as the anchored name regexp captures them: the
/// first component is the domain only if it parses as one, otherwise the domain is empty.
fn split_name(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if is_domain_and_port(first) && is_remote_name(rest) => (first, rest),
        _ => ("", name),
    }
}

fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let sep = |x: u8| matches!(x, b'.' | b'_' | b'-');
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false; // empty, or a separator not followed by an alphanumeric
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        while i < b.len() && sep(b[i]) {
            i += 1;
        }
        let run = &b[sep_start..i];
        let valid_sep = matches!(run, b"." | b"_" | b"__")
            || (!run.is_empty() && run.iter().all(|&x| x == b'-'));
        if !valid_sep {
            return false;
        }
    }
}

/// `host[:port]` where host is a domain name or a bracketed IPv6 address.
fn is_domain_and_port(s: &str) -> bool {
    let (host_ok, port) = if let Some(inner_and_rest) = s.strip_prefix('[') {
        let Some((inner, rest)) = inner_and_rest.split_once(']') else {
            return false;
        };
        let ok = !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        match rest {
            "" => (ok, None),
            _ => match rest.strip_prefix(':') {
                Some(port) => (ok, Some(port)),
                None => return false,
            },
        }
    } else {
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        (host.split('.').all(is_domain_component), port)
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        }
        _ => false,
    }
}

/// The reference grammar's digest: `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`.
fn is_digest_syntax(d: &str) -> bool {
    let Some((algo, hex)) = d.split_once(':') else {
        return false;
    };
    let algo_ok = algo.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    algo_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest's `Digest.Validate`, for a digest that already passed [`is_digest_syntax`].
fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let (algo, hex) = d
        .split_once(':')
        .ok_or(ReferenceError::InvalidChecksumFormat)?;
    let hex_len = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        // go-digest only says "unsupported" for names its own (lowercase) grammar accepts.
        _ if algo.bytes().any(|b| b.is_ascii_uppercase()) => {
            return Err(ReferenceError::InvalidChecksumFormat);
        }
        _ => return Err(ReferenceError::UnsupportedDigest),
    };
    if hex.len() != hex_len {
        return Err(ReferenceError::InvalidChecksumLength);
    }
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::InvalidChecksumFormat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D64: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const HEX64: &str = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn err(s: &str) -> ReferenceError {
        match Reference::parse(s) {
            Ok(r) => panic!("{s:?} should fail, got {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn normalises_familiar_names() {
        // (input, domain, path, full string, familiar string)
        #[rustfmt::skip]
        let cases = [
            ("busybox", "docker.io", "library/busybox", "docker.io/library/busybox", "busybox"),
            ("busybox:1.36", "docker.io", "library/busybox", "docker.io/library/busybox:1.36", "busybox:1.36"),
            ("foo/bar", "docker.io", "foo/bar", "docker.io/foo/bar", "foo/bar"),
            ("library/busybox", "docker.io", "library/busybox", "docker.io/library/busybox", "busybox"),
            ("docker.io/busybox", "docker.io", "library/busybox", "docker.io/library/busybox", "busybox"),
            ("docker.io/library/busybox", "docker.io", "library/busybox", "docker.io/library/busybox", "busybox"),
            ("index.docker.io/busybox", "docker.io", "library/busybox", "docker.io/library/busybox", "busybox"),
            ("index.docker.io/foo/bar", "docker.io", "foo/bar", "docker.io/foo/bar", "foo/bar"),
            ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
            ("store/foo/bar", "docker.io", "store/foo/bar", "docker.io/store/foo/bar", "store/foo/bar"),
            ("localhost/fooo", "localhost", "fooo", "localhost/fooo", "localhost/fooo"),
            ("localhost:5000/a/b:tag", "localhost:5000", "a/b", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag"),
            ("example.com/privatebase", "example.com", "privatebase", "example.com/privatebase", "example.com/privatebase"),
            ("example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase"),
            ("127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase"),
            ("test-com:8080/foo", "test-com:8080", "foo", "test-com:8080/foo", "test-com:8080/foo"),
            ("test_com/foo", "docker.io", "test_com/foo", "docker.io/test_com/foo", "test_com/foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"),
            ("[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", "[fc00::1]:5000/docker", "[fc00::1]:5000/docker"),
            ("[2001:db8::1]/repo:tag", "[2001:db8::1]", "repo", "[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag"),
            // Uppercase first component: a domain, as in docker.
            ("Foo/bar", "Foo", "bar", "Foo/bar", "Foo/bar"),
            ("LOCALDOMAIN/fooo/bar", "LOCALDOMAIN", "fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar"),
            // A single component is always a Docker Hub name, even with dots or a "port".
            ("192.168.0.1", "docker.io", "library/192.168.0.1", "docker.io/library/192.168.0.1", "192.168.0.1"),
            ("192.168.0.1:80", "docker.io", "library/192.168.0.1", "docker.io/library/192.168.0.1:80", "192.168.0.1:80"),
            ("localhost:5000", "docker.io", "library/localhost", "docker.io/library/localhost:5000", "localhost:5000"),
        ];
        for (input, domain, path, full, familiar) in cases {
            let r = p(input);
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), path, "{input}");
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar_string(), familiar, "{input}");
            // The full form parses back to the same reference.
            assert_eq!(p(&r.to_string()), r, "{input}");
        }
    }

    #[test]
    fn names_and_familiar_names() {
        let r = p("busybox");
        assert_eq!(r.name(), "docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), None);
        let r = p("localhost:5000/a/b:tag");
        assert_eq!(r.name(), "localhost:5000/a/b");
        assert_eq!(r.familiar_name(), "localhost:5000/a/b");
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(p("foo/bar:x").familiar_name(), "foo/bar");
    }

    #[test]
    fn default_tag() {
        assert_eq!(
            p("busybox").with_default_tag().to_string(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            p("busybox").with_default_tag().familiar_string(),
            "busybox:latest"
        );
        assert_eq!(
            p("busybox:1").with_default_tag().familiar_string(),
            "busybox:1"
        );
        let digested = format!("busybox@{D64}");
        assert_eq!(p(&digested).with_default_tag().familiar_string(), digested);
        assert_eq!(
            p("gcr.io/library/busybox").with_default_tag().to_string(),
            "gcr.io/library/busybox:latest"
        );
    }

    #[test]
    fn tag_and_digest() {
        let short = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
        let r = p(short);
        assert_eq!(r.to_string(), format!("docker.io/library/{short}"));
        assert_eq!(r.familiar_string(), short);
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(
            r.digest(),
            Some("sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa")
        );
        let r = p(&format!("test:5000/repo:tag@{D64}"));
        assert_eq!(r.domain(), "test:5000");
        assert_eq!(r.path(), "repo");
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(r.digest(), Some(D64));
        let r = p(&format!("[2001:db8::1]:5000/repo@{D64}"));
        assert_eq!(r.domain(), "[2001:db8::1]:5000");
        assert_eq!(r.tag(), None);
        // sha384 and sha512 are registered in dockerd.
        p(&format!("foo@sha384:{}", "a".repeat(96)));
        p(&format!("foo@sha512:{}", "a".repeat(128)));
    }

    #[test]
    fn docker_ref() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            (
                "docker.io/busybox:latest",
                "docker.io/library/busybox:latest",
            ),
            ("library/busybox", "docker.io/library/busybox:latest"),
            (
                "gcr.io/library/busybox:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
                "gcr.io/library/busybox@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(p(input).into_docker_ref().to_string(), want);
        }
    }

    #[test]
    fn tag_grammar() {
        assert_eq!(p("lowercase:Uppercase").tag(), Some("Uppercase"));
        assert_eq!(
            p("b.gcr.io/test.example.com/my-app:test.example.com").tag(),
            Some("test.example.com")
        );
        assert_eq!(p("foo:_x").tag(), Some("_x"));
        let long = "a".repeat(128);
        assert_eq!(p(&format!("foo:{long}")).tag(), Some(long.as_str()));
        for bad in ["foo:", "foo:-x", "foo:.x", "foo:a/b", ":justtag", "foo:a+b"] {
            assert_eq!(err(bad), ReferenceError::InvalidFormat, "{bad}");
        }
        assert_eq!(
            err(&format!("foo:{}", "a".repeat(129))),
            ReferenceError::InvalidFormat
        );
    }

    #[test]
    fn invalid_names() {
        let invalid = [
            "https://github.com/docker/docker",
            "-docker",
            "-docker/docker",
            "docker-/docker",
            "-docker-/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker///docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "dock___er/docker",
            "docker/",
            "docker.io/",
            "localhost/",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "aa/asdf$$^/aa",
            "",
            "@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "foo@bar@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "example.com:/foo",
            "example.com:50a/foo",
            "foo bar",
            "fóo",
        ];
        for s in invalid {
            assert_eq!(err(s), ReferenceError::InvalidFormat, "{s:?}");
        }
        // Valid separators, for contrast.
        for s in [
            "dock__er/docker",
            "docker---rules/docker",
            "d/docker",
            "jess/t",
            "a.b_c-d/e",
        ] {
            p(s);
        }
    }

    #[test]
    fn uppercase_messages() {
        assert_eq!(
            err("Busybox").to_string(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            err("Uppercase:tag"),
            ReferenceError::NotLowercase("library/Uppercase".into())
        );
        assert_eq!(
            err("test:5000/Uppercase/lowercase:tag"),
            ReferenceError::NotLowercase("Uppercase/lowercase".into())
        );
        assert_eq!(
            err("docker/Docker"),
            ReferenceError::NotLowercase("docker/Docker".into())
        );
        assert_eq!(
            err("docker.io/docker/Docker"),
            ReferenceError::NotLowercase("docker/Docker".into())
        );
        // The uppercase domain is accepted, but "A_B" is neither a domain nor a path component;
        // only lowercasing would fix it.
        assert_eq!(err("A_B/c"), ReferenceError::NameContainsUppercase);
        assert_eq!(
            err("A_B/c").to_string(),
            "repository name must be lowercase"
        );
    }

    #[test]
    fn ambiguous_hex_identifier() {
        let e = err(HEX64);
        assert_eq!(
            e.to_string(),
            format!(
                "invalid repository name ({HEX64}), cannot specify 64-byte hexadecimal strings"
            )
        );
        // With a domain, or with 63 characters, it is a name.
        assert_eq!(
            p(&format!("docker.io/{HEX64}")).path(),
            format!("library/{HEX64}")
        );
        p(&HEX64[..63]);
        assert!(is_identifier(HEX64));
        assert!(!is_identifier(&HEX64.to_uppercase()));
    }

    #[test]
    fn length_limit() {
        let ok = format!("example.com/{}:tag", "a".repeat(255));
        assert_eq!(p(&ok).path().len(), 255);
        let e = err(&format!("domain.com/{}:tag", "a".repeat(256)));
        assert_eq!(e, ReferenceError::NameTooLong);
        assert_eq!(
            e.to_string(),
            "repository name must not be more than 255 characters"
        );
        // The implied "library/" counts.
        assert_eq!(err(&"a".repeat(250)), ReferenceError::NameTooLong);
        // The limit is on the path, not the domain.
        let many = format!("a.b/{}a:tag-puts-this-over-max", "a/".repeat(126));
        assert_eq!(p(&many).path().len(), 253);
    }

    #[test]
    fn digest_errors() {
        let e = err("repo@sha256:ffffffffffffffffffffffffffffffffff");
        assert_eq!(e, ReferenceError::InvalidChecksumLength);
        assert_eq!(e.to_string(), "invalid checksum digest length");
        let e = err(&format!("validname@invaliddigest:{}", "f".repeat(64)));
        assert_eq!(e, ReferenceError::UnsupportedDigest);
        assert_eq!(e.to_string(), "unsupported digest algorithm");
        assert_eq!(
            // With a tag, the case check stops at the tag's ':' and go-digest has its say.
            err(&format!("validname:t@Sha256:{}", "f".repeat(64))),
            ReferenceError::InvalidChecksumFormat
        );
        let e = err(&format!("validname@sha256:{}", "F".repeat(64)));
        assert_eq!(e, ReferenceError::InvalidChecksumFormat);
        assert_eq!(e.to_string(), "invalid checksum digest format");
        // Too short for the grammar at all.
        assert_eq!(err("repo@sha256:ffff"), ReferenceError::InvalidFormat);
        assert_eq!(
            err(&format!("repo@sha256:{}g", "f".repeat(63))),
            ReferenceError::InvalidFormat
        );
        assert_eq!(
            err(&format!("repo@1sha:{}", "f".repeat(64))),
            ReferenceError::InvalidFormat
        );
        assert_eq!(
            err(&format!("repo@sha256+:{}", "f".repeat(64))),
            ReferenceError::InvalidFormat
        );
    }

    #[test]
    fn odd_docker_cases() {
        // Looks like a domain (has a dot) but is not a valid one: docker ends up with no domain.
        let r = p("a_b.c/foo");
        assert_eq!(r.domain(), "");
        assert_eq!(r.path(), "a_b.c/foo");
        assert_eq!(r.name(), "a_b.c/foo");
        assert_eq!(
            r.clone().with_default_tag().familiar_string(),
            "a_b.c/foo:latest"
        );
        // A digest-looking tag is just a tag.
        let r = p(&format!("sha256:{}", "f".repeat(64)));
        assert_eq!(r.path(), "library/sha256");
        assert_eq!(r.tag().map(str::len), Some(64));
        // The case check covers the digest algorithm when there is no tag, as docker's does.
        assert_eq!(
            err(&format!("foo@SHA256:{}", "f".repeat(64))),
            ReferenceError::NotLowercase("library/foo@SHA256".into())
        );
    }

    #[test]
    fn with_tag_and_digest() {
        let r = p("busybox").with_tag("1.36").unwrap();
        assert_eq!(r.familiar_string(), "busybox:1.36");
        assert_eq!(p("busybox").with_tag("-x"), Err(ReferenceError::InvalidTag));
        let r = p("busybox:1").with_digest(D64).unwrap();
        assert_eq!(r.familiar_string(), format!("busybox:1@{D64}"));
        assert_eq!(
            p("busybox").with_digest("foo"),
            Err(ReferenceError::InvalidDigest)
        );
        let t = r.trimmed();
        assert_eq!(t.to_string(), "docker.io/library/busybox");
        assert_eq!("busybox:1".parse::<Reference>(), Ok(p("busybox:1")));
    }

    #[test]
    fn predicates() {
        assert!(is_path_component("a"));
        assert!(is_path_component("a-----b"));
        assert!(!is_path_component("a-"));
        assert!(!is_path_component("A"));
        assert!(!is_path_component(""));
        assert!(is_domain_and_port("localhost:5000"));
        assert!(is_domain_and_port("[::1]"));
        assert!(!is_domain_and_port("[::1]x"));
        assert!(!is_domain_and_port("[]:5"));
        assert!(!is_domain_and_port("a.-b"));
        assert!(!is_domain_and_port("a:"));
        assert!(is_digest_syntax(D64));
        assert!(is_digest_syntax(&format!("a.b+c-d_e:{}", "0".repeat(32))));
        assert!(!is_digest_syntax(&format!("a..b:{}", "0".repeat(32))));
        assert!(is_tag("A"));
        assert!(!is_tag(""));
    }
}
