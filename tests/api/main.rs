//! Satchel's integration tests: one binary, each test spawning the app on port 0 with its own
//! database and blob store. Most tests run on both stacks an operator would run: the embedded
//! default (SQLite + local files) and the scaled-out one (PostgreSQL + S3).

mod helpers;

mod core;
mod dashboard;
mod events_out;
mod faults;
mod fulfilment;
mod mail;
mod portal;
mod sharing;
