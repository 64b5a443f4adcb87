//! AL-FEC building block (RFC 5052) and its schemes.
