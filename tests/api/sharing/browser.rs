//! Screenshots of the brake's pages (filled in below).
