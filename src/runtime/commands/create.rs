//! `create`: the container's init is set up completely and left blocked before exec until
//! `start`.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::runtime::cgroup;
use crate::runtime::cgroups::Manager;
use crate::runtime::cli::{CreateOpts, GlobalOpts};
use crate::runtime::container::{self, ContainerError, ContainerState, EXEC_FIFO};
use crate::runtime::error::{RuntimeError, io_err};
use crate::runtime::hooks::{self, HookKind};
use crate::runtime::log;
use crate::runtime::namespaces::NamespacePlan;
use crate::runtime::process::launch::{self, CreateTarget, Launch, Target};
use crate::runtime::process::setup::ProcessPlan;
use crate::runtime::procfs;
use crate::runtime::spec;
use crate::runtime::sysctl;
use crate::runtime::tty;
use crate::util::fsutil::replace_file;
use crate::util::time::{now_nanos, rfc3339_nano};

/// Removes a half-created container (state dir, cgroup and the parents made for it) unless
/// disarmed.
struct Cleanup<'a> {
    root: PathBuf,
    dir: PathBuf,
    cgroup: Option<&'a Manager>,
    armed: bool,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(cg) = self.cgroup {
            let _ = cg.destroy();
            let _ = cgroup::remove_recorded_parents(&self.root, cg);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn mkfifo(path: &Path) -> Result<(), RuntimeError> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|e| RuntimeError::Io {
        action: "create fifo",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, e),
    })?;
    // SAFETY: mkfifo with a valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o622) } != 0 {
        return Err(io_err("create fifo", path)(io::Error::last_os_error()));
    }
    Ok(())
}

/// Opens the exec fifo read-write: that never blocks, and the init's copy keeps a writer open so
/// its read (waiting for `start`) cannot see end-of-file. `start` opens it for writing, which
/// fails with ENXIO once no reader is left (the init is gone), and writes one byte.
fn open_fifo(path: &Path) -> Result<fs::File, RuntimeError> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err("open", path))
}

/// Creates the state root (0700, as runc) and the container's directory; an existing directory
/// means the ID is taken.
pub fn make_container_dir(root: &Path, id: &str) -> Result<PathBuf, RuntimeError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(io_err("create state root", root))?;
    let dir = container::container_dir(root, id);
    match fs::DirBuilder::new().mode(0o711).create(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(ContainerError::Exists { id: id.to_string() }.into())
        }
        Err(e) => Err(io_err("create state dir", &dir)(e)),
    }
}

/// Shared by `create` and `run`: everything up to a blocked init and a saved state.json.
pub fn create_container(
    global: &GlobalOpts,
    o: &CreateOpts,
) -> Result<ContainerState, RuntimeError> {
    container::validate_id(&o.id)?;
    let loaded = spec::load_bundle(&o.bundle)?;
    for w in &loaded.warnings {
        log::warn(w);
    }
    let spec = &loaded.spec;
    let Some(process) = spec.process().as_ref() else {
        return Err(RuntimeError::CannotStart("config.json has no process"));
    };
    let linux = spec.linux().clone().unwrap_or_default();
    let (plan, warnings) = ProcessPlan::new(process, linux.seccomp().as_ref(), o.preserve_fds)?;
    for w in &warnings {
        log::warn(w);
    }
    match (plan.terminal, o.console_socket.is_some()) {
        (true, false) => {
            return Err(RuntimeError::Console(
                "cannot allocate tty if runc will detach without setting console socket",
            ));
        }
        (false, true) => {
            return Err(RuntimeError::Console(
                "cannot use console socket if runc will not detach or allocate tty",
            ));
        }
        _ => {}
    }
    let ns = NamespacePlan::from_spec(linux.namespaces().as_deref().unwrap_or(&[]))?;
    // Before anything exists: a sysctl outside the container's namespaces would change the host.
    sysctl::validate(linux.sysctl().as_ref(), &ns)?;

    let dir = make_container_dir(&global.root, &o.id)?;
    let cgroups_path = cgroup::cgroups_path(spec);
    let manager = match &cgroups_path {
        Some(p) => match cgroup::open(&o.id, p) {
            Ok(m) => Some(m),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        },
        None => None,
    };
    let mut cleanup = Cleanup {
        root: global.root.clone(),
        dir: dir.clone(),
        cgroup: manager.as_ref(),
        armed: true,
    };
    if let Some(m) = &manager {
        // Launch would create it too; here the parents it makes are recorded, to go with it.
        cgroup::create_recording_parents(&global.root, m)?;
    }
    let fifo_path = dir.join(EXEC_FIFO);
    mkfifo(&fifo_path)?;
    let fifo = open_fifo(&fifo_path)?;
    let console = o
        .console_socket
        .as_deref()
        .map(tty::connect_console_socket)
        .transpose()?;
    let resources = cgroup::creation_resources(spec);

    let hooks_cfg = spec.hooks().as_ref();
    let prestart = hooks::of_kind(hooks_cfg, HookKind::Prestart);
    let create_runtime = hooks::of_kind(hooks_cfg, HookKind::CreateRuntime);
    let pre_pivot_sync = !prestart.is_empty()
        || !create_runtime.is_empty()
        || !hooks::of_kind(hooks_cfg, HookKind::CreateContainer).is_empty()
        || !hooks::of_kind(hooks_cfg, HookKind::StartContainer).is_empty();

    let created = rfc3339_nano(now_nanos());
    let mut st = ContainerState {
        id: o.id.clone(),
        init_pid: 0,
        init_start_time: 0,
        bundle: loaded.bundle.clone(),
        rootfs: loaded.rootfs.clone(),
        created,
        owner: String::new(),
        cgroups_path,
        paused: false,
        spec: spec.clone(),
    };

    let l = Launch {
        target: Target::Create(CreateTarget {
            id: &o.id,
            spec,
            rootfs: &loaded.rootfs,
            bundle: &loaded.bundle,
            fifo,
            no_pivot: o.no_pivot,
            no_new_keyring: o.no_new_keyring,
            ns,
            pre_pivot_sync,
        }),
        process: plan,
        console,
        cgroup: manager.as_ref(),
        resources: Some(&resources),
        uid_mappings: linux.uid_mappings().clone().unwrap_or_default(),
        gid_mappings: linux.gid_mappings().clone().unwrap_or_default(),
    };
    let launched = launch::launch(&l, |pid| {
        // The state the hooks see: status "creating", the init's host pid.
        let state = container::hook_state(&st, "creating", pid);
        hooks::run_all(&prestart, HookKind::Prestart, &state).map_err(|e| e.to_string())?;
        hooks::run_all(&create_runtime, HookKind::CreateRuntime, &state)
            .map_err(|e| e.to_string())?;
        Ok(state)
    })?;
    let init_pid = launched.pid;
    let stat = procfs::read_stat(init_pid).map_err(|source| RuntimeError::Sys {
        what: format!("read /proc/{init_pid}/stat"),
        source,
    })?;
    st.init_pid = init_pid;
    st.init_start_time = stat.start_time;
    st.save(&global.root)?;
    if let Some(pid_file) = &o.pid_file {
        write_pid_file(pid_file, init_pid)?;
    }
    launched.commit()?;
    drop(l);
    cleanup.armed = false;
    Ok(st)
}

/// Written through a temporary file and a rename, so a reader never sees a partial pid.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), RuntimeError> {
    let path = std::path::absolute(path).map_err(io_err("write pid file", path))?;
    replace_file(&path, pid.to_string().as_bytes()).map_err(io_err("write pid file", &path))
}

pub fn run(global: &GlobalOpts, o: &CreateOpts) -> Result<i32, RuntimeError> {
    create_container(global, o)?;
    Ok(0)
}
