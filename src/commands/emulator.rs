//! `kcform emulator`: runs the built-in emulator as a standalone server until Ctrl-C. A
//! non-loopback `--listen` needs `--allow-remote` and then puts the control routes behind a
//! control token (from `--control-token-file`, or generated and printed once on stderr).

use anyhow::Context as _;

use crate::cli::{EmulatorArgs, FaultArgs};
use crate::emulator::{self, ControlToken, EmulatorOptions, FaultSpec};
use crate::exit;

/// Runs it.
pub async fn run(args: &EmulatorArgs) -> anyhow::Result<i32> {
    let control_token = args
        .control_token_file
        .as_deref()
        .map(ControlToken::read)
        .transpose()?;
    let options = EmulatorOptions {
        data_file: args.data.clone(),
        bootstrap_credentials: args.bootstrap_credentials.clone(),
        payment_method: !args.no_payment_method,
        allow_remote: args.allow_remote,
        control_token,
    };
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
    let control = match (running.control_token(), &args.control_token_file) {
        (None, _) => String::new(),
        (Some(_), Some(path)) => format!(
            "; control routes need `Authorization: Bearer <token>` with the token in {}",
            path.display()
        ),
        // Generated: this line is the only place it is ever shown.
        (Some(token), None) => format!(
            "; control routes need `Authorization: Bearer {}` (generated control token, shown \
             only now)",
            token.expose()
        ),
    };
    // One line, so a reader that stops after it never makes a later write fail.
    eprintln!(
        "kcform emulator listening on {} (identity at {}/identity/v3){credentials}{control}; \
         Ctrl-C stops it",
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
        // Damaged answers and error pages are for tests, set through `POST /_emulator/faults`.
        mangle_response: None,
        body: None,
        content_type: None,
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
