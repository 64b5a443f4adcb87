//! UMEM memory: 2 MiB huge pages when the system has some reserved and the kernel can pin them,
//! 4 KiB pages otherwise (needs root to reserve huge pages and to lock the UMEM).

use std::fs;

use xflute::io::xsk::{Umem, UmemConfig};
use xflute_tests::netns::require_root;

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";

/// Puts `nr_hugepages` back as it was, also when the test fails.
struct RestoreHugePages(String);

impl Drop for RestoreHugePages {
    fn drop(&mut self) {
        let _ = fs::write(NR_HUGEPAGES, self.0.trim());
    }
}

fn free_huge_pages() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn umem_is_registered_with_or_without_huge_pages() {
    require_root();
    let config = UmemConfig {
        frame_count: 1024,
        frame_size: 2048,
        ..UmemConfig::default()
    };
    let plain = Umem::new(UmemConfig {
        huge_pages: false,
        ..config
    })
    .unwrap();
    assert!(!plain.uses_huge_pages());
    assert_eq!((plain.frame_count(), plain.frame_size()), (1024, 2048));
    drop(plain);

    // Reserve a few 2 MiB pages: the UMEM takes them if the kernel can pin them for good (not in
    // a movable zone), and falls back to 4 KiB pages if it cannot; either way it is registered.
    let before = fs::read_to_string(NR_HUGEPAGES).unwrap();
    let _restore = RestoreHugePages(before.clone());
    let wanted = before.trim().parse::<u64>().unwrap() + 4;
    fs::write(NR_HUGEPAGES, wanted.to_string()).unwrap();
    let reserved = free_huge_pages();
    let umem = Umem::new(config).unwrap();
    eprintln!(
        "{reserved} huge pages free; UMEM on huge pages: {}",
        umem.uses_huge_pages()
    );
    if reserved == 0 {
        assert!(!umem.uses_huge_pages());
    }
}
