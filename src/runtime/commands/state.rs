//! `state`: runc's JSON, two-space indented, no trailing newline.

use std::io::Write;

use crate::runtime::cli::GlobalOpts;
use crate::runtime::container::ContainerState;
use crate::runtime::error::RuntimeError;

pub fn run(global: &GlobalOpts, id: &str) -> Result<i32, RuntimeError> {
    let st = ContainerState::load(&global.root, id)?;
    let json = serde_json::to_string_pretty(&st.oci_state(&global.root))
        .map_err(|e| RuntimeError::Ps(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(json.as_bytes());
    let _ = out.flush();
    Ok(0)
}
