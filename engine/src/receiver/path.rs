//! Content-Location (RFC 6726 §3.4.2, an `xs:anyURI`) to a relative path strictly inside the
//! output directory.
//!
//! A receiver on a multicast group takes FDTs from anyone who can reach the group, so the name an
//! FDT gives a file is hostile input. Any absolute or relative URI is accepted and mapped by one
//! purely lexical, sans-IO rule:
//!
//! 1. The fragment (`#...`) and the query (`?...`) are dropped.
//! 2. A scheme (`file:`, `http:`, `tag:`, `urn:`, any RFC 3986 §3.1 scheme) is dropped, and with
//!    it an authority (`//host:port`) that follows: `http://h/a/b` and `file:///a/b` give `a/b`,
//!    `tag:example.org,2025:x/y` gives `example.org,2025:x/y`, `urn:uuid:N` gives `uuid:N`. This
//!    is the name the `flute` crate's receiver gives such objects, so URIs that differ only in
//!    scheme or host name the same file.
//! 3. Percent-encoding is decoded once (`seg%201.m4s` is `seg 1.m4s`, `%252e` is `%2e`); a `%`
//!    not followed by two hex digits stays as it is, and decoded bytes that are not UTF-8 are
//!    written back as `%HH`.
//! 4. The result is split at `/` (an encoded `%2F` included); empty and `.` components are
//!    dropped, so the path is never absolute.
//! 5. Refused: a `..` component (in any spelling, once decoded), NUL and other control
//!    characters (the only other byte Linux refuses in a name is `/`, the separator), a
//!    component over 255 bytes or a path over 1024, and a name left empty.
//!
//! What it returns can only name a place below the output directory; the file sink then refuses
//! to follow symlinks on the way there.

use thiserror::Error;

/// Longest accepted path component, in bytes (Linux `NAME_MAX`).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest accepted relative path, in bytes (below Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 1024;

/// Why a Content-Location cannot name a file inside the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    /// A `..` component: an attempt to climb out of the output directory.
    #[error("Content-Location climbs out of the output directory with '..'")]
    ParentTraversal,
    /// NUL or another control character in a component.
    #[error("Content-Location has a control character")]
    ControlCharacter,
    /// A component longer than [`MAX_COMPONENT_BYTES`] or a path longer than [`MAX_PATH_BYTES`].
    #[error("Content-Location is too long")]
    TooLong,
    /// Nothing names a file once `.` and empty components are dropped.
    #[error("Content-Location names no file")]
    Empty,
}

/// A relative path, made of checked components, that stays inside whatever directory it is
/// joined to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeRelativePath {
    components: Vec<String>,
}

impl SafeRelativePath {
    /// Map a Content-Location to a path inside the output directory.
    pub fn from_content_location(content_location: &str) -> Result<Self, PathError> {
        let decoded = percent_decode(uri_path(content_location));
        let mut components = Vec::new();
        let mut total = 0usize;
        for part in decoded.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(PathError::ParentTraversal),
                _ => {}
            }
            if part.chars().any(char::is_control) {
                return Err(PathError::ControlCharacter);
            }
            if part.len() > MAX_COMPONENT_BYTES {
                return Err(PathError::TooLong);
            }
            total += part.len() + 1;
            if total > MAX_PATH_BYTES {
                return Err(PathError::TooLong);
            }
            components.push(part.to_owned());
        }
        if components.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(Self { components })
    }

    /// The checked components, outermost first; the last one is the file name.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The file name (last component).
    pub fn file_name(&self) -> &str {
        self.components.last().map_or("", String::as_str)
    }

    /// The path joined with `/`, relative.
    pub fn to_relative_string(&self) -> String {
        self.components.join("/")
    }
}

/// The path part of a URI reference: scheme and authority dropped, query and fragment removed.
fn uri_path(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    let uri = uri.get(..end).unwrap_or(uri);
    let Some((_, rest)) = split_scheme(uri) else {
        return uri;
    };
    // `scheme://authority/path`: drop the authority. `file:/path`, `tag:...` and `urn:...` have
    // none.
    match rest.strip_prefix("//") {
        Some(after) => after.find('/').and_then(|i| after.get(i..)).unwrap_or(""),
        None => rest,
    }
}

/// `scheme` per RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'. A
/// ':' after a '/' belongs to a relative path, not a scheme.
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let colon = uri.find(':')?;
    let scheme = uri.get(..colon)?;
    let mut chars = scheme.chars();
    let first_is_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_is_alpha && rest_ok).then(|| (scheme, uri.get(colon + 1..).unwrap_or("")))
}

/// Decodes each `%HH` once; a `%` without two hex digits stays literal, and bytes that do not
/// form UTF-8 are written back as `%HH`.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| char::from(*c).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    let mut text = String::with_capacity(out.len());
    for chunk in out.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(s: &str) -> Result<String, PathError> {
        SafeRelativePath::from_content_location(s).map(|p| p.to_relative_string())
    }

    #[test]
    fn file_and_http_uris_map_by_their_path() {
        assert_eq!(map("file:///hello.txt").unwrap(), "hello.txt");
        assert_eq!(map("file:///dir/sub/a.bin").unwrap(), "dir/sub/a.bin");
        assert_eq!(
            map("http://example.com/x/y.mp4?q=1#frag").unwrap(),
            "x/y.mp4"
        );
        assert_eq!(
            map("HTTPS://example.com:8080/seg/1.m4s").unwrap(),
            "seg/1.m4s"
        );
        assert_eq!(map("file:relative/name").unwrap(), "relative/name");
        assert_eq!(map("plain/name.txt").unwrap(), "plain/name.txt");
        assert_eq!(map("./a/./b").unwrap(), "a/b");
    }

    #[test]
    fn absolute_paths_land_inside_the_output_directory() {
        assert_eq!(map("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(map("file:////etc//x").unwrap(), "etc/x");
    }

    #[test]
    fn parent_traversal_is_rejected_in_every_spelling() {
        for hostile in [
            "../../x",
            "file:///../x",
            "a/../../x",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "http://h/a/%2e%2e/%2e%2e/x",
            "..",
        ] {
            assert_eq!(map(hostile), Err(PathError::ParentTraversal), "{hostile}");
        }
    }

    #[test]
    fn percent_decoding_is_applied_once() {
        assert_eq!(map("my%20file.txt").unwrap(), "my file.txt");
        // %252e decodes to the literal "%2e", a harmless name, not to "."
        assert_eq!(map("%252e%252e/x").unwrap(), "%2e%2e/x");
    }

    #[test]
    fn malformed_names_are_typed_errors() {
        assert_eq!(map("a%00b"), Err(PathError::ControlCharacter));
        assert_eq!(map("a\x1b[2Jb"), Err(PathError::ControlCharacter));
        assert_eq!(map("a%0Ab"), Err(PathError::ControlCharacter));
        assert_eq!(map(""), Err(PathError::Empty));
        assert_eq!(map("file:///"), Err(PathError::Empty));
        assert_eq!(map("http://host"), Err(PathError::Empty));
        assert_eq!(map("tag:"), Err(PathError::Empty));
        assert_eq!(map("?q#f"), Err(PathError::Empty));
        assert_eq!(map(&"a".repeat(256)), Err(PathError::TooLong));
        assert_eq!(map(&"%41".repeat(256)), Err(PathError::TooLong));
        assert_eq!(map(&"abc/".repeat(300)), Err(PathError::TooLong));
    }

    #[test]
    fn any_scheme_maps_by_what_follows_it() {
        assert_eq!(
            map("tag:mabr.gpac.io.2025.services.3467/live.mpd").unwrap(),
            "mabr.gpac.io.2025.services.3467/live.mpd"
        );
        assert_eq!(
            map("tag:example.org,2025:dash/seg-1.m4s").unwrap(),
            "example.org,2025:dash/seg-1.m4s"
        );
        assert_eq!(
            map("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66").unwrap(),
            "uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"
        );
        assert_eq!(
            map("urn:dvb:metadata:cs:MulticastTransportObjectTypeCS:2021:gateway-configuration")
                .unwrap(),
            "dvb:metadata:cs:MulticastTransportObjectTypeCS:2021:gateway-configuration"
        );
        assert_eq!(map("ftp://h/x").unwrap(), "x");
        assert_eq!(map("rtsp://user@h:554/a/b?x").unwrap(), "a/b");
        // A ':' after a '/' belongs to a relative path, not to a scheme.
        assert_eq!(map("dir/a:b").unwrap(), "dir/a:b");
        // GPAC names raw files by a path from the service root.
        assert_eq!(map("/sub/c.txt").unwrap(), "sub/c.txt");
    }

    #[test]
    fn percent_encoding_that_does_not_decode_stays_as_written() {
        assert_eq!(map("100%.txt").unwrap(), "100%.txt");
        assert_eq!(map("a%2").unwrap(), "a%2");
        assert_eq!(map("a%zz").unwrap(), "a%zz");
        assert_eq!(map("a%ff%41").unwrap(), "a%FFA");
        assert_eq!(map("caf%C3%A9/seg%201.m4s").unwrap(), "café/seg 1.m4s");
        // An encoded slash separates, as a decoded one would.
        assert_eq!(map("a%2Fb").unwrap(), "a/b");
    }

    #[test]
    fn hostile_names_in_other_schemes_stay_inside() {
        for hostile in [
            "tag:x/../../y",
            "urn:a/%2e%2E/b/../../c",
            "tag:..",
            "x:%2e%2e%2f%2e%2e%2fetc",
        ] {
            assert_eq!(map(hostile), Err(PathError::ParentTraversal), "{hostile}");
        }
        assert_eq!(map("tag://evil/%2F%2Fetc/x").unwrap(), "etc/x");
        assert_eq!(map("urn:%00").unwrap_err(), PathError::ControlCharacter);
    }

    proptest! {
        #[test]
        fn any_accepted_path_is_relative_and_has_no_dot_components(s in ".{0,64}") {
            if let Ok(p) = SafeRelativePath::from_content_location(&s) {
                prop_assert!(!p.components().is_empty());
                for c in p.components() {
                    prop_assert!(!c.is_empty() && c != "." && c != "..");
                    prop_assert!(!c.contains('/') && !c.contains('\0'));
                }
                prop_assert!(!p.to_relative_string().starts_with('/'));
            }
        }
    }
}
