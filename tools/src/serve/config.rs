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

use crate::send::{FecArgs, FecScheme, Repair};
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
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "match")]
    pattern: String,
    priority: Option<u32>,
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
fn default_carousel() -> String {
    "1s".into()
}
fn default_flute_version() -> u8 {
    2
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
}

/// What a rule sets for the files whose path (relative to the watched directory) matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The glob pattern, as written.
    pub pattern: String,
    /// Priority queue (0 is the highest).
    pub priority: Option<u32>,
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
    /// Group (or unicast address) and port.
    pub group: SocketAddr,
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
        send.push(send_config(s, &resolve).with_context(|| what.clone())?);
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

fn send_config(s: SendFile, resolve: &dyn Fn(&Path) -> PathBuf) -> Result<SendConfig> {
    if s.dest.port() == 0 {
        bail!("dest {}: port 0 cannot be sent to", s.dest);
    }
    let scheme = FecScheme::from_str(&s.fec, true).map_err(|_| {
        anyhow::anyhow!(
            "fec {:?}: use none, rs28, rs2m, rs28-us, raptorq or raptor",
            s.fec
        )
    })?;
    let repair = match (s.repair, s.repair_pct) {
        (Some(_), Some(_)) => bail!("repair and repair_pct: keep one"),
        (Some(r), None) => Some(Repair::Symbols(r)),
        (None, Some(p)) => Some(Repair::Percent(p)),
        (None, None) => None,
    };
    if scheme == FecScheme::None && repair.is_some() {
        bail!("fec \"none\" has no repair symbols: drop repair/repair_pct or choose a code");
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
    let rules = s
        .rule
        .into_iter()
        .map(|r| {
            let what = format!("rule {:?}", r.pattern);
            rule(r).with_context(|| what)
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
        fec: FecArgs {
            scheme,
            m: s.m,
            repair,
        },
        symbol_len: s.symbol_len,
        block_len: s.block_len,
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
    })
}

fn rule(r: RuleFile) -> Result<Rule> {
    globset::Glob::new(&r.pattern).map_err(|e| anyhow::anyhow!("match: {e}"))?;
    Ok(Rule {
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
    let (group, source, tsi) = match (&r.group, &r.sdp) {
        (Some(_), Some(_)) => bail!("group and sdp: keep one"),
        (None, None) => bail!("needs group (ADDR:PORT) or sdp (a file)"),
        (Some(g), None) => (*g, r.source, r.tsi.clone()),
        (None, Some(f)) => {
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
    Ok(ReceiveConfig {
        name: r.name,
        group,
        source,
        iface: r.iface,
        backend: backend(&r.backend)?,
        tsi,
        out: resolve(&r.out),
        on_unlisted,
        cores: r.cores,
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
}
