//! `kcform emulator`: runs the built-in emulator as a standalone server until Ctrl-C.

use anyhow::Context as _;

use crate::cli::EmulatorArgs;
use crate::emulator::{self, EmulatorOptions};
use crate::exit;

/// Runs it.
pub async fn run(args: &EmulatorArgs) -> anyhow::Result<i32> {
    let mut options = EmulatorOptions {
        data_file: args.data.clone(),
        bootstrap_credentials: args.bootstrap_credentials.clone(),
        ..EmulatorOptions::default()
    };
    options.payment_method = !args.no_payment_method;
    let running = emulator::start(args.listen, options).await?;
    let credentials = match &args.bootstrap_credentials {
        Some(path) => format!("; Org Admin access key in {}", path.display()),
        None => String::new(),
    };
    // One line, so a reader that stops after it never makes a later write fail.
    eprintln!(
        "kcform emulator listening on {} (identity at {}/identity/v3){credentials}; Ctrl-C stops it",
        running.base_url(),
        running.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    running.shutdown().await;
    Ok(exit::SUCCESS)
}
