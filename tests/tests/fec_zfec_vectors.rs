//! Reed-Solomon over GF(2^8) (RFC 5510, FEC Encoding IDs 5, 129 and 2 with m = 8) against zfec,
//! Luigi Rizzo's codec from PyPI, whose generator matrix RFC 5510 declares itself compatible
//! with. tests/scripts/zfec_vectors.py draws random (k, n ≤ 255, E) cases and random source
//! symbols, and prints zfec's repair symbols; xflute must produce the same bytes, decode from
//! any k of zfec's n symbols, and zfec must decode xflute's repair symbols.
//!
//! Needs python3 with zfec (`scripts/test.sh` installs it); fails, never skips, without them.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use xflute::fec::ReedSolomon;
use xflute_tests::data::SplitMix64;

const CASES: usize = 300;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/zfec_vectors.py")
}

fn require_zfec() {
    let ok = Command::new("python3")
        .args(["-c", "import zfec"])
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these tests need python3 with zfec: run `python3 -m pip install zfec` (scripts/test.sh does)"
    );
}

fn hex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A seed per run (printed on failure): every run draws new cases.
fn run_seed() -> u64 {
    std::env::var("XFLUTE_ZFEC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000_007
        })
}

struct Case {
    k: u32,
    n: u32,
    e: usize,
    source: Vec<u8>,
    zfec_repair: Vec<u8>,
}

fn zfec_cases(seed: u64) -> Vec<Case> {
    let out = Command::new("python3")
        .arg(script())
        .args(["encode", &seed.to_string(), &CASES.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "zfec_vectors.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Case> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Case {
                k: f[0].parse().unwrap(),
                n: f[1].parse().unwrap(),
                e: f[2].parse().unwrap(),
                source: hex(f[3]),
                zfec_repair: hex(f[4]),
            }
        })
        .collect();
    assert_eq!(cases.len(), CASES);
    cases
}

fn symbol<'a>(case: &'a Case, repair: &'a [u8], esi: u32) -> &'a [u8] {
    let (k, e) = (case.k as usize, case.e);
    let esi = esi as usize;
    if esi < k {
        &case.source[esi * e..(esi + 1) * e]
    } else {
        &repair[(esi - k) * e..(esi - k + 1) * e]
    }
}

#[test]
fn rs28_repair_symbols_equal_zfec_byte_for_byte_and_decode_from_any_k_of_n() {
    require_zfec();
    let seed = run_seed();
    // Reproducible erasure patterns from the run's seed.
    let mut rng = SplitMix64::new(seed);
    for case in zfec_cases(seed) {
        let (k, n, e) = (case.k, case.n, case.e);
        let what = format!("seed={seed} k={k} n={n} E={e}");
        let code = ReedSolomon::new(8, k, n, e).unwrap();
        let mut repair = vec![0u8; (n - k) as usize * e];
        code.encode(&case.source, &mut repair).unwrap();
        assert!(
            repair == case.zfec_repair,
            "repair symbols differ from zfec's: {what}"
        );

        // Decode in place from k random symbols among zfec's n.
        let mut block = vec![0u8; k as usize * e];
        let mut decoder = code.decoder();
        for esi in rng.pick(k as usize, n) {
            if esi < k {
                let at = esi as usize * e;
                block[at..at + e].copy_from_slice(symbol(&case, &case.zfec_repair, esi));
                decoder.source_received(esi).unwrap();
            } else {
                decoder
                    .push_repair(esi, symbol(&case, &case.zfec_repair, esi))
                    .unwrap();
            }
        }
        assert!(decoder.is_decodable(), "{what}");
        decoder.decode(&mut block).unwrap();
        assert!(
            block == case.source,
            "decoding zfec's symbols failed: {what}"
        );
    }
}

#[test]
fn zfec_decodes_xflute_repair_symbols_from_any_k_of_n() {
    require_zfec();
    let seed = run_seed();
    let mut rng = SplitMix64::new(seed.rotate_left(17));
    let cases = zfec_cases(seed ^ 0x5EED);
    let mut input = String::new();
    for case in &cases {
        let (k, n, e) = (case.k, case.n, case.e);
        let code = ReedSolomon::new(8, k, n, e).unwrap();
        let mut repair = vec![0u8; (n - k) as usize * e];
        code.encode(&case.source, &mut repair).unwrap();
        let esis = rng.pick(k as usize, n);
        let shares: Vec<u8> = esis
            .iter()
            .flat_map(|&esi| symbol(case, &repair, esi).to_vec())
            .collect();
        let esis: Vec<String> = esis.iter().map(u32::to_string).collect();
        input += &format!("{k} {n} {e} {} {}\n", esis.join(","), to_hex(&shares));
    }
    let mut child = Command::new("python3")
        .arg(script())
        .arg("decode")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let decoded: Vec<Vec<u8>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(hex)
        .collect();
    assert_eq!(decoded.len(), cases.len());
    for (case, decoded) in cases.iter().zip(decoded) {
        assert!(
            decoded == case.source,
            "zfec could not decode xflute's symbols: seed={seed} k={} n={} E={}",
            case.k,
            case.n,
            case.e
        );
    }
}
