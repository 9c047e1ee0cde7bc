//! Satchel: self-hosted digital product delivery.
//!
//! Merchants attach up to ten files, or an external link, to a product; when a payment
//! succeeds Satchel freezes what was bought, gives the customer per-order download links,
//! and keeps every purchase downloadable.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod app;
pub mod blobs;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod download_log;
pub mod http;
pub mod instances;
pub mod mail;
pub mod order_cache;
pub mod orders;
pub mod payments;
pub mod portal_access;
pub mod private_files;
pub mod rate_limit;
pub mod server;
pub mod sharing;
pub mod signing_key;
pub mod state;
pub(crate) mod supervisor;
pub mod team;
pub mod telemetry;
pub mod webhook_deliveries;
pub mod webhooks_out;

pub use app::App;
pub use config::Config;
