//! FLUTE/ALC/LCT wire formats (RFC 5651, 5775, 6726): zero-copy views and high-level reprs.
