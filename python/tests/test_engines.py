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
