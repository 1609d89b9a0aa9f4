//! Why a container's config cannot become a runtime spec. Messages are dockerd's where it has one,
//! since clients show them to users as they are.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command specified")]
    NoCommand,

    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    #[error(
        "capability not supported by your kernel or not available in the current environment: {0:?}"
    )]
    CapabilityUnavailable(String),
    /// Create-time form of the two above, naming the list at fault.
    #[error("invalid {field}: {source}")]
    InvalidCapabilityList {
        field: &'static str,
        source: Box<SpecError>,
    },

    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
    #[error("uids and gids must be in range 0-2147483647")]
    IdOutOfRange,

    #[error("invalid tmpfs option {0:?}")]
    TmpfsOption(String),
    #[error("invalid mount config for type {typ:?}: {reason}")]
    MountConfig { typ: String, reason: String },
    #[error("invalid volume specification: '{0}'")]
    VolumeSpec(String),
    #[error("invalid volume specification: '{spec}': {reason}")]
    VolumeSpecReason { spec: String, reason: String },
    #[error("invalid mode: {0}")]
    MountMode(String),
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    MountPathNotAbsolute(String),
    #[error("invalid specification: destination can't be '/'")]
    MountTargetIsRoot,
    #[error("Duplicate mount point: {0}")]
    DuplicateMountPoint(String),
    /// Named and anonymous volumes need the volume service, which does not exist yet.
    #[error("volumes are not supported yet (mount {0:?}): use a bind mount or tmpfs")]
    VolumesUnsupported(String),
    #[error("mount options conflict: {0}")]
    MountOptionsConflict(&'static str),

    #[error("invalid --security-opt 1: {0:?}")]
    SecurityOptFormat(String),
    #[error("invalid --security-opt 2: {0:?}")]
    SecurityOptValue(String),
    #[error("custom seccomp profiles are not supported yet")]
    CustomSeccompUnsupported,

    #[error("invalid ulimit type: {0}")]
    UlimitType(String),
    #[error("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")]
    UlimitSoftAboveHard { soft: i64, hard: i64 },
    #[error(
        "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {0}"
    )]
    UlimitSoftUnlimited(i64),
    /// An unprivileged daemon cannot hand out more open files than it may have itself.
    #[error("ulimit nofile hard limit {requested} exceeds the daemon's own hard limit {daemon}")]
    UlimitAboveDaemon { requested: String, daemon: u64 },

    #[error("invalid IPC mode: {0}")]
    IpcMode(String),
    #[error("invalid PID mode: {0}")]
    PidMode(String),
    #[error("invalid UTS mode: {0}")]
    UtsMode(String),
    #[error("invalid cgroup namespace mode: {0}")]
    CgroupnsMode(String),
    /// Joining another container's namespace needs its pid, which the spec builder is not given.
    #[error("{0} is not supported yet")]
    Unsupported(String),

    #[error("invalid device cgroup rule format: '{0}'")]
    DeviceCgroupRule(String),
    #[error("error gathering device information while adding custom device {path:?}: {reason}")]
    Device { path: String, reason: String },
    #[error("--init needs docker-init, and the daemon has none configured")]
    NoInitBinary,

    /// A network the container names that does not exist. dockerd accepts it at create and
    /// fails the start with a 404; with no user-defined networks at all yet, Berth refuses at
    /// create (a 400: a 404 on create makes the CLI try to pull the image).
    #[error("network {0} not found: user-defined networks are not supported yet")]
    NetworkNotFound(String),

    /// One of dockerd's fixed resource and settings checks (the message is dockerd's).
    #[error("{0}")]
    Invalid(String),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("building the OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

impl SpecError {
    pub(crate) fn invalid(msg: impl Into<String>) -> SpecError {
        SpecError::Invalid(msg.into())
    }
}

/// Everything here is the caller's configuration at fault, except host I/O and library errors.
impl From<SpecError> for crate::engine::Error {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::Io { .. } | SpecError::Oci(_) => {
                crate::engine::Error::internal(e.to_string())
            }
            _ => crate::engine::Error::invalid(e.to_string()),
        }
    }
}
