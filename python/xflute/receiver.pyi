"""FLUTE receiver, with flute-alc's API (``flute.receiver``) plus xflute's additions."""

from os import PathLike
from typing import Callable

class Config:
    max_objects_error: int
    """Accepted for flute-alc compatibility, not used."""
    session_timeout_ms: int | None
    object_timeout_ms: int | None
    check_md5: bool
    receive_without_fdt: bool
    max_object_bytes: int
    def __init__(self) -> None: ...

class UDPEndpoint:
    def __init__(
        self, destination_group_address: str, port: int, source_address: str | None = None
    ) -> None: ...
    @property
    def destination_group_address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def source_address(self) -> str | None: ...

class ReceivedObject:
    """A complete, verified object taken from a buffer writer."""

    @property
    def tsi(self) -> int: ...
    @property
    def toi(self) -> int: ...
    @property
    def content_location(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def data(self) -> bytes: ...
    def __len__(self) -> int: ...

class ObjectWriterBuilder:
    def __init__(self, path: str | PathLike[str]) -> None:
        """Writes objects as files below `path` (created if missing)."""
    @staticmethod
    def new_buffer() -> ObjectWriterBuilder:
        """Keeps objects in memory until `take_objects()`."""
    def take_objects(self) -> list[ReceivedObject]:
        """Objects completed since the last call (buffer writer). xflute only."""

class ObjectEvent:
    kind: str
    """"started", "progress", "completed" or "failed"."""
    tsi: int
    toi: int
    endpoint: str
    content_location: str | None
    path: str | None
    content_type: str | None
    content_length: int | None
    transfer_length: int | None
    received_bytes: int | None
    fec_encoding_id: int | None
    reason: str | None

class Receiver:
    """A receiver of one session (endpoint, TSI)."""

    on_event: Callable[[ObjectEvent], object] | None
    def __init__(
        self, endpoint: UDPEndpoint, tsi: int, writer: ObjectWriterBuilder, config: Config
    ) -> None: ...
    def push(self, data: bytes) -> None: ...
    def cleanup(self) -> None: ...
    def poll_event(self) -> ObjectEvent | None: ...

class MultiReceiver:
    """A receiver of every session, demultiplexed by endpoint and TSI."""

    on_event: Callable[[ObjectEvent], object] | None
    def __init__(self, writer: ObjectWriterBuilder, config: Config) -> None: ...
    def push(self, endpoint: UDPEndpoint, data: bytes) -> None: ...
    def cleanup(self) -> None: ...
    def poll_event(self) -> ObjectEvent | None: ...
    def nb_sessions(self) -> int: ...
    def nb_objects(self) -> int: ...

class LCTHeader:
    """The LCT header and FEC Payload ID of one ALC packet."""

    cci: int
    tsi: int
    toi: int
    sbn: int | None
    esi: int | None
    close_session: bool
    close_object: bool
    codepoint: int
    def __init__(self, data: bytes) -> None: ...
