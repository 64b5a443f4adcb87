//! `xflute`: the command line of the xflute FLUTE engine.
//!
//! Errors are printed as one line on stderr with a non-zero exit code.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod inspect;
mod recv;
mod send;

#[derive(Parser)]
#[command(
    name = "xflute",
    version,
    about = "FLUTE/ALC file delivery over IP multicast"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send files as one FLUTE session (FDT and objects, no-code FEC) into a capture file.
    Send {
        /// The files to send.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the session into this pcap file.
        #[arg(long, required = true)]
        pcap_out: PathBuf,
        /// Destination group (or unicast address) and port.
        #[arg(long, default_value = "239.255.0.1:3400")]
        dest: std::net::SocketAddr,
        /// Source address of the frames.
        #[arg(long)]
        source: Option<std::net::IpAddr>,
        /// Transport Session Identifier.
        #[arg(long, default_value_t = 1)]
        tsi: u64,
        /// Encoding symbol length in bytes.
        #[arg(long, default_value_t = 1400)]
        symbol_len: u16,
        /// Maximum source block length in symbols.
        #[arg(long, default_value_t = 64)]
        block_len: u32,
        /// Content encoding of the files and of the FDT.
        #[arg(long, default_value = "null")]
        cenc: xflute::cenc::Cenc,
        /// FLUTE version: 1 (RFC 3926) or 2 (RFC 6726).
        #[arg(long, default_value_t = 2)]
        flute_version: u8,
        /// Wire rate the capture's timestamps follow (bits per second; k, M, G suffixes).
        #[arg(long, default_value = "1G", value_parser = parse_rate)]
        rate: u64,
    },
    /// Receive every FLUTE object of a capture into files below an output directory. Exits 0
    /// only if every object that started was completed and verified.
    Recv {
        /// The capture (pcap or pcapng) to receive from.
        #[arg(long)]
        pcap: PathBuf,
        /// The output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Only packets sent to this group and port (for example 239.1.1.1:3400).
        #[arg(long)]
        group: Option<std::net::SocketAddr>,
        /// Only these TSIs (repeatable).
        #[arg(long)]
        tsi: Vec<u64>,
    },
    /// Print every ALC packet of a capture, decode its FDT instances, and sum up each object.
    Inspect {
        /// A pcap or pcapng file.
        file: PathBuf,
    },
}

/// A rate in bits per second: a number with an optional k, M or G suffix.
fn parse_rate(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1_000),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1_000_000),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1_000_000_000),
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Send {
            files,
            pcap_out,
            dest,
            source,
            tsi,
            symbol_len,
            block_len,
            cenc,
            flute_version,
            rate,
        } => {
            let args = send::SendArgs {
                files,
                pcap_out,
                dest,
                source,
                tsi,
                symbol_len,
                block_len,
                cenc,
                flute_version,
                rate_bps: rate,
            };
            let packets = send::run(&args)?;
            println!("{packets} packets written to {}", args.pcap_out.display());
            Ok(())
        }
        Command::Recv {
            pcap,
            out,
            group,
            tsi,
        } => {
            let stdout = std::io::stdout();
            let mut lines = stdout.lock();
            let args = recv::RecvArgs {
                pcap: &pcap,
                out: &out,
                group,
                tsi: &tsi,
            };
            if recv::run(&args, &mut lines)? {
                Ok(())
            } else {
                anyhow::bail!("not every object was received")
            }
        }
        Command::Inspect { file } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            inspect::run(&file, &mut out)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xflute: {e:#}");
            ExitCode::FAILURE
        }
    }
}
