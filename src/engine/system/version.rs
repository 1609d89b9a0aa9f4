//! `GET /version`.

use std::collections::HashMap;

use super::host::{HostFacts, go_arch};
use crate::engine::Engine;
use crate::models::{SystemVersion, SystemVersionComponents, SystemVersionPlatform};

pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = match option_env!("BERTH_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

impl Engine {
    /// The version document; the API layer fills in the API versions it serves.
    pub fn version(&self, api_version: &str, min_api_version: &str) -> SystemVersion {
        let host = HostFacts::get();
        let details = HashMap::from([
            ("ApiVersion".to_string(), api_version.into()),
            ("Arch".to_string(), go_arch().into()),
            ("BuildTime".to_string(), String::new()),
            ("Experimental".to_string(), "false".into()),
            ("GitCommit".to_string(), GIT_COMMIT.into()),
            ("GoVersion".to_string(), "rust".into()),
            ("KernelVersion".to_string(), host.kernel_version.clone()),
            ("MinAPIVersion".to_string(), min_api_version.into()),
            ("Os".to_string(), "linux".into()),
        ]);
        SystemVersion {
            platform: Some(SystemVersionPlatform {
                name: "Berth".into(),
            }),
            components: Some(vec![SystemVersionComponents {
                name: "Engine".into(),
                version: ENGINE_VERSION.into(),
                details: Some(details),
            }]),
            version: Some(ENGINE_VERSION.into()),
            api_version: Some(api_version.into()),
            min_api_version: Some(min_api_version.into()),
            git_commit: Some(GIT_COMMIT.into()),
            go_version: Some("rust".into()),
            os: Some("linux".into()),
            arch: Some(go_arch().into()),
            kernel_version: Some(host.kernel_version.clone()),
            experimental: Some(false),
            build_time: Some(String::new()),
        }
    }
}
