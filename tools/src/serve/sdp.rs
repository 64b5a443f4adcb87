//! A FLUTE session described in SDP (RFC 4566) with the attributes of 3GPP TS 26.346 §7.3:
//! `a=flute-tsi`, `a=flute-ch`, the source filter of RFC 4570 and the FEC declaration. `serve`
//! writes one per sending session (`GET /sessions/NAME.sdp`); a receiving session and
//! `recv --sdp` start from one.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result, bail};

/// What a receiver needs of a session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// Session name (`s=`).
    pub name: String,
    /// Group (or unicast address) and port (`c=`, `m=`).
    pub destination: SocketAddr,
    /// The sender's address (`a=source-filter: incl`), for source-specific multicast.
    pub source: Option<IpAddr>,
    /// Transport Session Identifier (`a=flute-tsi`).
    pub tsi: u64,
    /// FEC Encoding ID of the declaration (`a=FEC-declaration`).
    pub fec_encoding_id: u8,
    /// Bandwidth, kbit/s (`b=AS`), when the session is paced.
    pub bandwidth_kbps: Option<u64>,
}

fn family(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// The SDP text of `d`; `version` goes into `o=` (a new one when the session changes).
pub fn write(d: &SessionDescription, version: u64) -> String {
    let origin = d.source.unwrap_or(d.destination.ip());
    let dest = d.destination.ip();
    let mut s = String::new();
    let _ = writeln!(s, "v=0");
    let _ = writeln!(s, "o=- {} {version} IN {} {origin}", d.tsi, family(origin));
    let _ = writeln!(s, "s={}", d.name);
    let _ = writeln!(s, "t=0 0");
    if let Some(source) = d.source {
        let _ = writeln!(
            s,
            "a=source-filter: incl IN {} {dest} {source}",
            family(dest)
        );
    }
    let _ = writeln!(s, "a=flute-tsi:{}", d.tsi);
    let _ = writeln!(s, "a=flute-ch:1");
    let _ = writeln!(s, "a=FEC-declaration:0 encoding-id={}", d.fec_encoding_id);
    let _ = writeln!(s, "m=application {} FLUTE/UDP 0", d.destination.port());
    // A multicast connection address carries a TTL in IPv4 (RFC 4566 §5.7).
    let ttl = if dest.is_multicast() && dest.is_ipv4() {
        "/8"
    } else {
        ""
    };
    let _ = writeln!(s, "c=IN {} {dest}{ttl}", family(dest));
    if let Some(kbps) = d.bandwidth_kbps {
        let _ = writeln!(s, "b=AS:{kbps}");
    }
    let _ = writeln!(s, "a=FEC:0");
    s
}

/// Reads a session description: the first FLUTE media section, its connection address (or
/// the session's), the TSI and the source filter. Lines it does not need are skipped.
pub fn parse(text: &str) -> Result<SessionDescription> {
    let mut name = String::new();
    let mut session_c = None;
    let mut media_c = None;
    let mut port = None;
    let mut in_media = false;
    let mut tsi = None;
    let mut source = None;
    let mut fec = 0u8;
    let mut bandwidth = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let at = || format!("line {}", n + 1);
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "s" => name = value.to_owned(),
            "m" => {
                if port.is_some() {
                    // Only the first FLUTE media section is read.
                    in_media = false;
                    continue;
                }
                let fields: Vec<&str> = value.split_whitespace().collect();
                if fields
                    .get(2)
                    .is_some_and(|p| p.eq_ignore_ascii_case("FLUTE/UDP"))
                {
                    let p = fields
                        .get(1)
                        .and_then(|p| p.split('/').next())
                        .and_then(|p| p.parse::<u16>().ok())
                        .with_context(|| format!("{}: bad port in m=", at()))?;
                    port = Some(p);
                    in_media = true;
                }
            }
            "c" => {
                let addr = value
                    .split_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next())
                    .and_then(|a| a.parse::<IpAddr>().ok())
                    .with_context(|| format!("{}: bad address in c=", at()))?;
                if in_media {
                    media_c = Some(addr);
                } else if port.is_none() {
                    session_c = Some(addr);
                }
            }
            "b" if in_media || port.is_none() => {
                if let Some(kbps) = value.strip_prefix("AS:") {
                    bandwidth = kbps.trim().parse().ok();
                }
            }
            "a" => {
                if let Some(v) = value.strip_prefix("flute-tsi:") {
                    tsi = Some(
                        v.trim()
                            .parse::<u64>()
                            .with_context(|| format!("{}: bad flute-tsi", at()))?,
                    );
                } else if let Some(v) = value.strip_prefix("source-filter:") {
                    // incl IN IP4 <dest> <src> [<src>...]: the first source.
                    let fields: Vec<&str> = v.split_whitespace().collect();
                    if fields.first() == Some(&"incl") {
                        source = fields.get(4).and_then(|s| s.parse::<IpAddr>().ok());
                    }
                } else if let Some(id) = value.strip_prefix("FEC-declaration:").and_then(|v| {
                    v.split(|c: char| c == ';' || c.is_whitespace())
                        .find_map(|f| f.strip_prefix("encoding-id="))
                }) {
                    fec = id.trim().parse().unwrap_or(0);
                }
            }
            _ => {}
        }
    }
    let Some(port) = port else {
        bail!("no FLUTE media section (m=application PORT FLUTE/UDP 0)");
    };
    let Some(addr) = media_c.or(session_c) else {
        bail!("no connection address (c=IN IP4 ADDRESS)");
    };
    let Some(tsi) = tsi else {
        bail!("no a=flute-tsi");
    };
    Ok(SessionDescription {
        name,
        destination: SocketAddr::new(addr, port),
        source,
        tsi,
        fec_encoding_id: fec,
        bandwidth_kbps: bandwidth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_descriptions_read_back_for_ipv4_and_ipv6() {
        for (dest, source) in [
            ("239.255.0.1:3400", Some("10.0.0.1")),
            ("[ff15::1]:4000", Some("fd00::1")),
            ("127.0.0.1:5000", None),
        ] {
            let d = SessionDescription {
                name: "news".into(),
                destination: dest.parse().unwrap(),
                source: source.map(|s| s.parse().unwrap()),
                tsi: 42,
                fec_encoding_id: 5,
                bandwidth_kbps: Some(50_000),
            };
            let text = write(&d, 3);
            assert!(text.contains("a=flute-tsi:42\n"), "{text}");
            assert!(text.contains("FLUTE/UDP 0"), "{text}");
            assert_eq!(parse(&text).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn a_3gpp_style_description_with_a_session_level_address_is_read() {
        let text = "v=0\r\no=user 1 1 IN IP4 10.1.1.1\r\ns=MBMS\r\nc=IN IP4 232.1.1.1/1\r\n\
                    t=0 0\r\na=source-filter: incl IN IP4 232.1.1.1 10.1.1.1\r\n\
                    a=flute-tsi:3\r\nm=application 6000 FLUTE/UDP 0\r\n";
        let d = parse(text).unwrap();
        assert_eq!(d.destination, "232.1.1.1:6000".parse().unwrap());
        assert_eq!(d.source, Some("10.1.1.1".parse().unwrap()));
        assert_eq!(d.tsi, 3);
    }

    #[test]
    fn incomplete_descriptions_say_what_is_missing() {
        assert!(format!("{:#}", parse("v=0\n").unwrap_err()).contains("FLUTE media"));
        let no_tsi = "m=application 1 FLUTE/UDP 0\nc=IN IP4 1.2.3.4\n";
        assert!(format!("{:#}", parse(no_tsi).unwrap_err()).contains("flute-tsi"));
        assert!(parse("m=application x FLUTE/UDP 0\n").is_err());
    }
}
