//! Values people type and read: rates (powers of 1000), sizes (powers of 1024), durations;
//! sizes and rates printed for people; names from the network made safe to print.

use std::time::Duration;

/// A rate in bits per second: a number with an optional k, M or G suffix (powers of 1000).
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (s.get(..s.len() - 1).unwrap_or(""), 1_000),
        Some(b'm' | b'M') => (s.get(..s.len() - 1).unwrap_or(""), 1_000_000),
        Some(b'g' | b'G') => (s.get(..s.len() - 1).unwrap_or(""), 1_000_000_000),
        _ => (s, 1),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a rate such as 500M or 10G"))?;
    let bps = value * mult as f64;
    if !(1.0..=1e12).contains(&bps) {
        return Err(format!("{s:?} is out of range (1 bit/s to 1 Tbit/s)"));
    }
    Ok(bps as u64)
}

/// A size in bytes: a number with an optional k, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (s.get(..s.len() - 1).unwrap_or(""), 1u64 << 10),
        Some(b'm' | b'M') => (s.get(..s.len() - 1).unwrap_or(""), 1 << 20),
        Some(b'g' | b'G') => (s.get(..s.len() - 1).unwrap_or(""), 1 << 30),
        _ => (s, 1),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 512M or 2G"))?;
    value
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// A duration: a number with a us, ms, s, m or h suffix (seconds without one).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = if let Some(d) = s.strip_suffix("us") {
        (d, 0.000_001)
    } else if let Some(d) = s.strip_suffix("ms") {
        (d, 0.001)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1.0)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 60.0)
    } else if let Some(d) = s.strip_suffix('h') {
        (d, 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 500ms, 30s or 2m"))?;
    Duration::try_from_secs_f64(value * unit).map_err(|e| format!("{s:?}: {e}"))
}

/// Bytes for people: `812 B`, `12.3 KiB`, `1.50 GiB` (powers of 1024).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// Bits per second for people: `940 kbit/s`, `2.35 Gbit/s` (powers of 1000).
pub fn rate(bps: f64) -> String {
    let (value, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gbit/s")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mbit/s")
    } else if bps >= 1e3 {
        (bps / 1e3, "kbit/s")
    } else {
        (bps, "bit/s")
    };
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// Below this much time a rate says nothing (everything arrived at once, or the run started
/// late); summaries then print no rate.
pub const MIN_RATE_WINDOW: Duration = Duration::from_millis(10);

/// `bytes` over `elapsed` in bits per second, when the window is long enough to mean anything.
pub fn rate_over(bytes: u64, elapsed: Duration) -> Option<f64> {
    (elapsed >= MIN_RATE_WINDOW).then(|| bytes as f64 * 8.0 / elapsed.as_secs_f64())
}

/// A name that came from the network, safe to print on a terminal or in a line-based log:
/// control characters (C0, DEL, C1) and backslashes are escaped, so that a crafted name can
/// neither start a new line nor send a terminal escape sequence.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_every_suffix_and_bare_seconds() {
        assert_eq!(parse_duration("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in ["", "fast", "-1s", "10x", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rates_count_in_thousands_and_sizes_in_1024s() {
        assert_eq!(parse_rate("2k"), Ok(2_000));
        assert_eq!(parse_rate("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_rate("").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn sizes_and_rates_read_as_people_write_them() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(12_897_485), "12.3 MiB");
        assert_eq!(bytes(3 << 30), "3.00 GiB");
        assert_eq!(rate(2.35e9), "2.35 Gbit/s");
        assert_eq!(rate(940e3), "940 kbit/s");
        assert_eq!(rate_over(1000, Duration::ZERO), None);
    }

    #[test]
    fn printable_escapes_what_could_forge_a_line_or_a_terminal_escape() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(printable("\u{9b}x"), "\\u{9b}x");
        assert_eq!(printable("ok é"), "ok é");
    }
}
