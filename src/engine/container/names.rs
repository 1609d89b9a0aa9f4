//! Container names: validation, generation, and resolving what the user typed to one container
//! (full ID, then exact name, then unique ID prefix: dockerd's order).

use crate::engine::{Engine, Error, Result};
use crate::store::ContainerRow;

/// dockerd's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, with an optional leading '/'.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && bare.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(Error::invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(format!("/{bare}"))
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "clever", "eager", "fervent", "gallant", "gentle", "happy", "keen", "lucid",
    "modest", "nifty", "patient", "quirky", "serene", "sharp", "steady", "tender", "vivid",
    "witty", "bold", "crisp", "dreamy", "epic", "frosty", "jolly", "mellow", "noble", "proud",
    "quiet",
];

const SURNAMES: &[&str] = &[
    "agnesi", "babbage", "bohr", "curie", "darwin", "euler", "faraday", "fermat", "gauss",
    "hopper", "hypatia", "kepler", "lamarr", "lovelace", "meitner", "newton", "noether", "pascal",
    "ritchie", "shannon", "tesla", "thompson", "turing", "volta", "wozniak", "yalow", "zuse",
    "galois", "hamilton", "knuth",
];

/// A random `adjective_surname`, as dockerd generates.
pub fn generate() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let a = ADJECTIVES[usize::from(b[0]) % ADJECTIVES.len()];
    let s = SURNAMES[usize::from(b[1]) % SURNAMES.len()];
    format!("{a}_{s}")
}

impl Engine {
    /// Finds one container by full ID, exact name or unique ID prefix.
    pub async fn resolve_container(&self, input: &str) -> Result<ContainerRow> {
        if input.is_empty() {
            return Err(Error::no_such_container(input));
        }
        if crate::util::ids::is_full_id(input)
            && let Some(row) = self.store().container(input).await?
        {
            return Ok(row);
        }
        let name = format!("/{}", input.strip_prefix('/').unwrap_or(input));
        if let Some(row) = self.store().container_by_name(&name).await? {
            return Ok(row);
        }
        if input.bytes().all(|b| b.is_ascii_hexdigit()) {
            let ids = self.store().container_ids_with_prefix(input).await?;
            match ids.as_slice() {
                [id] => {
                    if let Some(row) = self.store().container(id).await? {
                        return Ok(row);
                    }
                }
                [] => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "multiple IDs found with provided prefix: {input}"
                    )));
                }
            }
        }
        Err(Error::no_such_container(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_dockerd() {
        assert_eq!(validate("web_1.a-b").unwrap(), "/web_1.a-b");
        assert_eq!(validate("/web").unwrap(), "/web");
        for bad in ["", "a", "-x", "a b", "a/b", "_x"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for _ in 0..20 {
            validate(&generate()).unwrap();
        }
    }
}
