//! The engines over AF_XDP with two queues (root, network namespaces): a `TxEngine` with two
//! workers sends one session on each tx queue, the veth hands each to the peer's rx queue of the
//! same number, and an `RxEngine` with one worker per queue receives both sessions — each worker
//! owning its sessions, no lock between them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::receiver::ObjectEvent;
use xflute::runtime::{ChannelSpec, RxEngine, TxEngine};
use xflute_tests::data::random_bytes;
use xflute_tests::netns::{NetnsPair, PairConfig, Side, require_root};
use xflute_tests::session::no_code_sender;

#[test]
fn two_queue_engines_carry_one_session_per_queue_and_both_workers_complete_their_objects() {
    require_root();
    let pair = NetnsPair::with_config(PairConfig {
        queues: 2,
        ..PairConfig::default()
    });
    let dir = xflute_tests::TempDir::new("runtime-xdp-2q");
    let out = dir.path().to_path_buf();
    let group: SocketAddr = "239.255.4.9:3400".parse().unwrap();
    let endpoint = UdpEndpoint::new(group.ip(), group.port());
    let a = random_bytes(4 << 20, 1);
    let b = random_bytes(3 << 20, 2);
    let rx_stop = Arc::new(AtomicBool::new(false));
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let engine = RxEngine::builder(&out)
                    .interface(pair.receiver.interface.clone())
                    .queues(2)
                    .cores(vec![0, 1])
                    .channel(ChannelSpec::new(group))
                    .start(Arc::clone(&rx_stop))
                    .unwrap();
                ready_tx.send(()).unwrap();
                let mut completed = Vec::new();
                let give_up = Instant::now() + Duration::from_secs(60);
                while completed.len() < 2 && Instant::now() < give_up {
                    match engine.events().next_timeout(Duration::from_millis(100)) {
                        Ok(ObjectEvent::Completed { session, .. }) => completed.push(session.tsi),
                        Ok(ObjectEvent::Failed { reason, .. }) => panic!("object failed: {reason}"),
                        _ => {}
                    }
                }
                (completed, engine.join().unwrap())
            })
        });
        ready_rx.recv().unwrap();
        let tx = scope.spawn(|| {
            pair.run_in(Side::Sender, || {
                TxEngine::builder()
                    .interface(pair.sender.interface.clone())
                    .queues(2)
                    .cores(vec![0, 1])
                    .rate_bps(Some(400_000_000))
                    .session(
                        no_code_sender(endpoint, 1, "a.bin", a.clone(), true),
                        pair.sender.ipv4.into(),
                    )
                    .session(
                        no_code_sender(endpoint, 2, "b.bin", b.clone(), true),
                        pair.sender.ipv4.into(),
                    )
                    .run_for(Some(Duration::from_secs(60)))
                    .start(Arc::clone(&tx_stop))
                    .unwrap()
            })
        });
        let (mut completed, stats) = rx.join().unwrap();
        tx_stop.store(true, Ordering::SeqCst);
        let tx_stats = tx.join().unwrap().join().unwrap();
        completed.sort_unstable();
        assert_eq!(completed, vec![1, 2], "both sessions complete");
        assert_eq!(tx_stats.workers.len(), 2, "one send worker per queue");
        assert_eq!(stats.workers.len(), 2, "one receive worker per queue");
        let per_worker: Vec<u64> = stats
            .workers
            .iter()
            .map(|w| w.receiver.objects_completed)
            .collect();
        assert_eq!(
            per_worker,
            vec![1, 1],
            "each queue's worker completed its own session's object"
        );
    });
    assert_eq!(std::fs::read(out.join("a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(out.join("b.bin")).unwrap(), b);
    pair.close();
}
