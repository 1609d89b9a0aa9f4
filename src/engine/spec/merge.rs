//! dockerd's `merge()` (daemon/commit.go) plus the `[""]` entrypoint reset of
//! `mergeAndVerifyConfig`: the image's config fills what the user left out at create time.

use crate::models::{ContainerConfig, HealthConfig, ImageConfig};

/// Fills `container` from `image` where the user gave nothing, as dockerd does at create.
/// An entrypoint of `[""]` means "no entrypoint": it stops the image's from being used and is
/// then cleared.
pub fn merge_image_config(container: &mut ContainerConfig, image: &ImageConfig) {
    if is_empty_str(&container.user) {
        container.user = image.user.clone();
    }
    container.exposed_ports = union(container.exposed_ports.take(), &image.exposed_ports);
    container.env = merge_env(container.env.take(), &image.env);

    // Labels always end up a map (dockerd makes it non-nil), image labels under the user's.
    let labels = container.labels.get_or_insert_with(Default::default);
    for (k, v) in image.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }

    // A user entrypoint (even `[""]`) discards the image's cmd unless the user gave one; an
    // explicit empty list (not absent) keeps the image's entrypoint out.
    if is_empty_vec(&container.entrypoint) {
        if is_empty_vec(&container.cmd) {
            container.cmd = image.cmd.clone();
        }
        if container.entrypoint.is_none() {
            container.entrypoint = image.entrypoint.clone();
        }
    }
    if let Some(image_hc) = &image.healthcheck {
        match &mut container.healthcheck {
            None => container.healthcheck = Some(image_hc.clone()),
            Some(user_hc) => merge_healthcheck(user_hc, image_hc),
        }
    }
    if is_empty_str(&container.working_dir) {
        container.working_dir = image.working_dir.clone();
    }
    container.volumes = union(container.volumes.take(), &image.volumes);
    if is_empty_str(&container.stop_signal) {
        container.stop_signal = image.stop_signal.clone();
    }

    if container
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        container.entrypoint = None;
    }
}

fn is_empty_str(s: &Option<String>) -> bool {
    s.as_deref().unwrap_or("").is_empty()
}

fn is_empty_vec<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}

/// The user's set, plus the image's entries it lacks (ports and volumes are sets in dockerd).
fn union(user: Option<Vec<String>>, image: &Option<Vec<String>>) -> Option<Vec<String>> {
    match user {
        Some(mut u) if !u.is_empty() => {
            for item in image.iter().flatten() {
                if !u.contains(item) {
                    u.push(item.clone());
                }
            }
            Some(u)
        }
        _ => image.clone(),
    }
}

/// The user's variables, then the image's whose names the user did not set.
fn merge_env(user: Option<Vec<String>>, image: &Option<Vec<String>>) -> Option<Vec<String>> {
    let Some(mut env) = user.filter(|u| !u.is_empty()) else {
        return image.clone();
    };
    let names: Vec<String> = env.iter().map(|e| env_name(e).to_string()).collect();
    for var in image.iter().flatten() {
        if !names.iter().any(|n| n == env_name(var)) {
            env.push(var.clone());
        }
    }
    Some(env)
}

pub(crate) fn env_name(var: &str) -> &str {
    var.split_once('=').map_or(var, |(k, _)| k)
}

fn merge_healthcheck(user: &mut HealthConfig, image: &HealthConfig) {
    if is_empty_vec(&user.test) {
        user.test = image.test.clone();
    }
    for (u, i) in [
        (&mut user.interval, image.interval),
        (&mut user.timeout, image.timeout),
        (&mut user.start_period, image.start_period),
        (&mut user.start_interval, image.start_interval),
        (&mut user.retries, image.retries),
    ] {
        if u.unwrap_or(0) == 0 {
            *u = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn s(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|x| x.to_string()).collect())
    }

    fn image() -> ImageConfig {
        ImageConfig {
            user: Some("app".into()),
            env: s(&["PATH=/usr/bin", "LANG=C"]),
            cmd: s(&["serve"]),
            entrypoint: s(&["/entry.sh"]),
            working_dir: Some("/srv".into()),
            labels: Some(HashMap::from([
                ("a".to_string(), "image".to_string()),
                ("b".to_string(), "image".to_string()),
            ])),
            exposed_ports: s(&["80/tcp"]),
            volumes: s(&["/data"]),
            stop_signal: Some("SIGQUIT".into()),
            on_build: s(&["RUN x"]),
            ..Default::default()
        }
    }

    fn merged(mut c: ContainerConfig) -> ContainerConfig {
        merge_image_config(&mut c, &image());
        c
    }

    #[test]
    fn empty_container_takes_everything_from_the_image() {
        let c = merged(ContainerConfig::default());
        assert_eq!(c.user.as_deref(), Some("app"));
        assert_eq!(c.env, s(&["PATH=/usr/bin", "LANG=C"]));
        assert_eq!(c.cmd, s(&["serve"]));
        assert_eq!(c.entrypoint, s(&["/entry.sh"]));
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        assert_eq!(c.exposed_ports, s(&["80/tcp"]));
        assert_eq!(c.volumes, s(&["/data"]));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(c.labels.as_ref().map(|l| l.len()), Some(2));
        assert_eq!(c.on_build, None, "OnBuild is not merged");
    }

    #[test]
    fn user_env_overrides_by_name_and_image_vars_follow() {
        let c = merged(ContainerConfig {
            env: s(&["LANG=fr", "X=1"]),
            ..Default::default()
        });
        assert_eq!(c.env, s(&["LANG=fr", "X=1", "PATH=/usr/bin"]));
    }

    #[test]
    fn user_env_without_value_still_shadows_the_image_var() {
        let c = merged(ContainerConfig {
            env: s(&["LANG"]),
            ..Default::default()
        });
        assert_eq!(c.env, s(&["LANG", "PATH=/usr/bin"]));
    }

    #[test]
    fn user_cmd_keeps_image_entrypoint() {
        let c = merged(ContainerConfig {
            cmd: s(&["other"]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, s(&["/entry.sh"]));
        assert_eq!(c.cmd, s(&["other"]));
    }

    #[test]
    fn user_entrypoint_drops_image_cmd() {
        let c = merged(ContainerConfig {
            entrypoint: s(&["/bin/sh"]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, s(&["/bin/sh"]));
        assert_eq!(c.cmd, None);
    }

    #[test]
    fn user_entrypoint_and_cmd_are_kept() {
        let c = merged(ContainerConfig {
            entrypoint: s(&["/bin/sh"]),
            cmd: s(&["-c", "true"]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, s(&["/bin/sh"]));
        assert_eq!(c.cmd, s(&["-c", "true"]));
    }

    #[test]
    fn empty_string_entrypoint_clears_entrypoint_and_image_cmd() {
        let c = merged(ContainerConfig {
            entrypoint: s(&[""]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, None);
        assert_eq!(c.cmd, None);
        let c = merged(ContainerConfig {
            entrypoint: s(&[""]),
            cmd: s(&["ls"]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, None);
        assert_eq!(c.cmd, s(&["ls"]));
    }

    #[test]
    fn explicit_empty_entrypoint_list_keeps_image_entrypoint_out() {
        let c = merged(ContainerConfig {
            entrypoint: Some(vec![]),
            ..Default::default()
        });
        assert_eq!(c.entrypoint, Some(vec![]));
        assert_eq!(c.cmd, s(&["serve"]));
    }

    #[test]
    fn labels_user_wins() {
        let c = merged(ContainerConfig {
            labels: Some(HashMap::from([("a".to_string(), "user".to_string())])),
            ..Default::default()
        });
        let l = c.labels.unwrap_or_default();
        assert_eq!(l.get("a").map(String::as_str), Some("user"));
        assert_eq!(l.get("b").map(String::as_str), Some("image"));
    }

    #[test]
    fn labels_become_a_map_even_without_any() {
        let mut c = ContainerConfig::default();
        merge_image_config(&mut c, &ImageConfig::default());
        assert_eq!(c.labels, Some(HashMap::new()));
    }

    #[test]
    fn ports_and_volumes_are_unions() {
        let c = merged(ContainerConfig {
            exposed_ports: s(&["443/tcp", "80/tcp"]),
            volumes: s(&["/logs"]),
            ..Default::default()
        });
        assert_eq!(c.exposed_ports, s(&["443/tcp", "80/tcp"]));
        assert_eq!(c.volumes, s(&["/logs", "/data"]));
    }

    #[test]
    fn user_scalars_win() {
        let c = merged(ContainerConfig {
            user: Some("root".into()),
            working_dir: Some("/w".into()),
            stop_signal: Some("SIGINT".into()),
            ..Default::default()
        });
        assert_eq!(c.user.as_deref(), Some("root"));
        assert_eq!(c.working_dir.as_deref(), Some("/w"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
    }

    #[test]
    fn healthcheck_fields_fill_in() {
        let mut img = image();
        img.healthcheck = Some(HealthConfig {
            test: s(&["CMD", "true"]),
            interval: Some(5),
            timeout: Some(6),
            retries: Some(3),
            start_period: Some(7),
            start_interval: Some(8),
        });
        let mut c = ContainerConfig {
            healthcheck: Some(HealthConfig {
                interval: Some(99),
                ..Default::default()
            }),
            ..Default::default()
        };
        merge_image_config(&mut c, &img);
        let hc = c.healthcheck.unwrap_or_default();
        assert_eq!(hc.test, s(&["CMD", "true"]));
        assert_eq!(hc.interval, Some(99));
        assert_eq!(hc.timeout, Some(6));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(hc.start_period, Some(7));
        assert_eq!(hc.start_interval, Some(8));

        let mut c = ContainerConfig::default();
        merge_image_config(&mut c, &img);
        assert_eq!(c.healthcheck, img.healthcheck);
    }
}
