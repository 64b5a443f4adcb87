//! `xflute`: the command line of the xflute FLUTE engine.
//!
//! Errors are printed as one line on stderr with a non-zero exit code.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod inspect;

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
    /// Print every ALC packet of a capture, decode its FDT instances, and sum up each object.
    Inspect {
        /// A pcap or pcapng file.
        file: PathBuf,
    },
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
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
