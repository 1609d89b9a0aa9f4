//! The process environment (moby container.CreateDaemonEnvironment): PATH and HOSTNAME first,
//! TERM for a terminal, then the container's variables replacing those by name.

use super::defaults::DEFAULT_PATH_ENV;
use super::merge::env_name;

pub(crate) fn process_env(config_env: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH_ENV}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    replace_or_append(env, config_env)
}

/// dockerd's ReplaceOrAppendEnvValues: an override replaces the default of the same name, a bare
/// `NAME` removes it, anything else is appended (duplicates among the overrides included).
pub(crate) fn replace_or_append(defaults: Vec<String>, overrides: &[String]) -> Vec<String> {
    let mut out: Vec<Option<String>> = defaults.into_iter().map(Some).collect();
    let default_count = out.len();
    let index_of = |out: &[Option<String>], name: &str| {
        // The last default of that name, as a Go map built in order would keep.
        (0..default_count)
            .rev()
            .find(|i| out[*i].as_deref().is_some_and(|e| env_name(e) == name))
    };
    for value in overrides {
        match value.split_once('=') {
            None => {
                if let Some(i) = index_of(&out, value) {
                    out[i] = None;
                }
            }
            Some((name, _)) => match index_of(&out, name) {
                Some(i) => out[i] = Some(value.clone()),
                None => out.push(Some(value.clone())),
            },
        }
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_only() {
        assert_eq!(
            process_env(&[], "abc", false),
            v(&[&format!("PATH={DEFAULT_PATH_ENV}"), "HOSTNAME=abc"])
        );
    }

    #[test]
    fn tty_adds_term_and_user_can_override_it() {
        let env = process_env(&v(&["TERM=vt100"]), "h", true);
        assert_eq!(env[2], "TERM=vt100");
        assert_eq!(env.len(), 3);
        assert_eq!(process_env(&[], "h", true)[2], "TERM=xterm");
    }

    #[test]
    fn image_path_replaces_default_in_place() {
        let env = process_env(&v(&["FOO=bar", "PATH=/bin"]), "myhost", false);
        assert_eq!(env, v(&["PATH=/bin", "HOSTNAME=myhost", "FOO=bar"]));
    }

    #[test]
    fn bare_name_unsets_a_default_and_is_otherwise_dropped() {
        let env = process_env(&v(&["HOSTNAME", "GHOST", "A=1"]), "h", false);
        assert_eq!(env, v(&[&format!("PATH={DEFAULT_PATH_ENV}"), "A=1"]));
    }

    #[test]
    fn duplicate_overrides_are_both_kept_like_dockerd() {
        let env = process_env(&v(&["A=1", "A=2"]), "h", false);
        assert_eq!(&env[2..], &v(&["A=1", "A=2"])[..]);
    }

    #[test]
    fn value_with_equals_signs() {
        let env = process_env(&v(&["X=a=b"]), "h", false);
        assert_eq!(env[2], "X=a=b");
    }
}
