"""The two Python examples of flute-alc's README, run with only their import line changed (and
their placeholders filled: the file paths, and the UDP send/receive they leave to the user)."""

import pathlib

# Verbatim from flute-alc's README, but for the import line.
SENDER_EXAMPLE = '''
from xflute import sender

# Flute Sender config parameters
sender_config = sender.Config()

# Object transmission parameters (no_code => no FEC)
# encoding symbol size : 1400 bytes
# Max source block length : 64 encoding symbols
oti = sender.Oti.new_no_code(1400, 64)

# Create FLUTE Sender
flute_sender = sender.Sender(1, oti, sender_config)

# Transfer a file
flute_sender.add_file("/path/to/file", 0, "application/octet-stream", None, None)
flute_sender.publish()

while True:
    alc_pkt = flute_sender.read()
    if alc_pkt == None:
        break

    #TODO Send alc_pkt over UDP/IP
'''

RECEIVER_EXAMPLE = '''
from xflute import receiver

# Write received objects to a destination folder
receiver_writer = receiver.ObjectWriterBuilder("/path/to/dest")

# FLUTE Receiver configuration parameters
receiver_config = receiver.Config()

tsi = 1

# Create a FLUTE receiver with the specified endpoint, tsi, writer, and configuration
udp_endpoint = receiver.UDPEndpoint("224.0.0.1", 1234)
flute_receiver = receiver.Receiver(udp_endpoint, tsi, receiver_writer, receiver_config)

while True:
    # Receive LCT/ALC packet from UDP/IP multicast (Implement your own receive_from_udp_socket() function)
    # Note: FLUTE does not handle the UDP/IP layer, you need to implement the socket reception mechanism yourself
    pkt = receive_from_udp_socket()

    # Push the received packet to the FLUTE receiver
    flute_receiver.push(bytes(pkt))
'''


class _NoMorePackets(Exception):
    pass


def test_readme_sender_and_receiver_examples_deliver_the_file(tmp_path: pathlib.Path, payload):
    source = tmp_path / "file.bin"
    source.write_bytes(payload)
    dest = tmp_path / "dest"
    link = []

    sender_code = SENDER_EXAMPLE.replace("/path/to/file", str(source)).replace(
        "#TODO Send alc_pkt over UDP/IP", "link.append(alc_pkt)"
    )
    exec(compile(sender_code, "sender_example", "exec"), {"link": link})
    assert len(link) >= len(payload) // 1400

    def receive_from_udp_socket():
        if not link:
            raise _NoMorePackets
        return link.pop(0)

    receiver_code = RECEIVER_EXAMPLE.replace("/path/to/dest", str(dest))
    try:
        exec(
            compile(receiver_code, "receiver_example", "exec"),
            {"receive_from_udp_socket": receive_from_udp_socket},
        )
    except _NoMorePackets:
        pass
    assert (dest / "file.bin").read_bytes() == payload
    assert not list(dest.rglob("*.part"))
