//! `kcform schema`: prints the configuration's JSON Schema (draft 2020-12) for TOML editors.

/// Runs it.
pub fn run() -> anyhow::Result<i32> {
    println!("{}", crate::schema::to_json());
    Ok(crate::exit::SUCCESS)
}
