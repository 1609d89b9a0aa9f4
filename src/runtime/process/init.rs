//! The container's init (and, shorter, an exec'd process): an ordered script from fork to
//! execve. Every step says why it sits where it does; the order follows runc's
//! standard_init_linux.go / setns_init_linux.go.

use std::ffi::CString;
use std::io::{self, Read};
use std::time::Duration;

use crate::runtime::hooks::{self, HookKind};
use crate::runtime::namespaces::Kind;
use crate::runtime::network;
use crate::runtime::process::launch::{CreateTarget, Launch, report};
use crate::runtime::process::message::{InitReceiver, InitToMain, Stage};
use crate::runtime::process::setup;
use crate::runtime::rootfs::{self, RootfsPlan, cgroupfs::CgroupMountPlan};
use crate::runtime::sysctl;
use crate::runtime::tty;

/// How long the init waits for the main process to run the runtime hooks.
const HOOKS_WAIT: Duration = Duration::from_secs(600);
/// How long the init waits for the main process to save the state after "ready".
const COMMIT_WAIT: Duration = Duration::from_secs(60);

fn setsid(to_main: &InitToMain) -> Result<(), i32> {
    // SAFETY: setsid has no arguments; we are not a group leader (fresh fork).
    if unsafe { libc::setsid() } < 0 {
        return Err(report(
            to_main,
            Stage::Process,
            format!("setsid: {}", io::Error::last_os_error()),
        ));
    }
    Ok(())
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

/// As pid 1 of its namespace the init ignores every signal it has no handler for (SIGKILL
/// aside), so `kill ID TERM` on a created container would do nothing; runc's init dies. Handlers
/// that exit give the same result, and execve resets them to the default for the user's program.
fn die_on_termination_signals() {
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
    ] {
        // A signal the caller ignores stays ignored (it is passed on to the container as is).
        if setup::is_ignored(sig) {
            continue;
        }
        // SAFETY: installing a handler that only calls _exit.
        unsafe { libc::signal(sig, exit_on_signal as *const () as libc::sighandler_t) };
    }
}

/// A session keyring of its own, so containers do not share the caller's keys (runc's default;
/// kernels or seccomp policies without keyrings are tolerated).
fn join_session_keyring(id: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let Ok(name) = CString::new(format!("_ses.{id}")) else {
        return;
    };
    // SAFETY: keyctl with a valid C string; the result is only informative.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
}

/// The container init. Returns only on failure (with the exit code).
pub fn container_init(
    l: &Launch,
    c: &CreateTarget,
    cgroup_plan: &CgroupMountPlan,
    to_main: &InitToMain,
    init_rx: &InitReceiver,
) -> i32 {
    match container_init_steps(l, c, cgroup_plan, to_main, init_rx) {
        Ok(never) => match never {},
        Err(code) => code,
    }
}

enum Never {}

fn container_init_steps(
    l: &Launch,
    c: &CreateTarget,
    cgroup_plan: &CgroupMountPlan,
    to_main: &InitToMain,
    init_rx: &InitReceiver,
) -> Result<Never, i32> {
    let fail = |stage, e: &dyn std::fmt::Display| report(to_main, stage, e);
    // A session of its own: required for a controlling terminal, and what runc does.
    setsid(to_main)?;
    die_on_termination_signals();
    // Inherited from the main process, open read-write (see commands::create).
    let mut fifo = &c.fifo;
    if !c.no_new_keyring {
        join_session_keyring(c.id);
    }
    if c.ns.is_new(Kind::Network) {
        network::loopback_up().map_err(|e| fail(Stage::Network, &format!("bring up lo: {e}")))?;
    }
    // Devices and mount targets get exactly the modes asked for.
    // SAFETY: umask only changes the process mask.
    unsafe { libc::umask(0) };

    let plan = RootfsPlan {
        spec: c.spec,
        rootfs: c.rootfs,
        bundle: c.bundle,
        no_pivot: c.no_pivot,
        userns: c.ns.is_new(Kind::User),
        cgroup_plan,
    };
    let mut hook_state = String::new();
    let hooks = c.spec.hooks().as_ref();
    rootfs::prepare(&plan, || {
        if !c.pre_pivot_sync {
            return Ok(());
        }
        // Runtime-namespace hooks run in the main process, now that the mounts exist but the
        // host root is still reachable; the createContainer hooks then run here.
        to_main
            .run_create_runtime_hooks()
            .map_err(|e| e.to_string())?;
        hook_state = init_rx
            .wait_hooks_done(HOOKS_WAIT)
            .map_err(|e| e.to_string())?;
        hooks::run_all(
            &hooks::of_kind(hooks, HookKind::CreateContainer),
            HookKind::CreateContainer,
            &hook_state,
        )
        .map_err(|e| e.to_string())
    })
    .map_err(|e| fail(Stage::Rootfs, &e))?;

    // After pivot_root, so the pty comes from the container's own devpts.
    if l.process.terminal {
        let (rows, cols) = l.process.console_size;
        let pty = tty::open_pty(rows, cols).map_err(|e| fail(Stage::Console, &e))?;
        rootfs::mount_console(&pty.slave_path).map_err(|e| fail(Stage::Console, &e))?;
        let socket = l
            .console
            .as_ref()
            .ok_or_else(|| fail(Stage::Console, &"no console socket"))?;
        let socket = socket.try_clone().map_err(|e| fail(Stage::Console, &e))?;
        tty::send_master(socket, &pty).map_err(|e| fail(Stage::Console, &e))?;
        tty::become_console(&pty.slave).map_err(|e| fail(Stage::Console, &e))?;
    }

    set_hostname(c, &fail)?;
    if let Some(sysctls) = c.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        sysctl::write_all(sysctls).map_err(|e| fail(Stage::Sysctl, &e))?;
    }
    // Read-only and masked paths after sysctls (which write under /proc/sys).
    rootfs::finalize(c.spec).map_err(|e| fail(Stage::Rootfs, &e))?;

    let target = setup::apply(&l.process).map_err(|(stage, e)| fail(stage, &e))?;
    to_main.ready().map_err(|e| fail(Stage::Process, &e))?;
    // Only a container whose state was saved may linger; otherwise nobody could ever start or
    // delete it.
    if init_rx.wait_commit(COMMIT_WAIT).is_err() {
        return Err(1);
    }

    // Blocks until `start`.
    let mut byte = [0u8; 1];
    loop {
        match fifo.read(&mut byte) {
            Ok(1) => break,
            Ok(_) => return Err(1),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(1),
        }
    }
    // Nobody listens on the channel any more; errors from here on can only end the process.
    let start_hooks = hooks::of_kind(hooks, HookKind::StartContainer);
    if hooks::run_all(&start_hooks, HookKind::StartContainer, &hook_state).is_err() {
        return Err(1);
    }
    let _ = setup::execve(&target);
    Err(127)
}

fn set_hostname(
    c: &CreateTarget,
    fail: &impl Fn(Stage, &dyn std::fmt::Display) -> i32,
) -> Result<(), i32> {
    let set = |name: &str, f: unsafe extern "C" fn(*const libc::c_char, libc::size_t) -> i32| {
        if !c.ns.has(Kind::Uts) {
            return Err(fail(
                Stage::Hostname,
                &"unable to set hostname without a private UTS namespace",
            ));
        }
        // SAFETY: the pointer and length describe `name`.
        if unsafe { f(name.as_ptr().cast(), name.len()) } != 0 {
            return Err(fail(
                Stage::Hostname,
                &format!("set {name:?}: {}", io::Error::last_os_error()),
            ));
        }
        Ok(())
    };
    if let Some(h) = c.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        set(h, libc::sethostname)?;
    }
    if let Some(d) = c.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set(d, libc::setdomainname)?;
    }
    Ok(())
}

/// A process exec'd into a running container (already in its namespaces and cgroup).
pub fn exec_init(l: &Launch, to_main: &InitToMain) -> i32 {
    let fail = |stage, e: &dyn std::fmt::Display| report(to_main, stage, e);
    if let Err(code) = setsid(to_main) {
        return code;
    }
    if l.process.terminal {
        let (rows, cols) = l.process.console_size;
        let pty = match tty::open_pty(rows, cols) {
            Ok(p) => p,
            Err(e) => return fail(Stage::Console, &e),
        };
        let Some(socket) = l.console.as_ref().and_then(|s| s.try_clone().ok()) else {
            return fail(Stage::Console, &"no console socket");
        };
        if let Err(e) = tty::send_master(socket, &pty) {
            return fail(Stage::Console, &e);
        }
        if let Err(e) = tty::become_console(&pty.slave) {
            return fail(Stage::Console, &e);
        }
    }
    let target = match setup::apply(&l.process) {
        Ok(t) => t,
        Err((stage, e)) => return fail(stage, &e),
    };
    if let Err(e) = to_main.ready() {
        return fail(Stage::Process, &e);
    }
    // On success the channel closes with the exec (close-on-exec), which the main process takes
    // as "started"; on failure it gets the error instead.
    let e = setup::execve(&target);
    fail(Stage::Exec, &format!("exec {:?}: {e}", l.process.args[0]))
}
