//! The import arrows of ARCHITECTURE.md, enforced: a module may only import the modules its layer
//! allows (`runtime` nothing, `store` only util, `shim` only shim::proto and util, ...).

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

/// (module dir, modules it must not import)
const RULES: &[(&str, &[&str])] = &[
    (
        "runtime",
        &[
            "api", "engine", "store", "task", "shim", "image", "network", "config", "models",
        ],
    ),
    (
        "store",
        &[
            "api", "engine", "image", "network", "task", "shim", "runtime", "models",
        ],
    ),
    (
        "image",
        &["api", "engine", "task", "shim", "runtime", "models"],
    ),
    (
        "network",
        &[
            "api", "engine", "task", "shim", "runtime", "models", "image",
        ],
    ),
    (
        "task",
        &["api", "engine", "store", "image", "runtime", "models"],
    ),
    (
        "shim",
        &[
            "api", "engine", "store", "image", "task", "runtime", "models", "network",
        ],
    ),
    (
        "util",
        &[
            "api", "engine", "store", "image", "task", "shim", "runtime", "models", "network",
            "config",
        ],
    ),
    ("engine", &["api"]),
    // HTTP only: handlers call the engine (and its models), never what lies beneath it.
    (
        "api",
        &["store", "image", "task", "shim", "runtime", "network"],
    ),
];

/// The modules a source file imports from `crate`: `crate::x::...` paths and the first segment
/// of every item of a grouped `use crate::{x::..., y, z::{...}}`.
fn imported_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(i) = text[at..].find("crate::") {
        let start = at + i + "crate::".len();
        at = start;
        if bytes.get(start) == Some(&b'{') {
            // The group up to its matching brace; split at top-level commas.
            let (mut depth, mut item, mut end) = (0usize, String::new(), start);
            for (j, c) in text[start..].char_indices() {
                end = start + j;
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => {
                        out.push(first_segment(&item));
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
            out.push(first_segment(&item));
            at = end;
        } else {
            out.push(first_segment(&text[start..]));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn grouped_imports_are_seen() {
    let text =
        "use crate::{store::Store, task::{Task, TaskError}, util};\nlet x = crate::image::Y;";
    assert_eq!(imported_modules(text), ["store", "task", "util", "image"]);
}

/// Error statuses are chosen in api/error.rs alone (from the engine's error kinds); handlers
/// answer success statuses only.
#[test]
fn error_statuses_are_chosen_in_one_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    for (path, text) in files {
        if path.ends_with("src/api/error.rs") {
            continue;
        }
        for code in [
            "BAD_REQUEST",
            "NOT_FOUND",
            "CONFLICT",
            "NOT_MODIFIED",
            "FORBIDDEN",
            "UNAUTHORIZED",
            "INTERNAL_SERVER_ERROR",
            "SERVICE_UNAVAILABLE",
            "NOT_IMPLEMENTED",
        ] {
            if text.contains(&format!("StatusCode::{code}")) {
                violations.push(format!("{path} answers StatusCode::{code}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "statuses chosen outside api/error.rs:\n{}",
        violations.join("\n")
    );
}

#[test]
fn modules_import_only_down_the_arrows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (module, banned) in RULES {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        for (path, text) in files {
            // Code only: a comment may name a module it does not import.
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let imported = imported_modules(&code);
            for b in *banned {
                if imported.iter().any(|m| m == b) {
                    violations.push(format!("{path} imports crate::{b}"));
                }
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
