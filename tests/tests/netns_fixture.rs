//! The network-namespace fixture itself: it builds a working veth link and leaves nothing behind.

use xflute_tests::netns::{NetnsPair, PairConfig, Side, leftover_namespaces};

#[test]
fn netns_pair_links_two_namespaces_and_is_removed_on_drop() {
    let pair = NetnsPair::new();
    let names = pair.names();
    assert!(leftover_namespaces().iter().any(|n| n == &names[0]));
    let ping = pair.exec(
        Side::Sender,
        &[
            "ping",
            "-c",
            "1",
            "-W",
            "2",
            &pair.receiver.ipv4.to_string(),
        ],
    );
    assert!(ping.status.success(), "ping over the veth failed: {ping:?}");
    let ping6 = pair.exec(
        Side::Sender,
        &[
            "ping",
            "-6",
            "-c",
            "1",
            "-W",
            "2",
            &pair.receiver.ipv6.to_string(),
        ],
    );
    assert!(
        ping6.status.success(),
        "ping -6 over the veth failed: {ping6:?}"
    );
    drop(pair);
    let left = leftover_namespaces();
    assert!(
        names.iter().all(|n| !left.contains(n)),
        "namespaces left behind: {left:?}"
    );
}

#[test]
fn netns_pair_runs_closures_inside_the_namespace() {
    let pair = NetnsPair::with_config(PairConfig {
        queues: 2,
        ..PairConfig::default()
    });
    let index = pair.run_in(Side::Receiver, || {
        xflute::io::xsk::if_index(&pair.receiver.interface)
    });
    assert!(
        index.is_some(),
        "the veth end is visible inside its namespace"
    );
    assert_eq!(xflute::io::xsk::if_index(&pair.receiver.interface), None);
    let links = pair.links(Side::Receiver);
    assert!(links.contains(&pair.receiver.interface), "{links}");
    let queues = pair.exec(
        Side::Receiver,
        &[
            "ls",
            &format!("/sys/class/net/{}/queues", pair.receiver.interface),
        ],
    );
    let queues = String::from_utf8_lossy(&queues.stdout);
    assert!(queues.contains("rx-1"), "2 rx queues: {queues}");
}

#[test]
fn netns_pair_panicking_test_still_cleans_up() {
    let mut names = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let pair = NetnsPair::new();
        names = Some(pair.names());
        panic!("test body fails");
    }));
    assert!(result.is_err());
    let names = names.unwrap();
    let left = leftover_namespaces();
    assert!(
        names.iter().all(|n| !left.contains(n)),
        "left behind: {left:?}"
    );
}

/// Runs this test binary's test `test` as a child that makes a pair, then lets `end` finish it
/// (the child aborts by itself with `abort`), and checks that the pair is gone afterwards.
fn child_pair_is_removed(test: &str, signal: Option<libc::c_int>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    xflute_tests::netns::require_root();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env("XFLUTE_NETNS_CHILD", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut names = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("NAMES ") {
            names = rest.split(' ').map(str::to_owned).collect();
            break;
        }
    }
    assert_eq!(names.len(), 2, "the child made a pair");
    if let Some(signal) = signal {
        assert!(leftover_namespaces().contains(&names[0]));
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal)
        };
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child died of a signal: {status:?}");
    let left = leftover_namespaces();
    assert!(
        names.iter().all(|n| !left.contains(n)),
        "left behind: {left:?}"
    );
}

#[test]
fn netns_pair_is_removed_when_the_process_is_interrupted() {
    if std::env::var_os("XFLUTE_NETNS_CHILD").is_some() {
        // The child: make a pair, say its names, wait to be interrupted.
        let pair = NetnsPair::new();
        println!("NAMES {} {}", pair.names()[0], pair.names()[1]);
        std::thread::sleep(std::time::Duration::from_secs(30));
        panic!("was not interrupted");
    }
    child_pair_is_removed(
        "netns_pair_is_removed_when_the_process_is_interrupted",
        Some(libc::SIGINT),
    );
}

#[test]
fn netns_pair_is_removed_when_the_process_aborts_as_a_panic_abort_binary_does() {
    if std::env::var_os("XFLUTE_NETNS_CHILD").is_some() {
        // The child: make a pair, say its names, then abort as `panic = "abort"` does (no Drop).
        let pair = NetnsPair::new();
        println!("NAMES {} {}", pair.names()[0], pair.names()[1]);
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::abort();
    }
    child_pair_is_removed(
        "netns_pair_is_removed_when_the_process_aborts_as_a_panic_abort_binary_does",
        None,
    );
}

#[test]
fn netns_pair_is_removed_when_a_process_that_restored_sigpipe_writes_into_a_closed_pipe() {
    if std::env::var_os("XFLUTE_NETNS_CHILD").is_some() {
        // The child: as the CLI does, SIGPIPE back to its default (fatal) before any pair.
        // SAFETY: SIG_DFL is a valid disposition; pipe and close take a valid fd array.
        #[allow(unsafe_code)]
        let write_end = unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let mut fds = [0; 2];
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
            fds[1]
        };
        let pair = NetnsPair::new();
        println!("NAMES {} {}", pair.names()[0], pair.names()[1]);
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        // SAFETY: one byte from a valid buffer into an open fd whose reader is gone.
        #[allow(unsafe_code)]
        unsafe {
            libc::write(write_end, b"x".as_ptr().cast(), 1)
        };
        panic!("SIGPIPE did not end the process");
    }
    child_pair_is_removed(
        "netns_pair_is_removed_when_a_process_that_restored_sigpipe_writes_into_a_closed_pipe",
        None,
    );
}
