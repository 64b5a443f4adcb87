//! Objects to send: where their bytes come from (a buffer, any `&[u8]` such as a memory-mapped
//! file, or a seekable stream read block by block), their FDT metadata (RFC 6726 §3.4.2:
//! Content-Location, Content-Type, Content-Length, Transfer-Length, Content-Encoding,
//! Content-MD5) and how they are transferred.
//!
//! Content encoding is applied here, once, before transfer: the Transfer-Length the FDT
//! announces is the encoded length, and Content-MD5 is the digest of the content before
//! encoding (RFC 1864, as flute computes it).

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::hash::md5::{self, Md5};
use base64::Engine;

use super::SenderError;
use super::config::{CarouselRepeatMode, TargetAcquisition};
use crate::cenc::{self, Cenc};
use crate::wire::Oti;

/// The bytes of an object that lives in memory: a buffer, a shared slice, a memory-mapped file
/// (`xflute::io::mmap::MappedFile`). The sender copies each symbol once, from here into the
/// caller's packet buffer.
pub trait ObjectBytes: Send + Sync {
    /// The whole object.
    fn as_bytes(&self) -> &[u8];
}

impl<T: AsRef<[u8]> + Send + Sync + ?Sized> ObjectBytes for T {
    fn as_bytes(&self) -> &[u8] {
        self.as_ref()
    }
}

/// A stream the sender reads one source block at a time, rewinding it for each transfer.
pub trait ObjectStream: Read + Seek + Send {}

impl<T: Read + Seek + Send + ?Sized> ObjectStream for T {}

/// Where the bytes of an object come from, after content encoding.
pub(crate) enum ObjectSource {
    /// In memory.
    Bytes(Arc<dyn ObjectBytes>),
    /// Read from a stream during each transfer; `None` while a transfer has it.
    Stream(Option<Box<dyn ObjectStream>>),
}

impl fmt::Debug for ObjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.as_bytes().len()),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// How receivers may cache an object: the sender turns it into the 3GPP Cache-Control element
/// of the object's File entry ([`crate::fdt::CacheControl`], TS 26.346 §7.2.10.2) each time it
/// publishes an FDT instance, relative expiries from that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Do not cache.
    NoCache,
    /// Cache, and use it even after it expires.
    MaxStale,
    /// Valid for this long after the FDT Instance that lists it is published.
    Expires(Duration),
    /// Valid until this time.
    ExpiresAt(SystemTime),
}

/// How an object is transferred; `Default` sends it once, as fast as possible.
#[derive(Debug, Clone, Default)]
pub struct TransferConfig {
    /// Transfers per round (back to back); 0 counts as 1.
    pub max_transfer_count: u32,
    /// Repeat rounds forever (until the object is removed), `max_transfer_count` transfers
    /// each, spaced by this mode; `None` stops after one round and drops the object.
    pub carousel_mode: Option<CarouselRepeatMode>,
    /// How fast each transfer goes out.
    pub target_acquisition: TargetAcquisition,
    /// mbms2007 Cache-Control of the File entry.
    pub cache_control: Option<CachePolicy>,
    /// mbms2005 Group elements of the File entry.
    pub groups: Vec<String>,
    /// Content encoding, applied once before transfer.
    pub cenc: Cenc,
    /// Also announce the content encoding in every packet (EXT_CENC).
    pub inband_cenc: bool,
    /// FEC OTI of this object, in place of the sender's (its Transfer Length is ignored).
    pub oti: Option<Oti>,
    /// No transfer starts before this time.
    pub transfer_start_time: Option<SystemTime>,
    /// Use this TOI rather than allocating one.
    pub toi: Option<u128>,
    /// mbms2012 File-ETag.
    pub e_tag: Option<String>,
    /// Removing the object stops its first transfer at once (otherwise the first transfer
    /// always completes).
    pub allow_immediate_stop_before_first_transfer: bool,
}

/// An object (file) to send, with its FDT metadata.
pub struct ObjectDesc {
    /// Content-Location: the URI receivers name the object by.
    pub content_location: String,
    /// Content-Type (a MIME type).
    pub content_type: String,
    /// Content-Length: size before content encoding, in bytes.
    pub content_length: u64,
    /// Transfer-Length: size after content encoding, in bytes.
    pub transfer_length: u64,
    /// Content-MD5: base64 of the MD5 digest of the content before encoding.
    pub md5: Option<String>,
    /// How the object is transferred.
    pub config: TransferConfig,
    pub(crate) source: ObjectSource,
}

impl fmt::Debug for ObjectDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectDesc")
            .field("content_location", &self.content_location)
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("transfer_length", &self.transfer_length)
            .field("md5", &self.md5)
            .field("config", &self.config)
            .field("source", &self.source)
            .finish()
    }
}

/// base64 of the MD5 digest (the Content-MD5 form, RFC 1864).
pub fn content_md5(content: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::digest(content))
}

impl ObjectDesc {
    /// An object from a buffer (encoded in place when `config.cenc` is not null).
    pub fn from_buffer(
        content: Vec<u8>,
        content_type: impl Into<String>,
        content_location: impl Into<String>,
        compute_md5: bool,
        config: TransferConfig,
    ) -> Result<Self, SenderError> {
        Self::from_bytes(
            Arc::new(content),
            content_type,
            content_location,
            compute_md5,
            config,
        )
    }

    /// An object from any bytes in memory, such as a memory-mapped file: sent straight from
    /// them without a copy, unless `config.cenc` asks for an encoded copy.
    pub fn from_bytes(
        bytes: Arc<dyn ObjectBytes>,
        content_type: impl Into<String>,
        content_location: impl Into<String>,
        compute_md5: bool,
        config: TransferConfig,
    ) -> Result<Self, SenderError> {
        let content = bytes.as_bytes();
        let content_length = content.len() as u64;
        let md5 = compute_md5.then(|| content_md5(content));
        let bytes: Arc<dyn ObjectBytes> = match config.cenc {
            Cenc::Null => bytes,
            cenc => Arc::new(cenc::encode(cenc, content)?),
        };
        Ok(Self {
            content_location: content_location.into(),
            content_type: content_type.into(),
            content_length,
            transfer_length: bytes.as_bytes().len() as u64,
            md5,
            config,
            source: ObjectSource::Bytes(bytes),
        })
    }

    /// An object from a seekable stream. Without content encoding, its length is taken by
    /// seeking to the end, and each transfer reads it block by block from the start; the MD5,
    /// when asked for, costs one more pass. With content encoding, the stream is read and
    /// encoded once, here, since the FDT must announce the encoded length before the transfer.
    pub fn from_stream(
        mut stream: Box<dyn ObjectStream>,
        content_type: impl Into<String>,
        content_location: impl Into<String>,
        compute_md5: bool,
        config: TransferConfig,
    ) -> Result<Self, SenderError> {
        if config.cenc != Cenc::Null {
            stream.seek(SeekFrom::Start(0))?;
            let mut content = Vec::new();
            stream.read_to_end(&mut content)?;
            return Self::from_buffer(content, content_type, content_location, compute_md5, config);
        }
        let content_length = stream.seek(SeekFrom::End(0))?;
        stream.seek(SeekFrom::Start(0))?;
        let md5 = if compute_md5 {
            let mut hasher = Md5::new();
            let mut chunk = vec![0u8; 256 * 1024];
            loop {
                let n = match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                hasher.update(chunk.get(..n).unwrap_or_default());
            }
            stream.seek(SeekFrom::Start(0))?;
            Some(base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
        } else {
            None
        };
        Ok(Self {
            content_location: content_location.into(),
            content_type: content_type.into(),
            content_length,
            transfer_length: content_length,
            md5,
            config,
            source: ObjectSource::Stream(Some(stream)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_is_base64_of_the_rfc1321_digest() {
        // RFC 1321 A.5 test suite.
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(content_md5(b"abc"), "kAFQmDzST7DWlj99KOF/cg==");
    }

    #[test]
    fn encoded_buffer_announces_both_lengths_and_md5_of_the_content() {
        let content = vec![b'a'; 10_000];
        let config = TransferConfig {
            cenc: Cenc::Gzip,
            ..TransferConfig::default()
        };
        let obj = ObjectDesc::from_buffer(content.clone(), "text/plain", "file:///a", true, config)
            .unwrap();
        assert_eq!(obj.content_length, 10_000);
        assert!(obj.transfer_length < 10_000);
        assert_eq!(obj.md5.as_deref(), Some(content_md5(&content).as_str()));
        let ObjectSource::Bytes(bytes) = &obj.source else {
            panic!("encoded object should be in memory")
        };
        let decoded = cenc::decode(Cenc::Gzip, bytes.as_bytes(), 1 << 20).unwrap();
        assert_eq!(decoded, content);
    }

    #[test]
    fn stream_object_takes_length_and_md5_and_is_rewound() {
        let content: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let stream = Box::new(std::io::Cursor::new(content.clone()));
        let obj = ObjectDesc::from_stream(
            stream,
            "application/octet-stream",
            "file:///s",
            true,
            TransferConfig::default(),
        )
        .unwrap();
        assert_eq!(obj.content_length, 5000);
        assert_eq!(obj.transfer_length, 5000);
        assert_eq!(obj.md5, Some(content_md5(&content)));
        let ObjectSource::Stream(Some(mut stream)) = obj.source else {
            panic!("expected a stream source")
        };
        let mut first = [0u8; 4];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(first, [0, 1, 2, 3]);
    }
}
