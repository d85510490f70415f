//! The `kcform` binary: parse the command line, run, exit with the command's code.

use clap::Parser as _;

// A plan at scale is mostly allocation; see Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = kcform::cli::Cli::parse();
    std::process::exit(kcform::commands::run(cli));
}
