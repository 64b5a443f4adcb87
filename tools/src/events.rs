//! The `--json` output of `send`, `recv` and `inspect`: one JSON object per line, each with an
//! `event` name and a `time` (RFC 3339, UTC, microseconds). The fields of every event are
//! documented in docs/cli-json.md; keep the two in step.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// One event being built: `{"event":NAME,"time":...,` then fields in the order added.
pub struct Event(String);

impl Event {
    /// An event named `name`, stamped now.
    pub fn new(name: &str) -> Self {
        Self::at(name, SystemTime::now())
    }

    /// An event named `name`, stamped `time`.
    pub fn at(name: &str, time: SystemTime) -> Self {
        let mut s = String::with_capacity(160);
        s.push_str("{\"event\":");
        s.push_str(&json_str(name));
        s.push_str(",\"time\":\"");
        s.push_str(&rfc3339(time));
        s.push('"');
        Self(s)
    }

    fn key(&mut self, key: &str) {
        self.0.push(',');
        self.0.push_str(&json_str(key));
        self.0.push(':');
    }

    /// A string field.
    pub fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        self.0.push_str(&json_str(value));
        self
    }

    /// A string field, or `null`.
    pub fn opt_str(mut self, key: &str, value: Option<&str>) -> Self {
        self.key(key);
        match value {
            Some(v) => self.0.push_str(&json_str(v)),
            None => self.0.push_str("null"),
        }
        self
    }

    /// An integer field (exact, whatever its width: a TOI may have 112 bits).
    pub fn int(mut self, key: &str, value: impl Into<u128>) -> Self {
        self.key(key);
        let _ = write!(self.0, "{}", value.into());
        self
    }

    /// An integer field, or `null`.
    pub fn opt_int(mut self, key: &str, value: Option<impl Into<u128>>) -> Self {
        self.key(key);
        match value {
            Some(v) => {
                let _ = write!(self.0, "{}", v.into());
            }
            None => self.0.push_str("null"),
        }
        self
    }

    /// A number with a fraction, `decimals` after the point; `null` when not finite.
    pub fn float(mut self, key: &str, value: f64, decimals: usize) -> Self {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.0, "{value:.decimals$}");
        } else {
            self.0.push_str("null");
        }
        self
    }

    /// A number with a fraction, or `null`.
    pub fn opt_float(self, key: &str, value: Option<f64>, decimals: usize) -> Self {
        self.float(key, value.unwrap_or(f64::NAN), decimals)
    }

    /// A boolean field.
    pub fn bool(mut self, key: &str, value: bool) -> Self {
        self.key(key);
        self.0.push_str(if value { "true" } else { "false" });
        self
    }

    /// A field whose value is already JSON (an array or object built by the caller).
    pub fn raw(mut self, key: &str, json: &str) -> Self {
        self.key(key);
        self.0.push_str(json);
        self
    }

    /// The line, without its newline.
    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// A JSON string literal. Control characters, including DEL and the C1 range, are escaped, so
/// that a line of JSON printed on a terminal cannot carry an escape sequence either.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `time` as RFC 3339 in UTC with microseconds: `2026-01-31T12:34:56.789012Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_709_210_096_123_456);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.123456Z");
    }

    #[test]
    fn events_are_one_line_with_name_time_and_fields_in_order() {
        let line = Event::at("completed", UNIX_EPOCH)
            .int("toi", 1u128 << 100)
            .str("location", "a\n\u{1b}b")
            .opt_float("gbps", None, 3)
            .finish();
        assert_eq!(
            line,
            "{\"event\":\"completed\",\"time\":\"1970-01-01T00:00:00.000000Z\",\"toi\":1267650600228229401496703205376,\"location\":\"a\\n\\u001bb\",\"gbps\":null}"
        );
    }
}
