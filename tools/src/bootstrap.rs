//! DVB-MABR bootstrap (ETSI TS 103 769): reading the multicast gateway configuration from a
//! bootstrap session to find the sessions to receive (`recv --bootstrap`, `serve`'s
//! `bootstrap` key), and making one that describes a sender's sessions (`send --bootstrap`,
//! `serve`).
//!
//! The configuration is read over a UDP socket of its own before the receive engine starts
//! (`xflute::mabr::BootstrapReader`); the engine then receives every FLUTE session the
//! configuration lists, the bootstrap session included, where GPAC sends its manifests and
//! initialisation segments.

use anyhow::{Context, Result, bail};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use xflute::io::udp::{RecvBatch, UdpSocket};
use xflute::mabr::{
    BootstrapReader, EndpointAddress, GatewayConfiguration, MulticastSession, RepairBaseUrl,
    TransportSession, UnicastRepair,
};
use xflute::receiver::Limits;
use xflute::runtime::ChannelSpec;
use xflute::sender::{
    CarouselRepeatMode, Config, ObjectDesc, Profile, Sender, ToiMaxLength, TransferConfig,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

use crate::events::{Event, json_str};
use crate::repair::RepairOptions;
use crate::send::SendCli;
use crate::usage;

/// How long `recv --bootstrap` waits for a configuration when no `--timeout` bounds it.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Receives on `bootstrap` (from `source` only, when given; joined on `interface` when a
/// group) until a gateway configuration is read, `wait` passes, or `stop` is set.
pub fn fetch(
    bootstrap: SocketAddr,
    source: Option<IpAddr>,
    interface: Option<&str>,
    wait: Duration,
    stop: &AtomicBool,
) -> Result<GatewayConfiguration> {
    let group = bootstrap.ip();
    if group.is_multicast() && interface.is_none() {
        bail!(usage(format!(
            "joining {group} needs an interface (--iface)"
        )));
    }
    let socket = UdpSocket::bind_receiver(bootstrap, source, interface)
        .with_context(|| format!("listening on the bootstrap {bootstrap}"))?;
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut batch = RecvBatch::new(65_536);
    let mut reader = BootstrapReader::new(&Limits::default());
    let give_up = Instant::now() + wait;
    while Instant::now() < give_up && !stop.load(Ordering::SeqCst) {
        socket.recv_batch(&mut batch)?;
        for (from, payload) in batch.iter() {
            if source.is_some_and(|s| from.is_some_and(|f| f.ip() != s)) {
                continue;
            }
            match reader.push(payload) {
                Some(Ok(parsed)) => {
                    for skipped in &parsed.skipped {
                        tracing::warn!("gateway configuration: session left out: {skipped}");
                    }
                    return Ok(parsed.config);
                }
                Some(Err(e)) => tracing::warn!("unreadable gateway configuration: {e}"),
                None => {}
            }
        }
    }
    if stop.load(Ordering::SeqCst) {
        bail!("stopped before a gateway configuration arrived on {bootstrap}");
    }
    bail!(
        "no gateway configuration arrived on {bootstrap} within {} s",
        wait.as_secs_f64()
    )
}

/// The channels to receive the FLUTE sessions of `config`: one per (destination, port,
/// source), with the TSIs listed for it (every TSI when one of its sessions gives none).
pub fn channels(config: &GatewayConfiguration) -> Vec<ChannelSpec> {
    let mut out: Vec<(ChannelSpec, bool)> = Vec::new();
    for endpoint in config.flute_endpoints() {
        let destination = SocketAddr::new(endpoint.destination, endpoint.port);
        let at = out
            .iter()
            .position(|(c, _)| c.destination == destination && c.source == endpoint.source);
        let (channel, any_tsi) = match at {
            Some(i) => &mut out[i],
            None => {
                out.push((
                    ChannelSpec {
                        destination,
                        source: endpoint.source,
                        tsis: Vec::new(),
                    },
                    false,
                ));
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        match endpoint.tsi {
            None => *any_tsi = true,
            Some(tsi) if !channel.tsis.contains(&tsi) => channel.tsis.push(tsi),
            Some(_) => {}
        }
    }
    out.into_iter()
        .map(|(mut channel, any_tsi)| {
            if any_tsi {
                channel.tsis.clear();
            }
            channel
        })
        .collect()
}

/// `recv --bootstrap`: a gateway configuration completed at `path` (new, or changed since the
/// start) adds the sessions it lists that no channel of `channels` receives yet; the lines
/// (or JSON events) that say so. One that cannot be read is logged and changes nothing;
/// sessions it no longer lists are still received.
pub fn follow(
    engine: &mut xflute::runtime::RxEngine,
    channels: &mut Vec<ChannelSpec>,
    path: &std::path::Path,
    json: bool,
) -> Vec<String> {
    match read(path) {
        Some(config) => follow_config(engine, channels, &config, json),
        None => Vec::new(),
    }
}

/// The gateway configuration stored at `path`; `None`, logged, when it cannot be read.
pub fn read(path: &std::path::Path) -> Option<GatewayConfiguration> {
    use std::io::Read as _;
    let limits = xflute::mabr::ParseLimits::default();
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|f| {
        f.take(limits.max_document_bytes as u64 + 1)
            .read_to_end(&mut bytes)
    });
    if let Err(e) = read {
        tracing::warn!("reading the gateway configuration {}: {e}", path.display());
        return None;
    }
    match GatewayConfiguration::parse(&bytes, &limits) {
        Ok(parsed) => Some(parsed.config),
        Err(e) => {
            tracing::warn!("unreadable gateway configuration {}: {e}", path.display());
            None
        }
    }
}

/// [`follow`] with the configuration read.
pub fn follow_config(
    engine: &mut xflute::runtime::RxEngine,
    channels: &mut Vec<ChannelSpec>,
    config: &GatewayConfiguration,
    json: bool,
) -> Vec<String> {
    let mut added = Vec::new();
    for channel in self::channels(config) {
        let known = channels
            .iter()
            .any(|c| c.destination == channel.destination && c.source == channel.source);
        if known {
            continue;
        }
        match engine.add_channel(channel.clone()) {
            Ok(()) => {
                channels.push(channel.clone());
                added.push(channel);
            }
            Err(e) => tracing::warn!(
                "cannot receive {} from the gateway configuration: {e}",
                channel.destination
            ),
        }
    }
    if added.is_empty() {
        return Vec::new();
    }
    let bootstrap = config
        .gateway_sessions
        .iter()
        .flat_map(|s| s.endpoints.first())
        .map(|e| SocketAddr::new(e.destination, e.port))
        .next();
    match bootstrap {
        Some(bootstrap) => vec![joined_line(bootstrap, &added, json)],
        None => Vec::new(),
    }
}

/// The line (or JSON event) that says which sessions a configuration made a receiver join.
pub fn joined_line(bootstrap: SocketAddr, channels: &[ChannelSpec], json: bool) -> String {
    let describe = |c: &ChannelSpec| {
        let tsis = if c.tsis.is_empty() {
            "any".to_owned()
        } else {
            c.tsis
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        match c.source {
            Some(s) => format!("{} from {s} tsi {tsis}", c.destination),
            None => format!("{} tsi {tsis}", c.destination),
        }
    };
    if json {
        let sessions: Vec<String> = channels
            .iter()
            .map(|c| {
                format!(
                    "{{\"destination\":{},\"source\":{},\"tsis\":[{}]}}",
                    json_str(&c.destination.to_string()),
                    c.source
                        .map_or("null".to_owned(), |s| json_str(&s.to_string())),
                    c.tsis
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            })
            .collect();
        return Event::new("bootstrap")
            .str("bootstrap", &bootstrap.to_string())
            .raw("sessions", &format!("[{}]", sessions.join(",")))
            .finish();
    }
    let list: Vec<String> = channels.iter().map(describe).collect();
    format!(
        "gateway configuration on {bootstrap}: receiving {}",
        list.join("; ")
    )
}

/// A sending session a configuration describes.
pub struct SentSession {
    /// Its destination.
    pub destination: SocketAddr,
    /// Its source address, for source-specific multicast receivers; `None` for any.
    pub source: Option<IpAddr>,
    /// Its TSI.
    pub tsi: u64,
    /// Its rate, bits per second, when limited.
    pub rate_bps: Option<u64>,
    /// The repair servers announced for it, preferred first; none announced when empty.
    pub repair_bases: Vec<String>,
}

/// The configuration of a sender's sessions, announced on `bootstrap` (TSI 1): the bootstrap
/// session as the configuration session, and one service of one transport session each,
/// named `service_identifier` (with the session's index after the first).
pub fn describe(
    bootstrap: SocketAddr,
    service_identifier: &str,
    sessions: &[SentSession],
) -> GatewayConfiguration {
    let gateway = TransportSession::flute(vec![EndpointAddress {
        source: None,
        destination: bootstrap.ip(),
        port: bootstrap.port(),
        tsi: Some(xflute::mabr::BOOTSTRAP_TSI),
    }]);
    let sessions = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut transport = TransportSession::flute(vec![EndpointAddress {
                source: s.source,
                destination: s.destination.ip(),
                port: s.destination.port(),
                tsi: Some(s.tsi),
            }]);
            transport.id = Some(s.tsi.to_string());
            transport.bit_rate = s.rate_bps.map(|r| xflute::mabr::BitRate {
                average: Some(r),
                maximum: Some(r),
            });
            transport.repair = announced_repair(&s.repair_bases);
            MulticastSession {
                service_identifier: match i {
                    0 => service_identifier.to_owned(),
                    i => format!("{service_identifier}:{i}"),
                },
                manifests: Vec::new(),
                transport_sessions: vec![transport],
            }
        })
        .collect();
    GatewayConfiguration {
        valid_until: None,
        gateway_sessions: vec![gateway],
        sessions,
    }
}

/// The `UnicastRepairParameters` that announce `bases`, the first with the highest weight so
/// that a receiver that takes only the heaviest (GPAC) takes it; `None` without a base.
fn announced_repair(bases: &[String]) -> Option<UnicastRepair> {
    if bases.is_empty() {
        return None;
    }
    let count = u32::try_from(bases.len()).unwrap_or(u32::MAX);
    Some(UnicastRepair {
        base_urls: bases
            .iter()
            .zip((1..=count).rev())
            .map(|(url, weight)| RepairBaseUrl {
                url: url.clone(),
                relative_weight: (weight != 1).then_some(weight),
            })
            .collect(),
        ..UnicastRepair::default()
    })
}

/// Where the repair servers a configuration announces for the FLUTE sessions it lists are, the
/// heaviest first, each once (only `http://` URLs, the others left out with a warning), and
/// the back-off it gives, the first session's that gives one: `None` when it announces none.
pub fn announced_repair_options(
    config: &GatewayConfiguration,
    template: &RepairOptions,
) -> Option<RepairOptions> {
    let repairs: Vec<&UnicastRepair> = config
        .gateway_sessions
        .iter()
        .chain(
            config
                .sessions
                .iter()
                .flat_map(|s| s.transport_sessions.iter()),
        )
        .filter(|s| s.protocol == xflute::mabr::TransportProtocol::Flute)
        .filter_map(|s| s.repair.as_ref())
        .collect();
    let mut weighted: Vec<(u32, &str)> = repairs
        .iter()
        .flat_map(|r| r.base_urls.iter())
        .map(|b| (b.relative_weight.unwrap_or(1), b.url.as_str()))
        .filter(|(w, _)| *w > 0)
        .collect();
    weighted.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let mut bases: Vec<url::Url> = Vec::new();
    for (_, text) in weighted {
        match url::Url::parse(text) {
            Ok(url) if url.scheme() == "http" => {
                if !bases.contains(&url) {
                    bases.push(url);
                }
            }
            _ => tracing::warn!("announced repair server {text:?} is not an http:// URL: left out"),
        }
    }
    if bases.is_empty() {
        return None;
    }
    let back_off = |f: fn(&UnicastRepair) -> Option<u64>| {
        repairs.iter().find_map(|r| f(r)).map(Duration::from_secs)
    };
    let mut object_base_uris: Vec<String> = Vec::new();
    for uri in repairs.iter().filter_map(|r| r.object_base_uri.as_deref()) {
        if !uri.is_empty() && !object_base_uris.iter().any(|u| u == uri) {
            object_base_uris.push(uri.to_owned());
        }
    }
    Some(RepairOptions {
        bases,
        offset_time: back_off(|r| r.fixed_back_off_s).unwrap_or(template.offset_time),
        random_window: back_off(|r| r.random_back_off_s).unwrap_or(template.random_window),
        object_base_uris,
        ..template.clone()
    })
}

/// Destinations `inspect` looks for gateway configurations on, at most; a capture may hold
/// any number.
const MAX_WATCHED: usize = 16;

/// `inspect`: the gateway configurations found in a capture, one reader per destination.
#[derive(Default)]
pub struct GatewayWatch {
    readers: Vec<(SocketAddr, BootstrapReader)>,
}

impl GatewayWatch {
    /// Takes one ALC packet sent to `destination`; the lines that show a configuration when
    /// one completes (new, or changed since the last on that destination).
    pub fn push(&mut self, destination: SocketAddr, packet: &[u8], json: bool) -> Vec<String> {
        let at = match self.readers.iter().position(|(d, _)| *d == destination) {
            Some(at) => at,
            None if self.readers.len() < MAX_WATCHED => {
                let limits = Limits {
                    max_fdt_bytes: xflute::mabr::ParseLimits::default().max_document_bytes,
                    ..Limits::default()
                };
                self.readers
                    .push((destination, BootstrapReader::new(&limits)));
                self.readers.len() - 1
            }
            None => return Vec::new(),
        };
        let Some((_, reader)) = self.readers.get_mut(at) else {
            return Vec::new();
        };
        match reader.push(packet) {
            Some(Ok(parsed)) => show(destination, &parsed, json),
            Some(Err(e)) if json => vec![
                Event::new("gateway_configuration_error")
                    .str("destination", &destination.to_string())
                    .str("error", &e.to_string())
                    .finish(),
            ],
            Some(Err(e)) => vec![format!(
                "   gateway configuration on {destination}: unreadable: {e}"
            )],
            None => Vec::new(),
        }
    }
}

/// A configuration as `inspect` prints it: a line per transport session and manifest, or one
/// JSON event.
fn show(destination: SocketAddr, parsed: &xflute::mabr::Parsed, json: bool) -> Vec<String> {
    let config = &parsed.config;
    let endpoint = |e: &EndpointAddress| {
        let mut text = format!("{}:{}", e.destination, e.port);
        if let Some(tsi) = e.tsi {
            text.push_str(&format!(" tsi {tsi}"));
        }
        if let Some(source) = e.source {
            text.push_str(&format!(" from {source}"));
        }
        text
    };
    let session = |s: &TransportSession| {
        let endpoints: Vec<String> = s.endpoints.iter().map(endpoint).collect();
        let protocol = match &s.protocol {
            xflute::mabr::TransportProtocol::Flute => "FLUTE".to_owned(),
            xflute::mabr::TransportProtocol::Route => "ROUTE".to_owned(),
            xflute::mabr::TransportProtocol::Other(o) => crate::units::printable(o),
        };
        let mut text = format!("{protocol} {}", endpoints.join(", "));
        let repair = s
            .repair
            .as_ref()
            .map(|r| r.urls_by_weight())
            .unwrap_or_default();
        if !repair.is_empty() {
            let repair: Vec<String> = repair.iter().map(|u| crate::units::printable(u)).collect();
            text.push_str(&format!(" repair {}", repair.join(", ")));
        }
        text
    };
    if json {
        let endpoints_json = |s: &TransportSession| {
            let list: Vec<String> = s
                .endpoints
                .iter()
                .map(|e| {
                    format!(
                        "{{\"destination\":{},\"port\":{},\"tsi\":{},\"source\":{}}}",
                        json_str(&e.destination.to_string()),
                        e.port,
                        e.tsi.map_or("null".to_owned(), |t| t.to_string()),
                        e.source
                            .map_or("null".to_owned(), |s| json_str(&s.to_string()))
                    )
                })
                .collect();
            let repair: Vec<String> = s
                .repair
                .as_ref()
                .map(|r| r.urls_by_weight())
                .unwrap_or_default()
                .into_iter()
                .map(json_str)
                .collect();
            format!(
                "{{\"protocol\":{},\"endpoints\":[{}],\"repair\":[{}]}}",
                json_str(s.protocol.identifier()),
                list.join(","),
                repair.join(",")
            )
        };
        let gateway: Vec<String> = config.gateway_sessions.iter().map(endpoints_json).collect();
        let services: Vec<String> = config
            .sessions
            .iter()
            .map(|m| {
                let manifests: Vec<String> = m
                    .manifests
                    .iter()
                    .map(|l| {
                        json_str(
                            l.transport_object_uri
                                .as_deref()
                                .or(l.url.as_deref())
                                .unwrap_or_default(),
                        )
                    })
                    .collect();
                let sessions: Vec<String> =
                    m.transport_sessions.iter().map(endpoints_json).collect();
                format!(
                    "{{\"service\":{},\"manifests\":[{}],\"sessions\":[{}]}}",
                    json_str(&m.service_identifier),
                    manifests.join(","),
                    sessions.join(",")
                )
            })
            .collect();
        return vec![
            Event::new("gateway_configuration")
                .str("destination", &destination.to_string())
                .raw("gateway_sessions", &format!("[{}]", gateway.join(",")))
                .raw("services", &format!("[{}]", services.join(",")))
                .int("skipped", parsed.skipped.len() as u64)
                .finish(),
        ];
    }
    let mut lines = vec![format!(
        "   gateway configuration on {destination}: {} service(s)",
        config.sessions.len()
    )];
    for s in &config.gateway_sessions {
        lines.push(format!("     configuration session: {}", session(s)));
    }
    for m in &config.sessions {
        lines.push(format!(
            "     service {}",
            crate::units::printable(&m.service_identifier)
        ));
        for l in &m.manifests {
            lines.push(format!(
                "       manifest {} {}",
                crate::units::printable(l.content_type.as_deref().unwrap_or("-")),
                crate::units::printable(
                    l.transport_object_uri
                        .as_deref()
                        .or(l.url.as_deref())
                        .unwrap_or("-")
                )
            ));
        }
        for t in &m.transport_sessions {
            lines.push(format!("       session: {}", session(t)));
        }
    }
    for e in &parsed.skipped {
        lines.push(format!("     left out: {e}"));
    }
    lines
}

/// How often a repeating sender publishes its configuration.
pub const REPEAT_INTERVAL: Duration = Duration::from_secs(1);

/// `send --bootstrap`: refused when it is the session itself or of another IP version.
pub fn check_send(args: &SendCli) -> Result<()> {
    match args.bootstrap {
        Some(bootstrap) => check(bootstrap, args.dest, args.tsi)
            .map_err(|e| usage(format!("--bootstrap {bootstrap}: {e}"))),
        None => Ok(()),
    }
}

/// Whether `bootstrap` can announce the session `tsi` on `dest`: a port, the same IP version,
/// not the session itself.
pub fn check(bootstrap: SocketAddr, dest: SocketAddr, tsi: u64) -> Result<(), String> {
    if bootstrap.port() == 0 {
        return Err("port 0 cannot be sent to".into());
    }
    if bootstrap.is_ipv4() != dest.is_ipv4() {
        return Err(format!("not of the IP version of the destination {dest}"));
    }
    if bootstrap == dest && tsi == xflute::mabr::BOOTSTRAP_TSI {
        return Err(
            "it is the session itself (TSI 1 on the destination): give the session another TSI"
                .into(),
        );
    }
    Ok(())
}

/// The bootstrap session of `send --bootstrap`, describing the session `args` sends.
pub fn send_session(args: &SendCli) -> Result<Option<Sender>> {
    let Some(bootstrap) = args.bootstrap else {
        return Ok(None);
    };
    let config = describe(
        bootstrap,
        &format!("urn:xflute:session:{}", args.tsi),
        &[SentSession {
            destination: args.dest,
            source: args.source,
            tsi: args.tsi,
            rate_bps: args.rate_bps,
            repair_bases: args.repair_base.iter().map(url::Url::to_string).collect(),
        }],
    );
    let profile = match args.flute_version {
        1 => Profile::Rfc3926,
        _ => Profile::Rfc6726,
    };
    config_sender(
        bootstrap,
        &config,
        args.symbol_len,
        profile,
        args.carousel.is_some(),
    )
    .map(Some)
}

/// A sender of `config` on `bootstrap` (TSI 1), as DVB-MABR gateways read it: Compact No-Code
/// in one source block, FEC OTI in the FDT only (GPAC takes any packet with EXT_FTI for part
/// of an FDT), FDT not content-encoded, 32-bit TOIs. With `repeat`, published every
/// [`REPEAT_INTERVAL`] until the engine stops; else three times back to back.
pub fn config_sender(
    bootstrap: SocketAddr,
    config: &GatewayConfiguration,
    symbol_len: u16,
    profile: Profile,
    repeat: bool,
) -> Result<Sender> {
    let xml = config.to_xml().into_bytes();
    let symbols = xml.len().div_ceil(usize::from(symbol_len.max(1)));
    let block_len = u32::try_from(symbols.clamp(1, 1 << 16)).unwrap_or(1 << 16);
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: symbol_len,
        maximum_source_block_length: block_len,
        max_number_of_encoding_symbols: block_len,
        scheme_specific: SchemeSpecific::None,
    };
    let sender_config = Config {
        profile,
        inband_fti: false,
        fdt_cenc: xflute::cenc::Cenc::Null,
        toi_max_length: ToiMaxLength::ToiMax32,
        ..Config::default()
    };
    let endpoint = xflute::endpoint::UdpEndpoint::new(bootstrap.ip(), bootstrap.port());
    let mut sender = Sender::new(endpoint, xflute::mabr::BOOTSTRAP_TSI, oti, sender_config)
        .map_err(|e| {
            usage(format!(
                "the bootstrap session's parameters are not valid: {e}"
            ))
        })?;
    let transfer = TransferConfig {
        max_transfer_count: if repeat { 1 } else { 3 },
        carousel_mode: repeat.then_some(CarouselRepeatMode::IntervalBetweenStartTimes(
            REPEAT_INTERVAL,
        )),
        ..TransferConfig::default()
    };
    let object = ObjectDesc::from_buffer(
        xml,
        xflute::mabr::CONTENT_TYPE,
        xflute::mabr::CONTENT_LOCATION,
        true,
        transfer,
    )
    .context("preparing the gateway configuration")?;
    sender
        .add_object(0, object)
        .context("adding the gateway configuration")?;
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_repair_servers_are_used_heaviest_first_with_the_announced_back_off() {
        let bases = |urls: &[&str]| urls.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>();
        let sent = |tsi: u64, repair_bases: Vec<String>| SentSession {
            destination: "239.1.1.1:5001".parse().unwrap(),
            source: None,
            tsi,
            rate_bps: None,
            repair_bases,
        };
        let mut config = describe(
            "239.1.1.1:5000".parse().unwrap(),
            "urn:test",
            &[
                sent(5, bases(&["http://a.example/x/", "http://b.example/"])),
                sent(6, bases(&["ftp://c.example/", "http://a.example/x/"])),
            ],
        );
        // The first base of a session is its heaviest, as GPAC takes only that one.
        let written = config.sessions[0].transport_sessions[0].repair.clone();
        assert_eq!(
            written.as_ref().map(|r| r.urls_by_weight()),
            Some(vec!["http://a.example/x/", "http://b.example/"])
        );
        let template = RepairOptions {
            offset_time: Duration::from_secs(7),
            ..RepairOptions::default()
        };
        let options = announced_repair_options(&config, &template).unwrap();
        let urls: Vec<&str> = options.bases.iter().map(url::Url::as_str).collect();
        // Each once, heaviest first, only http://.
        assert_eq!(urls, vec!["http://a.example/x/", "http://b.example/"]);
        assert_eq!(options.offset_time, Duration::from_secs(7));
        if let Some(repair) = &mut config.sessions[1].transport_sessions[0].repair {
            repair.fixed_back_off_s = Some(2);
            repair.random_back_off_s = Some(3);
        }
        if let Some(repair) = &mut config.sessions[0].transport_sessions[0].repair {
            repair.object_base_uri = Some("tag:example.com,2026:s".to_owned());
        }
        let options = announced_repair_options(&config, &template).unwrap();
        assert_eq!(options.object_base_uris, vec!["tag:example.com,2026:s"]);
        assert_eq!(options.offset_time, Duration::from_secs(2));
        assert_eq!(options.random_window, Duration::from_secs(3));
        let silent = describe(
            "239.1.1.1:5000".parse().unwrap(),
            "urn:test",
            &[sent(5, Vec::new())],
        );
        assert_eq!(announced_repair_options(&silent, &template), None);
    }

    #[test]
    fn sessions_of_one_destination_share_a_channel_with_their_tsis() {
        let config = describe(
            "239.1.2.3:5000".parse().unwrap(),
            "urn:x",
            &[
                SentSession {
                    destination: "239.1.2.3:5001".parse().unwrap(),
                    source: None,
                    tsi: 7,
                    rate_bps: Some(1_000_000),
                    repair_bases: Vec::new(),
                },
                SentSession {
                    destination: "239.1.2.3:5001".parse().unwrap(),
                    source: None,
                    tsi: 8,
                    rate_bps: None,
                    repair_bases: Vec::new(),
                },
            ],
        );
        let channels = channels(&config);
        assert_eq!(channels.len(), 2);
        assert_eq!(channels[0].destination, "239.1.2.3:5000".parse().unwrap());
        assert_eq!(channels[0].tsis, vec![1]);
        assert_eq!(channels[1].tsis, vec![7, 8]);
        assert_eq!(config.sessions[1].service_identifier, "urn:x:1");
    }
}
