//! What each control request does. State checks come first, so the runtime is only asked what
//! makes sense for the task's state; its own errors come back with its message.

use std::os::fd::AsFd;
use std::time::Duration;

use super::conn::Phase;
use super::oci::{CallStdio, OciError};
use super::proto::{ErrorKind, Request, Response, Status, TaskState};
use super::server::Server;
use super::stdio;

/// Bound on one runtime call for a control request; the daemon's own bound is a little longer.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(8);

pub enum Outcome {
    Reply(Response),
    /// Answered later (Wait, Delete of a task that has not finished exiting).
    Park(Phase),
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Reply, then the shim goes away.
    Quit(Response),
}

fn precondition(message: impl Into<String>) -> Outcome {
    Outcome::Reply(Response::Error {
        kind: ErrorKind::Precondition,
        message: message.into(),
    })
}

fn runtime_error(e: OciError) -> Response {
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

impl Server {
    pub(super) fn handle(&mut self, req: Request) -> Outcome {
        match req {
            Request::State => Outcome::Reply(Response::State(TaskState {
                id: self.id.clone(),
                pid: self.pid,
                status: self.status,
                exit: self.exit,
                tty: self.tty,
                stdin: self.stdin,
            })),
            Request::Start => self.start(),
            Request::Kill { signal, all } => {
                if self.exit.is_some() && !all {
                    return precondition("process already finished");
                }
                let sig = signal.to_string();
                let mut args = Vec::with_capacity(3);
                if all {
                    args.push("--all");
                }
                args.extend([self.id.as_str(), sig.as_str()]);
                Outcome::Reply(self.call_ok("kill", &args))
            }
            Request::Wait => match self.exit {
                Some(exit) => Outcome::Reply(Response::Exited(exit)),
                None => Outcome::Park(Phase::Waiting),
            },
            Request::Delete => self.delete(),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => Outcome::Attach {
                stdin,
                stdout,
                stderr,
            },
            Request::ResizePty { width, height } => {
                // Without a terminal there is nothing to size, as in containerd.
                let Some(master) = &self.ends.tty else {
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
            Request::CloseStdin => {
                self.close_stdin();
                Outcome::Reply(Response::Ok)
            }
            Request::Pids => Outcome::Reply(self.pids()),
            Request::Stats => Outcome::Reply(self.stats()),
            Request::Pause => self.freeze(true),
            Request::Resume => self.freeze(false),
            Request::Shutdown => {
                if self.exit.is_none() {
                    return precondition("the task is still running");
                }
                Outcome::Quit(Response::Ok)
            }
        }
    }

    fn start(&mut self) -> Outcome {
        if self.exit.is_some() || self.status != Status::Created {
            return precondition(format!(
                "cannot start a task that is {}",
                self.status.as_str()
            ));
        }
        match self.call("start", &[self.id.as_str()]) {
            Ok(_) => {
                self.status = Status::Running;
                Outcome::Reply(Response::Started { pid: self.pid })
            }
            Err(e) => Outcome::Reply(runtime_error(e)),
        }
    }

    fn freeze(&mut self, pause: bool) -> Outcome {
        let (verb, from, to) = if pause {
            ("pause", Status::Running, Status::Paused)
        } else {
            ("resume", Status::Paused, Status::Running)
        };
        if self.exit.is_some() || self.status != from {
            return precondition(format!(
                "cannot {verb} a task that is {}",
                self.status.as_str()
            ));
        }
        let resp = self.call_ok(verb, &[self.id.as_str()]);
        if resp == Response::Ok {
            self.status = to;
        }
        Outcome::Reply(resp)
    }

    fn delete(&mut self) -> Outcome {
        if self.exit.is_some() {
            let resp = self.delete_stopped();
            return if resp == Response::Ok {
                Outcome::Quit(resp)
            } else {
                Outcome::Reply(resp)
            };
        }
        if self.status != Status::Created && !self.init_reaped() {
            return precondition(format!(
                "cannot delete a task that is {}: kill it first",
                self.status.as_str()
            ));
        }
        if !self.init_reaped() {
            // A created init is killed by the runtime's delete; the exit is recorded as usual
            // and the answer waits for it.
            if let Err(e) = self.call("delete", &["--force", self.id.as_str()]) {
                return Outcome::Reply(runtime_error(e));
            }
            self.deleted = true;
        }
        self.delete_requested = true;
        Outcome::Park(Phase::Deleting)
    }

    /// Runtime delete of an exited container (once).
    pub(super) fn delete_stopped(&mut self) -> Response {
        if self.deleted {
            return Response::Ok;
        }
        // --force: the runtime may have lost its state already; that is a success here too.
        let resp = self.call_ok("delete", &["--force", self.id.as_str()]);
        if resp == Response::Ok {
            self.deleted = true;
        }
        resp
    }

    fn pids(&self) -> Response {
        match self.call("ps", &["--format", "json", self.id.as_str()]) {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out);
                let text = text.trim();
                if text.is_empty() || text == "null" {
                    return Response::Pids(Vec::new());
                }
                match serde_json::from_str(text) {
                    Ok(pids) => Response::Pids(pids),
                    Err(e) => Response::Error {
                        kind: ErrorKind::Runtime,
                        message: format!("runtime ps printed {text:?}: {e}"),
                    },
                }
            }
            Err(e) => runtime_error(e),
        }
    }

    fn stats(&self) -> Response {
        match self.call("events", &["--stats", self.id.as_str()]) {
            Ok(out) => match serde_json::from_slice(&out) {
                Ok(v) => Response::Stats(v),
                Err(e) => Response::Error {
                    kind: ErrorKind::Runtime,
                    message: format!("runtime events --stats printed no JSON: {e}"),
                },
            },
            Err(e) => runtime_error(e),
        }
    }

    fn call(&self, verb: &str, args: &[&str]) -> Result<Vec<u8>, OciError> {
        self.rt
            .call(verb, args, CallStdio::default(), CONTROL_TIMEOUT)
    }

    fn call_ok(&self, verb: &str, args: &[&str]) -> Response {
        match self.call(verb, args) {
            Ok(_) => Response::Ok,
            Err(e) => runtime_error(e),
        }
    }
}
