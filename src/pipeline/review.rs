//! What was reviewed pins the plan apply runs (see docs/design.md#saved-plans): a saved plan
//! (`apply --plan FILE`) or a checksum (`--expect-checksum`). The plan is always derived again
//! from the configuration and the live objects; a pin only refuses it (exit 4) when it is not
//! the plan that was reviewed. The file never tells kcform what to do.

use std::path::{Path, PathBuf};

use super::{PipelineError, Planned, Selection};
use crate::address::Address;
use crate::model::Desired;
use crate::plan::saved::SavedPlan;

/// Reads and verifies a plan file; a damaged or edited one exits 4.
pub fn read_saved(path: &Path) -> Result<SavedPlan, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|source| PipelineError::ReadPlanFile {
        path: path.to_path_buf(),
        source,
    })?;
    SavedPlan::parse(&text)
        .map_err(|error| PipelineError::NotReviewed(format!("{}: {error}", path.display())))
}

/// What the plan to apply must be.
pub enum Reviewed {
    /// Nothing: the plan is shown and confirmed (or `--auto-approve`d).
    Nothing,
    /// `--expect-checksum`: the plan's checksum.
    Checksum(String),
    /// `--plan FILE`: the saved plan in `file`.
    Saved {
        /// The saved plan.
        saved: Box<SavedPlan>,
        /// Its file, for messages.
        file: PathBuf,
    },
}

impl Reviewed {
    /// The saved plan in `file`, refused at once when the configuration `desired` (read from
    /// `config_path`) is not the one it was made from: nothing needs to be read for that.
    pub fn saved(
        file: &Path,
        desired: &Desired,
        config_path: &Path,
    ) -> Result<Reviewed, PipelineError> {
        let saved = read_saved(file)?;
        if desired.digest != saved.config_digest {
            return Err(stale(
                file,
                format!(
                    "the configuration at {} changed since the plan {} was made",
                    config_path.display(),
                    file.display()
                ),
            ));
        }
        Ok(Reviewed::Saved {
            saved: Box::new(saved),
            file: file.to_path_buf(),
        })
    }

    /// The selection to plan with: the saved plan's, else `targets`/`excludes`.
    pub fn selection<'a>(
        &'a self,
        targets: &'a [Address],
        excludes: &'a [Address],
    ) -> Selection<'a> {
        match self {
            Reviewed::Saved { saved, .. } => Selection::new(&saved.targets, &saved.excludes),
            Reviewed::Nothing | Reviewed::Checksum(_) => Selection::new(targets, excludes),
        }
    }

    /// Whether the plan is applied without asking (it was reviewed as a saved plan).
    pub fn is_saved(&self) -> bool {
        matches!(self, Reviewed::Saved { .. })
    }

    /// Refuses `planned` unless it is the plan that was reviewed: a saved plan is refused when
    /// any live object it read has changed since, or when its changes are not the plan kcform
    /// derives now (a forged file whose checksum was recomputed).
    pub fn check(&self, planned: &Planned) -> Result<(), PipelineError> {
        match self {
            Reviewed::Nothing => Ok(()),
            Reviewed::Checksum(expected) if &planned.checksum == expected => Ok(()),
            Reviewed::Checksum(expected) => Err(PipelineError::NotReviewed(format!(
                "the plan's checksum is {} but --expect-checksum is {expected}: the configuration or the live objects changed since that plan was reviewed; nothing was applied",
                planned.checksum
            ))),
            Reviewed::Saved { saved, file } => check_saved(saved, file, planned),
        }
    }
}

fn check_saved(saved: &SavedPlan, file: &Path, planned: &Planned) -> Result<(), PipelineError> {
    let changed = saved.stale(&planned.fingerprints);
    if !changed.is_empty() {
        return Err(stale(
            file,
            format!(
                "the saved plan {} is stale: {} live object(s) changed since it was made:\n  - {}",
                file.display(),
                changed.len(),
                changed.join("\n  - ")
            ),
        ));
    }
    let differences = saved.differences(&planned.projects, &planned.plan);
    if differences.is_empty() && planned.checksum == saved.checksum {
        return Ok(());
    }
    let detail = if differences.is_empty() {
        format!(
            "its checksum is {} but the plan derived now sums to {}",
            saved.checksum, planned.checksum
        )
    } else {
        differences.join("\n  - ")
    };
    Err(stale(
        file,
        format!(
            "the saved plan {} is not the plan kcform derives from the configuration and the live objects, so it was not made by `kcform plan` from them (or was edited and its checksum recomputed):\n  - {detail}",
            file.display()
        ),
    ))
}

/// A stale saved plan's error (exit 4), saying how to make a new one.
fn stale(file: &Path, message: String) -> PipelineError {
    PipelineError::NotReviewed(format!(
        "{message}\nNothing was applied. Make a new plan with `kcform plan --out {}`.",
        file.display()
    ))
}
