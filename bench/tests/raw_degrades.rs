//! The raw ceilings degrade instead of aborting: when the in-kernel generator cannot run (here
//! because the interface it is asked for is gone, as real as a kernel that refuses
//! `BPF_PROG_TEST_RUN`), the probe and the measurement return the reason, nothing hangs, and the
//! XDP program of the receiving end is detached so the pair closes clean. The AF_XDP sender
//! feeds the same receiver in its place. Needs root, like every netns test.

use std::time::Duration;

use xflute_bench::raw::{Feeder, af_xdp_rx, generator_available};
use xflute_tests::netns::NetnsPair;

#[test]
fn a_refused_generator_is_reported_and_the_af_xdp_feeder_measures_in_its_place() {
    let pair = NetnsPair::new();
    let window = Duration::from_millis(300);

    // Hide the sending interface under another name: the generator has nothing to load on.
    let netns = pair.sender.netns.clone();
    let renamed = |from: &str, to: &str| {
        let ok = std::process::Command::new("ip")
            .args(["-n", &netns, "link", "set", from, "down"])
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new("ip")
                .args(["-n", &netns, "link", "set", from, "name", to])
                .status()
                .is_ok_and(|s| s.success())
            && std::process::Command::new("ip")
                .args(["-n", &netns, "link", "set", to, "up"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "renaming {from} to {to} in {netns}");
    };
    renamed(&pair.sender.interface, "xfhidden");
    let started = std::time::Instant::now();
    let probe = generator_available(&pair);
    assert!(probe.is_err(), "the generator cannot load: {probe:?}");
    let measured = af_xdp_rx(&pair, window, Feeder::Generator);
    let reason = measured.expect_err("no generator, no measurement");
    assert!(reason.contains("generator"), "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a refused feeder ends the measurement at once"
    );
    renamed("xfhidden", &pair.sender.interface);

    // The fallback feeder measures.
    let rate = af_xdp_rx(&pair, window, Feeder::AfXdpTx).expect("AF_XDP tx feeds AF_XDP rx");
    assert!(
        rate.offered_pps > 0.0 && rate.received_pps > 0.0,
        "{rate:?}"
    );
    pair.close();
}
