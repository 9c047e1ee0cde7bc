//! The policy's bad input (filled in below).
