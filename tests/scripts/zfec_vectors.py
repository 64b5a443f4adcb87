#!/usr/bin/env python3
"""Reed-Solomon GF(2^8) vectors from zfec (Luigi Rizzo's codec), for tests/tests/fec_zfec_vectors.rs.

encode SEED CASES: prints CASES random cases, one per line:
    k n E source_hex repair_hex
  where source_hex is the k source symbols (E bytes each) back to back, and repair_hex the
  n - k repair shares k..n-1 computed by zfec.Encoder(k, n) (zfec calls n "m", the total number
  of shares; share j is encoding symbol ESI j, shares 0..k-1 being the source symbols).

decode: reads lines "k n E esi,esi,... shares_hex" on stdin (k shares of E bytes, in the order
  of the ESIs) and prints the k source symbols that zfec.Decoder(k, n) recovers, as hex.
"""
import random
import sys

import zfec


def encode(seed, cases):
    rng = random.Random(seed)
    for _ in range(cases):
        n = rng.randint(1, 255)
        k = rng.randint(1, n)
        e = rng.choice([1, 2, 3, 7, 16, 31, 64, 65, 100, rng.randint(1, 300)])
        source = [bytes(rng.getrandbits(8) for _ in range(e)) for _ in range(k)]
        shares = zfec.Encoder(k, n).encode(source, tuple(range(k, n))) if n > k else []
        print(k, n, e, b"".join(source).hex(), b"".join(shares).hex() or "-")


def decode():
    for line in sys.stdin:
        k, n, e, esis, shares = line.split()
        k, n, e = int(k), int(n), int(e)
        esis = [int(x) for x in esis.split(",")]
        data = bytes.fromhex(shares)
        blocks = [data[i * e:(i + 1) * e] for i in range(k)]
        print(b"".join(zfec.Decoder(k, n).decode(blocks, esis)).hex())


if __name__ == "__main__":
    if sys.argv[1] == "encode":
        encode(int(sys.argv[2]), int(sys.argv[3]))
    else:
        decode()
