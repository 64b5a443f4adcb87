//! Content-Location (RFC 6726 §3.4.2, an URI) to a relative path strictly inside the output
//! directory.
//!
//! A receiver on a multicast group takes FDTs from anyone who can reach the group, so the name an
//! FDT gives a file is hostile input. The mapping is purely lexical and sans-IO: `file:` and
//! `http(s):` URIs by their path, relative references as they are; query and fragment dropped;
//! percent-decoded; leading slashes dropped so the result is never absolute; `.` dropped; `..`,
//! NUL, control characters and over-long names rejected. What it returns can only name a place
//! below the output directory; the file sink then refuses to follow symlinks on the way there.

use thiserror::Error;

/// Longest accepted path component, in bytes (Linux `NAME_MAX`).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest accepted relative path, in bytes (below Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 1024;

/// Why a Content-Location cannot name a file inside the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    /// A URI scheme other than `file`, `http` or `https`.
    #[error("unsupported URI scheme {0:?} in Content-Location")]
    UnsupportedScheme(String),
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding in Content-Location")]
    BadPercentEncoding,
    /// The decoded path is not UTF-8.
    #[error("Content-Location does not decode to UTF-8")]
    NotUtf8,
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
        let path = uri_path(content_location)?;
        let decoded = percent_decode(path)?;
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

/// The path part of a URI reference: `file:` and `http(s):` URIs by their path (after the
/// authority), relative references as they are; query and fragment removed.
fn uri_path(uri: &str) -> Result<&str, PathError> {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    let uri = uri.get(..end).unwrap_or(uri);
    let Some((scheme, rest)) = split_scheme(uri) else {
        return Ok(uri);
    };
    if !["file", "http", "https"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Err(PathError::UnsupportedScheme(scheme.to_owned()));
    }
    // `scheme://authority/path`: drop the authority. `file:/path` and `file:path` have none.
    Ok(match rest.strip_prefix("//") {
        Some(after) => after.find('/').and_then(|i| after.get(i..)).unwrap_or(""),
        None => rest,
    })
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

fn percent_decode(s: &str) -> Result<String, PathError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(PathError::BadPercentEncoding),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
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
        assert_eq!(map("a%2"), Err(PathError::BadPercentEncoding));
        assert_eq!(map("a%zz"), Err(PathError::BadPercentEncoding));
        assert_eq!(map("a%ff"), Err(PathError::NotUtf8));
        assert_eq!(map("a%00b"), Err(PathError::ControlCharacter));
        assert_eq!(map(""), Err(PathError::Empty));
        assert_eq!(map("file:///"), Err(PathError::Empty));
        assert_eq!(map("http://host"), Err(PathError::Empty));
        assert!(matches!(
            map("ftp://h/x"),
            Err(PathError::UnsupportedScheme(_))
        ));
        assert_eq!(map(&"a".repeat(256)), Err(PathError::TooLong));
        assert_eq!(map(&"abc/".repeat(300)), Err(PathError::TooLong));
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
