//! The `kcform` binary: parse the command line, run, exit with the command's code.

use clap::Parser as _;

// A plan at scale is mostly allocation; see Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = kcform::cli::Cli::parse();
    if !matches!(cli.command, kcform::cli::Command::Emulator(_)) {
        keep_freed_memory();
    }
    std::process::exit(kcform::commands::run(cli));
}

/// mimalloc hands memory back to the OS 10 ms after it is freed, and a command frees a lot
/// between phases (the parsed TOML once merged, each listing once decoded) that the next phase
/// allocates again, each time paying a page fault and the kernel zeroing a 2 MiB page
/// (measured: a quarter of `validate`'s CPU at 30,000 objects). A command is short-lived, so it
/// keeps what it frees; only the emulator, a server, gives memory back.
fn keep_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc's `mi_option_t` (the same in v2 and v3), which
    /// libmimalloc-sys does not name.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: a plain value setter; mimalloc's option setters are not thread-safe, and this
    // runs before kcform starts any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}
