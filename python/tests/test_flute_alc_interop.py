"""Interop with the real flute-alc wheel (the `flute` crate's Python bindings, from PyPI), in
one process: flute-alc sender -> xflute receiver and xflute sender -> flute-alc receiver, for
no-code and Reed-Solomon GF(2^8) (ID 5), with deterministic loss for Reed-Solomon."""

import pathlib

import pytest
from flute import receiver as flute_receiver
from flute import sender as flute_sender

from xflute import receiver, sender

# (name, FEC OTI constructor arguments, drop every n-th packet or None)
SCHEMES = [
    ("no_code", ("new_no_code", (1400, 64)), None),
    # 32 source + 8 repair symbols per block: one packet in 8 lost is 12.5% < 20% of repair.
    ("rs28_with_loss", ("new_reed_solomon_rs28", (1400, 32, 8)), 8),
    ("rs28_under_specified_with_loss", ("new_reed_solomon_rs28_under_specified", (1400, 32, 8)), 8),
]
# flute-alc's Python API has constructors for FEC IDs 0, 5 and 129.
RX_SCHEMES = SCHEMES
# flute-alc's receiver also decodes what only xflute's Python API can configure.
TX_SCHEMES = SCHEMES + [
    ("raptorq_with_loss", ("new_raptorq", (1400, 32, 8, 1, 4)), 8),
    # Raptor needs K >= 4 source symbols per block (RFC 5053 §5.1.2), more than the one-symbol
    # FDT has: the session (and its FDT) stays no-code, the object alone is Raptor-coded.
    ("raptor_object_with_loss", ("new_raptor", (1400, 32, 8, 1, 4)), 8),
    ("rs2m_m8_with_loss", ("new_reed_solomon_rs2m", (1400, 32, 8, 8)), 8),
]


def make_oti(module, spec):
    name, args = spec
    return getattr(module.Oti, name)(*args)


@pytest.mark.parametrize("name,spec,drop_every", RX_SCHEMES, ids=[s[0] for s in RX_SCHEMES])
def test_flute_alc_sender_to_xflute_receiver(name, spec, drop_every, payload, drain):
    fsender = flute_sender.Sender(7, make_oti(flute_sender, spec), flute_sender.Config())
    toi = fsender.add_object_from_buffer(payload, "application/octet-stream", "file:///obj.bin")
    fsender.publish()
    packets = drain(fsender, drop_every)

    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.MultiReceiver(writer, receiver.Config())
    completed = []
    rx.on_event = lambda ev: completed.append(ev) if ev.kind == "completed" else None
    endpoint = receiver.UDPEndpoint("224.0.0.1", 3400)
    for pkt in packets:
        rx.push(endpoint, bytes(pkt))
    rx.cleanup()

    objects = writer.take_objects()
    assert [o.toi for o in objects] == [toi]
    assert objects[0].data == payload
    assert objects[0].content_location == "obj.bin"
    assert [(e.tsi, e.toi, e.content_location) for e in completed] == [(7, toi, "file:///obj.bin")]


@pytest.mark.parametrize("name,spec,drop_every", TX_SCHEMES, ids=[s[0] for s in TX_SCHEMES])
def test_xflute_sender_to_flute_alc_receiver(
    name, spec, drop_every, payload, drain, tmp_path: pathlib.Path
):
    source = tmp_path / "obj.bin"
    source.write_bytes(payload)
    if name.startswith("raptor_object"):
        session_oti, object_oti = sender.Oti.new_no_code(1400, 64), make_oti(sender, spec)
    else:
        session_oti, object_oti = make_oti(sender, spec), None
    xsender = sender.Sender(7, session_oti, sender.Config())
    xsender.add_file(str(source), 0, "application/octet-stream", None, object_oti)
    xsender.publish()
    packets = drain(xsender, drop_every)

    dest = tmp_path / "dest"
    dest.mkdir()
    writer = flute_receiver.ObjectWriterBuilder(str(dest))
    frx = flute_receiver.Receiver(
        flute_receiver.UDPEndpoint("224.0.0.1", 3400), 7, writer, flute_receiver.Config()
    )
    for pkt in packets:
        frx.push(bytes(pkt))
    assert (dest / "obj.bin").read_bytes() == payload


@pytest.mark.parametrize("name,spec,drop_every", SCHEMES, ids=[s[0] for s in SCHEMES])
def test_lct_header_reads_every_packet_of_both_senders_as_flute_alc_does(name, spec, drop_every, payload, drain):
    packets = []
    for module in (sender, flute_sender):
        s = module.Sender(3, make_oti(module, spec), module.Config())
        s.add_object_from_buffer(payload, "application/octet-stream", "file:///obj.bin")
        s.publish()
        packets += drain(s)
    for pkt in packets:
        ours, theirs = receiver.LCTHeader(pkt), flute_receiver.LCTHeader(pkt)
        assert (ours.cci, ours.tsi, ours.toi, ours.sbn, ours.esi) == (
            theirs.cci, theirs.tsi, theirs.toi, theirs.sbn, theirs.esi
        )
