//! Docker's stream multiplexing (moby `stdcopy`): each chunk is framed with 8 bytes,
//! `[stream, 0, 0, 0, len as u32 big-endian]`; stream 0 stdin, 1 stdout, 2 stderr, 3 system error.

use tokio::io::{AsyncRead, AsyncReadExt};

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

/// Reads the next frame: `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; HEADER_LEN];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    // A frame larger than this is a broken peer, not output.
    if len > 64 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Some((header[0], payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_docker_header() {
        assert_eq!(frame(1, b"hi"), vec![1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(2, b"").len(), 8);
    }

    #[tokio::test]
    async fn reads_back_frames() {
        let mut data = frame(1, b"out");
        data.extend(frame(2, b"err"));
        let mut r = &data[..];
        assert_eq!(
            read_frame(&mut r).await.unwrap(),
            Some((1, b"out".to_vec()))
        );
        assert_eq!(
            read_frame(&mut r).await.unwrap(),
            Some((2, b"err".to_vec()))
        );
        assert_eq!(read_frame(&mut r).await.unwrap(), None);
    }

    #[tokio::test]
    async fn truncated_frame_is_an_error() {
        let data = frame(1, b"abcdef");
        let mut r = &data[..10];
        assert!(read_frame(&mut r).await.is_err());
    }
}
