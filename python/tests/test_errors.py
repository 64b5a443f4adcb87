"""Bad input from Python raises a Python exception and never aborts the interpreter: wrong
types, invalid FEC parameters, objects that are closed, malformed packets, failing callbacks."""

import os
import subprocess
import sys
import textwrap

import pytest

import xflute
from xflute import FluteError, receiver, sender


def test_wrong_argument_types_raise_type_error():
    oti = sender.Oti.new_no_code(1400, 64)
    with pytest.raises(TypeError):
        sender.Sender("one", oti, sender.Config())
    with pytest.raises(TypeError):
        sender.Sender(1, "oti", sender.Config())
    with pytest.raises(TypeError):
        sender.Sender(1, oti, receiver.Config())
    s = sender.Sender(1, oti, sender.Config())
    with pytest.raises(TypeError):
        s.add_object_from_buffer("text is not bytes", "text/plain", "file:///a.txt")
    rx = receiver.MultiReceiver(receiver.ObjectWriterBuilder.new_buffer(), receiver.Config())
    with pytest.raises(TypeError):
        rx.push("not an endpoint", b"\x10\x00")
    with pytest.raises(TypeError):
        rx.on_event = 42


@pytest.mark.parametrize(
    "make",
    [
        lambda: sender.Oti.new_reed_solomon_rs28(1400, 200, 100),  # k + r > 255
        lambda: sender.Oti.new_reed_solomon_rs28(1400, 256, 1),  # B does not fit 8 bits
        lambda: sender.Oti.new_no_code(1400, 0),
        lambda: sender.Oti.new_no_code(-1, 64),
        lambda: sender.Oti.new_raptorq(1400, 64, 8, 1, 0),  # Al = 0
        lambda: sender.Oti.new_raptorq(1401, 64, 8, 1, 4),  # T not a multiple of Al
        lambda: sender.Oti.new_reed_solomon_rs2m(1400, 64, 8, 20),  # m > 16
        lambda: sender.Oti.new_reed_solomon_rs2m(1400, 10, 8, 4),  # k + r >= 2^m
    ],
)
def test_invalid_oti_raises(make):
    with pytest.raises((FluteError, OverflowError)):
        make()


def test_invalid_oti_set_through_attributes_is_refused_by_the_sender():
    oti = sender.Oti.new_reed_solomon_rs28(1400, 32, 8)
    oti.max_number_of_parity_symbols = 300
    with pytest.raises(FluteError):
        sender.Sender(1, oti, sender.Config())
    with pytest.raises(FluteError):
        oti.fec_encoding_id = 3
    with pytest.raises(FluteError):
        sender.Config().fdt_cenc = 9
    with pytest.raises(FluteError):
        sender.Config().fdt_xml_profile = "nope"


def test_flute_error_is_caught_as_flute_alc_type_error_and_as_value_error():
    with pytest.raises(TypeError):
        sender.Oti.new_raptorq(1400, 64, 8, 1, 0)
    with pytest.raises(ValueError):
        sender.Oti.new_raptorq(1400, 64, 8, 1, 0)


def test_bad_objects_and_files_raise(tmp_path):
    s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
    with pytest.raises(FluteError):
        s.add_object_from_buffer(b"x", "text/plain", "not a url")
    with pytest.raises(FileNotFoundError):
        s.add_file(str(tmp_path / "missing"), 0, "text/plain")
    with pytest.raises(FluteError):
        s.add_file(str(tmp_path), 7, "text/plain")  # unknown cenc
    with pytest.raises(FluteError):
        s.add_object_from_buffer(b"x", "text/plain", "file:///a", priority=5)  # no such queue
    with pytest.raises(FluteError):
        sender.Sender(1 << 48, sender.Oti.new_no_code(1400, 64), sender.Config())
    assert s.nb_objects() == 0


def test_a_sender_handed_to_an_engine_is_closed():
    s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
    # Without an endpoint the sender cannot go to an engine, and stays usable.
    with pytest.raises(FluteError):
        xflute.TxEngine(s, "127.0.0.1", backend="udp")
    s.add_object_from_buffer(b"hello", "text/plain", "file:///hello.txt")
    endpoint = receiver.UDPEndpoint("127.0.0.1", 9)  # discard
    s2 = sender.Sender(2, sender.Oti.new_no_code(1400, 64), sender.Config(), endpoint=endpoint)
    s2.add_object_from_buffer(b"hello", "text/plain", "file:///hello.txt")
    s2.publish()
    tx = xflute.TxEngine(s2, "127.0.0.1", backend="udp")
    for call in (s2.read, s2.publish, s2.nb_objects, lambda: s2.remove_object(1)):
        with pytest.raises(FluteError):
            call()
    with pytest.raises(FluteError):
        xflute.TxEngine(s2, "127.0.0.1", backend="udp")
    assert tx.wait(10)
    tx.stop()
    with pytest.raises(FluteError):
        xflute.TxEngine(s, "127.0.0.1", backend="bogus")
    with pytest.raises(FluteError):
        xflute.RxEngine("/tmp", [], backend="udp")


def test_malformed_packets_and_endpoints_raise():
    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.MultiReceiver(writer, receiver.Config())
    endpoint = receiver.UDPEndpoint("224.0.0.1", 3400)
    for garbage in (b"", b"\x00", b"\xff" * 40, bytes(range(256)) * 8):
        with pytest.raises(FluteError):
            rx.push(endpoint, garbage)
    for garbage in (b"", b"\x00" * 3, b"\x10\x00\x00\xff"):
        with pytest.raises(FluteError):
            receiver.LCTHeader(garbage)
    with pytest.raises(FluteError):
        receiver.UDPEndpoint("not an address", 3400)
    with pytest.raises(OverflowError):
        receiver.UDPEndpoint("224.0.0.1", 70000)
    assert writer.take_objects() == []


def test_an_exception_in_a_callback_reaches_the_caller_and_the_receiver_goes_on(drain):
    s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
    s.add_object_from_buffer(b"a" * 5000, "text/plain", "file:///a.txt")
    s.add_object_from_buffer(b"b" * 5000, "text/plain", "file:///b.txt")
    s.publish()
    packets = drain(s)
    writer = receiver.ObjectWriterBuilder.new_buffer()
    rx = receiver.Receiver(receiver.UDPEndpoint("224.0.0.1", 3400), 1, writer, receiver.Config())

    def callback(event):
        if event.kind == "completed":
            raise RuntimeError(event.content_location)

    rx.on_event = callback
    raised = []
    for pkt in packets:
        try:
            rx.push(pkt)
        except RuntimeError as e:
            raised.append(str(e))
    assert raised == ["file:///a.txt", "file:///b.txt"]
    assert sorted(o.data for o in writer.take_objects()) == [b"a" * 5000, b"b" * 5000]


def test_a_rust_panic_becomes_a_python_exception_not_an_abort():
    """Senders and receivers belong to the thread that made them; using one from another
    thread panics in PyO3's check. Built with panic = "unwind" (profile release-unwind), the
    panic reaches Python as an exception; with the workspace's panic = "abort" the interpreter
    would die, so the check runs in a child interpreter."""
    code = textwrap.dedent(
        """
        import threading
        from xflute import sender
        s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
        caught = []
        def use():
            try:
                s.nb_objects()
            except BaseException as e:
                caught.append(type(e).__name__)
        t = threading.Thread(target=use)
        t.start()
        t.join()
        print(caught)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "['PanicException']"
