use proptest::prelude::*;

use super::{Md5, digest};

fn hex(d: [u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn rfc1321_test_suite_digests_match() {
    // RFC 1321 §A.5.
    let suite: [(&str, &str); 7] = [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            "abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];
    for (input, expected) in suite {
        assert_eq!(hex(digest(input.as_bytes())), expected, "{input:?}");
        let mut h = Md5::default();
        h.update(input.as_bytes());
        assert_eq!(hex(h.finalize()), expected, "{input:?}");
    }
}

#[test]
fn padding_boundaries_55_56_63_64_bytes_match_the_md5_crate() {
    for len in [55usize, 56, 57, 63, 64, 65, 119, 120, 127, 128] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let expected: [u8; 16] = <md5::Md5 as md5::Digest>::digest(&data).into();
        assert_eq!(digest(&data), expected, "length {len}");
    }
}

/// Random data and a split of it into update() pieces, some empty, most not a multiple of 64.
fn data_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        prop::collection::vec(any::<u8>(), 0..2000),
        prop::collection::vec(0usize..300, 0..12),
    )
}

fn hash_in_pieces(data: &[u8], cuts: &[usize]) -> [u8; 16] {
    let mut h = Md5::new();
    let mut rest = data;
    for &cut in cuts {
        let (piece, tail) = rest.split_at(cut.min(rest.len()));
        h.update(piece);
        rest = tail;
    }
    h.update(rest);
    h.finalize()
}

proptest! {
    #[test]
    fn digest_of_random_pieces_equals_the_md5_crate((data, cuts) in data_and_cuts()) {
        let expected: [u8; 16] = <md5::Md5 as md5::Digest>::digest(&data).into();
        prop_assert_eq!(hash_in_pieces(&data, &cuts), expected);
    }
}
