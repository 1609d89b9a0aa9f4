//! `--user` and `--group-add` against the container's /etc/passwd and /etc/group, with the rules
//! (and messages) of moby/sys/user that dockerd uses.

use std::path::Path;

use super::error::SpecError;
use super::rootfs_file;

const MAX_ID: i64 = (1 << 31) - 1;

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// The primary gid first, then the user's groups from /etc/group, then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// From /etc/passwd; empty when the user has no entry.
    pub home: String,
}

/// Resolves `user` ("", "name", "uid", "name:group", "uid:gid", ...) inside `rootfs`.
pub fn resolve_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser, SpecError> {
    let passwd = rootfs_file::read(rootfs, "/etc/passwd");
    let group = rootfs_file::read(rootfs, "/etc/group");
    resolve_from(user, group_add, passwd.as_deref(), group.as_deref())
}

/// The pure part of [`resolve_user`]: `None` files are missing ones.
pub(crate) fn resolve_from(
    user: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ResolvedUser, SpecError> {
    let exec = exec_user(user, passwd, group)?;
    let gid = exec.gid as u32;
    let mut additional_gids = vec![gid];
    additional_gids.extend(exec.sgids.iter().map(|g| *g as u32));
    if !group_add.is_empty() {
        additional_gids.extend(additional_groups(group_add, group)?);
    }
    Ok(ResolvedUser {
        uid: exec.uid as u32,
        gid,
        additional_gids,
        home: exec.home,
    })
}

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

/// A number the way the files' parser reads it: garbage is 0.
fn lenient_number(s: &str) -> i64 {
    s.parse().unwrap_or(0)
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    // Unlike /etc/group, '#' lines are not comments here (as in moby/sys/user).
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            PasswdEntry {
                name: field(0).to_string(),
                uid: lenient_number(field(2)),
                gid: lenient_number(field(3)),
                home: field(5).to_string(),
            }
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            let list = field(3);
            GroupEntry {
                name: field(0).to_string(),
                gid: lenient_number(field(2)),
                members: if list.is_empty() {
                    vec![]
                } else {
                    list.split(',').map(str::to_string).collect()
                },
            }
        })
        .collect()
}

/// `Some(id)` for a numeric argument, `None` for a name; an out-of-range number is an error.
fn numeric_id(arg: &str) -> Result<Option<i64>, SpecError> {
    if arg.is_empty() {
        return Ok(None);
    }
    match arg.parse::<i64>() {
        Ok(id) if (0..=MAX_ID).contains(&id) => Ok(Some(id)),
        Ok(_) => Err(SpecError::IdOutOfRange),
        Err(e) => match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                Err(SpecError::IdOutOfRange)
            }
            _ => Ok(None),
        },
    }
}

struct ExecUser {
    uid: i64,
    gid: i64,
    sgids: Vec<i64>,
    home: String,
}

fn exec_user(spec: &str, passwd: Option<&str>, group: Option<&str>) -> Result<ExecUser, SpecError> {
    let mut parts = spec.split(':');
    let user_arg = parts.next().unwrap_or("");
    let group_arg = parts.next().unwrap_or("");
    let uid_arg = numeric_id(user_arg)?;
    let gid_arg = numeric_id(group_arg)?;

    let mut out = ExecUser {
        uid: 0,
        gid: 0,
        sgids: vec![],
        home: String::new(),
    };
    let users = passwd.map(parse_passwd).unwrap_or_default();
    let matched = users.into_iter().find(|u| match (user_arg, uid_arg) {
        ("", _) => u.uid == 0,
        (_, Some(uid)) => u.uid == uid,
        (name, None) => u.name == name,
    });
    let matched_name = match matched {
        Some(u) => {
            out.uid = u.uid;
            out.gid = u.gid;
            out.home = u.home;
            u.name
        }
        None if user_arg.is_empty() => String::new(),
        None => match uid_arg {
            Some(uid) => {
                out.uid = uid;
                String::new()
            }
            None => return Err(SpecError::NoSuchUser(user_arg.to_string())),
        },
    };

    if group_arg.is_empty() && matched_name.is_empty() {
        return Ok(out);
    }
    let groups: Vec<GroupEntry> = group
        .map(parse_group)
        .unwrap_or_default()
        .into_iter()
        .filter(|g| match (group_arg, gid_arg) {
            ("", _) => g.members.contains(&matched_name),
            (_, Some(gid)) => g.gid == gid,
            (name, None) => g.name == name,
        })
        .collect();
    if !group_arg.is_empty() {
        out.gid = match (groups.first(), gid_arg) {
            (Some(g), _) => g.gid,
            (None, Some(gid)) => gid,
            (None, None) => return Err(SpecError::NoSuchGroup(group_arg.to_string())),
        };
    } else {
        out.sgids = groups.iter().map(|g| g.gid).collect();
    }
    Ok(out)
}

/// `--group-add` names or ids: names must exist in /etc/group, ids need not. Duplicates are
/// dropped, keeping the first.
fn additional_groups(list: &[String], group: Option<&str>) -> Result<Vec<u32>, SpecError> {
    let groups = group.map(parse_group).unwrap_or_default();
    let mut gids: Vec<u32> = Vec::new();
    for arg in list {
        let numeric = numeric_id(arg)?;
        let found = groups.iter().find(|g| match numeric {
            Some(gid) => g.gid == gid,
            None => g.name == *arg,
        });
        let gid = match (found, numeric) {
            (Some(g), _) if !(0..=MAX_ID).contains(&g.gid) => return Err(SpecError::IdOutOfRange),
            (Some(g), _) => g.gid,
            (None, Some(gid)) => gid,
            (None, None) => return Err(SpecError::NoSuchGroup(arg.clone())),
        };
        let gid = gid as u32;
        if !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    Ok(gids)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        \n\
        app:x:1000:1000:App:/home/app:/bin/sh\n\
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
        dup:x:2000:2000::/first:\n\
        dup:x:2001:2001::/second:\n";
    const GROUP: &str = "root:x:0:\n\
        # a comment line\n\
        wheel:x:10:root,app\n\
        audio:x:29:app\n\
        app:x:1000:\n\
        nogroup:x:65534:\n";

    fn res(user: &str, add: &[&str]) -> Result<ResolvedUser, SpecError> {
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve_from(user, &add, Some(PASSWD), Some(GROUP))
    }

    fn ok(user: &str, add: &[&str]) -> ResolvedUser {
        match res(user, add) {
            Ok(u) => u,
            Err(e) => panic!("{user}: {e}"),
        }
    }

    fn err(user: &str, add: &[&str]) -> String {
        match res(user, add) {
            Ok(u) => panic!("{user}: unexpectedly {u:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_is_root_with_its_groups() {
        let u = ok("", &[]);
        assert_eq!((u.uid, u.gid), (0, 0));
        assert_eq!(u.additional_gids, vec![0, 10]);
        assert_eq!(u.home, "/root");
    }

    #[test]
    fn by_name() {
        let u = ok("app", &[]);
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![1000, 10, 29]);
        assert_eq!(u.home, "/home/app");
    }

    #[test]
    fn by_uid_with_entry_gets_its_gid_and_groups() {
        let u = ok("1000", &[]);
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![1000, 10, 29]);
    }

    #[test]
    fn by_uid_without_entry_keeps_gid_zero() {
        let u = ok("4242", &[]);
        assert_eq!((u.uid, u.gid), (4242, 0));
        assert_eq!(u.additional_gids, vec![0]);
        assert_eq!(u.home, "");
    }

    #[test]
    fn user_and_group_names() {
        let u = ok("app:audio", &[]);
        assert_eq!((u.uid, u.gid), (1000, 29));
        // An explicit group means no supplementary groups from /etc/group.
        assert_eq!(u.additional_gids, vec![29]);
    }

    #[test]
    fn uid_gid_numbers_need_no_entries() {
        let u = ok("1234:5678", &[]);
        assert_eq!((u.uid, u.gid), (1234, 5678));
        assert_eq!(u.additional_gids, vec![5678]);
    }

    #[test]
    fn name_and_numeric_gid() {
        let u = ok("nobody:10", &[]);
        assert_eq!((u.uid, u.gid), (65534, 10));
    }

    #[test]
    fn first_duplicate_entry_wins() {
        assert_eq!(ok("dup", &[]).home, "/first");
    }

    #[test]
    fn unknown_user_message_is_dockerds() {
        assert_eq!(
            err("ghost", &[]),
            "unable to find user ghost: no matching entries in passwd file"
        );
    }

    #[test]
    fn unknown_group_message_is_dockerds() {
        assert_eq!(
            err("app:ghosts", &[]),
            "unable to find group ghosts: no matching entries in group file"
        );
    }

    #[test]
    fn out_of_range_ids() {
        let range = "uids and gids must be in range 0-2147483647";
        assert_eq!(err("2147483648", &[]), range);
        assert_eq!(err("-1", &[]), range);
        assert_eq!(err("0:99999999999999999999", &[]), range);
        assert_eq!(err("", &["4294967296"]), range);
        assert_eq!(ok("2147483647", &[]).uid, 2147483647);
    }

    #[test]
    fn group_add_names_and_numbers_deduplicated() {
        let u = ok("1234:5678", &["10", "audio", "777", "wheel"]);
        assert_eq!(u.additional_gids, vec![5678, 10, 29, 777]);
    }

    #[test]
    fn group_add_unknown_name() {
        assert_eq!(
            err("", &["daemon"]),
            "unable to find group daemon: no matching entries in group file"
        );
    }

    #[test]
    fn extra_colon_fields_are_ignored() {
        let u = ok("app:audio:whatever", &[]);
        assert_eq!((u.uid, u.gid), (1000, 29));
    }

    #[test]
    fn comment_lines_in_group_are_skipped_but_not_in_passwd() {
        let passwd = "#x:x:5:5::/c:\n";
        let u = resolve_from("#x", &[], Some(passwd), Some("# wheel:x:10:#x\n"));
        assert_eq!(
            u.ok().map(|u| (u.uid, u.additional_gids)),
            Some((5, vec![5]))
        );
    }

    #[test]
    fn missing_files() {
        assert_eq!(
            resolve_from("", &[], None, None).ok(),
            Some(ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![0],
                home: String::new()
            })
        );
        assert!(resolve_from("1:2", &["3".into()], None, None).is_ok());
        assert!(resolve_from("nobody", &[], None, None).is_err());
        assert!(resolve_from("0:staff", &[], None, None).is_err());
        assert!(resolve_from("", &["staff".into()], None, None).is_err());
    }

    #[test]
    fn garbage_numbers_in_files_read_as_zero() {
        let u = resolve_from("odd", &[], Some("odd:x:abc:12x::/h:\n"), None);
        assert_eq!(u.ok().map(|u| (u.uid, u.gid)), Some((0, 0)));
    }

    #[test]
    fn resolve_user_reads_the_rootfs() {
        let d = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let etc = d.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(etc.join("passwd"), PASSWD).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(etc.join("group"), GROUP).unwrap_or_else(|e| panic!("{e}"));
        let u = resolve_user(d.path(), "app", &["nogroup".to_string()]);
        assert_eq!(
            u.ok().map(|u| u.additional_gids),
            Some(vec![1000, 10, 29, 65534])
        );
        let e = resolve_user(d.path(), "nobody2", &[])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("unable to find user nobody2: no matching entries in passwd file")
        );
    }
}
