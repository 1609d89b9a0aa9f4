//! tmpfs mount options: `--tmpfs DEST:OPTS` strings, `--mount type=tmpfs` options, and the
//! de-duplication dockerd applies to both (moby/sys/mount MergeTmpfsOptions).

use super::error::SpecError;
use crate::models::MountTmpfsOptions;

/// Which mount flag a flag option sets or clears; options with the same key override each other
/// (the last one wins). Every propagation option shares one key.
fn flag_key(option: &str) -> Option<&'static str> {
    Some(match option {
        "ro" | "rw" => "rdonly",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "exec" | "noexec" => "noexec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        "bind" | "rbind" | "unbindable" | "runbindable" | "private" | "rprivate" | "shared"
        | "rshared" | "slave" | "rslave" => "propagation",
        _ => return None,
    })
}

/// tmpfs's own `key=value` options that dockerd lets through.
const DATA_KEYS: [&str; 8] = [
    "",
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Drops options overridden by a later one, keeping the survivors in order; refuses unknown ones.
pub(crate) fn merge_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    let mut seen_flags: Vec<&str> = Vec::new();
    let mut seen_data: Vec<&str> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" {
            continue;
        }
        if let Some(key) = flag_key(option) {
            if !seen_flags.contains(&key) {
                seen_flags.push(key);
                kept.push(option.clone());
            }
            continue;
        }
        let (key, has_value) = match option.split_once('=') {
            Some((k, _)) => (k, true),
            None => (option.as_str(), false),
        };
        if !has_value || !DATA_KEYS.contains(&key) {
            return Err(SpecError::TmpfsOption(key.to_string()));
        }
        if !seen_data.contains(&key) {
            seen_data.push(key);
            kept.push(option.clone());
        }
    }
    kept.reverse();
    Ok(kept)
}

/// The options string of a `--mount type=tmpfs`, as dockerd writes it (size with the largest
/// exact unit, mode in octal).
pub(crate) fn mount_options_string(
    opts: Option<&MountTmpfsOptions>,
    read_only: bool,
) -> Result<String, SpecError> {
    let mut raw: Vec<String> = Vec::new();
    if read_only {
        raw.push("ro".into());
    }
    let Some(opts) = opts else {
        return Ok(raw.join(","));
    };
    if let Some(mode) = opts.mode.filter(|m| *m != 0) {
        raw.push(format!("mode={:o}", mode as u32));
    }
    if let Some(size) = opts.size_bytes.filter(|s| *s != 0) {
        raw.push(format!("size={}", size_with_unit(size)));
    }
    for opt in opts.options.iter().flatten() {
        raw.push(extra_option(opt)?);
    }
    Ok(raw.join(","))
}

fn size_with_unit(size: i64) -> String {
    for (suffix, divisor) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if size % divisor == 0 {
            return format!("{}{suffix}", size / divisor);
        }
    }
    size.to_string()
}

/// `TmpfsOptions.Options` entries: only exec/noexec, as `[name]` or `[name, value]`.
fn extra_option(opt: &[String]) -> Result<String, SpecError> {
    let bad = |reason: String| SpecError::MountConfig {
        typ: "tmpfs".into(),
        reason,
    };
    let name = match opt {
        [name] | [name, _] => name,
        _ => return Err(bad("invalid option array length".into())),
    };
    if name != "exec" && name != "noexec" {
        return Err(bad(format!("invalid option: {name}")));
    }
    Ok(match opt {
        [name, value] => format!("{name}={value}"),
        _ => name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let merged = merge_options(&v(&[
            "noexec", "nosuid", "nodev", "rprivate", "size=10m", "exec", "mode=700",
        ]));
        assert_eq!(
            merged.ok(),
            Some(v(&[
                "nosuid", "nodev", "rprivate", "size=10m", "exec", "mode=700"
            ]))
        );
    }

    #[test]
    fn data_options_dedupe_by_key() {
        let merged = merge_options(&v(&["size=1m", "mode=1777", "size=2m", "defaults"]));
        assert_eq!(merged.ok(), Some(v(&["mode=1777", "size=2m"])));
    }

    #[test]
    fn one_propagation_mode_survives() {
        let merged = merge_options(&v(&["rprivate", "shared", "ro", "rw"]));
        assert_eq!(merged.ok(), Some(v(&["shared", "rw"])));
    }

    #[test]
    fn unknown_options_are_refused_with_dockers_message() {
        let e = |o: &str| merge_options(&v(&[o])).err().map(|e| e.to_string());
        assert_eq!(
            e("bogus").as_deref(),
            Some("invalid tmpfs option \"bogus\"")
        );
        assert_eq!(
            e("color=red").as_deref(),
            Some("invalid tmpfs option \"color\"")
        );
        assert!(merge_options(&v(&["uid=1000", "gid=1", "nr_inodes=5", "mpol=default"])).is_ok());
    }

    #[test]
    fn mount_options_string_units_and_mode() {
        let opts = MountTmpfsOptions {
            size_bytes: Some(1048576),
            mode: Some(0o1770),
            options: None,
        };
        assert_eq!(
            mount_options_string(Some(&opts), false).ok().as_deref(),
            Some("mode=1770,size=1m")
        );
        let opts = MountTmpfsOptions {
            size_bytes: Some(3 << 30),
            ..Default::default()
        };
        assert_eq!(
            mount_options_string(Some(&opts), true).ok().as_deref(),
            Some("ro,size=3g")
        );
        for (bytes, want) in [(1000, "size=1000"), (4096, "size=4k")] {
            let opts = MountTmpfsOptions {
                size_bytes: Some(bytes),
                ..Default::default()
            };
            assert_eq!(
                mount_options_string(Some(&opts), false).ok().as_deref(),
                Some(want)
            );
        }
        assert_eq!(mount_options_string(None, false).ok().as_deref(), Some(""));
    }

    #[test]
    fn mount_extra_options() {
        let opts = MountTmpfsOptions {
            options: Some(vec![v(&["exec"]), v(&["noexec", "x"])]),
            ..Default::default()
        };
        assert_eq!(
            mount_options_string(Some(&opts), false).ok().as_deref(),
            Some("exec,noexec=x")
        );
        let opts = MountTmpfsOptions {
            options: Some(vec![v(&["nosuid"])]),
            ..Default::default()
        };
        assert_eq!(
            mount_options_string(Some(&opts), false)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("invalid mount config for type \"tmpfs\": invalid option: nosuid")
        );
        let opts = MountTmpfsOptions {
            options: Some(vec![vec![]]),
            ..Default::default()
        };
        assert!(mount_options_string(Some(&opts), false).is_err());
    }
}
