//! `kcform emulator`: runs the built-in emulator as a standalone server until Ctrl-C.

use anyhow::Context as _;

use crate::cli::{EmulatorArgs, FaultArgs};
use crate::emulator::{self, EmulatorOptions, FaultSpec};
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
    if let Some(spec) = fault_spec(&args.faults) {
        running
            .state()
            .faults()
            .add(spec)
            .context("invalid fault flags")?;
    }
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

/// The fault rule the flags describe, if any flag sets a fault.
fn fault_spec(flags: &FaultArgs) -> Option<FaultSpec> {
    let spec = FaultSpec {
        method: flags.fault_method.clone(),
        path: flags.fault_path.clone(),
        latency_ms: flags.latency_ms,
        jitter_ms: flags.jitter_ms,
        status: flags.fail_status,
        retry_after: flags.retry_after,
        drop_connection: flags.drop_connections,
        lose_response: flags.lose_responses,
        count: flags.fail_count,
        after: None,
        rate_limit: flags.rate_limit,
        list_lag_ms: flags.list_lag_ms,
    };
    let injects = spec.latency_ms.is_some()
        || spec.jitter_ms.is_some()
        || spec.status.is_some()
        || spec.drop_connection
        || spec.lose_response
        || spec.rate_limit.is_some()
        || spec.list_lag_ms.is_some()
        || spec.retry_after.is_some()
        || spec.count.is_some();
    injects.then_some(spec)
}
