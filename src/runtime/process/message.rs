//! The messages of the create/exec dance and a typed endpoint per direction, so each process can
//! only send what it is supposed to send and each wait names what it expects.
//!
//! main --fork--> intermediate --fork--> init
//!   intermediate -> main: WriteMappings (after unsharing a user ns), IntermediateDone{init_pid}
//!   main -> intermediate: MappingsWritten
//!   init -> main:         RunCreateRuntimeHooks, InitReady
//!   main -> init:         HooksDone{state}, Commit (state saved: now wait for `start`)
//!   either child -> main: Failure{stage, message} (on its own channel)

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runtime::process::channel::{ChannelError, Receiver, Sender, channel};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Message {
    WriteMappings,
    MappingsWritten,
    IntermediateDone { init_pid: i32 },
    RunCreateRuntimeHooks,
    HooksDone { state: String },
    InitReady,
    Commit,
    Failure(ChildFailure),
}

impl Message {
    fn name(&self) -> &'static str {
        match self {
            Message::WriteMappings => "WriteMappings",
            Message::MappingsWritten => "MappingsWritten",
            Message::IntermediateDone { .. } => "IntermediateDone",
            Message::RunCreateRuntimeHooks => "RunCreateRuntimeHooks",
            Message::HooksDone { .. } => "HooksDone",
            Message::InitReady => "InitReady",
            Message::Commit => "Commit",
            Message::Failure(_) => "Failure",
        }
    }
}

/// Which step of the container setup failed, so the error can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Cgroup,
    Namespaces,
    UserNamespace,
    Network,
    Rootfs,
    Hooks,
    Console,
    Hostname,
    Sysctl,
    Process,
    Rlimits,
    User,
    Capabilities,
    Seccomp,
    Exec,
}

/// An error from a child process, carried to the main process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ChildFailure {
    pub stage: Stage,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("expected message {expected}, received {received}")]
    Unexpected {
        expected: &'static str,
        received: &'static str,
    },
    #[error(transparent)]
    Child(ChildFailure),
}

fn unexpected(expected: &'static str, got: Message) -> MessageError {
    match got {
        Message::Failure(f) => MessageError::Child(f),
        other => MessageError::Unexpected {
            expected,
            received: other.name(),
        },
    }
}

/// All the ends for one launch; each process keeps the ones it uses and drops the rest. The
/// intermediate and the init each have their own channel to the main process, so their messages
/// can never interleave.
pub struct Channels {
    pub from_intermediate: MainReceiver,
    pub intermediate_to_main: IntermediateToMain,
    pub from_init: MainReceiver,
    pub init_to_main: InitToMain,
    pub to_intermediate: IntermediateSender,
    pub intermediate_rx: IntermediateReceiver,
    pub to_init: InitSender,
    pub init_rx: InitReceiver,
}

pub fn channels() -> Result<Channels, ChannelError> {
    let (a, b) = channel()?;
    let (c, d) = channel()?;
    let (e, f) = channel()?;
    let (g, h) = channel()?;
    Ok(Channels {
        intermediate_to_main: IntermediateToMain(a),
        from_intermediate: MainReceiver(b),
        init_to_main: InitToMain(c),
        from_init: MainReceiver(d),
        to_intermediate: IntermediateSender(e),
        intermediate_rx: IntermediateReceiver(f),
        to_init: InitSender(g),
        init_rx: InitReceiver(h),
    })
}

/// The main process's view of what its children send.
pub struct MainReceiver(Receiver<Message>);

/// What the main process hears from the intermediate while it sets up namespaces.
pub enum IntermediateEvent {
    WriteMappings,
    Done { init_pid: i32 },
}

/// What the main process hears from the init while it prepares the container.
pub enum InitEvent {
    RunCreateRuntimeHooks,
    Ready,
}

impl MainReceiver {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0.raw_fd()
    }

    pub fn intermediate_event(&self, timeout: Duration) -> Result<IntermediateEvent, MessageError> {
        match self.0.recv(timeout)? {
            Message::WriteMappings => Ok(IntermediateEvent::WriteMappings),
            Message::IntermediateDone { init_pid } => Ok(IntermediateEvent::Done { init_pid }),
            other => Err(unexpected("WriteMappings or IntermediateDone", other)),
        }
    }

    pub fn init_event(&self, timeout: Duration) -> Result<InitEvent, MessageError> {
        match self.0.recv(timeout)? {
            Message::RunCreateRuntimeHooks => Ok(InitEvent::RunCreateRuntimeHooks),
            Message::InitReady => Ok(InitEvent::Ready),
            other => Err(unexpected("RunCreateRuntimeHooks or InitReady", other)),
        }
    }

    /// After `InitReady` from an exec'd process: `Ok(())` once its end closed (it exec'd),
    /// or the failure it reported instead.
    pub fn wait_exec(&self, timeout: Duration) -> Result<(), MessageError> {
        match self.0.recv_or_closed(timeout)? {
            None => Ok(()),
            Some(other) => Err(unexpected("end of channel", other)),
        }
    }
}

/// Where a child reports the error that ends it.
pub trait ReportFailure {
    fn failure(&self, f: ChildFailure) -> Result<(), ChannelError>;
}

/// The intermediate's channel to the main process.
pub struct IntermediateToMain(Sender<Message>);

impl IntermediateToMain {
    pub fn write_mappings(&self) -> Result<(), ChannelError> {
        self.0.send(&Message::WriteMappings)
    }

    pub fn intermediate_done(&self, init_pid: i32) -> Result<(), ChannelError> {
        self.0.send(&Message::IntermediateDone { init_pid })
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0.raw_fd()
    }
}

impl ReportFailure for IntermediateToMain {
    fn failure(&self, f: ChildFailure) -> Result<(), ChannelError> {
        self.0.send(&Message::Failure(f))
    }
}

/// The init's (or exec'd process's) channel to the main process.
pub struct InitToMain(Sender<Message>);

impl InitToMain {
    pub fn run_create_runtime_hooks(&self) -> Result<(), ChannelError> {
        self.0.send(&Message::RunCreateRuntimeHooks)
    }

    pub fn ready(&self) -> Result<(), ChannelError> {
        self.0.send(&Message::InitReady)
    }
}

impl ReportFailure for InitToMain {
    fn failure(&self, f: ChildFailure) -> Result<(), ChannelError> {
        self.0.send(&Message::Failure(f))
    }
}

pub struct IntermediateSender(Sender<Message>);

impl IntermediateSender {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0.raw_fd()
    }

    pub fn mappings_written(&self) -> Result<(), ChannelError> {
        self.0.send(&Message::MappingsWritten)
    }
}

pub struct IntermediateReceiver(Receiver<Message>);

impl IntermediateReceiver {
    pub fn wait_mappings_written(&self, timeout: Duration) -> Result<(), MessageError> {
        match self.0.recv(timeout)? {
            Message::MappingsWritten => Ok(()),
            other => Err(unexpected("MappingsWritten", other)),
        }
    }
}

pub struct InitSender(Sender<Message>);

impl InitSender {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0.raw_fd()
    }

    pub fn commit(&self) -> Result<(), ChannelError> {
        self.0.send(&Message::Commit)
    }

    pub fn hooks_done(&self, state: String) -> Result<(), ChannelError> {
        self.0.send(&Message::HooksDone { state })
    }
}

pub struct InitReceiver(Receiver<Message>);

impl InitReceiver {
    /// Returns the container state JSON the main process built, for the init's own hooks.
    pub fn wait_hooks_done(&self, timeout: Duration) -> Result<String, MessageError> {
        match self.0.recv(timeout)? {
            Message::HooksDone { state } => Ok(state),
            other => Err(unexpected("HooksDone", other)),
        }
    }

    /// The main process saved the container's state; anything else (its exit included) means
    /// the create failed and the init must not linger.
    pub fn wait_commit(&self, timeout: Duration) -> Result<(), MessageError> {
        match self.0.recv(timeout)? {
            Message::Commit => Ok(()),
            other => Err(unexpected("Commit", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_message_names_both_sides() {
        let ch = channels().unwrap();
        ch.intermediate_to_main.write_mappings().unwrap();
        let e = ch
            .from_intermediate
            .init_event(Duration::from_secs(1))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "expected message RunCreateRuntimeHooks or InitReady, received WriteMappings"
        );
    }

    #[test]
    fn child_failures_come_back_structured() {
        let ch = channels().unwrap();
        ch.init_to_main
            .failure(ChildFailure {
                stage: Stage::Rootfs,
                message: "mount /proc: permission denied".into(),
            })
            .unwrap();
        match ch.from_init.init_event(Duration::from_secs(1)) {
            Err(MessageError::Child(f)) => {
                assert_eq!(f.stage, Stage::Rootfs);
                assert_eq!(f.message, "mount /proc: permission denied");
            }
            _ => panic!("expected a child failure"),
        }
        ch.intermediate_to_main.intermediate_done(42).unwrap();
        assert!(matches!(
            ch.from_intermediate
                .intermediate_event(Duration::from_secs(1)),
            Ok(IntermediateEvent::Done { init_pid: 42 })
        ));
        drop(ch.init_to_main);
        assert!(ch.from_init.wait_exec(Duration::from_secs(1)).is_ok());
    }
}
