//! Errors of the FEC layer: invalid code parameters (they come from the network, through the FEC
//! OTI) and misuse of the block encoder/decoder buffers. Never a panic, never a division by zero.

use thiserror::Error;

use super::PartitionError;

/// Why a FEC code cannot be built, or a block cannot be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FecError {
    /// The encoding symbol length E is 0.
    #[error("encoding symbol length is 0")]
    ZeroSymbolLength,
    /// The source block length k is 0.
    #[error("source block length (k) is 0")]
    ZeroSourceSymbols,
    /// k > n: fewer encoding symbols than source symbols.
    #[error("source block length k = {k} exceeds the number of encoding symbols n = {n}")]
    MoreSourceThanEncodingSymbols {
        /// k.
        k: u32,
        /// n.
        n: u32,
    },
    /// n > 2^m − 1 (RFC 5510 §6.1): the field has no more distinct evaluation points.
    #[error("{n} encoding symbols exceed 2^{m} - 1")]
    TooManyEncodingSymbols {
        /// n.
        n: u32,
        /// m.
        m: u8,
    },
    /// m is outside 2..=16 (RFC 5510 §4.2.3).
    #[error("field size m = {0} is not between 2 and 16")]
    UnsupportedFieldSize(u8),
    /// E·8 is not a multiple of m (RFC 5510 §8.4): a symbol is not a whole number of elements.
    #[error("encoding symbol length {symbol_len} bytes is not a whole number of {m}-bit elements")]
    SymbolLengthNotMultipleOfM {
        /// E.
        symbol_len: usize,
        /// m.
        m: u8,
    },
    /// The FEC Encoding ID (and FEC Instance ID) names no scheme this layer implements.
    #[error(
        "FEC Encoding ID {fec_encoding_id} / FEC Instance ID {fec_instance_id} is not a scheme of this codec"
    )]
    UnsupportedScheme {
        /// FEC Encoding ID.
        fec_encoding_id: u8,
        /// FEC Instance ID.
        fec_instance_id: u16,
    },
    /// A size computed from the parameters does not fit in memory (usize overflow).
    #[error("a buffer of {nb_symbols} symbols of {symbol_len} bytes overflows")]
    Overflow {
        /// Number of symbols.
        nb_symbols: u64,
        /// E.
        symbol_len: usize,
    },
    /// The source block handed to the encoder, or the destination handed to the decoder, is not
    /// between (k − 1)·E + 1 and k·E bytes long.
    #[error(
        "source block of {len} bytes; expected more than {min_exclusive} and at most {max} bytes"
    )]
    BadSourceBlockLength {
        /// Length given.
        len: usize,
        /// (k − 1)·E.
        min_exclusive: usize,
        /// k·E.
        max: usize,
    },
    /// The repair buffer is not a whole number of symbols, or holds more than n − k of them.
    #[error("repair buffer of {len} bytes is not a multiple of E = {symbol_len} up to {max} bytes")]
    BadRepairBufferLength {
        /// Length given.
        len: usize,
        /// E.
        symbol_len: usize,
        /// (n − k)·E.
        max: usize,
    },
    /// An encoding symbol of the wrong length.
    #[error("encoding symbol of {len} bytes, expected {symbol_len}")]
    BadSymbolLength {
        /// Length given.
        len: usize,
        /// E.
        symbol_len: usize,
    },
    /// An ESI outside the range the call accepts (source: 0..k, repair: k..n).
    #[error("ESI {esi} outside {first}..{end}")]
    EsiOutOfRange {
        /// The ESI.
        esi: u32,
        /// First accepted ESI.
        first: u32,
        /// One past the last accepted ESI.
        end: u32,
    },
    /// Decoding was asked before k distinct encoding symbols arrived.
    #[error("{received} distinct encoding symbols received, {k} needed")]
    NotEnoughSymbols {
        /// Distinct symbols received.
        received: u32,
        /// k.
        k: u32,
    },
    /// The source block length K is outside what the scheme defines (RaptorQ: 1..=56403,
    /// RFC 6330 §5.1.2; Raptor: 4..=8192, RFC 5053 §5.7).
    #[error("source block length K = {k} is outside {min}..={max}")]
    UnsupportedSourceBlockLength {
        /// K.
        k: u32,
        /// Smallest K of the scheme.
        min: u32,
        /// Largest K of the scheme.
        max: u32,
    },
    /// The object needs more source blocks than the OTI's Z field can announce (8 bits for
    /// RaptorQ, 16 for Raptor).
    #[error("{nb_blocks} source blocks exceed the {max} the OTI can announce")]
    TooManySourceBlocks {
        /// Blocks needed.
        nb_blocks: u64,
        /// Most Z can say.
        max: u64,
    },
    /// T, N and Al do not describe a sub-block partition (RFC 6330 §4.4.1.2, RFC 5053 §5.3.1.2).
    #[error("sub-blocking: {0}")]
    Partition(#[from] PartitionError),
    /// The codec library could not build the code from these symbols (never expected for valid
    /// parameters; reported rather than trusted).
    #[error("the {0} codec rejected the source block")]
    CodecRejected(&'static str),
    /// Decoding the block would cost more than the decoder's limit (see
    /// `inactivation::Limit`): given up before the work.
    #[error("decoding the block would cost more than its limit")]
    DecodeCostLimit,
}

/// Checks that `len` bytes are a block of `k` symbols of `t` bytes, the last one maybe short:
/// (k − 1)·t < len ≤ k·t.
pub(super) fn check_block_len(len: usize, k: u32, t: usize) -> Result<(), FecError> {
    let max = (k as usize).saturating_mul(t);
    let min_exclusive = max.saturating_sub(t);
    if len <= min_exclusive || len > max {
        return Err(FecError::BadSourceBlockLength {
            len,
            min_exclusive,
            max,
        });
    }
    Ok(())
}
