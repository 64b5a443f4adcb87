//! The `xflute serve` configuration file (TOML; the reference is `docs/serve.md`): parsed,
//! checked and resolved once, so that a session is started only from a configuration that can
//! work. Relative paths are taken from the configuration file's directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde::Deserialize;
use xflute::cenc::Cenc;
use xflute::runtime::Backend;

use crate::send::{FecArgs, FecScheme, Repair, SendProfile};
use crate::units::{parse_duration, parse_rate};

/// The HTTP API's address when the file names none: loopback only.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    http: HttpFile,
    #[serde(default)]
    send: Vec<SendFile>,
    #[serde(default)]
    receive: Vec<ReceiveFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    listen: Option<SocketAddr>,
    token: Option<String>,
    token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendFile {
    name: String,
    dest: SocketAddr,
    source: Option<IpAddr>,
    iface: Option<String>,
    #[serde(default = "default_backend")]
    backend: String,
    #[serde(default = "default_tsi")]
    tsi: u64,
    rate: Option<String>,
    #[serde(default = "default_fec")]
    fec: String,
    #[serde(default = "default_m")]
    m: u8,
    repair: Option<u32>,
    repair_pct: Option<f64>,
    #[serde(default = "default_symbol_len")]
    symbol_len: u16,
    #[serde(default = "default_block_len")]
    block_len: u32,
    #[serde(default = "default_interleave_blocks")]
    interleave_blocks: u32,
    #[serde(default = "default_carousel")]
    carousel: String,
    #[serde(default)]
    watch: Vec<PathBuf>,
    #[serde(default)]
    cores: Vec<usize>,
    #[serde(default = "default_flute_version")]
    flute_version: u8,
    #[serde(default = "default_fdt_expires")]
    fdt_expires: String,
    #[serde(default = "default_profile")]
    profile: String,
    #[serde(default)]
    rule: Vec<RuleFile>,
    bootstrap: Option<SocketAddr>,
    repair_announce: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "match")]
    pattern: String,
    priority: Option<u32>,
    fec: Option<String>,
    m: Option<u8>,
    repair: Option<u32>,
    repair_pct: Option<f64>,
    cenc: Option<String>,
    carousel: Option<String>,
    expires: Option<String>,
    cache_control: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiveFile {
    name: String,
    group: Option<SocketAddr>,
    sdp: Option<PathBuf>,
    bootstrap: Option<SocketAddr>,
    source: Option<IpAddr>,
    iface: Option<String>,
    #[serde(default = "default_backend")]
    backend: String,
    #[serde(default)]
    tsi: Vec<u64>,
    out: PathBuf,
    #[serde(default = "default_on_unlisted")]
    on_unlisted: String,
    #[serde(default)]
    cores: Vec<usize>,
    #[serde(default)]
    repair_url: Vec<String>,
    #[serde(default)]
    repair_announced: bool,
    repair_offset: Option<String>,
    repair_window: Option<String>,
}

fn default_backend() -> String {
    "udp".into()
}
fn default_tsi() -> u64 {
    1
}
fn default_fec() -> String {
    "none".into()
}
fn default_m() -> u8 {
    8
}
fn default_symbol_len() -> u16 {
    1400
}
fn default_block_len() -> u32 {
    64
}
fn default_interleave_blocks() -> u32 {
    xflute::sender::Config::DEFAULT_INTERLEAVE_BLOCKS
}
fn default_carousel() -> String {
    "1s".into()
}
fn default_flute_version() -> u8 {
    2
}
fn default_profile() -> String {
    "default".into()
}
fn default_fdt_expires() -> String {
    "60s".into()
}
fn default_on_unlisted() -> String {
    "keep".into()
}

/// The whole configuration, checked and with paths resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// The bearer token that calls which change something must carry; without one they are
    /// refused.
    pub token: Option<String>,
    /// The sending sessions, in file order.
    pub send: Vec<SendConfig>,
    /// The receiving sessions, in file order.
    pub receive: Vec<ReceiveConfig>,
}

/// How a session repeats its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carousel {
    /// Each object once, when it appears or changes.
    Off,
    /// Each object again this long after its previous transfer ended.
    Every(Duration),
}

/// One sending session.
#[derive(Debug, Clone, PartialEq)]
pub struct SendConfig {
    /// Its name (in the API, metrics and logs).
    pub name: String,
    /// Group (or unicast address) and port.
    pub dest: SocketAddr,
    /// Source address of the packets (the interface's when `None`).
    pub source: Option<IpAddr>,
    /// Interface to send on.
    pub iface: Option<String>,
    /// AF_XDP or UDP sockets.
    pub backend: Backend,
    /// Transport Session Identifier.
    pub tsi: u64,
    /// Bits per second on the wire; unlimited when `None`.
    pub rate_bps: Option<u64>,
    /// FEC scheme and repair.
    pub fec: FecArgs,
    /// Encoding symbol length, bytes.
    pub symbol_len: u16,
    /// Maximum source block length, symbols.
    pub block_len: u32,
    /// Source blocks of an object sent interleaved, symbol by symbol (1 or more; 1 is block
    /// after block).
    pub interleave_blocks: u32,
    /// The session's carousel.
    pub carousel: Carousel,
    /// Directories whose files the session sends.
    pub watch: Vec<PathBuf>,
    /// Cores of its worker.
    pub cores: Vec<usize>,
    /// FLUTE version (1 or 2).
    pub flute_version: u8,
    /// How long each FDT Instance is valid (its Expires); a new one goes out before it lapses,
    /// and a receiver forgets a file no unexpired instance lists.
    pub fdt_expires: Duration,
    /// Rules by path pattern, the first match wins.
    pub rules: Vec<Rule>,
    /// The receivers' profile (`send --profile`).
    pub profile: SendProfile,
    /// Where to publish a DVB-MABR gateway configuration of the session.
    pub bootstrap: Option<SocketAddr>,
    /// The repair server the session announces, in an associated delivery procedure
    /// description it carries and, with `bootstrap`, in the gateway configuration: the
    /// `repair_announce` key, else this process's own when it serves the session's files.
    pub repair_announce: Option<url::Url>,
}

/// What a rule sets for the files whose path (relative to the watched directory) matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The glob pattern, as written.
    pub pattern: String,
    /// Priority queue (0 is the highest).
    pub priority: Option<u32>,
    /// FEC scheme and repair, in place of the session's.
    pub fec: Option<FecArgs>,
    /// Content encoding.
    pub cenc: Option<Cenc>,
    /// Carousel, in place of the session's.
    pub carousel: Option<Carousel>,
    /// The file leaves the session this long after it appeared, and the FDT says so.
    pub expires: Option<Duration>,
    /// Cache-Control of the File entry.
    pub cache_control: Option<CacheRule>,
}

/// A Cache-Control that a rule can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheRule {
    /// `no-cache`.
    NoCache,
    /// `max-stale`.
    MaxStale,
}

/// What a receiving session does with a file it received once no unexpired FDT Instance of its
/// live session lists it any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnlisted {
    /// Leave it.
    Keep,
    /// Remove it from the output directory.
    Delete,
}

/// One receiving session.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiveConfig {
    /// Its name.
    pub name: String,
    /// Group (or unicast address) and port; with `bootstrap`, where the gateway configuration
    /// that lists the sessions to receive is.
    pub group: SocketAddr,
    /// `group` is a DVB-MABR bootstrap address.
    pub bootstrap: bool,
    /// Only from this source (SSM).
    pub source: Option<IpAddr>,
    /// Interface to receive on.
    pub iface: Option<String>,
    /// AF_XDP or UDP sockets.
    pub backend: Backend,
    /// Only these TSIs (every one when empty).
    pub tsi: Vec<u64>,
    /// Output directory.
    pub out: PathBuf,
    /// Files the FDT no longer lists.
    pub on_unlisted: OnUnlisted,
    /// Cores of its workers.
    pub cores: Vec<usize>,
    /// File repair by HTTP of what the broadcast does not complete (docs/repair.md): repair
    /// servers, back-off.
    pub repair: Option<crate::repair::RepairOptions>,
}

/// Reads and checks the configuration at `path`.
pub fn load(path: &Path) -> Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, &base_dir(path)).with_context(|| format!("{}", path.display()))
}

/// The directory relative paths of the configuration at `path` are taken from: the file's own.
pub fn base_dir(path: &Path) -> PathBuf {
    path.canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Parses `text`, resolving relative paths against `base`.
pub fn parse(text: &str, base: &Path) -> Result<Config> {
    // toml's messages span lines (a caret under the place); the first line says what and where.
    let file: File = toml::from_str(text).map_err(|e| {
        let message = e.message().to_owned();
        let at = e
            .span()
            .map(|s| {
                let line = text.get(..s.start).map_or(0, |t| t.matches('\n').count()) + 1;
                format!("line {line}: ")
            })
            .unwrap_or_default();
        anyhow::anyhow!("{at}{message}")
    })?;
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let token = match (&file.http.token, &file.http.token_file) {
        (Some(_), Some(_)) => bail!("[http] has both token and token_file; keep one"),
        (Some(t), None) => Some(t.trim().to_owned()),
        (None, Some(f)) => {
            let f = resolve(f);
            let t = std::fs::read_to_string(&f)
                .with_context(|| format!("[http] token_file {}", f.display()))?;
            Some(t.trim().to_owned())
        }
        (None, None) => None,
    };
    if token.as_deref().is_some_and(str::is_empty) {
        bail!("[http] token is empty");
    }
    let mut names = std::collections::HashSet::new();
    let mut send = Vec::new();
    for s in file.send {
        let what = format!("[[send]] {:?}", s.name);
        check_name(&s.name).with_context(|| what.clone())?;
        if !names.insert(s.name.clone()) {
            bail!("{what}: two sessions have this name");
        }
        let listen = file.http.listen.unwrap_or(DEFAULT_LISTEN);
        let session = send_config(s, &resolve, listen).with_context(|| what.clone())?;
        // Two bootstrap sessions on one address would send two TSI 1 sessions into each other.
        if let Some(b) = session.bootstrap
            && send.iter().any(|o: &SendConfig| o.bootstrap == Some(b))
        {
            bail!("{what}: another session publishes on bootstrap {b}; give each its own");
        }
        send.push(session);
    }
    let mut receive = Vec::new();
    for r in file.receive {
        let what = format!("[[receive]] {:?}", r.name);
        check_name(&r.name).with_context(|| what.clone())?;
        if !names.insert(r.name.clone()) {
            bail!("{what}: two sessions have this name");
        }
        receive.push(receive_config(r, &resolve).with_context(|| what.clone())?);
    }
    Ok(Config {
        listen: file.http.listen.unwrap_or(DEFAULT_LISTEN),
        token,
        send,
        receive,
    })
}

/// Session names appear in URLs, metric labels and file names: letters, digits, `-`, `_`, `.`.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if !ok {
        bail!("a name is 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'");
    }
    Ok(())
}

fn backend(s: &str) -> Result<Backend> {
    match s {
        "udp" => Ok(Backend::Udp),
        "xdp" => Ok(Backend::Xdp),
        other => bail!("backend {other:?}: use udp or xdp"),
    }
}

fn carousel(s: &str) -> Result<Carousel> {
    if s == "off" {
        return Ok(Carousel::Off);
    }
    parse_duration(s)
        .map(Carousel::Every)
        .map_err(|e| anyhow::anyhow!("carousel: {e} (or \"off\")"))
}

fn send_config(
    s: SendFile,
    resolve: &dyn Fn(&Path) -> PathBuf,
    listen: SocketAddr,
) -> Result<SendConfig> {
    if s.dest.port() == 0 {
        bail!("dest {}: port 0 cannot be sent to", s.dest);
    }
    let scheme = FecScheme::from_str(&s.fec, true).map_err(|_| {
        anyhow::anyhow!(
            "fec {:?}: use none, rs28, rs2m, rs28-us, raptorq or raptor",
            s.fec
        )
    })?;
    let repair = repair(s.repair, s.repair_pct)?;
    if scheme == FecScheme::None && repair.is_some() {
        bail!("fec \"none\" has no repair symbols: drop repair/repair_pct or choose a code");
    }
    let fec = FecArgs {
        scheme,
        m: s.m,
        repair,
    };
    crate::send::fec_oti(&fec, s.symbol_len, s.block_len)?;
    let profile = SendProfile::from_str(&s.profile, true)
        .map_err(|_| anyhow::anyhow!("profile {:?}: use default or dvb-mabr", s.profile))?;
    if profile == SendProfile::DvbMabr {
        if scheme != FecScheme::None {
            bail!(
                "profile \"dvb-mabr\" sends with fec \"none\" (DVB-MABR receivers such as GPAC decode no FEC)"
            );
        }
        if s.tsi > u64::from(u32::MAX) {
            bail!(
                "profile \"dvb-mabr\" needs a tsi of 32 bits at most (the widest LCT field GPAC reads)"
            );
        }
        if s.rule.iter().any(|r| {
            r.fec
                .as_deref()
                .is_some_and(|f| !f.eq_ignore_ascii_case("none"))
                || r.repair.is_some()
                || r.repair_pct.is_some()
        }) {
            bail!(
                "profile \"dvb-mabr\" sends with fec \"none\" (DVB-MABR receivers such as GPAC decode no FEC): drop fec from the rules"
            );
        }
        if s.rule
            .iter()
            .any(|r| r.cenc.as_deref().is_some_and(|c| c != "null"))
        {
            bail!(
                "profile \"dvb-mabr\" sends no content encoding (GPAC decodes none): drop cenc from the rules"
            );
        }
    }
    if let Some(bootstrap) = s.bootstrap {
        crate::bootstrap::check(bootstrap, s.dest, s.tsi)
            .map_err(|e| anyhow::anyhow!("bootstrap {bootstrap}: {e}"))?;
    }
    if s.interleave_blocks == 0 {
        bail!("interleave_blocks 0: 1 or more (1 sends block after block)");
    }
    if !matches!(s.flute_version, 1 | 2) {
        bail!("flute_version {}: use 1 or 2", s.flute_version);
    }
    if s.watch.is_empty() {
        tracing::info!(
            session = s.name,
            "no watched directory: objects come only from the API"
        );
    }
    let repair_announce = repair_announce(&s, listen)?;
    let rules = s
        .rule
        .into_iter()
        .map(|r| {
            let what = format!("rule {:?}", r.pattern);
            rule(r, &fec, s.symbol_len, s.block_len).with_context(|| what)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SendConfig {
        name: s.name,
        dest: s.dest,
        source: s.source,
        iface: s.iface,
        backend: backend(&s.backend)?,
        tsi: s.tsi,
        rate_bps: s
            .rate
            .as_deref()
            .map(parse_rate)
            .transpose()
            .map_err(|e| anyhow::anyhow!("rate: {e}"))?,
        fec,
        symbol_len: s.symbol_len,
        block_len: s.block_len,
        interleave_blocks: s.interleave_blocks,
        carousel: carousel(&s.carousel)?,
        watch: s.watch.iter().map(|p| resolve(p)).collect(),
        cores: s.cores,
        flute_version: s.flute_version,
        fdt_expires: parse_duration(&s.fdt_expires)
            .ok()
            .filter(|d| *d >= Duration::from_secs(1))
            .ok_or_else(|| {
                anyhow::anyhow!("fdt_expires {:?}: a duration of 1s or more", s.fdt_expires)
            })?,
        rules,
        profile,
        bootstrap: s.bootstrap,
        repair_announce,
    })
}

/// The repair server a session announces (in its associated delivery procedure description,
/// and with `bootstrap` in its gateway configuration): `repair_announce` as written, else
/// `http://LISTEN/repair/NAME/` when the session has watched directories (the only files the
/// repair server answers with) and `listen` is an address others can reach (neither
/// unspecified nor loopback).
fn repair_announce(s: &SendFile, listen: SocketAddr) -> Result<Option<url::Url>> {
    if let Some(text) = &s.repair_announce {
        let url = url::Url::parse(text).with_context(|| format!("repair_announce {text:?}"))?;
        if url.scheme() != "http" {
            bail!("repair_announce {text:?}: only http:// is supported");
        }
        return Ok(Some(url));
    }
    let reachable = !listen.ip().is_unspecified() && !listen.ip().is_loopback();
    if s.watch.is_empty() || !reachable {
        return Ok(None);
    }
    let own = format!("http://{listen}/repair/{}/", s.name);
    url::Url::parse(&own)
        .map(Some)
        .with_context(|| format!("repair server {own:?}"))
}

/// `repair` or `repair_pct`, at most one.
fn repair(symbols: Option<u32>, pct: Option<f64>) -> Result<Option<Repair>> {
    match (symbols, pct) {
        (Some(_), Some(_)) => bail!("repair and repair_pct: keep one"),
        (Some(r), None) => Ok(Some(Repair::Symbols(r))),
        (None, Some(p)) => Ok(Some(Repair::Percent(p))),
        (None, None) => Ok(None),
    }
}

/// A rule's FEC: its `fec` scheme with its own `m` and repair (20% without one), or the
/// session's scheme with the rule's `m` or repair in place of the session's; `None` when the
/// rule names none of them.
fn rule_fec(r: &RuleFile, session: &FecArgs) -> Result<Option<FecArgs>> {
    let repair = repair(r.repair, r.repair_pct)?;
    if r.fec.is_none() && r.m.is_none() && repair.is_none() {
        return Ok(None);
    }
    let fec = match &r.fec {
        Some(name) => FecArgs {
            scheme: FecScheme::from_str(name, true).map_err(|_| {
                anyhow::anyhow!("fec {name:?}: use none, rs28, rs2m, rs28-us, raptorq or raptor")
            })?,
            m: r.m.unwrap_or(default_m()),
            repair,
        },
        None => FecArgs {
            scheme: session.scheme,
            m: r.m.unwrap_or(session.m),
            repair: repair.or(session.repair),
        },
    };
    if fec.scheme == FecScheme::None && fec.repair.is_some() {
        bail!("fec \"none\" has no repair symbols: drop repair/repair_pct or choose a code");
    }
    Ok(Some(fec))
}

fn rule(r: RuleFile, session_fec: &FecArgs, symbol_len: u16, block_len: u32) -> Result<Rule> {
    globset::Glob::new(&r.pattern).map_err(|e| anyhow::anyhow!("match: {e}"))?;
    let fec = rule_fec(&r, session_fec)?;
    if let Some(fec) = &fec {
        crate::send::fec_oti(fec, symbol_len, block_len)?;
    }
    Ok(Rule {
        fec,
        cenc: r
            .cenc
            .as_deref()
            .map(|c| c.parse::<Cenc>().map_err(|e| anyhow::anyhow!("cenc: {e}")))
            .transpose()?,
        carousel: r.carousel.as_deref().map(carousel).transpose()?,
        expires: r
            .expires
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| anyhow::anyhow!("expires: {e}"))?,
        cache_control: match r.cache_control.as_deref() {
            None => None,
            Some("no-cache") => Some(CacheRule::NoCache),
            Some("max-stale") => Some(CacheRule::MaxStale),
            Some(other) => bail!(
                "cache_control {other:?}: use no-cache or max-stale (expiry: expires = \"10m\")"
            ),
        },
        priority: r.priority,
        pattern: r.pattern,
    })
}

fn receive_config(r: ReceiveFile, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<ReceiveConfig> {
    let bootstrap = r.bootstrap.is_some();
    let (group, source, tsi) = match (&r.group, &r.sdp, r.bootstrap) {
        (None, None, Some(b)) if r.tsi.is_empty() => (b, r.source, Vec::new()),
        (None, None, Some(_)) => bail!("tsi comes from the bootstrap's gateway configuration"),
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            bail!("group, sdp and bootstrap: keep one")
        }
        (None, None, None) => {
            bail!("needs group (ADDR:PORT), sdp (a file) or bootstrap (ADDR:PORT)")
        }
        (Some(g), None, None) => (*g, r.source, r.tsi.clone()),
        (None, Some(f), None) => {
            let f = resolve(f);
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("sdp {}", f.display()))?;
            let sdp = super::sdp::parse(&text).with_context(|| format!("sdp {}", f.display()))?;
            let tsi = if r.tsi.is_empty() {
                vec![sdp.tsi]
            } else {
                r.tsi.clone()
            };
            (sdp.destination, r.source.or(sdp.source), tsi)
        }
    };
    let on_unlisted = match r.on_unlisted.as_str() {
        "keep" => OnUnlisted::Keep,
        "delete" => OnUnlisted::Delete,
        other => bail!("on_unlisted {other:?}: use keep or delete"),
    };
    // Without repair_url, from a bootstrap or with repair_announced, the repair servers
    // announced while receiving (gateway configurations, the sessions' associated delivery
    // procedure descriptions), once read.
    let repair = if r.repair_url.is_empty() && r.bootstrap.is_none() && !r.repair_announced {
        None
    } else {
        let bases = r
            .repair_url
            .iter()
            .map(|u| url::Url::parse(u).with_context(|| format!("repair_url {u:?}")))
            .collect::<Result<Vec<_>>>()?;
        let announced = bases
            .is_empty()
            .then(crate::repair::AnnouncedBases::default);
        let duration = |v: &Option<String>, what: &str| -> Result<std::time::Duration> {
            v.as_deref().map_or(Ok(std::time::Duration::ZERO), |s| {
                parse_duration(s).map_err(|e| anyhow::anyhow!("{what}: {e}"))
            })
        };
        Some(crate::repair::RepairOptions {
            bases,
            offset_time: duration(&r.repair_offset, "repair_offset")?,
            random_window: duration(&r.repair_window, "repair_window")?,
            announced,
            ..Default::default()
        })
    };
    Ok(ReceiveConfig {
        name: r.name,
        group,
        bootstrap,
        source,
        iface: r.iface,
        backend: backend(&r.backend)?,
        tsi,
        out: resolve(&r.out),
        on_unlisted,
        cores: r.cores,
        repair,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_configuration_parses_with_paths_from_its_directory() {
        let text = r#"
            [http]
            listen = "127.0.0.1:9999"
            token = "secret"

            [[send]]
            name = "news"
            dest = "239.255.0.1:3400"
            iface = "lo"
            rate = "50M"
            fec = "rs28"
            repair_pct = 25
            carousel = "500ms"
            watch = ["outbox", "/abs"]
            [[send.rule]]
            match = "*.mpd"
            priority = 0
            cenc = "gzip"
            expires = "10m"
            cache_control = "no-cache"

            [[receive]]
            name = "in"
            group = "239.255.0.1:3400"
            iface = "lo"
            tsi = [1]
            out = "inbox"
            on_unlisted = "delete"
        "#;
        let c = parse(text, Path::new("/etc/xflute")).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9999".parse().unwrap());
        assert_eq!(c.token.as_deref(), Some("secret"));
        let s = &c.send[0];
        assert_eq!(s.rate_bps, Some(50_000_000));
        assert_eq!(s.fec.scheme, FecScheme::Rs28);
        assert_eq!(s.carousel, Carousel::Every(Duration::from_millis(500)));
        assert_eq!(
            s.watch,
            [PathBuf::from("/etc/xflute/outbox"), PathBuf::from("/abs")]
        );
        assert_eq!(s.rules[0].cenc, Some(Cenc::Gzip));
        assert_eq!(s.rules[0].expires, Some(Duration::from_secs(600)));
        let r = &c.receive[0];
        assert_eq!(r.out, PathBuf::from("/etc/xflute/inbox"));
        assert_eq!(r.on_unlisted, OnUnlisted::Delete);
        assert_eq!(r.backend, Backend::Udp);
    }

    #[test]
    fn mistakes_are_refused_with_what_and_where() {
        let err = |text: &str| format!("{:#}", parse(text, Path::new("/")).unwrap_err());
        assert!(err("[[send]]\nname = \"a\"\ndest = \"1.2.3.4:0\"").contains("port 0"));
        assert!(err("[[send]]\nname = \"a\"\ndest = \"1.2.3.4:1\"\nfecc = 1").contains("line 4"));
        assert!(
            err("[[send]]\nname = \"a\"\ndest = \"1.2.3.4:1\"\nrepair = 4").contains("no repair")
        );
        assert!(err("[[receive]]\nname = \"a\"\nout = \"x\"").contains("group"));
        assert!(err("[[send]]\nname = \"a b\"\ndest = \"1.2.3.4:1\"").contains("letters"));
        let twice = "[[send]]\nname = \"a\"\ndest = \"1.2.3.4:1\"\n[[receive]]\nname = \"a\"\ngroup = \"1.2.3.4:1\"\nout = \"o\"";
        assert!(err(twice).contains("two sessions"));
    }

    #[test]
    fn interleave_blocks_defaults_to_the_librarys_and_refuses_zero() {
        let session = |extra: &str| {
            parse(
                &format!("[[send]]\nname = \"s\"\ndest = \"239.255.0.1:3400\"\n{extra}"),
                Path::new("/"),
            )
        };
        let c = session("").unwrap();
        assert_eq!(
            c.send[0].interleave_blocks,
            xflute::sender::Config::DEFAULT_INTERLEAVE_BLOCKS
        );
        let c = session("fec = \"rs28\"\ninterleave_blocks = 8").unwrap();
        assert_eq!(c.send[0].interleave_blocks, 8);
        assert_eq!(
            session("interleave_blocks = 1").unwrap().send[0].interleave_blocks,
            1
        );
        let e = format!("{:#}", session("interleave_blocks = 0").unwrap_err());
        assert!(e.contains("interleave_blocks 0: 1 or more"), "{e}");
        let e = format!("{:#}", session("interleave_blocks = -2").unwrap_err());
        assert!(e.contains("line 4"), "{e}");
    }

    #[test]
    fn the_dvb_mabr_profile_is_a_send_option_that_refuses_fec_and_cenc() {
        let session = |extra: &str| {
            format!(
                "[[send]]\nname = \"s\"\ndest = \"239.255.0.1:3400\"\nprofile = \"dvb-mabr\"\n{extra}"
            )
        };
        let c = parse(&session(""), Path::new("/")).unwrap();
        assert_eq!(c.send[0].profile, SendProfile::DvbMabr);
        let c = parse(
            "[[send]]\nname = \"s\"\ndest = \"239.255.0.1:3400\"",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(c.send[0].profile, SendProfile::Default);
        for refused in [
            "fec = \"rs28\"",
            "tsi = 4294967296",
            "[[send.rule]]\nmatch = \"*\"\ncenc = \"gzip\"",
            "[[send.rule]]\nmatch = \"*.bin\"\nfec = \"rs28\"",
        ] {
            let e = parse(&session(refused), Path::new("/")).unwrap_err();
            assert!(format!("{e:#}").contains("dvb-mabr"), "{refused}: {e:#}");
        }
        let e = parse(&session("").replace("dvb-mabr", "gpac"), Path::new("/")).unwrap_err();
        assert!(format!("{e:#}").contains("default or dvb-mabr"), "{e:#}");
    }

    #[test]
    fn a_rule_sets_its_own_fec_or_changes_the_sessions_repair() {
        let session = |rule: &str| {
            format!(
                "[[send]]\nname = \"s\"\ndest = \"239.255.0.1:3400\"\nfec = \"raptorq\"\nrepair = 10\n\
                 [[send.rule]]\nmatch = \"*.bin\"\n{rule}"
            )
        };
        let fec = |rule: &str| parse(&session(rule), Path::new("/")).unwrap().send[0].rules[0].fec;
        assert_eq!(fec("priority = 1"), None);
        assert_eq!(
            fec("fec = \"rs2m\"\nm = 16"),
            Some(FecArgs {
                scheme: FecScheme::Rs2m,
                m: 16,
                repair: None
            })
        );
        assert_eq!(
            fec("repair_pct = 50"),
            Some(FecArgs {
                scheme: FecScheme::Raptorq,
                m: 8,
                repair: Some(Repair::Percent(50.0))
            })
        );
        assert_eq!(
            fec("fec = \"none\""),
            Some(FecArgs {
                scheme: FecScheme::None,
                m: 8,
                repair: None
            })
        );
        for (refused, why) in [
            ("fec = \"none\"\nrepair = 3", "no repair symbols"),
            ("fec = \"ldpc\"", "use none, rs28"),
            ("repair = 3\nrepair_pct = 5", "keep one"),
            ("fec = \"raptor\"\nrepair = 4294967295", "overflows"),
        ] {
            let e = format!(
                "{:#}",
                parse(&session(refused), Path::new("/")).unwrap_err()
            );
            assert!(
                e.contains("rule \"*.bin\"") && e.contains(why),
                "{refused}: {e}"
            );
        }
    }

    #[test]
    fn bootstrap_keys_announce_a_send_and_replace_a_receive_group() {
        let ok = |text: &str| parse(text, Path::new("/")).unwrap();
        let err = |text: &str| format!("{:#}", parse(text, Path::new("/")).unwrap_err());
        let send = "[[send]]\nname = \"s\"\ndest = \"239.1.1.1:5001\"\ntsi = 3\nbootstrap = \"239.1.1.1:5000\"";
        assert_eq!(
            ok(send).send[0].bootstrap,
            Some("239.1.1.1:5000".parse().unwrap())
        );
        let itself = send.replace("5001", "5000").replace("tsi = 3", "tsi = 1");
        assert!(
            err(&itself).contains("the session itself"),
            "{}",
            err(&itself)
        );
        assert!(err(&send.replace("239.1.1.1:5000", "[ff15::1]:5000")).contains("IP version"));
        let two = format!("{send}\n{}", send.replace("\"s\"", "\"t\""));
        assert!(
            err(&two).contains("another session publishes"),
            "{}",
            err(&two)
        );
        let receive = "[[receive]]\nname = \"r\"\nbootstrap = \"239.1.1.1:5000\"\nout = \"o\"";
        let r = &ok(receive).receive[0];
        assert!(r.bootstrap);
        assert_eq!(r.group, "239.1.1.1:5000".parse().unwrap());
        assert!(err(&format!("{receive}\ngroup = \"239.1.1.1:5001\"")).contains("keep one"));
        assert!(err(&format!("{receive}\ntsi = [1]")).contains("tsi"));
        assert!(
            !ok("[[receive]]\nname = \"r\"\ngroup = \"239.1.1.1:5000\"\nout = \"o\"").receive[0]
                .bootstrap
        );
    }

    #[test]
    fn a_sending_session_announces_its_own_repair_server_or_the_one_configured() {
        let ok = |text: &str| parse(text, Path::new("/")).unwrap();
        let err = |text: &str| format!("{:#}", parse(text, Path::new("/")).unwrap_err());
        let session = "[[send]]\nname = \"s\"\ndest = \"239.1.1.1:5001\"\ntsi = 3\n\
                       bootstrap = \"239.1.1.1:5000\"\nwatch = [\"in\"]\n";
        let announced = |text: &str| ok(text).send[0].repair_announce.clone().map(String::from);
        let public = format!("[http]\nlisten = \"10.0.0.1:9464\"\n{session}");
        assert_eq!(
            announced(&public).as_deref(),
            Some("http://10.0.0.1:9464/repair/s/")
        );
        // Not reachable from elsewhere, or nothing served: none.
        assert_eq!(announced(session), None);
        assert_eq!(announced(&public.replace("watch = [\"in\"]", "")), None);
        // Without a bootstrap too: the session announces it itself.
        assert_eq!(
            announced(&public.replace("bootstrap = \"239.1.1.1:5000\"", "")).as_deref(),
            Some("http://10.0.0.1:9464/repair/s/")
        );
        let configured = format!("{session}repair_announce = \"http://repair.example/s/\"\n");
        assert_eq!(
            announced(&configured).as_deref(),
            Some("http://repair.example/s/")
        );
        assert!(err(&configured.replace("http://", "ftp://")).contains("only http://"));
        let unannounced = configured.replace("bootstrap = \"239.1.1.1:5000\"\n", "");
        assert_eq!(
            announced(&unannounced).as_deref(),
            Some("http://repair.example/s/")
        );
    }

    #[test]
    fn repair_urls_and_back_off_of_a_receiving_session_parse() {
        let base = "[[receive]]\nname = \"r\"\ngroup = \"239.1.1.1:5000\"\nout = \"o\"\n";
        assert_eq!(parse(base, Path::new("/")).unwrap().receive[0].repair, None);
        let text = format!(
            "{base}repair_url = [\"http://10.0.0.1:8080/files/\"]\nrepair_offset = \"2s\"\n\
             repair_window = \"500ms\"\n"
        );
        let c = parse(&text, Path::new("/")).unwrap();
        let repair = c.receive[0].repair.as_ref().unwrap();
        assert_eq!(repair.bases[0].as_str(), "http://10.0.0.1:8080/files/");
        assert_eq!(repair.offset_time, std::time::Duration::from_secs(2));
        assert_eq!(repair.random_window, std::time::Duration::from_millis(500));
        let bad = format!("{base}repair_url = [\"not a url\"]\n");
        let e = format!("{:#}", parse(&bad, Path::new("/")).unwrap_err());
        assert!(e.contains("repair_url"), "{e}");
        // repair_announced: no server of its own, the ones announced once received.
        let c = parse(&format!("{base}repair_announced = true\n"), Path::new("/")).unwrap();
        let repair = c.receive[0].repair.as_ref().unwrap();
        assert!(repair.bases.is_empty() && repair.announced.is_some());
        // An explicit repair_url wins.
        let both = format!("{text}repair_announced = true\n");
        let repair = parse(&both, Path::new("/")).unwrap().receive[0]
            .repair
            .clone()
            .unwrap();
        assert!(!repair.bases.is_empty() && repair.announced.is_none());
    }
}
