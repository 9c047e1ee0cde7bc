//! Satchel core: products, delivery settings, uploads, API keys, tenant walls, health, CLI.

mod access;
mod cli;
mod delivery;
mod health;
mod private_files;
mod products;
mod uploads;
