"""Shared helpers of the xflute Python tests."""

import collections
import os

import pytest
from flute import receiver as flute_receiver


@pytest.fixture
def payload():
    """A 200 KiB random object (a shifted or missing symbol would show)."""
    return os.urandom(200 * 1024)


def _drain(sender, drop_every=None, max_packets=100_000):
    """Every packet `sender.read()` gives until it returns None, less deterministic loss: with
    `drop_every=n`, the n-th, 2n-th ... packet of each source block of each object (the FDT,
    TOI 0, is kept whole). Headers are parsed with flute-alc's `LCTHeader`, an independent
    parser."""
    packets = []
    seen = collections.Counter()
    for _ in range(max_packets):
        pkt = sender.read()
        if pkt is None:
            return packets
        if drop_every:
            header = flute_receiver.LCTHeader(bytes(pkt))
            if header.toi != 0:
                key = (header.toi, header.sbn)
                seen[key] += 1
                if seen[key] % drop_every == 0:
                    continue
        packets.append(pkt)
    raise AssertionError("sender never ran dry")


@pytest.fixture
def drain():
    """`drain(sender, drop_every=None)`: the packets a sender gives until it runs dry."""
    return _drain
