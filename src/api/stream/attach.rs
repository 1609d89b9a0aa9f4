//! The wire shape of an attach: each chunk of output as a stdcopy frame, or the raw bytes with a
//! terminal; the `logs=1` replay in that shape. The engine's session does the pumping.

use futures_util::StreamExt;

use crate::api::stream::stdcopy;
use crate::engine::container::logs::LogEntry;

/// A chunk of output as the client reads it: a stdcopy frame, or the raw bytes with a terminal.
pub fn encode(stream: u8, payload: Vec<u8>, tty: bool) -> Vec<u8> {
    if tty {
        payload
    } else {
        stdcopy::frame(stream, &payload)
    }
}

/// The `logs=1` replay of an attach, if asked for.
pub fn replay_stream(
    replay: Option<tokio::sync::mpsc::Receiver<LogEntry>>,
    tty: bool,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    let entries = replay.map(tokio_stream_from);
    futures_util::stream::iter(entries)
        .flatten()
        .map(move |e| Ok(encode(e.stream, e.bytes, tty)))
}

/// An mpsc receiver as a Stream.
pub fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
