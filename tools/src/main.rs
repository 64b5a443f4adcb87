//! `xflute`: the command line of the xflute FLUTE engine.
//!
//! Errors are printed as one line on stderr; the exit codes are in [`AFTER_HELP`]. Logs go to
//! stderr through `tracing` (warnings by default; `-v`, `-q`, `RUST_LOG`).

use anyhow::Result;
use clap::{ArgAction, Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

mod bootstrap;
mod demo;
mod events;
mod gso;
mod inspect;
mod netif;
mod recv;
mod repair;
mod send;
mod serve;
mod units;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What every `--help` ends with: the exit codes and where logs go.
pub const AFTER_HELP: &str = "\
Exit codes:
  0  complete: every object that started was received and verified (recv; with --count, at
     least that many), every object was sent (send), the capture was read to its end (inspect);
     a receiver stopped by SIGINT/SIGTERM before any object started has nothing incomplete
  1  incomplete: an object started and was not completed, --count was not reached, a send was
     interrupted, a capture is truncated, or something failed while running
  2  usage or configuration error (bad option, missing or unreadable input, not a capture,
     FEC parameters that cannot code the files); nothing was sent or received

Logs go to stderr, warnings and errors by default: -v info, -vv debug, -vvv trace, -q errors
only, -qq none; RUST_LOG (e.g. RUST_LOG=xflute=debug) replaces the level when set.
Writing to a closed pipe (xflute inspect X | head) ends the process quietly, as tcpdump does.";

/// Gives memory freed so far back to the system. Loading the XDP program parses the kernel's
/// BTF (tens of MiB, freed right after); mimalloc would otherwise keep those pages, and a
/// receiver's resident memory is meant to stay small.
#[allow(unsafe_code)] // mi_collect is FFI into mimalloc.
pub fn release_free_memory() {
    // SAFETY: `mi_collect` only walks mimalloc's own free lists; any thread may call it at any
    // time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// mimalloc's `mi_option_purge_delay` (its position in `mi_option_t`, mimalloc v3 as the pinned
/// libmimalloc-sys builds it; the crate names only the options it calls stable).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Gives pages back to the system as soon as they are free. By default mimalloc keeps freed
/// pages for 10 ms (100 ms in its arenas): a receiver under a flood of packets that each make it
/// allocate and free (regions that grow by doubling, instances evicted for others) then holds
/// its memory budget once in use and up to as much again in pages freed and not yet returned.
/// `MIMALLOC_PURGE_DELAY` in the environment, mimalloc's own setting, still wins.
#[allow(unsafe_code)] // mi_option_set is FFI into mimalloc.
fn purge_freed_pages_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: called first thing in `main`, before any other thread exists (mimalloc's option
    // setters are not thread-safe); the option takes any integer, 0 meaning "at once".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// Restores the default action of SIGPIPE, which Rust's runtime ignores: a write to a closed
/// pipe then ends the process quietly, as it does tcpdump or cat, instead of failing the write
/// (an error line, or a panic in `println!`).
#[allow(unsafe_code)] // signal(2) is FFI.
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE and no handler of ours depends on it.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// A usage or configuration error: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage or configuration error from anything printable.
pub fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    UsageError(message.to_string()).into()
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Complete,
    /// Exit code 1, with "the transfer is incomplete" unless the command said why.
    Incomplete,
    /// Exit code 1, the command having said why already.
    IncompleteSaid,
}

#[derive(Parser)]
#[command(
    name = "xflute",
    version,
    about = "FLUTE/ALC file delivery over IP multicast",
    after_help = AFTER_HELP
)]
struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    /// Less log output on stderr: -q errors only, -qq none.
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    quiet: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send files as one FLUTE session (FDT and objects, with --fec): on the wire through
    /// AF_XDP or UDP sockets, or into a capture file with --pcap-out.
    #[command(after_help = AFTER_HELP)]
    Send(send::SendCli),
    /// Receive FLUTE objects into files below an output directory: from the wire (AF_XDP or
    /// UDP sockets) or from a capture with --pcap.
    #[command(after_help = AFTER_HELP)]
    Recv(recv::RecvCli),
    /// Print every ALC packet of a capture, decode its FDT instances, and sum up each object.
    #[command(after_help = AFTER_HELP)]
    Inspect(inspect::InspectCli),
    /// Send about 256 MiB of files (one of 128 MiB, 128 of about 1 MiB) through AF_XDP
    /// between two network namespaces with 5% injected loss, check every SHA-256, print
    /// goodput and counters, and remove everything. Without root: the same over UDP on
    /// loopback.
    #[command(after_help = AFTER_HELP)]
    Demo(DemoCli),
    /// Run as a headend service: sending sessions fed by watched directories, receiving
    /// sessions, an HTTP API with Prometheus metrics, SDP and control calls, reload on SIGHUP,
    /// systemd notifications (docs/serve.md).
    #[command(after_help = AFTER_HELP)]
    Serve(serve::ServeCli),
}

#[derive(clap::Args)]
struct DemoCli {
    /// Size of the one large file, MiB.
    #[arg(long, default_value_t = 128)]
    large_mib: u64,
    /// Number of small files.
    #[arg(long, default_value_t = 128)]
    small_files: u64,
    /// Size of each small file, KiB (about: sizes vary by a few KiB).
    #[arg(long, default_value_t = 1024)]
    small_kib: u64,
    /// Injected loss, percent (XDP only).
    #[arg(long, default_value_t = 5.0)]
    loss_pct: f64,
    /// The sender's rate on the wire, as `send --rate` takes it (500M, 3G ...), or `unpaced`:
    /// as fast as the sender goes.
    #[arg(long, value_name = "RATE", default_value = demo::DEMO_RATE)]
    rate: String,
    /// Repair symbols per block, percent of its source symbols, as `send --repair-pct`.
    #[arg(long, value_name = "PCT", default_value_t = demo::DEMO_REPAIR_PCT)]
    repair_pct: f64,
}

/// A flag set on SIGINT or SIGTERM; a second SIGINT ends the process at once.
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Logs to stderr: RUST_LOG when set, else warnings, moved by `-v` and `-q`.
fn init_logging(verbose: u8, quiet: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match (verbose, quiet) {
        (_, 1) => "error",
        (_, q) if q > 1 => "off",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Send(args) => send::main(args),
        Command::Recv(args) => recv::main(args),
        Command::Inspect(args) => inspect::main(args),
        Command::Serve(args) => serve::main(args),
        Command::Demo(args) => {
            let stop = stop_flag()?;
            let sizes = demo::Sizes {
                large_bytes: args.large_mib << 20,
                small_files: args.small_files,
                small_bytes: args.small_kib << 10,
            };
            let wire = demo::Wire {
                loss: args.loss_pct / 100.0,
                rate: args.rate,
                repair_pct: args.repair_pct,
            };
            demo::run(sizes, &wire, stop).map(|ok| {
                if ok {
                    Outcome::Complete
                } else {
                    Outcome::Incomplete
                }
            })
        }
    }
}

/// An error and its causes on one line, each cause once: a layer whose message already holds
/// its source's (`creating X: No such file` over `No such file`) is not followed by it again,
/// and a context that repeats the start of the message below it is dropped.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        match parts.last_mut() {
            Some(last) if text.starts_with(last.as_str()) => *last = text,
            _ => parts.push(text),
        }
    }
    parts.join(": ")
}

/// A clap error as one line (help and version print as clap prints them).
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("xflute: {first} (see xflute --help)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    restore_sigpipe();
    purge_freed_pages_at_once();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    init_logging(cli.verbose, cli.quiet);
    match run(cli.command) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => {
            eprintln!("xflute: the transfer is incomplete");
            ExitCode::from(1)
        }
        Ok(Outcome::IncompleteSaid) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xflute: {}", one_line(&e));
            if e.chain().any(|c| c.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        #[derive(Debug)]
        struct Wrap(String, std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}: {}", self.0, self.1)
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.1)
            }
        }
        let e = anyhow::Error::new(Wrap("creating /x".into(), io)).context("creating /x");
        assert_eq!(one_line(&e), format!("creating /x: {text}"));
    }
}
