//! The `kcform` binary: parse the command line, run, exit with the command's code.

use clap::Parser as _;

fn main() {
    let cli = kcform::cli::Cli::parse();
    std::process::exit(kcform::commands::run(cli));
}
