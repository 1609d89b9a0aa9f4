//! Reading an attach stream's output: the shim sends each chunk as a frame with moby's stdcopy
//! header (`[stream, 0, 0, 0, len u32 big-endian]`, see `shim::proto::stdcopy_header`).

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::shim::proto::FRAME_HEADER;

/// A frame larger than this is a broken peer, not output.
const MAX_FRAME: usize = 64 << 20;

/// The next chunk of output, `(stream, bytes)`; `Ok(None)` at a clean end of the stream.
pub async fn read_output<R: AsyncRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; FRAME_HEADER];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "attach output frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Some((header[0], payload)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::proto::stdcopy_header;

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = stdcopy_header(stream, payload.len()).to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[tokio::test]
    async fn reads_chunks_until_a_clean_end() {
        let mut data = frame(1, b"out");
        data.extend(frame(2, b"err"));
        let mut r = &data[..];
        assert_eq!(
            read_output(&mut r).await.unwrap(),
            Some((1, b"out".to_vec()))
        );
        assert_eq!(
            read_output(&mut r).await.unwrap(),
            Some((2, b"err".to_vec()))
        );
        assert_eq!(read_output(&mut r).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_truncated_or_huge_frame_is_an_error() {
        let data = frame(1, b"abcdef");
        assert!(read_output(&mut &data[..10]).await.is_err());
        let huge = stdcopy_header(1, MAX_FRAME + 1);
        assert!(read_output(&mut &huge[..]).await.is_err());
    }
}
