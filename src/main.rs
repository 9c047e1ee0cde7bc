//! The `satchel` command: a thin shell over the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    satchel::cli::main(satchel::cli::Cli::parse())
}
