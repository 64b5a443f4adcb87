"""What xflute's Python API adds to flute-alc's: Reed-Solomon GF(2^m), priority queues, object
events polled or handed to a callback, a buffer writer whose objects are read back, and
MultiReceiver demultiplexing sessions."""

import pytest

import xflute.receiver
import xflute.sender
from xflute import receiver, sender


FEC_ONLY_IN_XFLUTE = {
    "rs2m_m8": lambda: sender.Oti.new_reed_solomon_rs2m(1400, 32, 8, 8),
    "rs2m_m10": lambda: sender.Oti.new_reed_solomon_rs2m(1400, 32, 8, 10),
    "rs2m_m16": lambda: sender.Oti.new_reed_solomon_rs2m(1400, 32, 8, 16),
    "raptorq": lambda: sender.Oti.new_raptorq(1400, 32, 8, 1, 4),
    "raptorq_4_sub_blocks": lambda: sender.Oti.new_raptorq(1400, 32, 8, 4, 4),
    "raptor": lambda: sender.Oti.new_raptor(1400, 32, 8, 1, 4),
}


@pytest.mark.parametrize("scheme", FEC_ONLY_IN_XFLUTE)
def test_fec_schemes_flute_alc_lacks_recover_from_loss_sender_to_receiver(scheme, payload, drain):
    oti = FEC_ONLY_IN_XFLUTE[scheme]()
    assert oti.max_number_of_parity_symbols == 8
    # Raptor cannot code the one-symbol FDT (K >= 4): the session stays no-code for it.
    session_oti = sender.Oti.new_no_code(1400, 32) if scheme == "raptor" else oti
    s = sender.Sender(9, session_oti, sender.Config())
    toi = s.add_object_from_buffer(payload, "application/octet-stream", "file:///obj.bin", oti)
    s.publish()
    packets = drain(s, drop_every=6)
    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.Receiver(receiver.UDPEndpoint("224.0.0.1", 3400), 9, writer, receiver.Config())
    for pkt in packets:
        rx.push(pkt)
    [obj] = writer.take_objects()
    assert (obj.toi, obj.data, len(obj)) == (toi, payload, len(payload))


def test_multireceiver_demultiplexes_two_sessions_and_events_are_polled(drain):
    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.MultiReceiver(writer, receiver.Config())
    endpoint = receiver.UDPEndpoint("239.1.1.1", 4000, "10.0.0.1")
    streams = []
    for tsi in (1, 2):
        s = sender.Sender(tsi, sender.Oti.new_no_code(1400, 16), sender.Config())
        s.add_object_from_buffer(bytes([tsi]) * 30_000, "text/plain", f"file:///s{tsi}/obj")
        s.publish()
        streams.append(drain(s))
    # Interleave the two sessions' packets.
    for a, b in zip(*streams):
        rx.push(endpoint, a)
        rx.push(endpoint, b)
    for rest in (streams[0][len(streams[1]):], streams[1][len(streams[0]):]):
        for pkt in rest:
            rx.push(endpoint, pkt)
    rx.cleanup()
    events = []
    while (event := rx.poll_event()) is not None:
        events.append(event)
    done = sorted((e.tsi, e.path) for e in events if e.kind == "completed")
    assert done == [(1, "s1/obj"), (2, "s2/obj")]
    assert {e.endpoint for e in events} == {"10.0.0.1->239.1.1.1:4000"}
    objects = {o.tsi: o.data for o in writer.take_objects()}
    assert objects == {1: b"\x01" * 30_000, 2: b"\x02" * 30_000}


def test_higher_priority_object_is_sent_first_and_removed_objects_are_not_sent(drain):
    config = sender.Config()
    config.set_priority_queue(1, 1)
    s = sender.Sender(1, sender.Oti.new_no_code(1000, 8), config)
    low = s.add_object_from_buffer(b"L" * 20_000, "text/plain", "file:///low", priority=1)
    high = s.add_object_from_buffer(b"H" * 20_000, "text/plain", "file:///high", priority=0)
    gone = s.add_object_from_buffer(b"G" * 20_000, "text/plain", "file:///gone")
    assert s.nb_objects() == 3
    assert s.remove_object(gone) and not s.remove_object(gone)
    s.publish()
    packets = drain(s)
    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.MultiReceiver(writer, receiver.Config())
    order = []
    rx.on_event = lambda e: order.append(e.toi) if e.kind == "completed" else None
    endpoint = receiver.UDPEndpoint("224.0.0.1", 3400)
    for pkt in packets:
        rx.push(endpoint, pkt)
    assert order == [high, low]


def test_file_writer_writes_below_its_directory_and_config_round_trips(tmp_path, drain):
    config = receiver.Config()
    config.object_timeout_ms = 2000
    config.session_timeout_ms = None
    config.check_md5 = True
    assert (config.object_timeout_ms, config.session_timeout_ms) == (2000, None)
    sconfig = sender.Config()
    sconfig.fdt_duration_ms = 5000
    sconfig.interleave_blocks = 2
    sconfig.multiplex_files = 2
    sconfig.fdt_cenc = 3  # gzip-encoded FDT
    assert (sconfig.fdt_duration_ms, sconfig.interleave_blocks, sconfig.multiplex_files) == (5000, 2, 2)
    s = sender.Sender(4, sender.Oti(), sconfig)
    s.add_object_from_buffer(b"deflated " * 1000, "text/plain", "file:///dir/a.txt", cenc=2)
    s.publish()
    rx = receiver.Receiver(
        receiver.UDPEndpoint("224.0.0.1", 3400), 4, receiver.ObjectWriterBuilder(str(tmp_path)), config
    )
    for pkt in drain(s):
        rx.push(pkt)
    assert (tmp_path / "dir" / "a.txt").read_bytes() == b"deflated " * 1000


def test_submodules_import_both_ways():
    assert xflute.sender is sender and xflute.receiver is receiver


def test_oti_attributes_follow_flute_alc():
    oti = sender.Oti.new_reed_solomon_rs28(1400, 60, 4)
    assert (oti.fec_encoding_id, oti.encoding_symbol_length) == (5, 1400)
    assert (oti.maximum_source_block_length, oti.max_number_of_parity_symbols) == (60, 4)
    assert oti.max_transfer_length == 1400 * 60 * (1 << 24)
    assert sender.Oti.new_no_code(1400, 64).max_transfer_length == 1400 * 64 * 65536
    assert sender.Oti.new_raptorq(1400, 64, 8, 1, 4).max_transfer_length == 1400 * 64 * 255
    default = sender.Oti()
    assert (default.fec_encoding_id, default.encoding_symbol_length) == (0, 1424)
    assert default.inband_fti
