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
];

#[test]
fn modules_import_only_down_the_arrows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (module, banned) in RULES {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        for (path, text) in files {
            for b in *banned {
                for pattern in [
                    format!("crate::{b}::"),
                    format!("crate::{b};"),
                    format!("crate::{b}}}"),
                ] {
                    if text.contains(&pattern) {
                        violations.push(format!("{path} imports crate::{b}"));
                    }
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
