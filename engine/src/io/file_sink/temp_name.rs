//! The names of objects' temporary files: `.NAME.xflute-<tsi>-<toi>-<random>.part`, hidden, in
//! the directory of the final name `NAME`.
//!
//! Each object in flight has its own: two objects (two TOIs, two sessions, or two attempts at
//! one TOI) that name the same file never share a temporary file, and none of them can be a
//! final name, because the sink refuses final names of this form ([`is_temp_name`]). The random
//! part (64 bits from the OS) and `O_EXCL` make a collision with anything already in the
//! directory, a user's file included, a fresh draw rather than an overwrite. The pattern is what
//! [`super::FileSink::remove_stale_parts`] recognises at the next start: a user's `x.part` is
//! not ours and is never removed.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// What every temporary name ends with.
const SUFFIX: &[u8] = b".part";
/// What separates the final name from the object's identity in a temporary name.
const MARK: &[u8] = b".xflute-";
/// Hex digits of the random part.
const RANDOM_DIGITS: usize = 16;
/// Longest file name Linux file systems take (NAME_MAX).
const NAME_MAX: usize = 255;
/// Bytes of a temporary name that are not the final name: the leading dot, the mark, TSI (20
/// decimal digits at most), TOI (39), two dashes, the random part and the suffix.
const OVERHEAD: usize = 1 + MARK.len() + 20 + 1 + 39 + 1 + RANDOM_DIGITS + SUFFIX.len();

/// The temporary name of an object whose final file name is `final_name`. A long final name is
/// cut (at a character boundary) so that the whole stays within NAME_MAX; the name is only a
/// hint for whoever lists the directory, the identity is in the rest.
pub(super) fn temp_name(final_name: &str, tsi: u64, toi: u128, random: u64) -> String {
    let mut cut = final_name.len().min(NAME_MAX - OVERHEAD);
    while !final_name.is_char_boundary(cut) {
        cut -= 1;
    }
    let shown = final_name.get(..cut).unwrap_or_default();
    format!(".{shown}.xflute-{tsi}-{toi}-{random:016x}.part")
}

/// Whether `name` (one file name, no directory) has the form of a temporary name of this sink:
/// `.` + anything + `.xflute-` + decimal TSI + `-` + decimal TOI + `-` + 16 lowercase hex
/// digits + `.part`.
pub fn is_temp_name(name: &OsStr) -> bool {
    let name = name.as_bytes();
    let Some(rest) = name.strip_prefix(b".").and_then(|n| n.strip_suffix(SUFFIX)) else {
        return false;
    };
    let Some(at) = rest.windows(MARK.len()).rposition(|w| w == MARK) else {
        return false;
    };
    let Some(identity) = rest.get(at + MARK.len()..) else {
        return false;
    };
    let mut fields = identity.split(|&b| b == b'-');
    let decimal =
        |f: Option<&[u8]>| f.is_some_and(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
    let (tsi, toi, random) = (fields.next(), fields.next(), fields.next());
    decimal(tsi)
        && decimal(toi)
        && random.is_some_and(|r| {
            r.len() == RANDOM_DIGITS && r.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
        && fields.next().is_none()
}

/// Whether `name` is a temporary name of an object whose final file name is `final_name`
/// (for tools and tests that watch an object being received).
pub fn is_temp_name_of(name: &OsStr, final_name: &str) -> bool {
    if !is_temp_name(name) {
        return false;
    }
    let probe = temp_name(final_name, 0, 0, 0);
    // The final name as the temporary name shows it: everything before the mark.
    let shown = probe
        .as_bytes()
        .get(..probe.len() - (MARK.len() + 1 + 1 + 1 + 1 + RANDOM_DIGITS + SUFFIX.len()));
    let Some(shown) = shown else {
        return false;
    };
    name.as_bytes()
        .strip_prefix(shown)
        .is_some_and(|rest| rest.starts_with(MARK))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn temporary_names_are_recognised_and_final_names_are_not() {
        let name = temp_name("report", 1, 2, 0xdead_beef);
        assert_eq!(name, ".report.xflute-1-2-00000000deadbeef.part");
        assert!(is_temp_name(os(&name)));
        assert!(is_temp_name_of(os(&name), "report"));
        assert!(!is_temp_name_of(os(&name), "repor"));
        assert!(!is_temp_name_of(os(&name), "report.part"));
        for user in [
            "report.part",
            "x.part",
            ".x.part",
            ".x.xflute-1-2.part",
            ".x.xflute-1-2-3.part",
            ".x.xflute-a-2-00000000deadbeef.part",
            ".x.xflute-1-2-00000000DEADBEEF.part",
            ".x.xflute-1-2-00000000deadbeef-4.part",
            "x.xflute-1-2-00000000deadbeef.part",
            ".x.xflute-1-2-00000000deadbeef",
        ] {
            assert!(!is_temp_name(os(user)), "{user}");
        }
        // A final name that itself looks like a temporary name is still one of ours.
        let nested = temp_name(&name, u64::MAX, u128::MAX, u64::MAX);
        assert!(is_temp_name(os(&nested)));
        assert!(is_temp_name_of(os(&nested), &name));
    }

    #[test]
    fn long_final_names_are_cut_at_a_character_boundary_within_name_max() {
        let long = "é".repeat(200);
        let name = temp_name(&long, u64::MAX, u128::MAX, u64::MAX);
        assert!(name.len() <= NAME_MAX, "{}", name.len());
        assert!(is_temp_name(os(&name)));
        assert!(is_temp_name_of(os(&name), &long));
        let short = temp_name("a", 0, 0, 0);
        assert!(short.len() < NAME_MAX);
    }
}
