//! `xflute-bench`: xflute against flute 1.11.7 and against the raw AF_XDP ceiling, over a veth
//! pair between two network namespaces, in one run (see the README's Benchmarks section).
//!
//! `cargo run --release -p xflute-bench -- [--quick] [--json FILE] [--svg FILE]`, as root.
//!
//! For each scenario (no-code; Reed-Solomon GF(2^8) (ID 2, m = 8) k = 64 r = 24 with 10% loss; RaptorQ
//! K = 1024 r = 256 with 10% loss; each over one large object and over many 64 KiB objects) it
//! runs, interleaved A B C … A B C …, at least three times each: the raw AF_XDP tx → rx ceiling,
//! xflute XDP → XDP, xflute UDP → UDP, flute → flute over UDP at the highest pace it delivers
//! without loss (stepped down from 4 Gbit/s on the first repetition), and a captured xflute
//! session replayed at full speed into xflute's XDP receiver and into flute's receiver. It prints
//! a markdown table, and writes JSON and an SVG chart when asked. A row that needs a kernel
//! feature this kernel refuses (the in-kernel generator, AF_XDP) is marked unavailable with the
//! kernel's reason in all three, and the run goes on. It exits non-zero only for a broken run: a
//! process that failed, a row that delivered nothing, a corrupt object.
//!
//! The hidden subcommands `rx` and `tx` are xflute's ends, which the harness starts inside the
//! namespaces as processes of their own.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use xflute::runtime::Backend;
use xflute_bench::report::{self, Target};
use xflute_bench::runs::{Bench, Replayed, ScratchDir};
use xflute_bench::scenario::{Fec, Scenario};
use xflute_bench::summary::{Row, Sample, System};
use xflute_bench::sys::AutogroupBoost;
use xflute_bench::{capture, chart, raw, xflute_side};
use xflute_tests::netns::{NetnsPair, require_root};

#[derive(Parser)]
#[command(
    name = "xflute-bench",
    about = "xflute vs flute 1.11.7 vs the raw AF_XDP ceiling, over a veth pair (root)"
)]
struct Cli {
    #[command(subcommand)]
    child: Option<ChildCommand>,
    /// Smaller objects (64 MiB, 100 files), short windows, 3 repetitions: under 3 minutes.
    #[arg(long)]
    quick: bool,
    /// Write the rows as a JSON array into this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw the goodput chart into this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Repetitions of each run (at least 3).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Size of the one large object, MiB (default 1024, 64 with --quick).
    #[arg(long)]
    large_mib: Option<u64>,
    /// Pace xflute's senders at this many Mbit/s on the wire (unpaced by default: the
    /// carousel sends again what the veth or the receiver dropped).
    #[arg(long)]
    xflute_rate_mbps: Option<u64>,
    /// Runs xflute's systems and the ceilings only, flute's rows marked not run: to compare
    /// two builds of xflute quickly (flute's step-down alone takes minutes per scenario).
    #[arg(long)]
    xflute_only: bool,
}

#[derive(Subcommand)]
enum ChildCommand {
    /// xflute's receiver (started by the harness inside the receiving namespace).
    #[command(hide = true)]
    Rx(xflute_side::ReceiveArgs),
    /// xflute's sender (started by the harness inside the sending namespace).
    #[command(hide = true)]
    Tx(xflute_side::SendArgs),
}

fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("cannot serialise the report: {e}"),
    }
}

fn child(command: ChildCommand) -> ExitCode {
    let result = match command {
        ChildCommand::Rx(args) => xflute_side::receive(&args, || println!("ready")).map(|r| {
            print_json(&r);
        }),
        ChildCommand::Tx(args) => xflute_side::send(&args).map(|r| print_json(&r)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xflute-bench child: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The scenarios of a run: three codings times two object sets.
fn scenarios(quick: bool, large_mib: Option<u64>) -> Vec<Scenario> {
    let large = large_mib.unwrap_or(if quick { 64 } else { 1024 }) << 20;
    let sets: [(u32, u64); 2] = [(1, large), (if quick { 100 } else { 1000 }, 64 << 10)];
    let mut out = Vec::new();
    for (count, object_bytes) in sets {
        // RaptorQ numbers source blocks in 8 bits (RFC 6330 §3.3.3: Z <= 255): at 1400-byte
        // symbols K = 1024 carries at most 365 MB, so a larger object gets the smallest K that
        // fits, with r = K / 4 as for K = 1024.
        let raptorq_k = object_bytes.div_ceil(255 * 1400).max(1024) as u32;
        for (fec, k, r, loss) in [
            (Fec::None, 64, 0, 0.0),
            (Fec::Rs2m, 64, 24, 0.1),
            (Fec::Raptorq, raptorq_k, raptorq_k / 4, 0.1),
        ] {
            out.push(Scenario {
                fec,
                k,
                r,
                count,
                object_bytes,
                loss,
            });
        }
    }
    out
}

const NOT_RUN: &str = "not run (--xflute-only)";
const CEILING_TX_RX: &str = "raw AF_XDP tx → AF_XDP rx, 1400-byte payloads";
const CEILING_GEN_RX: &str = "raw AF_XDP rx from the in-kernel XDP generator";

fn receive_only(scenario: &Scenario) -> String {
    format!("receive-only: {}", scenario.name())
}

/// Collects samples by (scenario, system) in the order they first appear.
#[derive(Default)]
struct Samples {
    rows: Vec<(String, System, Vec<Sample>)>,
    failures: Vec<String>,
    /// Rows that could not be measured on this kernel, and why.
    unavailable: Vec<(String, System, String)>,
}

impl Samples {
    /// Marks a row as not measurable here (once, however often it is asked).
    fn unavailable(&mut self, scenario: &str, system: System, reason: &str) {
        if !self
            .unavailable
            .iter()
            .any(|(s, y, _)| s == scenario && *y == system)
        {
            eprintln!("  {scenario} / {}: unavailable: {reason}", system.name());
            self.unavailable
                .push((scenario.to_owned(), system, reason.to_owned()));
        }
    }

    fn add(&mut self, scenario: &str, system: System, result: Result<Sample, String>) {
        match result {
            Ok(sample) => {
                eprintln!(
                    "  {scenario} / {}: {:.2} Gbit/s, {} unrecovered{}",
                    system.name(),
                    sample.goodput_gbps,
                    sample.unrecovered,
                    if sample.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", sample.note)
                    }
                );
                match self
                    .rows
                    .iter_mut()
                    .find(|(s, y, _)| s == scenario && *y == system)
                {
                    Some((_, _, v)) => v.push(sample),
                    None => self.rows.push((scenario.to_owned(), system, vec![sample])),
                }
            }
            Err(e) => {
                eprintln!("  {scenario} / {}: FAILED: {e}", system.name());
                self.failures
                    .push(format!("{scenario} / {}: {e}", system.name()));
            }
        }
    }
}

fn ceiling_sample(gbps: f64, pps: f64, rx_cpu_share: f64, tx_cpu_share: Option<f64>) -> Sample {
    let gb_per_s = gbps / 8.0;
    let per_gb = |share: f64| (gb_per_s > 0.0).then(|| share / gb_per_s);
    Sample {
        goodput_gbps: gbps,
        pps,
        rx_cpu_s_per_gb: per_gb(rx_cpu_share),
        tx_cpu_s_per_gb: tx_cpu_share.and_then(per_gb),
        ..Sample::default()
    }
}

/// flute's pace on the first repetition: from 4 Gbit/s (more than its receiver takes here),
/// halved until every object arrives.
fn flute_step_down(bench: &Bench, scenario: &Scenario, steps: usize, out: &mut Samples) -> u64 {
    let name = scenario.name();
    let mut rate = 4000;
    for step in 0..steps {
        let last = step + 1 == steps;
        match bench.flute(scenario, rate) {
            Ok(sample) if sample.unrecovered == 0 || last => {
                out.add(&name, System::Flute, Ok(sample));
                return rate;
            }
            Ok(sample) => eprintln!(
                "  {name} / flute at {rate} Mbit/s: {} objects lost, stepping down",
                sample.unrecovered
            ),
            Err(e) => {
                out.add(&name, System::Flute, Err(e));
                return rate;
            }
        }
        rate /= 2;
    }
    rate
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    require_root();
    let started = Instant::now();
    let _boost = AutogroupBoost::new();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let flute_peer = xflute_bench::procs::sibling_binary("xflute-bench", "flute_peer")?;
    let reps = cli.reps.max(3);
    let window = Duration::from_millis(if cli.quick { 500 } else { 2000 });
    let steps = if cli.quick { 3 } else { 6 };
    let bench = Bench {
        pair: NetnsPair::new(),
        exe,
        flute_peer,
        scratch: ScratchDir::new()?,
        xflute_rate_bps: cli.xflute_rate_mbps.map(|m| m * 1_000_000),
    };
    let mut samples = Samples::default();
    // Optional kernel features: a row that needs one the kernel refuses is marked unavailable,
    // with the kernel's reason, and the rest of the run goes on.
    let generator = raw::generator_available(&bench.pair);
    if let Err(e) = &generator {
        eprintln!("the in-kernel XDP generator is unavailable here ({e}): its row is skipped");
    }
    // The first transfers over a fresh veth run slow (page pools, caches); one is not counted.
    // It also tells whether AF_XDP works at all here.
    let af_xdp = raw::tx_to_rx(&bench.pair, window).map(|_| ());
    if let Err(e) = &af_xdp {
        eprintln!("AF_XDP is unavailable here ({e}): its rows are skipped");
    }
    let all = scenarios(cli.quick, cli.large_mib);
    let chosen: Vec<&Scenario> = all
        .iter()
        .filter(|s| {
            cli.only
                .as_ref()
                .is_none_or(|o| s.name().contains(o.as_str()))
        })
        .collect();
    for (i, scenario) in chosen.iter().enumerate() {
        let name = scenario.name();
        eprintln!("[{:.0} s] {name}", started.elapsed().as_secs_f64());
        let frames = match capture::capture(
            scenario,
            bench.replay_source(),
            xflute_bench::runs::GROUP
                .parse()
                .map_err(|e| format!("{e}"))?,
            bench.pair.sender.mac,
        ) {
            Ok(frames) => frames,
            Err(e) => {
                samples.add(&name, System::XfluteXdp, Err(format!("capture: {e}")));
                continue;
            }
        };
        let mut flute_rate = None;
        for rep in 0..reps {
            // The ceilings: every repetition of the first scenario, then once per scenario.
            if i == 0 || rep == 0 {
                match af_xdp
                    .clone()
                    .and_then(|()| raw::tx_to_rx(&bench.pair, window))
                {
                    Ok(r) => samples.add(
                        CEILING_TX_RX,
                        System::Ceiling,
                        Ok(ceiling_sample(
                            r.payload_gbps(),
                            r.received_pps,
                            r.rx_cpu_share,
                            Some(r.tx_cpu_share),
                        )),
                    ),
                    Err(e) => samples.unavailable(CEILING_TX_RX, System::Ceiling, &e),
                }
                let g = generator
                    .clone()
                    .and_then(|()| raw::af_xdp_rx(&bench.pair, window, raw::Feeder::Generator));
                match g {
                    Ok(g) => samples.add(
                        CEILING_GEN_RX,
                        System::Ceiling,
                        Ok(ceiling_sample(
                            raw::gbps(g.received_pps),
                            g.received_pps,
                            g.rx_cpu_share,
                            None,
                        )),
                    ),
                    Err(e) => samples.unavailable(CEILING_GEN_RX, System::Ceiling, &e),
                }
            }
            match &af_xdp {
                Ok(()) => samples.add(
                    &name,
                    System::XfluteXdp,
                    bench.xflute(scenario, Backend::Xdp),
                ),
                Err(e) => samples.unavailable(&name, System::XfluteXdp, e),
            }
            samples.add(
                &name,
                System::XfluteUdp,
                bench.xflute(scenario, Backend::Udp),
            );
            match flute_rate {
                _ if cli.xflute_only => samples.unavailable(&name, System::Flute, NOT_RUN),
                None => flute_rate = Some(flute_step_down(&bench, scenario, steps, &mut samples)),
                Some(rate) => samples.add(&name, System::Flute, bench.flute(scenario, rate)),
            }
            // The replays are sent by the AF_XDP sender.
            let ro = receive_only(scenario);
            match &af_xdp {
                Ok(()) => {
                    samples.add(
                        &ro,
                        System::XfluteXdp,
                        bench.replay(scenario, &frames, Replayed::Xflute),
                    );
                    if cli.xflute_only {
                        samples.unavailable(&ro, System::Flute, NOT_RUN);
                    } else {
                        samples.add(
                            &ro,
                            System::Flute,
                            bench.replay(scenario, &frames, Replayed::Flute),
                        );
                    }
                }
                Err(e) => {
                    samples.unavailable(&ro, System::XfluteXdp, e);
                    samples.unavailable(&ro, System::Flute, e);
                }
            }
        }
    }
    let Bench { pair, .. } = bench;
    pair.close();

    let mut rows: Vec<Row> = samples
        .rows
        .iter()
        .map(|(s, y, v)| Row::new(s, *y, v))
        .collect();
    rows.extend(
        samples
            .unavailable
            .iter()
            .filter(|(s, y, _)| !rows.iter().any(|r| r.scenario == *s && r.system == *y))
            .map(|(s, y, why)| Row::unavailable(s, *y, why))
            .collect::<Vec<_>>(),
    );
    let ceiling = rows
        .iter()
        .find(|r| r.scenario == CEILING_TX_RX)
        .map(|r| r.goodput_gbps_median);
    report::add_ratios(&mut rows, ceiling);
    let targets = targets(&rows, &chosen);
    let mode = if cli.quick { "--quick" } else { "full" };
    println!(
        "xflute-bench ({mode}, {reps} repetitions, {:.0} s): veth pair between two namespaces, \
         sender on core 0, receiver on core 1\n",
        started.elapsed().as_secs_f64()
    );
    println!("{}", report::markdown(&rows, &targets));
    println!("Counters of the median runs:\n{}", report::notes(&rows));
    if let Some(path) = &cli.json {
        std::fs::write(path, report::json(&rows)?)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if let Some(path) = &cli.svg {
        chart::svg(
            &rows,
            &format!("xflute-bench {mode}: goodput over a veth pair"),
            path,
        )?;
    }
    let mut broken = samples.failures.clone();
    for r in &rows {
        if r.corrupt_objects > 0 {
            broken.push(format!(
                "{} / {}: {} corrupt objects",
                r.scenario,
                r.system.name(),
                r.corrupt_objects
            ));
        }
        // flute failing to deliver is a finding (its counters are in the notes); xflute or the
        // raw path delivering nothing is a broken run.
        if r.goodput_gbps_max <= 0.0 && r.unavailable.is_none() {
            let what = format!("{} / {}: nothing delivered", r.scenario, r.system.name());
            if r.system == System::Flute {
                eprintln!("{what} (flute's receiver; see the notes)");
            } else {
                broken.push(what);
            }
        }
    }
    if broken.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("broken runs:");
        for b in &broken {
            eprintln!("  {b}");
        }
        Ok(ExitCode::FAILURE)
    }
}

fn targets(rows: &[Row], scenarios: &[&Scenario]) -> Vec<Target> {
    let goodput = |scenario: &str, system: System| {
        rows.iter()
            .find(|r| r.scenario == scenario && r.system == system)
            .map(|r| r.goodput_gbps_median)
            .filter(|g| *g > 0.0)
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let ceiling = goodput(CEILING_TX_RX, System::Ceiling);
    let mut out = Vec::new();
    let mut target = |what: String, a: Option<f64>, b: Option<f64>, bar: f64| {
        out.push(Target {
            what,
            ratio: ratio(a, b),
            bar,
        });
    };
    for nocode in scenarios.iter().filter(|s| s.fec == Fec::None) {
        let n = nocode.name();
        let set = nocode.set_name();
        let xdp = goodput(&n, System::XfluteXdp);
        let flute = goodput(&n, System::Flute);
        target(
            format!("xflute-xdp no-code {set} / raw AF_XDP tx → rx"),
            xdp,
            ceiling,
            0.8,
        );
        target(
            format!("xflute-xdp no-code {set} / flute's best loss-free"),
            xdp,
            flute,
            4.0,
        );
        let ro = receive_only(nocode);
        let ro_xdp = goodput(&ro, System::XfluteXdp);
        let ro_flute = goodput(&ro, System::Flute);
        target(
            format!("receive-only xflute-xdp {set} / raw AF_XDP rx (same AF_XDP generator)"),
            ro_xdp,
            ceiling,
            0.8,
        );
        target(
            format!("receive-only xflute-xdp {set} / flute's receiver"),
            ro_xdp,
            ro_flute,
            8.0,
        );
        for coded in scenarios
            .iter()
            .filter(|s| s.fec != Fec::None && s.set_name() == set)
        {
            let coded_xdp = goodput(&coded.name(), System::XfluteXdp);
            target(
                format!("xflute-xdp {} / xflute-xdp no-code", coded.name()),
                coded_xdp,
                xdp,
                0.5,
            );
        }
    }
    out
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Some(command) = cli.child.take() {
        return child(command);
    }
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xflute-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
