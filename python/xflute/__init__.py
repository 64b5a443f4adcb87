"""xflute: FLUTE (RFC 6726) file delivery over ALC/LCT with AL-FEC, at multi-Gbps.

``from xflute import sender, receiver`` offers flute-alc's Python API (same classes, methods
and arguments), so flute-alc programs run with only their import changed. ``RxEngine`` and
``TxEngine`` run the multi-queue AF_XDP / UDP engines: packets never cross into Python, which
iterates over object events.
"""

import sys as _sys

from ._errors import FluteError
from ._xflute import RxEngine, TxEngine, __version__, receiver, sender

# `import xflute.sender` works too, not only `from xflute import sender`.
_sys.modules[__name__ + ".sender"] = sender
_sys.modules[__name__ + ".receiver"] = receiver

__all__ = ["FluteError", "RxEngine", "TxEngine", "receiver", "sender", "__version__"]
