//! Content encodings (RFC 6726 §3.4.2 Content-Encoding, §3.4.3 EXT_CENC): null, zlib (RFC 1950),
//! deflate (RFC 1951) and gzip (RFC 1952).
//!
//! Decoding is bounded: the caller gives the largest output it accepts and a stream that inflates
//! past it (a decompression bomb) stops there with [`CencError::TooLarge`], having produced at most
//! that many bytes (plus one read chunk), never the whole expansion.

use std::fmt;
use std::io::Read;
use std::io::Write;
use std::str::FromStr;

use flate2::Compression;

/// A content encoding, numbered as in the EXT_CENC header extension (RFC 6726 §3.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Cenc {
    /// No encoding: the object is sent as is.
    #[default]
    Null = 0,
    /// ZLIB (RFC 1950).
    Zlib = 1,
    /// DEFLATE (RFC 1951).
    Deflate = 2,
    /// GZIP (RFC 1952).
    Gzip = 3,
}

/// Why content could not be encoded or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CencError {
    /// The decoded content would exceed the caller's cap.
    #[error("decoded content exceeds the cap of {cap} bytes")]
    TooLarge {
        /// The cap the caller gave, in bytes.
        cap: usize,
    },
    /// The encoded input is not a valid stream of its encoding.
    #[error("corrupt {cenc} stream: {reason}")]
    Corrupt {
        /// The encoding that was being decoded.
        cenc: Cenc,
        /// What the decompressor reported.
        reason: String,
    },
    /// The encoded input ends before its stream does.
    #[error("truncated {cenc} stream")]
    Truncated {
        /// The encoding that was being decoded.
        cenc: Cenc,
    },
    /// The compressor failed (it cannot with an in-memory sink; kept so no error is swallowed).
    #[error("{cenc} compression failed: {reason}")]
    Compress {
        /// The encoding that was being applied.
        cenc: Cenc,
        /// What the compressor reported.
        reason: String,
    },
    /// An EXT_CENC code or Content-Encoding name that is not one of the four known encodings.
    #[error("unknown content encoding {0:?}")]
    Unknown(String),
}

impl Cenc {
    /// Every encoding, in code order.
    pub const ALL: [Cenc; 4] = [Cenc::Null, Cenc::Zlib, Cenc::Deflate, Cenc::Gzip];

    /// The EXT_CENC code point.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The encoding of an EXT_CENC code point, if it is a known one.
    pub const fn from_code(code: u8) -> Option<Cenc> {
        match code {
            0 => Some(Cenc::Null),
            1 => Some(Cenc::Zlib),
            2 => Some(Cenc::Deflate),
            3 => Some(Cenc::Gzip),
            _ => None,
        }
    }

    /// The FDT Content-Encoding token ("null", "zlib", "deflate", "gzip").
    pub const fn as_str(self) -> &'static str {
        match self {
            Cenc::Null => "null",
            Cenc::Zlib => "zlib",
            Cenc::Deflate => "deflate",
            Cenc::Gzip => "gzip",
        }
    }

    /// The encoding named by an FDT Content-Encoding value. Tokens are case-insensitive as in
    /// HTTP; "identity" is the HTTP name of no encoding and is read as [`Cenc::Null`].
    pub fn from_content_encoding(value: &str) -> Option<Cenc> {
        let token = value.trim();
        Cenc::ALL
            .into_iter()
            .find(|cenc| token.eq_ignore_ascii_case(cenc.as_str()))
            .or_else(|| token.eq_ignore_ascii_case("identity").then_some(Cenc::Null))
    }
}

impl fmt::Display for Cenc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cenc {
    type Err = CencError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cenc::from_content_encoding(s).ok_or_else(|| CencError::Unknown(s.to_owned()))
    }
}

impl TryFrom<u8> for Cenc {
    type Error = CencError;

    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Cenc::from_code(code).ok_or_else(|| CencError::Unknown(code.to_string()))
    }
}

/// Encodes `input` with `cenc` at the default compression level. [`Cenc::Null`] copies it.
pub fn encode(cenc: Cenc, input: &[u8]) -> Result<Vec<u8>, CencError> {
    let compress_err = |e: std::io::Error| CencError::Compress {
        cenc,
        reason: e.to_string(),
    };
    // The output is usually smaller than the input; start there to avoid most regrowth.
    let sink = Vec::with_capacity(input.len() / 2 + 64);
    match cenc {
        Cenc::Null => Ok(input.to_vec()),
        Cenc::Zlib => {
            let mut enc = flate2::write::ZlibEncoder::new(sink, Compression::default());
            enc.write_all(input).map_err(compress_err)?;
            enc.finish().map_err(compress_err)
        }
        Cenc::Deflate => {
            let mut enc = flate2::write::DeflateEncoder::new(sink, Compression::default());
            enc.write_all(input).map_err(compress_err)?;
            enc.finish().map_err(compress_err)
        }
        Cenc::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(sink, Compression::default());
            enc.write_all(input).map_err(compress_err)?;
            enc.finish().map_err(compress_err)
        }
    }
}

/// Decodes `input` encoded with `cenc`, producing at most `max_output_bytes` bytes.
///
/// Inflation is pulled chunk by chunk and stops one byte past the cap, so a bomb costs at most
/// the cap in memory and the time to inflate that much.
pub fn decode(cenc: Cenc, input: &[u8], max_output_bytes: usize) -> Result<Vec<u8>, CencError> {
    match cenc {
        Cenc::Null => {
            if input.len() > max_output_bytes {
                return Err(CencError::TooLarge {
                    cap: max_output_bytes,
                });
            }
            Ok(input.to_vec())
        }
        Cenc::Zlib => read_capped(
            cenc,
            flate2::read::ZlibDecoder::new(input),
            max_output_bytes,
        ),
        Cenc::Deflate => read_capped(
            cenc,
            flate2::read::DeflateDecoder::new(input),
            max_output_bytes,
        ),
        // A gzip file may hold several members (RFC 1952 §2.2); their contents are concatenated.
        Cenc::Gzip => read_capped(
            cenc,
            flate2::read::MultiGzDecoder::new(input),
            max_output_bytes,
        ),
    }
}

fn read_capped(cenc: Cenc, decoder: impl Read, cap: usize) -> Result<Vec<u8>, CencError> {
    // One byte past the cap tells "exactly at the cap" from "over it".
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => CencError::Truncated { cenc },
            _ => CencError::Corrupt {
                cenc,
                reason: e.to_string(),
            },
        })?;
    if out.len() > cap {
        return Err(CencError::TooLarge { cap });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_encoding_round_trips_any_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..4096),
            repeat in 1usize..8,
        ) {
            // Repetition gives the compressors something to compress, not only noise.
            let input: Vec<u8> = data.iter().copied().cycle().take(data.len() * repeat).collect();
            for cenc in Cenc::ALL {
                let encoded = encode(cenc, &input).unwrap();
                let decoded = decode(cenc, &encoded, input.len()).unwrap();
                prop_assert_eq!(&decoded, &input, "{}", cenc);
            }
        }

        #[test]
        fn cap_one_below_the_content_is_too_large(
            data in proptest::collection::vec(any::<u8>(), 1..2048),
        ) {
            for cenc in Cenc::ALL {
                let encoded = encode(cenc, &data).unwrap();
                let cap = data.len() - 1;
                prop_assert_eq!(decode(cenc, &encoded, cap), Err(CencError::TooLarge { cap }));
            }
        }
    }

    #[test]
    fn codes_and_names_match_flute_and_rfc_6726() {
        let expected = [(0, "null"), (1, "zlib"), (2, "deflate"), (3, "gzip")];
        for (cenc, (code, name)) in Cenc::ALL.into_iter().zip(expected) {
            assert_eq!(cenc.code(), code);
            assert_eq!(cenc.as_str(), name);
            assert_eq!(Cenc::from_code(code), Some(cenc));
            assert_eq!(name.parse::<Cenc>(), Ok(cenc));
            assert_eq!(name.to_uppercase().parse::<Cenc>(), Ok(cenc));
        }
        assert_eq!(Cenc::from_content_encoding("identity"), Some(Cenc::Null));
        assert_eq!(Cenc::from_code(4), None);
        assert!(matches!("br".parse::<Cenc>(), Err(CencError::Unknown(_))));
        assert!(matches!(Cenc::try_from(200u8), Err(CencError::Unknown(_))));
    }

    const GIB: u64 = 1 << 30;

    /// `cenc` applied to 1 GiB of zeros, built without holding the gigabyte: 1 MiB of zeros is
    /// deflated once and ended with a sync flush, which leaves whole, byte-aligned, non-final
    /// blocks whose back-references only reach zeros; 1024 copies of those blocks followed by an
    /// empty final block are a valid DEFLATE stream of 1 GiB of zeros. The zlib and gzip trailers
    /// are computed for that content.
    fn gigabyte_of_zeros(cenc: Cenc) -> Vec<u8> {
        let mut raw = flate2::Compress::new(Compression::best(), false);
        let mut mib_blocks = Vec::with_capacity(64 << 10);
        raw.compress_vec(
            &[0u8; 1 << 20],
            &mut mib_blocks,
            flate2::FlushCompress::Sync,
        )
        .unwrap();
        assert_eq!(raw.total_in(), 1 << 20, "the MiB fits one call");
        let mut stream = Vec::with_capacity(mib_blocks.len() * 1024 + 32);
        match cenc {
            Cenc::Zlib => stream.extend_from_slice(&[0x78, 0xda]),
            Cenc::Gzip => stream.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]),
            Cenc::Deflate | Cenc::Null => {}
        }
        for _ in 0..1024 {
            stream.extend_from_slice(&mib_blocks);
        }
        // BFINAL=1, BTYPE=01 (fixed Huffman), end-of-block code: an empty final block.
        stream.extend_from_slice(&[0x03, 0x00]);
        match cenc {
            Cenc::Zlib => {
                // Adler-32 of n zeros: A stays 1, B adds A once per byte.
                let b = (GIB % 65521) as u32;
                stream.extend_from_slice(&((b << 16) | 1).to_be_bytes());
            }
            Cenc::Gzip => {
                let mut crc = flate2::Crc::new();
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..1024 {
                    crc.update(&zeros);
                }
                stream.extend_from_slice(&crc.sum().to_le_bytes());
                stream.extend_from_slice(&((GIB % (1 << 32)) as u32).to_le_bytes());
            }
            Cenc::Deflate | Cenc::Null => {}
        }
        stream
    }

    #[test]
    fn decompression_bomb_stops_at_the_cap_with_an_error() {
        for cenc in [Cenc::Zlib, Cenc::Deflate, Cenc::Gzip] {
            let bomb = gigabyte_of_zeros(cenc);
            assert!(bomb.len() < 4 << 20, "{cenc} bomb is {} bytes", bomb.len());
            let cap = 4 << 20;
            let started = std::time::Instant::now();
            assert_eq!(
                decode(cenc, &bomb, cap),
                Err(CencError::TooLarge { cap }),
                "{cenc}"
            );
            // Inflating the whole gigabyte takes many seconds; stopping at 4 MiB does not.
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "{cenc}"
            );
        }
    }

    #[test]
    fn gigabyte_bomb_is_a_valid_stream_of_the_announced_size() {
        // Proves the bomb above is honest: fully inflated without a cap (streamed and counted,
        // never held) it yields exactly 1 GiB of zeros and its trailer checks out.
        let bomb = gigabyte_of_zeros(Cenc::Zlib);
        let mut decoder = flate2::read::ZlibDecoder::new(&bomb[..]);
        let mut chunk = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = decoder.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            assert!(chunk[..n].iter().all(|&b| b == 0));
            total += n as u64;
        }
        assert_eq!(total, GIB);
    }

    #[test]
    fn corrupt_input_is_a_typed_error() {
        let garbage = b"this is not a compressed stream at all, not even close";
        for cenc in [Cenc::Zlib, Cenc::Deflate, Cenc::Gzip] {
            let err = decode(cenc, garbage, 1 << 20).unwrap_err();
            assert!(
                matches!(err, CencError::Corrupt { .. } | CencError::Truncated { .. }),
                "{cenc}: {err:?}"
            );
        }
    }

    #[test]
    fn truncated_input_is_a_typed_error() {
        let input: Vec<u8> = (0..10_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for cenc in [Cenc::Zlib, Cenc::Deflate, Cenc::Gzip] {
            let encoded = encode(cenc, &input).unwrap();
            let cut = &encoded[..encoded.len() / 2];
            let err = decode(cenc, cut, 1 << 20).unwrap_err();
            assert_eq!(err, CencError::Truncated { cenc }, "{cenc}");
        }
    }

    #[test]
    fn null_encoding_respects_the_cap() {
        assert_eq!(
            decode(Cenc::Null, b"abcd", 3),
            Err(CencError::TooLarge { cap: 3 })
        );
        assert_eq!(decode(Cenc::Null, b"abc", 3).unwrap(), b"abc");
    }
}
