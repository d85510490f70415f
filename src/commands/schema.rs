//! `kcform schema`: prints the configuration's JSON Schema (draft 2020-12) for TOML editors.

/// Runs it.
pub fn run() -> anyhow::Result<i32> {
    super::completions::write_stdout(format!("{}\n", crate::schema::to_json()).as_bytes())?;
    Ok(crate::exit::SUCCESS)
}
