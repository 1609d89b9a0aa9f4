//! Docker's stream multiplexing (moby `stdcopy`): each chunk is framed with 8 bytes,
//! `[stream, 0, 0, 0, len as u32 big-endian]`; stream 0 stdin, 1 stdout, 2 stderr, 3 system error.

pub const HEADER_LEN: usize = 8;

/// Frames one chunk.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(stream);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_docker_header() {
        assert_eq!(frame(1, b"hi"), vec![1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(2, b"").len(), 8);
    }
}
