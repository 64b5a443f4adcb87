"""xflute: FLUTE (RFC 6726) file delivery over ALC/LCT with AL-FEC, flute-alc compatible."""

from os import PathLike
from types import TracebackType
from typing import Iterator, Sequence

from . import receiver as receiver
from . import sender as sender
from ._errors import FluteError as FluteError

__version__: str

class RxEngine:
    """A running receive engine (AF_XDP or UDP workers) writing files below `output_dir`.

    Iterate over it for object events; iteration ends once the engine has stopped and every
    event was read. Leaving a ``with`` block stops it.
    """

    def __init__(
        self,
        output_dir: str | PathLike[str],
        channels: Sequence[receiver.UDPEndpoint],
        backend: str = "udp",
        interface: str | None = None,
        queues: int = 1,
        config: receiver.Config | None = None,
        pcap: str | PathLike[str] | None = None,
    ) -> None:
        """`backend`: "xdp" (AF_XDP, root, `interface`), "udp" (sockets) or "pcap" (replays
        the capture `pcap` as fast as it can, each frame's timestamp as the clock, then ends)."""
    def poll(self, timeout: float | None = None) -> receiver.ObjectEvent | None:
        """The next event, waiting up to `timeout` seconds (forever for None)."""
    def __iter__(self) -> Iterator[receiver.ObjectEvent]: ...
    def __next__(self) -> receiver.ObjectEvent: ...
    def stats(self) -> dict[str, int]:
        """frames, bytes, payload_bytes, objects_completed, objects_failed, drops, duplicates,
        rx_ring_full."""
    def is_finished(self) -> bool: ...
    def stop(self) -> dict[str, int]:
        """Stops the workers, detaches the XDP program, returns the final counters."""
    def __enter__(self) -> RxEngine: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

class TxEngine:
    """A running send engine; takes over `sender` (created with ``endpoint=``), which is closed
    afterwards. Stops by itself once every object was sent, or after `run_for` seconds."""

    def __init__(
        self,
        sender: sender.Sender,
        source: str,
        backend: str = "udp",
        interface: str | None = None,
        rate_bps: int | None = None,
        run_for: float | None = None,
        pcap: str | PathLike[str] | None = None,
    ) -> None:
        """`backend`: "xdp", "udp" or "pcap" (writes the capture `pcap`, its timestamps
        following `rate_bps`, 1 Gbit/s if None; `run_for` is then capture time)."""
    def is_finished(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the engine to end; returns whether it has."""
    def stats(self) -> dict[str, int]:
        """packets, bytes, alc_bytes."""
    def stop(self) -> dict[str, int]: ...
    def __enter__(self) -> TxEngine: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
