//! `xflute`: the command line of the xflute FLUTE engine.
//!
//! Errors are printed as one line on stderr with a non-zero exit code.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod inspect;
mod recv;

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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
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
