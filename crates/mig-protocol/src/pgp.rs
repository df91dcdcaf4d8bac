//! OpenPGP for MIG (in progress).
