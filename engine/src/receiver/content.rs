//! Content decoding of a received object (RFC 6726 §3.4.2 Content-Encoding, §3.4.3 EXT_CENC),
//! streamed: the encoded bytes are read where they were received (memory, or the sink's
//! temporary file) and the decoded bytes are handed out a chunk at a time, so that neither the
//! whole decoded content nor a decompression bomb's expansion is ever held in memory.

use std::io::Read;

use crate::cenc::{Cenc, CencError};

/// Bytes decoded per step.
const CHUNK: usize = 64 << 10;

/// Why streaming stopped: the decoder's error, or the consumer's.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    Decode(CencError),
    Consumer(E),
}

/// Decodes `input` (encoded with `cenc`) and gives `out` the content in order, a chunk at a
/// time, at most `cap` bytes: more is `CencError::TooLarge` (after `cap` bytes were given).
/// Returns the content's length.
pub(crate) fn decode_each<E>(
    cenc: Cenc,
    input: &[u8],
    cap: u64,
    mut out: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, Stop<E>> {
    let mut reader: Box<dyn Read + '_> = match cenc {
        Cenc::Null => Box::new(input),
        Cenc::Zlib => Box::new(flate2::read::ZlibDecoder::new(input)),
        Cenc::Deflate => Box::new(flate2::read::DeflateDecoder::new(input)),
        // A gzip file may hold several members (RFC 1952 §2.2); their contents are concatenated.
        Cenc::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
    };
    let too_large = || {
        Stop::Decode(CencError::TooLarge {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
        })
    };
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(Stop::Decode(CencError::Truncated { cenc }));
            }
            Err(e) => {
                return Err(Stop::Decode(CencError::Corrupt {
                    cenc,
                    reason: e.to_string(),
                }));
            }
        };
        let room = cap.saturating_sub(total);
        let chunk = buf.get(..n).unwrap_or_default();
        if n as u64 > room {
            let fits = chunk.get(..room as usize).unwrap_or_default();
            if !fits.is_empty() {
                out(fits).map_err(Stop::Consumer)?;
            }
            return Err(too_large());
        }
        out(chunk).map_err(Stop::Consumer)?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cenc::encode;

    fn collect(cenc: Cenc, input: &[u8], cap: u64) -> Result<Vec<u8>, Stop<()>> {
        let mut got = Vec::new();
        decode_each(cenc, input, cap, |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .map(|len| {
            assert_eq!(len, got.len() as u64);
            got
        })
    }

    #[test]
    fn streamed_decoding_gives_the_content_in_order_and_stops_at_the_cap() {
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for cenc in Cenc::ALL {
            let encoded = encode(cenc, &content).unwrap();
            assert_eq!(collect(cenc, &encoded, 300_000).unwrap(), content, "{cenc}");
            assert!(
                matches!(
                    collect(cenc, &encoded, 299_999),
                    Err(Stop::Decode(CencError::TooLarge { cap: 299_999 }))
                ),
                "{cenc}"
            );
            if cenc != Cenc::Null {
                let cut = &encoded[..encoded.len() / 2];
                assert!(matches!(collect(cenc, cut, 1 << 20), Err(Stop::Decode(_))));
            }
        }
        // The consumer's error stops it.
        let r = decode_each(Cenc::Null, &content, 1 << 20, |_| Err("full"));
        assert!(matches!(r, Err(Stop::Consumer("full"))));
    }
}
