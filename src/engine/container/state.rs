//! A container's lifecycle state, persisted as JSON in its row.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    /// dockerd's lifecycle: which status may follow which. A failed start leaves a container
    /// as it was (created or exited, with the error recorded); removal goes through
    /// `removing`, and a removal cut short (a crash) leaves it `dead`, which can only be
    /// removed.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        match (self, to) {
            (Created, Created | Running | Removing) => true,
            (Running, Paused | Exited | Restarting) => true,
            (Paused, Running | Exited) => true,
            (Restarting, Running | Exited | Restarting) => true,
            (Exited, Exited | Running | Restarting | Removing) => true,
            // A removal that failed goes back to where it came from.
            (Removing, Created | Exited | Dead) => true,
            (Dead, Removing | Dead) => true,
            _ => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    #[serde(default)]
    pub pid: i64,
    #[serde(default)]
    pub exit_code: i64,
    #[serde(default)]
    pub error: String,
    /// Unix nanos; 0 = never.
    #[serde(default)]
    pub started_at: i64,
    #[serde(default)]
    pub finished_at: i64,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub restart_count: i64,
}

impl ContainerState {
    /// Running in dockerd's sense: a live process, paused or not.
    pub fn is_running(&self) -> bool {
        matches!(
            self.status,
            Status::Running | Status::Paused | Status::Restarting
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The human status `docker ps` shows ("Created", "Up 3 seconds", "Exited (0) 2 minutes ago").
    pub fn human(&self, now: i64) -> String {
        match self.status {
            Status::Created => "Created".into(),
            Status::Running => format!("Up {}", human_duration(now - self.started_at)),
            Status::Paused => format!("Up {} (Paused)", human_duration(now - self.started_at)),
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                human_duration(now - self.finished_at)
            ),
            Status::Removing => "Removal In Progress".into(),
            Status::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                human_duration(now - self.finished_at)
            ),
            Status::Dead => "Dead".into(),
        }
    }
}

#[cfg(test)]
mod rules {
    use super::Status::*;

    #[test]
    fn lifecycle_rules_follow_dockerd() {
        for (from, to) in [
            (Created, Running),
            (Running, Exited),
            (Running, Paused),
            (Paused, Running),
            (Exited, Running),
            (Exited, Removing),
            (Removing, Dead),
            (Dead, Removing),
            (Restarting, Running),
        ] {
            assert!(from.can_become(to), "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (Created, Exited),
            (Running, Removing),
            (Running, Created),
            (Paused, Removing),
            (Removing, Running),
            (Dead, Running),
            (Exited, Paused),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?}");
        }
    }
}

/// Go's `units.HumanDuration`, which `docker ps` shows.
pub fn human_duration(nanos: i64) -> String {
    let secs = nanos.max(0) / 1_000_000_000;
    let mins = secs / 60;
    let hours = mins / 60;
    match secs {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if mins == 1 => "About a minute".into(),
        _ if mins < 60 => format!("{mins} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let s = 1_000_000_000;
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(s), "1 second");
        assert_eq!(human_duration(45 * s), "45 seconds");
        assert_eq!(human_duration(61 * s), "About a minute");
        assert_eq!(human_duration(3 * 3600 * s), "3 hours");
        assert_eq!(human_duration(3 * 86400 * s), "3 days");
    }

    #[test]
    fn state_round_trips() {
        let st = ContainerState {
            status: Status::Exited,
            exit_code: 3,
            ..Default::default()
        };
        let back: ContainerState = serde_json::from_str(&st.to_json()).unwrap();
        assert_eq!(back, st);
        assert_eq!(
            st.human(st.finished_at),
            "Exited (3) Less than a second ago"
        );
    }
}
