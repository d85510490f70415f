//! The command line (clap). These structs only describe arguments; `settings` turns them into
//! what the commands use before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::address::Address;

/// KakaoCloud IAM as code: plan and apply projects, service accounts and access keys from TOML.
#[derive(Debug, Parser)]
#[command(name = "kcform", version, about, propagate_version = true)]
pub struct Cli {
    /// Never color the output (colors also follow the terminal and NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration offline.
    Validate(PathArg),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the changes.
    Apply(ApplyArgs),
    /// Render a saved plan.
    Show(ShowArgs),
    /// Print TOML for live projects, their service accounts and keys, ready to commit.
    Import(ImportArgs),
    /// Write a starter configuration and ignore `.kcform/` in git.
    Init(InitArgs),
    /// Print the JSON Schema of the configuration (for TOML editors).
    Schema,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the dependency graph in Graphviz DOT.
    Graph(GraphArgs),
    /// Run the built-in emulator as an HTTP server.
    Emulator(EmulatorArgs),
    /// Remove a stale apply lock.
    Unlock(UnlockArgs),
}

/// `kcform unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The lock's ID, as a refused apply names it.
    pub lock_id: String,
    /// A .toml file or a directory of them (its `[lock]` backend is used).
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

/// A configuration path.
#[derive(Debug, Args)]
pub struct PathArg {
    /// A .toml file or a directory of them.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

/// `kcform graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// A .toml file or a directory of them.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print the order apply would run the plan's operations in (reads the live objects)
    /// instead of the configuration's resource graph (offline).
    #[arg(long)]
    pub operations: bool,
}

/// `kcform import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A live project to import (repeatable).
    #[arg(long = "project", value_name = "NAME", required = true)]
    pub projects: Vec<String>,
    /// The configuration whose `[provider]` and `.kcform/` to use; a directory without .toml
    /// files means there is no configuration yet.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Write the TOML to FILE (which must not exist) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave out service accounts whose name matches GLOB and write it to the projects'
    /// `ignore` (repeatable).
    #[arg(long = "ignore", value_name = "GLOB")]
    pub ignore: Vec<String>,
    /// The IAM endpoint, `emulator` or a URL (overrides `provider.endpoint`).
    #[arg(long, value_name = "URL", env = crate::env::ENDPOINT)]
    pub endpoint: Option<String>,
}

/// `kcform init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write `kcform.toml` in (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// `kcform completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terraform-style text.
    Human,
    /// kcform's JSON document (docs/plan-json.md).
    Json,
    /// A pull-request comment.
    Markdown,
    /// Terraform's JSON plan representation 1.2, for plan-JSON tools and OPA policies.
    TerraformJson,
}

/// `kcform show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file written by `kcform plan --out`.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// `kcform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A .toml file or a directory of them.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this address and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,
    /// Leave out this address and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub excludes: Vec<Address>,
    /// Save the plan to FILE for `kcform apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write kcform's JSON plan to FILE (stdout keeps --format).
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

/// `kcform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A .toml file or a directory of them.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Apply without asking for `yes`.
    #[arg(long)]
    pub auto_approve: bool,
    /// Operations at once (overrides `provider.parallelism`).
    #[arg(long, value_parser = parse_parallelism)]
    pub parallelism: Option<usize>,
    /// Apply only this address and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,
    /// Leave out this address and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDRESS")]
    pub excludes: Vec<Address>,
    /// Apply exactly this saved plan (refused if the live objects changed since).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["targets", "excludes", "expect_checksum"])]
    pub plan: Option<PathBuf>,
    /// Refuse unless the fresh plan's checksum is SUM (as printed by `kcform plan`).
    #[arg(long, value_name = "SUM")]
    pub expect_checksum: Option<String>,
    /// Apply even when a safety rail (mass deletion) refuses the plan.
    #[arg(long)]
    pub force: bool,
    /// Wait this long for a lock held by another apply (e.g. `30s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_lock_timeout)]
    pub lock_timeout: std::time::Duration,
}

fn parse_lock_timeout(text: &str) -> Result<std::time::Duration, String> {
    crate::cloud::retry::parse_duration(text)
        .ok_or_else(|| "must be a whole number with a unit: ms, s, m or h (e.g. `30s`)".into())
}

/// `kcform emulator`.
#[derive(Debug, Args)]
#[command(after_help = EMULATOR_AFTER_HELP)]
pub struct EmulatorArgs {
    /// Address to listen on. An address that is not loopback is refused unless --allow-remote
    /// is given.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: std::net::SocketAddr,
    /// Accept a --listen address other hosts can reach (e.g. 0.0.0.0:8787). The control
    /// routes (/_emulator/…) then require a control token: the one in --control-token-file, or
    /// a generated one printed once on stderr at start.
    #[arg(long)]
    pub allow_remote: bool,
    /// Require the token in FILE (16 to 4096 visible ASCII characters; surrounding whitespace
    /// is ignored) on every control route, as `Authorization: Bearer <token>`, also on a
    /// loopback address.
    #[arg(long, value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,
    /// Persist the state to this SQLite database file (created when missing).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Write the Org Admin access key {"id", "secret"} to this file (mode 0600).
    #[arg(long)]
    pub bootstrap_credentials: Option<PathBuf>,
    /// Start a new organization without a payment method, so creating projects is refused
    /// (an existing data file keeps its setting; POST /_emulator/organization changes it).
    #[arg(long)]
    pub no_payment_method: bool,
    /// Injected faults (one rule; `POST /_emulator/faults` adds more).
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// The end of `kcform emulator --help`: who may use the control routes.
const EMULATOR_AFTER_HELP: &str = "\
Control routes (/_emulator/…: create users with any role, inject faults, set the payment method):
  On a loopback --listen address (the default) they are open, unless --control-token-file is
  given. A non-loopback address needs --allow-remote, and then every control route requires
  `Authorization: Bearer <token>` (401 otherwise): the token in --control-token-file, or one
  generated and printed once on stderr at start. See docs/api.md, \"Emulator control\".";

/// `kcform emulator` fault flags: one rule, as `POST /_emulator/faults` takes it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Fault injection")]
pub struct FaultArgs {
    /// Only requests with this method are faulted (default: every method).
    #[arg(long, value_name = "METHOD")]
    pub fault_method: Option<String>,
    /// Only requests whose path matches this glob are faulted.
    #[arg(long, value_name = "GLOB", default_value = "*")]
    pub fault_path: String,
    /// Answer every matching request this many milliseconds after it arrived (it is handled
    /// meanwhile, like a server's response time).
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
    /// Add a random delay of up to this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub jitter_ms: Option<u64>,
    /// Answer matching requests with this error status (429, 500, 503…).
    #[arg(long, value_name = "STATUS")]
    pub fail_status: Option<u16>,
    /// Send `Retry-After: SECONDS` with --fail-status.
    #[arg(long, value_name = "SECONDS")]
    pub retry_after: Option<u64>,
    /// Close matching connections without answering.
    #[arg(long)]
    pub drop_connections: bool,
    /// Handle matching requests, then close the connection without answering.
    #[arg(long)]
    pub lose_responses: bool,
    /// Fault only the next N matching requests (default: all).
    #[arg(long, value_name = "N")]
    pub fail_count: Option<u32>,
    /// Allow N matching requests per second; answer 429 beyond.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Hide newly created objects from lists for this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub list_lag_ms: Option<u64>,
}

fn parse_parallelism(text: &str) -> Result<usize, String> {
    let max = crate::limits::MAX_PARALLELISM;
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {max}")),
    }
}
