//! Runtime calls beside the event loop. A call is a child process the loop started and keeps
//! an eye on: its captured output is read when it is readable, its exit comes through the
//! loop's own reaper (the SIGCHLD descriptor it already polls, so there is no thread and no
//! second wait racing the reaper for the same child), and its deadline is one more timeout of
//! the poll. What it was for (`Then`) is carried out when it ends, and the connection that
//! asked gets its answer then.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::conn::Phase;
use super::oci::Running;
use super::process::start_failure_code;
use super::proto::{ErrorKind, ExitStatus, Response, Status};
use super::requests::{Outcome, runtime_error};
use super::server::{ConnId, Server};
use super::stdio;
use crate::util::time::now_nanos;

/// Bound on one runtime call for a control request; the daemon's own bound is a little longer.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(8);
/// Runtime calls in flight at once; a client asking for more is told to retry.
const MAX_CALLS: usize = 32;

/// What a finished call means.
pub enum Then {
    /// The init started.
    Start,
    /// Nothing but success or the error (kill).
    Done,
    /// Paused or resumed: the init's status becomes this.
    Freeze(Status),
    Pids,
    Stats,
    /// A created init deleted (the runtime killed it): the answer waits for its exit record.
    DeleteCreated,
    /// The exited container deleted: the shim goes.
    DeleteStopped,
    /// The exec in that slot started (or not).
    ExecStart {
        slot: usize,
    },
}

pub struct Call {
    pub run: Running,
    pub deadline: Instant,
    /// The exit code, once reaped.
    pub status: Option<i32>,
    then: Then,
    conn: Option<ConnId>,
}

impl Server {
    /// Starts a runtime call with captured output; the outcome for the asking connection is to
    /// wait for its end (or the failure to start it).
    pub(super) fn call(
        &mut self,
        conn: Option<ConnId>,
        verb: &'static str,
        args: &[&str],
        then: Then,
    ) -> Outcome {
        self.call_with(conn, verb, args, [Stdio::null()], [None, None], then)
    }

    /// As [`Server::call`], with the runtime's stdin and, when given, its stdout/stderr.
    pub(super) fn call_with(
        &mut self,
        conn: Option<ConnId>,
        verb: &'static str,
        args: &[&str],
        [stdin]: [Stdio; 1],
        [stdout, stderr]: [Option<Stdio>; 2],
        then: Then,
    ) -> Outcome {
        if self.calls.iter().flatten().count() >= MAX_CALLS {
            let resp = Response::Error {
                kind: ErrorKind::Internal,
                message: format!("{MAX_CALLS} runtime calls are already in progress; retry"),
            };
            return self.settle(then, Err(resp));
        }
        match self.rt.spawn(verb, args, stdin, stdout, stderr) {
            Ok(run) => {
                let call = Call {
                    run,
                    deadline: Instant::now() + CONTROL_TIMEOUT,
                    status: None,
                    then,
                    conn,
                };
                match self.calls.iter().position(Option::is_none) {
                    Some(i) => self.calls[i] = Some(call),
                    None => self.calls.push(Some(call)),
                }
                Outcome::Park(Phase::Calling)
            }
            Err(e) => self.settle(then, Err(runtime_error(e))),
        }
    }

    /// Completes the calls whose runtime has been reaped.
    pub(super) fn finish_calls(&mut self) {
        for i in 0..self.calls.len() {
            let Some(code) = self.calls[i].as_ref().and_then(|c| c.status) else {
                continue;
            };
            let Some(call) = self.calls[i].take() else {
                continue;
            };
            let result = self.rt.finish(call.run, code).map_err(runtime_error);
            self.deliver(call.then, call.conn, result);
        }
        if self.calls.iter().all(Option::is_none) {
            // Nothing in flight: no table to keep around.
            self.calls = Vec::new();
        }
    }

    /// Kills the calls past their deadline and answers for them.
    pub(super) fn expire_calls(&mut self, now: Instant) {
        for i in 0..self.calls.len() {
            if self.calls[i].as_ref().is_none_or(|c| now < c.deadline) {
                continue;
            }
            let Some(call) = self.calls[i].take() else {
                continue;
            };
            // Reaped later like any other child; nobody claims it.
            call.run.kill();
            let err = call.run.timeout(CONTROL_TIMEOUT);
            self.deliver(call.then, call.conn, Err(runtime_error(err)));
        }
    }

    /// The shim is going: calls still running are not waited for.
    pub(super) fn abandon_calls(&mut self) {
        for call in self.calls.drain(..).flatten() {
            call.run.kill();
        }
    }

    fn deliver(&mut self, then: Then, conn: Option<ConnId>, result: Result<Vec<u8>, Response>) {
        let outcome = self.settle(then, result);
        match conn.and_then(|c| self.calling_conn(c)) {
            Some(i) => self.apply(i, outcome),
            // Whoever asked has gone; the effect stands.
            None => {
                if matches!(outcome, Outcome::Quit(_)) {
                    self.begin_quit();
                }
            }
        }
    }

    /// Carries out what a call was for, given its stdout or its error reply.
    fn settle(&mut self, then: Then, result: Result<Vec<u8>, Response>) -> Outcome {
        match then {
            Then::Start => {
                self.init.busy = None;
                Outcome::Reply(match result {
                    Ok(_) => {
                        if self.init.exit.is_none() && self.init.status == Status::Created {
                            self.init.status = Status::Running;
                        }
                        Response::Started { pid: self.init.pid }
                    }
                    Err(e) => e,
                })
            }
            Then::Done => Outcome::Reply(result.map_or_else(|e| e, |_| Response::Ok)),
            Then::Freeze(to) => {
                self.init.busy = None;
                Outcome::Reply(match result {
                    Ok(_) => {
                        if self.init.exit.is_none() {
                            self.init.status = to;
                        }
                        Response::Ok
                    }
                    Err(e) => e,
                })
            }
            Then::Pids => Outcome::Reply(result.map_or_else(|e| e, |out| pids(&out))),
            Then::Stats => Outcome::Reply(result.map_or_else(|e| e, |out| stats(&out))),
            Then::DeleteCreated => {
                self.init.busy = None;
                match result {
                    Ok(_) => {
                        self.deleted = true;
                        if self.init.exit.is_some() {
                            return Outcome::Quit(Response::Ok);
                        }
                        // The runtime killed the init; its exit record completes the delete.
                        self.delete_requested = true;
                        Outcome::Park(Phase::Deleting)
                    }
                    Err(e) => Outcome::Reply(e),
                }
            }
            Then::DeleteStopped => {
                self.deleting = false;
                match result {
                    Ok(_) => {
                        self.deleted = true;
                        self.answer_deletes(&Response::Ok);
                        Outcome::Quit(Response::Ok)
                    }
                    Err(e) => {
                        self.delete_requested = false;
                        self.answer_deletes(&e);
                        Outcome::Reply(e)
                    }
                }
            }
            Then::ExecStart { slot } => Outcome::Reply(self.exec_started(slot, result)),
        }
    }

    /// The Delete parked until the init's exit record: the runtime delete now (once).
    pub(super) fn finish_delete(&mut self) {
        if self.deleted {
            self.answer_deletes(&Response::Ok);
            self.begin_quit();
            return;
        }
        if self.deleting {
            return;
        }
        self.deleting = true;
        let id = self.id.clone();
        // --force: the runtime may have lost its state already; that is a success here too.
        // If it cannot even start, `settle` has answered the parked deletes already.
        let _ = self.call(None, "delete", &["--force", &id], Then::DeleteStopped);
    }

    /// An exec's start call ended: its pid (and pty master) or its failure.
    fn exec_started(&mut self, slot: usize, result: Result<Vec<u8>, Response>) -> Response {
        let Some(p) = self.proc_mut(slot) else {
            return Response::Error {
                kind: ErrorKind::Internal,
                message: "the exec process went away while starting".into(),
            };
        };
        p.busy = None;
        let exec_id = p.exec_id.clone().unwrap_or_default();
        let console = p.console.take();
        let files = super::requests::ExecFiles::new(&self.state_dir, &exec_id);
        let started = result.and_then(|_| {
            let pid = files.read_pid().map_err(|message| Response::Error {
                kind: ErrorKind::Runtime,
                message,
            })?;
            let master = match &console {
                Some(l) => match stdio::receive_master(l, &files.console) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        // Running without anyone holding its terminal: it must not stay.
                        // SAFETY: kill(2) of a process not reaped yet (nobody claimed it).
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        return Err(Response::Error {
                            kind: ErrorKind::Internal,
                            message: e.to_string(),
                        });
                    }
                },
                None => None,
            };
            Ok((pid, master))
        });
        drop(console);
        files.remove();
        match started {
            Ok((pid, master)) => {
                let reaped = self.claim_exit(pid);
                let Some(p) = self.proc_mut(slot) else {
                    return Response::Ok;
                };
                if let Some(m) = master {
                    p.ends.tty = Some(m);
                }
                p.pid = pid;
                p.status = Status::Running;
                p.reaped = reaped;
                Response::Started { pid }
            }
            Err(resp) => {
                let message = match &resp {
                    Response::Error { message, .. } => message.as_str(),
                    _ => "",
                };
                let exit = ExitStatus {
                    code: start_failure_code(message),
                    exited_at: now_nanos(),
                    oom_killed: false,
                };
                if let Some(p) = self.proc_mut(slot) {
                    p.record_exit(exit);
                }
                self.end_process_conns(slot, Some(exit));
                resp
            }
        }
    }
}

fn pids(out: &[u8]) -> Response {
    let text = String::from_utf8_lossy(out);
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

fn stats(out: &[u8]) -> Response {
    match serde_json::from_slice(out) {
        Ok(v) => Response::Stats(v),
        Err(e) => Response::Error {
            kind: ErrorKind::Runtime,
            message: format!("runtime events --stats printed no JSON: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_and_stats_output_is_parsed_or_refused() {
        assert_eq!(pids(b"[3,4]\n"), Response::Pids(vec![3, 4]));
        assert_eq!(pids(b"null\n"), Response::Pids(Vec::new()));
        assert!(matches!(pids(b"oops"), Response::Error { .. }));
        assert!(matches!(stats(b"{\"type\":\"stats\"}"), Response::Stats(_)));
        assert!(matches!(stats(b""), Response::Error { .. }));
    }
}
