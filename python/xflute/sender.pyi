"""FLUTE sender, with flute-alc's API (``flute.sender``) plus xflute's additions."""

from os import PathLike

from .receiver import UDPEndpoint

class Config:
    """Sender configuration."""

    fdt_duration_ms: int
    fdt_start_id: int
    fdt_cenc: int
    """Content encoding of the FDT: 0 null, 1 zlib, 2 deflate, 3 gzip."""
    fdt_inband_sct: bool
    fdt_xml_profile: str
    """"extended" or "ts-126-346-l6"."""
    multiplex_files: int
    """Files sent at once in priority queue 0."""
    interleave_blocks: int
    def __init__(self) -> None: ...
    def set_priority_queue(self, priority: int, multiplex_files: int) -> None:
        """Adds or replaces a priority queue (0 is the highest). xflute only."""

class Oti:
    """FEC Object Transmission Information. The default is no-code, 1424-byte symbols, 64
    symbols per block."""

    fec_encoding_id: int
    fec_instance_id: int
    maximum_source_block_length: int
    encoding_symbol_length: int
    max_number_of_parity_symbols: int
    parity_symbols_percentage: float | None
    """Accepted for flute-alc compatibility, not used."""
    inband_fti: bool
    """Always True: xflute always sends EXT_FTI."""
    @property
    def max_transfer_length(self) -> int: ...
    def __init__(self) -> None: ...
    @staticmethod
    def new_no_code(encoding_symbol_length: int, maximum_source_block_length: int) -> Oti: ...
    @staticmethod
    def new_reed_solomon_rs28(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
    ) -> Oti: ...
    @staticmethod
    def new_reed_solomon_rs28_under_specified(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
    ) -> Oti: ...
    @staticmethod
    def new_reed_solomon_rs2m(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
        m: int = 8,
    ) -> Oti:
        """Reed-Solomon over GF(2^m) (ID 2). xflute only."""
    @staticmethod
    def new_raptorq(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
        sub_blocks_length: int,
        symbol_alignment: int,
    ) -> Oti:
        """RaptorQ (ID 6). xflute only."""
    @staticmethod
    def new_raptor(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
        sub_blocks_length: int,
        symbol_alignment: int,
    ) -> Oti:
        """Raptor (ID 1), K >= 4 source symbols per block. xflute only."""

class Sender:
    """A FLUTE sender of one session (TSI)."""

    def __init__(
        self, tsi: int, oti: Oti, config: Config, *, endpoint: UDPEndpoint | None = None
    ) -> None: ...
    @property
    def tsi(self) -> int: ...
    def add_object_from_buffer(
        self,
        content: bytes,
        content_type: str,
        content_location: str,
        oti: Oti | None = None,
        *,
        cenc: int = 0,
        priority: int = 0,
    ) -> int:
        """Adds an object (its bytes are borrowed, not copied); returns its TOI."""
    def add_file(
        self,
        filepath: str | PathLike[str],
        cenc: int,
        content_type: str,
        content_location: str | None = None,
        oti: Oti | None = None,
        *,
        priority: int = 0,
    ) -> int:
        """Adds a file (memory-mapped, not copied); returns its TOI."""
    def remove_object(self, toi: int) -> bool: ...
    def nb_objects(self) -> int: ...
    def publish(self) -> None: ...
    def read(self) -> bytes | None:
        """The next ALC packet, or None when nothing is due now."""
    def read_close_session(self) -> bytes: ...
