//! The user's mounts: `HostConfig.Binds` (`-v SRC:DST:MODE`), `HostConfig.Mounts` (`--mount`) and
//! `HostConfig.Tmpfs` (`--tmpfs`), parsed and checked as dockerd's Linux mount parser does
//! (moby daemon/volume/mounts/linux_parser.go). Volumes are refused until the volume service
//! exists.

use std::path::PathBuf;

use super::error::SpecError;
use super::tmpfs;
use crate::models::{HostConfig, Mount, MountBindOptionsPropagationEnum, MountType};

pub(crate) const DEFAULT_PROPAGATION: &str = "rprivate";

/// One mount the user asked for, before it becomes an OCI mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserMount {
    pub destination: String,
    pub kind: UserMountKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserMountKind {
    Bind {
        source: PathBuf,
        writable: bool,
        propagation: String,
        non_recursive: bool,
    },
    /// `data` is the tmpfs options string ("size=1m,mode=700").
    Tmpfs { data: String },
}

const PROPAGATION_MODES: [&str; 6] = [
    "private", "rprivate", "slave", "rslave", "shared", "rshared",
];
const CONSISTENCY_MODES: [&str; 3] = ["consistent", "cached", "delegated"];

/// dockerd's `linuxValidMountMode`: known words, at most one of each kind.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let kind = if o == "rw" || o == "ro" {
            0
        } else if o == "z" || o == "Z" {
            1
        } else if PROPAGATION_MODES.contains(&o) {
            2
        } else if o == "nocopy" {
            3
        } else if CONSISTENCY_MODES.contains(&o) {
            4
        } else {
            return false;
        };
        counts[kind] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

pub(crate) fn clean(p: &str) -> String {
    // Lexical cleaning like Go's path.Clean, for absolute paths.
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if p.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Target checks shared by every mount type: present, absolute, not `/`.
fn check_target(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("field Target must not be empty".into());
    }
    if clean(&target.replace('\\', "/")) == "/" {
        return Err(SpecError::MountTargetIsRoot.to_string());
    }
    check_absolute(target)
}

fn check_absolute(p: &str) -> Result<(), String> {
    let p = p.replace('\\', "/");
    if p.starts_with('/') {
        Ok(())
    } else {
        Err(SpecError::MountPathNotAbsolute(p).to_string())
    }
}

/// One `-v` entry.
pub(crate) fn parse_bind(raw: &str) -> Result<UserMount, SpecError> {
    let spec_err = || SpecError::VolumeSpec(raw.to_string());
    let arr: Vec<&str> = raw.splitn(4, ':').collect();
    if arr[0].is_empty() {
        return Err(spec_err());
    }
    let (source, target, mode) = match arr[..] {
        // A lone path is an anonymous volume.
        [_] => return Err(SpecError::VolumesUnsupported(raw.to_string())),
        [_, m] if valid_mode(m) => return Err(spec_err()),
        [s, t] => (s, t, ""),
        [s, t, m] => (s, t, m),
        _ => return Err(spec_err()),
    };
    if !valid_mode(mode) {
        return Err(SpecError::MountMode(mode.to_string()));
    }
    if !source.starts_with('/') {
        return Err(SpecError::VolumesUnsupported(raw.to_string()));
    }
    check_target(target).map_err(|reason| SpecError::VolumeSpecReason {
        spec: raw.to_string(),
        reason: format!("invalid mount config for type \"bind\": {reason}"),
    })?;
    let options: Vec<&str> = mode.split(',').collect();
    let propagation = options
        .iter()
        .find(|o| PROPAGATION_MODES.contains(o))
        .copied()
        .unwrap_or(DEFAULT_PROPAGATION);
    Ok(UserMount {
        destination: clean(target),
        kind: UserMountKind::Bind {
            source: PathBuf::from(clean(source)),
            writable: !options.contains(&"ro"),
            propagation: propagation.to_string(),
            non_recursive: false,
        },
    })
}

fn type_name(t: Option<MountType>) -> &'static str {
    match t {
        Some(MountType::BIND) => "bind",
        Some(MountType::VOLUME) => "volume",
        Some(MountType::TMPFS) => "tmpfs",
        Some(MountType::IMAGE) => "image",
        Some(MountType::NPIPE) => "npipe",
        Some(MountType::CLUSTER) => "cluster",
        None => "",
    }
}

/// One `--mount` entry.
pub(crate) fn parse_mount(m: &Mount) -> Result<UserMount, SpecError> {
    let typ = type_name(m.typ);
    let bad = |reason: String| SpecError::MountConfig {
        typ: typ.to_string(),
        reason,
    };
    for (present, field, owner) in [
        (m.bind_options.is_some(), "BindOptions", "bind"),
        (m.volume_options.is_some(), "VolumeOptions", "volume"),
        (m.image_options.is_some(), "ImageOptions", "image"),
        (m.tmpfs_options.is_some(), "TmpfsOptions", "tmpfs"),
    ] {
        if present && typ != owner {
            return Err(bad(format!("field {field} must not be specified")));
        }
    }
    let target = m.target.as_deref().unwrap_or("");
    check_target(target).map_err(bad)?;
    let source = m.source.as_deref().unwrap_or("");
    let read_only = m.read_only.unwrap_or(false);
    let destination = clean(target);
    match m.typ {
        Some(MountType::BIND) => {
            if source.is_empty() {
                return Err(bad("field Source must not be empty".into()));
            }
            check_absolute(source).map_err(bad)?;
            let opts = m.bind_options.clone().unwrap_or_default();
            let ro_non_recursive = opts.read_only_non_recursive.unwrap_or(false);
            let ro_force_recursive = opts.read_only_force_recursive.unwrap_or(false);
            if !read_only && ro_non_recursive {
                return Err(SpecError::MountOptionsConflict(
                    "!ReadOnly && BindOptions.ReadOnlyNonRecursive",
                ));
            }
            if !read_only && ro_force_recursive {
                return Err(SpecError::MountOptionsConflict(
                    "!ReadOnly && BindOptions.ReadOnlyForceRecursive",
                ));
            }
            if ro_non_recursive && ro_force_recursive {
                return Err(SpecError::MountOptionsConflict(
                    "ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive",
                ));
            }
            Ok(UserMount {
                destination,
                kind: UserMountKind::Bind {
                    source: PathBuf::from(clean(source)),
                    writable: !read_only,
                    propagation: propagation_name(opts.propagation).to_string(),
                    non_recursive: opts.non_recursive.unwrap_or(false),
                },
            })
        }
        Some(MountType::TMPFS) => {
            if !source.is_empty() {
                return Err(bad("field Source must not be specified".into()));
            }
            let data = tmpfs::mount_options_string(m.tmpfs_options.as_ref(), read_only)?;
            Ok(UserMount {
                destination,
                kind: UserMountKind::Tmpfs { data },
            })
        }
        Some(MountType::VOLUME) => Err(SpecError::VolumesUnsupported(target.to_string())),
        Some(MountType::IMAGE) => Err(SpecError::Unsupported("image mounts".into())),
        _ => Err(bad("mount type unknown".into())),
    }
}

fn propagation_name(p: Option<MountBindOptionsPropagationEnum>) -> &'static str {
    use MountBindOptionsPropagationEnum as P;
    match p {
        Some(P::PRIVATE) => "private",
        Some(P::SHARED) => "shared",
        Some(P::RSHARED) => "rshared",
        Some(P::SLAVE) => "slave",
        Some(P::RSLAVE) => "rslave",
        Some(P::RPRIVATE) | Some(P::EMPTY) | None => DEFAULT_PROPAGATION,
    }
}

/// `--tmpfs` destinations: absolute and not `/`.
pub(crate) fn check_tmpfs_destination(dest: &str) -> Result<(), SpecError> {
    if clean(&dest.replace('\\', "/")) == "/" {
        return Err(SpecError::MountTargetIsRoot);
    }
    if !dest.starts_with('/') {
        return Err(SpecError::MountPathNotAbsolute(dest.to_string()));
    }
    Ok(())
}

/// Every user mount: `--tmpfs` (sorted by destination), `--mount type=tmpfs`, then binds from
/// `-v` and `--mount type=bind`. Two binds on one destination are an error; a tmpfs wins over a
/// bind on the same destination, as in dockerd.
pub(crate) fn user_mounts(host: &HostConfig) -> Result<Vec<UserMount>, SpecError> {
    let mut tmpfs_mounts: Vec<UserMount> = Vec::new();
    let mut tmpfs_map: Vec<(&String, &String)> = host.tmpfs.iter().flatten().collect();
    tmpfs_map.sort();
    for (dest, data) in tmpfs_map {
        check_tmpfs_destination(dest)?;
        tmpfs_mounts.push(UserMount {
            destination: dest.clone(),
            kind: UserMountKind::Tmpfs { data: data.clone() },
        });
    }
    let mut binds: Vec<UserMount> = Vec::new();
    let mut push_bind = |m: UserMount, shown: &str| {
        if binds.iter().any(|b| b.destination == m.destination) {
            return Err(SpecError::DuplicateMountPoint(shown.to_string()));
        }
        binds.push(m);
        Ok(())
    };
    for raw in host.binds.iter().flatten() {
        let m = parse_bind(raw)?;
        let dest = m.destination.clone();
        push_bind(m, &dest)?;
    }
    for spec in host.mounts.iter().flatten() {
        let m = parse_mount(spec)?;
        if matches!(m.kind, UserMountKind::Tmpfs { .. }) {
            tmpfs_mounts.push(m);
        } else {
            push_bind(m, spec.target.as_deref().unwrap_or(""))?;
        }
    }
    binds.retain(|b| !tmpfs_mounts.iter().any(|t| t.destination == b.destination));
    tmpfs_mounts.extend(binds);
    Ok(tmpfs_mounts)
}

/// Host directories start creates when missing, as dockerd's MountPoint.Setup does: `-v` bind
/// sources, and `--mount type=bind` sources with `BindOptions.CreateMountpoint` (other `--mount`
/// sources must exist, checked at create).
pub fn sources_to_create(host: &HostConfig) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for raw in host.binds.iter().flatten() {
        if let Ok(UserMount {
            kind: UserMountKind::Bind { source, .. },
            ..
        }) = parse_bind(raw)
        {
            out.push(source);
        }
    }
    for m in host.mounts.iter().flatten() {
        let create = m
            .bind_options
            .as_ref()
            .and_then(|o| o.create_mountpoint)
            .unwrap_or(false);
        if m.typ == Some(MountType::BIND)
            && create
            && let Some(source) = m.source.as_deref().filter(|s| s.starts_with('/'))
        {
            out.push(PathBuf::from(clean(source)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{MountBindOptions, MountTmpfsOptions};
    use std::collections::HashMap;

    fn bind(source: &str, writable: bool, propagation: &str) -> UserMountKind {
        UserMountKind::Bind {
            source: source.into(),
            writable,
            propagation: propagation.into(),
            non_recursive: false,
        }
    }

    #[test]
    fn bind_forms() {
        let m = parse_bind("/src:/dst").ok();
        assert_eq!(
            m.map(|m| (m.destination, m.kind)),
            Some(("/dst".into(), bind("/src", true, "rprivate")))
        );
        let m = parse_bind("/src/:/dst/sub/../x:ro,rslave").ok();
        assert_eq!(
            m.map(|m| (m.destination, m.kind)),
            Some(("/dst/x".into(), bind("/src", false, "rslave")))
        );
        let m = parse_bind("/src:/dst:z,rw,nocopy,cached").ok();
        assert_eq!(m.map(|m| m.kind), Some(bind("/src", true, "rprivate")));
    }

    #[test]
    fn bind_errors_are_dockerds() {
        let e = |raw: &str| {
            parse_bind(raw)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(e(":/dst"), "invalid volume specification: ':/dst'");
        assert_eq!(e("/dst:ro"), "invalid volume specification: '/dst:ro'");
        assert_eq!(e("/a:/b:c:d"), "invalid volume specification: '/a:/b:c:d'");
        assert_eq!(e("/a:/b:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(e("/a:/b:bogus"), "invalid mode: bogus");
        assert_eq!(
            e("/a:relative"),
            "invalid volume specification: '/a:relative': invalid mount config for type \"bind\": invalid mount path: 'relative' mount path must be absolute"
        );
        assert_eq!(
            e("/a:/"),
            "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
    }

    #[test]
    fn volumes_are_refused_for_now() {
        for raw in ["myvol:/data", "/data", "myvol:/data:ro"] {
            assert!(
                matches!(parse_bind(raw), Err(SpecError::VolumesUnsupported(_))),
                "{raw}"
            );
        }
        let m = Mount {
            typ: Some(MountType::VOLUME),
            target: Some("/data".into()),
            ..Default::default()
        };
        assert!(matches!(
            parse_mount(&m),
            Err(SpecError::VolumesUnsupported(_))
        ));
    }

    #[test]
    fn mount_bind_options() {
        let m = Mount {
            typ: Some(MountType::BIND),
            source: Some("/s".into()),
            target: Some("/t".into()),
            read_only: Some(true),
            bind_options: Some(MountBindOptions {
                propagation: Some(MountBindOptionsPropagationEnum::RSHARED),
                non_recursive: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            parse_mount(&m).ok().map(|m| m.kind),
            Some(UserMountKind::Bind {
                source: "/s".into(),
                writable: false,
                propagation: "rshared".into(),
                non_recursive: true
            })
        );
    }

    #[test]
    fn mount_errors_are_dockerds() {
        let e = |m: Mount| {
            parse_mount(&m)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            e(Mount {
                typ: Some(MountType::BIND),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::TMPFS),
                source: Some("x".into()),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::TMPFS),
                target: Some("/t".into()),
                bind_options: Some(MountBindOptions::default()),
                ..Default::default()
            }),
            "invalid mount config for type \"tmpfs\": field BindOptions must not be specified"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::BIND),
                source: Some("/s".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"bind\": field Target must not be empty"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::BIND),
                source: Some("rel".into()),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::BIND),
                source: Some("/s".into()),
                target: Some("/t".into()),
                bind_options: Some(MountBindOptions {
                    read_only_non_recursive: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive"
        );
        assert_eq!(
            e(Mount {
                typ: Some(MountType::NPIPE),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"npipe\": mount type unknown"
        );
    }

    #[test]
    fn tmpfs_mount_with_options() {
        let m = Mount {
            typ: Some(MountType::TMPFS),
            target: Some("/scratch".into()),
            tmpfs_options: Some(MountTmpfsOptions {
                size_bytes: Some(1048576),
                mode: Some(0o1770),
                options: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            parse_mount(&m).ok().map(|m| m.kind),
            Some(UserMountKind::Tmpfs {
                data: "mode=1770,size=1m".into()
            })
        );
    }

    #[test]
    fn duplicate_binds_are_refused() {
        let host = HostConfig {
            binds: Some(vec!["/a:/x".into()]),
            mounts: Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some("/b".into()),
                target: Some("/x/".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            user_mounts(&host).err().map(|e| e.to_string()).as_deref(),
            Some("Duplicate mount point: /x/")
        );
        let host = HostConfig {
            binds: Some(vec!["/a:/x".into(), "/b:/x:ro".into()]),
            ..Default::default()
        };
        assert!(matches!(
            user_mounts(&host),
            Err(SpecError::DuplicateMountPoint(_))
        ));
    }

    #[test]
    fn tmpfs_wins_over_bind_and_order_is_tmpfs_first() {
        let host = HostConfig {
            binds: Some(vec!["/a:/x".into(), "/b:/y".into()]),
            tmpfs: Some(HashMap::from([
                ("/x".to_string(), "size=1m".to_string()),
                ("/run".to_string(), String::new()),
            ])),
            ..Default::default()
        };
        let dests: Vec<String> = user_mounts(&host)
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.destination)
            .collect();
        assert_eq!(dests, vec!["/run", "/x", "/y"]);
    }

    #[test]
    fn tmpfs_destination_checks() {
        let host = HostConfig {
            tmpfs: Some(HashMap::from([("run".to_string(), String::new())])),
            ..Default::default()
        };
        assert_eq!(
            user_mounts(&host).err().map(|e| e.to_string()).as_deref(),
            Some("invalid mount path: 'run' mount path must be absolute")
        );
        assert!(matches!(
            check_tmpfs_destination("/"),
            Err(SpecError::MountTargetIsRoot)
        ));
        assert!(matches!(
            check_tmpfs_destination("/a/.."),
            Err(SpecError::MountTargetIsRoot)
        ));
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("/a//b/./c/.."), "/a/b");
        assert_eq!(clean("/.."), "/");
        assert_eq!(clean("/a/"), "/a");
    }

    #[test]
    fn sources_created_for_binds_and_create_mountpoint_only() {
        let host = HostConfig {
            binds: Some(vec!["/a/b/:/x".into(), "/c:/y:ro".into()]),
            mounts: Some(vec![
                Mount {
                    typ: Some(MountType::BIND),
                    source: Some("/must-exist".into()),
                    target: Some("/z".into()),
                    ..Default::default()
                },
                Mount {
                    typ: Some(MountType::BIND),
                    source: Some("/made".into()),
                    target: Some("/w".into()),
                    bind_options: Some(MountBindOptions {
                        create_mountpoint: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        assert_eq!(
            sources_to_create(&host),
            vec![
                PathBuf::from("/a/b"),
                PathBuf::from("/c"),
                PathBuf::from("/made")
            ]
        );
    }
}
