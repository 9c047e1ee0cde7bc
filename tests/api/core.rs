//! Satchel core: products, delivery settings, uploads, API keys, tenant walls, health, CLI.

mod access;
mod cli;
mod conformance;
mod delivery;
mod health;
mod json_limits;
mod openapi;
mod pages;
mod private_files;
mod products;
mod publish;
mod release_views;
mod releases;
mod scale_out;
mod server;
mod upload_races;
mod uploads;
