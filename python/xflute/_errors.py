"""Exceptions raised by xflute."""


class FluteError(TypeError, ValueError):
    """An invalid parameter or a FLUTE protocol error.

    flute-alc raises ``TypeError`` for every error, so this derives from it (code written for
    flute-alc keeps catching it) and from ``ValueError``, the usual Python meaning.
    """
