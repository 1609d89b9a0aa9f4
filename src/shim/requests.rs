//! What each control request does. State checks come first, so the runtime is only asked what
//! makes sense for the process's state; its own errors come back with its message. Runtime
//! calls are started here and answered when they end (see `calls`).

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::calls::Then;
use super::conn::Phase;
use super::oci::OciError;
use super::process::Process;
use super::proto::{self, ErrorKind, ProcessOp, Request, Response, Status};
use super::server::{ConnId, Server};
use super::{setup, stdio};
use crate::util::fsutil::replace_file;

/// Exec processes one shim keeps records of (running or exited, until deleted).
const MAX_EXECS: usize = 1024;

pub enum Outcome {
    Reply(Response),
    /// Answered later (Wait, a runtime call, Delete of a task that has not finished exiting).
    Park(Phase),
    Attach {
        slot: usize,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Reply, then the shim goes away.
    Quit(Response),
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Outcome {
    Outcome::Reply(Response::Error {
        kind,
        message: message.into(),
    })
}

fn precondition(message: impl Into<String>) -> Outcome {
    error(ErrorKind::Precondition, message)
}

pub fn runtime_error(e: OciError) -> Response {
    let kind = match e {
        OciError::Failed(_) => ErrorKind::Runtime,
        OciError::Timeout { .. } => ErrorKind::Timeout,
        OciError::Spawn { .. } | OciError::Wait { .. } => ErrorKind::Internal,
    };
    Response::Error {
        kind,
        message: e.to_string(),
    }
}

/// The files an exec's start uses in the state dir, named after its (validated) id.
pub struct ExecFiles {
    pub process: PathBuf,
    pub pid: PathBuf,
    pub console: PathBuf,
}

impl ExecFiles {
    pub fn new(dir: &Path, exec_id: &str) -> ExecFiles {
        ExecFiles {
            process: dir.join(format!("exec-{exec_id}.json")),
            pid: dir.join(format!("exec-{exec_id}.pid")),
            console: dir.join(format!("exec-{exec_id}.sock")),
        }
    }

    pub fn read_pid(&self) -> Result<i32, String> {
        let text = std::fs::read_to_string(&self.pid)
            .map_err(|e| format!("reading the exec pid from {}: {e}", self.pid.display()))?;
        text.trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("the runtime wrote no pid to {}", self.pid.display()))
    }

    pub fn remove(&self) {
        for f in [&self.process, &self.pid, &self.console] {
            let _ = std::fs::remove_file(f);
        }
    }
}

impl Server {
    pub(super) fn handle(&mut self, req: Request, conn: ConnId) -> Outcome {
        if let Some((exec_id, op)) = req.process_op() {
            return match exec_id {
                None => self.init_op(op, conn),
                Some(id) => {
                    let id = id.to_string();
                    match self.find_exec(&id) {
                        Some(slot) => self.exec_op(slot, &id, op, conn),
                        None => error(ErrorKind::NotFound, format!("no such exec process: {id}")),
                    }
                }
            };
        }
        let id = self.id.clone();
        match req {
            Request::Pids => self.call(Some(conn), "ps", &["--format", "json", &id], Then::Pids),
            Request::Stats => self.call(Some(conn), "events", &["--stats", &id], Then::Stats),
            Request::Pause => self.freeze(true, conn),
            Request::Resume => self.freeze(false, conn),
            Request::Shutdown => {
                if self.init.exit.is_none() {
                    return precondition("the task is still running");
                }
                Outcome::Quit(Response::Ok)
            }
            Request::ExecCreate {
                exec_id,
                process,
                stdin,
                stdout,
                stderr,
            } => self.exec_create(exec_id, process, [stdin, stdout, stderr]),
            // A Hello after the request's place (the loop answers those before it).
            Request::Hello { .. } => Outcome::Reply(Response::Hello {
                version: proto::PROTO_VERSION,
            }),
            other => error(
                ErrorKind::BadRequest,
                format!("unexpected request {other:?}"),
            ),
        }
    }

    fn init_op(&mut self, op: ProcessOp, conn: ConnId) -> Outcome {
        let id = self.id.clone();
        match op {
            ProcessOp::State => Outcome::Reply(Response::State(self.init.state(&self.id))),
            ProcessOp::Start => {
                if self.init.exit.is_some() || self.init.status != Status::Created {
                    return precondition(format!(
                        "cannot start a task that is {}",
                        self.init.status.as_str()
                    ));
                }
                if let Some(busy) = self.init.busy {
                    return precondition(format!("a {busy} of the task is in progress"));
                }
                self.init.busy = Some("start");
                self.call(Some(conn), "start", &[&id], Then::Start)
            }
            ProcessOp::Kill { signal, all } => {
                if self.init.exit.is_some() && !all {
                    return precondition("process already finished");
                }
                let sig = signal.to_string();
                let mut args = Vec::with_capacity(3);
                if all {
                    args.push("--all");
                }
                args.extend([id.as_str(), sig.as_str()]);
                self.call(Some(conn), "kill", &args, Then::Done)
            }
            ProcessOp::Delete => self.delete(conn),
            op => self.common_op(0, op),
        }
    }

    fn exec_op(&mut self, slot: usize, id: &str, op: ProcessOp, conn: ConnId) -> Outcome {
        let Some(p) = self.proc(slot) else {
            return error(ErrorKind::NotFound, format!("no such exec process: {id}"));
        };
        match op {
            ProcessOp::State => Outcome::Reply(Response::State(p.state(&self.id))),
            ProcessOp::Start => self.exec_start(slot, id, conn),
            ProcessOp::Kill { signal, .. } => {
                if p.exit.is_some() || p.reaped.is_some() {
                    return precondition("process already finished");
                }
                if p.status == Status::Created {
                    return precondition(format!("exec process {id} is not started"));
                }
                // Signalled directly, as containerd's shim does: the runtime's kill is the
                // init's. The pid is ours (a child of this subreaper) until we reap it.
                // SAFETY: kill(2) with a pid and a signal number.
                let rc = unsafe { libc::kill(p.pid, signal) };
                if rc == 0 {
                    return Outcome::Reply(Response::Ok);
                }
                match std::io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINVAL) => {
                        error(ErrorKind::BadRequest, format!("invalid signal {signal}"))
                    }
                    Some(libc::ESRCH) => precondition("process already finished"),
                    _ => error(
                        ErrorKind::Internal,
                        format!(
                            "signalling exec process {id}: {}",
                            std::io::Error::last_os_error()
                        ),
                    ),
                }
            }
            ProcessOp::Delete => {
                if p.busy.is_some() {
                    return precondition(format!("exec process {id} is starting"));
                }
                if p.status != Status::Created && p.exit.is_none() {
                    return precondition(format!(
                        "cannot delete exec process {id} while it is {}: kill it first",
                        p.status.as_str()
                    ));
                }
                // Nobody can be waiting on or attached to it any more but early attachers of a
                // never-started exec; they end.
                self.end_process_conns(slot, None);
                if let Some(entry) = self.execs.get_mut(slot - 1) {
                    *entry = None;
                }
                while self.execs.last().is_some_and(Option::is_none) {
                    self.execs.pop();
                }
                if self.execs.is_empty() {
                    self.execs = Vec::new();
                }
                Outcome::Reply(Response::Ok)
            }
            op => self.common_op(slot, op),
        }
    }

    /// The verbs the init and execs share: all on the shim's own ends.
    fn common_op(&mut self, slot: usize, op: ProcessOp) -> Outcome {
        let Some(p) = self.proc_mut(slot) else {
            return error(ErrorKind::NotFound, "no such process");
        };
        match op {
            ProcessOp::Wait => match p.exit {
                Some(exit) => Outcome::Reply(Response::Exited(exit)),
                None => Outcome::Park(Phase::Waiting { slot }),
            },
            ProcessOp::Attach {
                stdin,
                stdout,
                stderr,
            } => Outcome::Attach {
                slot,
                stdin,
                stdout,
                stderr,
            },
            ProcessOp::ResizePty { width, height } => {
                // Without a terminal there is nothing to size, as in containerd.
                let Some(master) = &p.ends.tty else {
                    return Outcome::Reply(Response::Ok);
                };
                Outcome::Reply(match stdio::resize(master.as_fd(), width, height) {
                    Ok(()) => Response::Ok,
                    Err(e) => Response::Error {
                        kind: ErrorKind::Internal,
                        message: format!("resizing the terminal: {e}"),
                    },
                })
            }
            ProcessOp::CloseStdin => {
                p.close_stdin();
                Outcome::Reply(Response::Ok)
            }
            ProcessOp::State | ProcessOp::Start | ProcessOp::Kill { .. } | ProcessOp::Delete => {
                error(ErrorKind::Internal, "misrouted process verb")
            }
        }
    }

    fn freeze(&mut self, pause: bool, conn: ConnId) -> Outcome {
        let (verb, from, to) = if pause {
            ("pause", Status::Running, Status::Paused)
        } else {
            ("resume", Status::Paused, Status::Running)
        };
        if self.init.exit.is_some() || self.init.status != from {
            return precondition(format!(
                "cannot {verb} a task that is {}",
                self.init.status.as_str()
            ));
        }
        if let Some(busy) = self.init.busy {
            return precondition(format!("a {busy} of the task is in progress"));
        }
        self.init.busy = Some(verb);
        let id = self.id.clone();
        self.call(Some(conn), verb, &[&id], Then::Freeze(to))
    }

    fn delete(&mut self, conn: ConnId) -> Outcome {
        if let Some(busy) = self.init.busy {
            return precondition(format!("a {busy} of the task is in progress"));
        }
        let id = self.id.clone();
        if self.init.exit.is_some() {
            if self.deleted {
                return Outcome::Quit(Response::Ok);
            }
            if self.deleting {
                return Outcome::Park(Phase::Deleting);
            }
            self.deleting = true;
            // --force: the runtime may have lost its state already; that is a success too.
            return self.call(Some(conn), "delete", &["--force", &id], Then::DeleteStopped);
        }
        let reaped = self.init.reaped.is_some();
        if self.init.status != Status::Created && !reaped {
            return precondition(format!(
                "cannot delete a task that is {}: kill it first",
                self.init.status.as_str()
            ));
        }
        if !reaped {
            // A created init is killed by the runtime's delete; the exit is recorded as usual
            // and the answer waits for it.
            self.init.busy = Some("delete");
            return self.call(Some(conn), "delete", &["--force", &id], Then::DeleteCreated);
        }
        self.delete_requested = true;
        Outcome::Park(Phase::Deleting)
    }

    fn exec_create(
        &mut self,
        exec_id: String,
        process: serde_json::Value,
        stdio: [bool; 3],
    ) -> Outcome {
        if !proto::valid_exec_id(&exec_id) {
            return error(
                ErrorKind::BadRequest,
                format!(
                    "invalid exec id {exec_id:?}: 1 to {} letters, digits, '_', '-' or '.'",
                    proto::EXEC_ID_MAX
                ),
            );
        }
        if self.find_exec(&exec_id).is_some() {
            return precondition(format!("exec process {exec_id} already exists"));
        }
        if self.init.exit.is_some() || self.init.reaped.is_some() {
            return precondition("cannot exec in a stopped container");
        }
        let tty = match process.get("terminal") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => {
                return error(ErrorKind::BadRequest, "process.terminal must be a boolean");
            }
        };
        if !process
            .get("args")
            .and_then(|a| a.as_array())
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_string()))
        {
            return error(
                ErrorKind::BadRequest,
                "the exec process needs args: a non-empty list of strings",
            );
        }
        let spec = match serde_json::to_vec(&process) {
            Ok(s) => s,
            Err(e) => return error(ErrorKind::BadRequest, e.to_string()),
        };
        let live = self.execs.iter().flatten().count();
        if live >= MAX_EXECS {
            return precondition(format!(
                "{MAX_EXECS} exec processes are recorded already: delete some first"
            ));
        }
        let p = Process::exec(exec_id, spec, tty, stdio);
        match self.execs.iter().position(Option::is_none) {
            Some(i) => self.execs[i] = Some(p),
            None => self.execs.push(Some(p)),
        }
        Outcome::Reply(Response::Ok)
    }

    /// `runtime exec --process F --detach --pid-file P [--console-socket S] <id>`, beside the
    /// loop; its output is pumped (to attachers) from the moment the runtime has the pipes.
    fn exec_start(&mut self, slot: usize, exec_id: &str, conn: ConnId) -> Outcome {
        if self.init.exit.is_some() || self.init.reaped.is_some() {
            return precondition("cannot exec in a stopped container");
        }
        let files = ExecFiles::new(&self.state_dir, exec_id);
        let Some(p) = self.proc_mut(slot) else {
            return error(
                ErrorKind::NotFound,
                format!("no such exec process: {exec_id}"),
            );
        };
        if p.busy.is_some() {
            return precondition(format!("exec process {exec_id} is starting"));
        }
        if p.status != Status::Created || p.exit.is_some() {
            return precondition(format!(
                "exec process {exec_id} is already {}",
                if p.exit.is_some() {
                    "finished"
                } else {
                    p.status.as_str()
                }
            ));
        }
        let Some(spec) = p.spec.take() else {
            return error(ErrorKind::Internal, "the exec process has no spec");
        };
        if let Err(e) = replace_file(&files.process, &spec) {
            p.spec = Some(spec);
            return error(
                ErrorKind::Internal,
                format!("writing {}: {e}", files.process.display()),
            );
        }
        let _ = std::fs::remove_file(&files.pid);
        let (tty, want_stdin) = (p.tty, p.stdin);
        let process_arg = files.process.to_string_lossy().into_owned();
        let pid_arg = files.pid.to_string_lossy().into_owned();
        let mut args: Vec<String> = vec![
            "--process".into(),
            process_arg,
            "--detach".into(),
            "--pid-file".into(),
            pid_arg,
        ];
        let stdio_for_runtime = if tty {
            match stdio::console_listener(&files.console) {
                Ok(l) => {
                    p.console = Some(l);
                    args.push("--console-socket".into());
                    args.push(setup::short_socket_path(&files.console));
                    // The process gets the pty; the runtime's own streams are captured for its
                    // errors.
                    ([Stdio::null()], [None, None])
                }
                Err(e) => {
                    files.remove();
                    return error(ErrorKind::Internal, e.to_string());
                }
            }
        } else {
            match stdio::pipes(want_stdin) {
                Ok((shim, container)) => {
                    p.ends = shim;
                    (
                        [container.stdin],
                        [Some(container.stdout), Some(container.stderr)],
                    )
                }
                Err(e) => {
                    files.remove();
                    return error(ErrorKind::Internal, e.to_string());
                }
            }
        };
        p.busy = Some("start");
        args.push(self.id.clone());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (stdin, outs) = stdio_for_runtime;
        self.call_with(
            Some(conn),
            "exec",
            &refs,
            stdin,
            outs,
            Then::ExecStart { slot },
        )
    }
}
