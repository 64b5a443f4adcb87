"""xflute.RxEngine / xflute.TxEngine with the UDP backend on loopback (no root needed): a file
sent by a TxEngine thread arrives through an RxEngine's worker, and Python only iterates over
object events."""

import os
import pathlib
import socket

import xflute
from xflute import receiver, sender


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_udp_tx_engine_to_rx_engine_delivers_the_file_with_events(tmp_path: pathlib.Path):
    data = os.urandom(300_000)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    endpoint = receiver.UDPEndpoint("127.0.0.1", free_udp_port())

    with xflute.RxEngine(str(tmp_path / "out"), [endpoint], backend="udp") as rx:
        flute_sender = sender.Sender(3, sender.Oti.new_no_code(1400, 64), sender.Config(), endpoint=endpoint)
        flute_sender.add_file(str(source), 0, "application/octet-stream")
        flute_sender.publish()
        tx = xflute.TxEngine(flute_sender, "127.0.0.1", backend="udp", rate_bps=200_000_000)
        assert tx.wait(20)
        assert tx.stop()["packets"] >= len(data) // 1400

        kinds = []
        while True:
            event = rx.poll(timeout=10)
            assert event is not None, "no event within 10 s"
            kinds.append(event.kind)
            if event.kind in ("completed", "failed"):
                break
        assert kinds[0] == "started" and kinds[-1] == "completed"
        assert (event.tsi, event.toi, event.path) == (3, 1, "in.bin")
    assert (tmp_path / "out" / "in.bin").read_bytes() == data
    assert rx.stats()["objects_completed"] == 1
    assert rx.is_finished()
    # Iterating a stopped engine ends once its events are read.
    assert list(rx) == []


def test_pcap_tx_engine_captures_and_pcap_rx_engine_replays_into_the_file(tmp_path: pathlib.Path):
    data = os.urandom(200_000)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    capture = tmp_path / "session.pcap"
    endpoint = receiver.UDPEndpoint("239.255.7.8", 4100)
    s = sender.Sender(5, sender.Oti.new_reed_solomon_rs28(1400, 64, 16), sender.Config(), endpoint=endpoint)
    s.add_file(str(source), 0, "application/octet-stream")
    s.publish()
    tx = xflute.TxEngine(s, "192.0.2.1", backend="pcap", pcap=str(capture), rate_bps=100_000_000)
    assert tx.wait(20)
    assert tx.stop()["packets"] > len(data) // 1400
    assert capture.stat().st_size > len(data)

    with xflute.RxEngine(str(tmp_path / "out"), [endpoint], backend="pcap", pcap=str(capture)) as rx:
        events = list(rx)
    assert [e.kind for e in events if e.kind != "progress"] == ["started", "completed"]
    assert (tmp_path / "out" / "in.bin").read_bytes() == data
