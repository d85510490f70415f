//! The human plan, following Terraform's conventions: a legend, one `# <address> will be …`
//! header per change with `# (...)` reason lines, `+ ~ - +/- -/+` symbols, `old -> new`
//! attribute lines, a word-level diff under a changed description, and one summary line.

use std::fmt::Write as _;

use serde_json::Value;
use similar::ChangeTag;

use crate::plan::{Action, Change, Plan, ReplaceOrder, Summary};

use super::Palette;

/// The line printed when nothing is to be done.
pub const NO_CHANGES: &str = "No changes. Remote objects match the configuration.";

/// Attributes that a replacement gives a new value the API chooses.
const COMPUTED: &[&str] = &["id", "created_at", "status", "remote_name"];

/// Renders the whole human plan.
pub fn render(plan: &Plan, palette: &Palette) -> String {
    render_with_changes(plan, palette, &change_blocks(&plan.changes, palette))
}

/// [`render`], given the blocks of `plan.changes` (what [`change_blocks`] gives for them): a
/// large plan's blocks can be rendered project by project while the others are still being
/// read (see [`join_project_blocks`]).
pub fn render_with_changes(plan: &Plan, palette: &Palette, blocks: &str) -> String {
    let mut out = drift_notes(plan, palette);
    out.push_str(&unmanaged_notes(plan, palette));
    out.push_str(&unrecorded_rotation_notes(plan, palette));
    if plan.is_empty() {
        out.push_str(&format!("{}\n", palette.bold(NO_CHANGES)));
        return out;
    }
    out.push_str(&legend(plan, palette));
    out.push_str("\nkcform will perform the following actions:\n");
    out.push_str(blocks);
    let _ = writeln!(out, "\n{}", palette.bold(&summary_line(&plan.summary())));
    out
}

/// Terraform's "objects have changed outside" note: one line per drifted object.
fn drift_notes(plan: &Plan, palette: &Palette) -> String {
    if plan.drift.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{}\n\n",
        palette.bold("Note: Objects have changed outside of kcform since the last apply")
    );
    for drift in &plan.drift {
        let _ = writeln!(
            out,
            "  {}",
            palette.dim(&format!("# {}: {}", drift.address, drift.notes.join("; ")))
        );
    }
    out.push('\n');
    out
}

/// One line per project applied before and no longer declared: kcform does not delete it, so
/// without this note its objects would slip out of management without a word.
fn unmanaged_notes(plan: &Plan, palette: &Palette) -> String {
    if plan.unmanaged.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{}\n\n",
        palette.bold("Note: Projects applied before are no longer declared")
    );
    for unmanaged in &plan.unmanaged {
        let _ = writeln!(
            out,
            "  {}",
            palette.dim(&format!(
                "# {}: {}",
                unmanaged.address,
                unmanaged_text(unmanaged)
            ))
        );
    }
    out.push('\n');
    out
}

/// One line per key whose `rotation` value kcform has no record of: without a record kcform
/// cannot tell a changed value, so it says what it does instead of silently doing nothing.
fn unrecorded_rotation_notes(plan: &Plan, palette: &Palette) -> String {
    if plan.unrecorded_rotations.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{}\n\n",
        palette.bold("Note: No record of the rotation value these keys were created with")
    );
    for unrecorded in &plan.unrecorded_rotations {
        let _ = writeln!(
            out,
            "  {}",
            palette.dim(&format!(
                "# {}: {}",
                unrecorded.address,
                unrecorded_rotation_text(unrecorded)
            ))
        );
    }
    out.push('\n');
    out
}

/// What kcform does with a key whose rotation value it has no record of, and why (shared with
/// markdown).
pub fn unrecorded_rotation_text(unrecorded: &crate::plan::UnrecordedRotation) -> String {
    format!(
        "taken to match rotation = {:?} and not replaced; the next apply records the value. kcform's records are missing (a fresh CI runner with the local `[lock]` backend starts without them): if the key was meant to rotate, change its rotation value again after that apply",
        unrecorded.rotation
    )
}

/// What is left unmanaged in a project no longer declared, in words (shared with markdown).
pub fn unmanaged_text(unmanaged: &crate::plan::Unmanaged) -> String {
    let accounts = match unmanaged.service_accounts.len() {
        0 => "no service account".to_string(),
        n => format!(
            "{n} service account{} ({})",
            if n == 1 { "" } else { "s" },
            unmanaged.service_accounts.join(", ")
        ),
    };
    let keys = unmanaged.access_keys;
    format!(
        "it and its {accounts} and {keys} access key{} are left as they are and no longer managed by kcform (forgotten from its record at the next apply)",
        if keys == 1 { "" } else { "s" }
    )
}

/// `Plan: 2 to add, 1 to change, 1 to deactivate, 3 to destroy.`
pub fn summary_line(summary: &Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to deactivate, {} to destroy.",
        summary.add, summary.change, summary.deactivate, summary.destroy
    )
}

fn legend(plan: &Plan, palette: &Palette) -> String {
    type Used = fn(&Action) -> bool;
    let entries: [(&str, &str, Used); 5] = [
        ("+", "create", |a| *a == Action::Create),
        ("~", "update in-place", |a| {
            matches!(a, Action::Update | Action::Activate | Action::Deactivate)
        }),
        ("-", "destroy", |a| *a == Action::Delete),
        ("+/-", "create replacement and then destroy", |a| {
            *a == Action::Replace(ReplaceOrder::CreateBeforeDestroy)
        }),
        ("-/+", "destroy and then create replacement", |a| {
            *a == Action::Replace(ReplaceOrder::DestroyBeforeCreate)
        }),
    ];
    let mut out = String::from(
        "kcform read the live objects and compared them with the configuration.\n\
         Resource actions are indicated with the following symbols:\n",
    );
    for (symbol, meaning, used) in entries {
        if plan.changes.iter().any(|change| used(&change.action)) {
            let _ = writeln!(out, "{:>3} {meaning}", colored_symbol(symbol, palette));
        }
    }
    out
}

fn colored_symbol(symbol: &str, palette: &Palette) -> String {
    match symbol {
        "+" => palette.green(symbol),
        "~" => palette.yellow(symbol),
        "-" => palette.red(symbol),
        "+/-" => format!("{}{}{}", palette.green("+"), "/", palette.red("-")),
        "-/+" => format!("{}{}{}", palette.red("-"), "/", palette.green("+")),
        other => other.to_string(),
    }
}

/// The blocks of `changes` (all of one plan, in plan order) from each project's blocks in
/// `rendered` (what [`change_blocks`] gave for that project's changes), rendering those of the
/// projects missing there: the same text as [`change_blocks`] of them all.
pub fn join_project_blocks(
    changes: &[Change],
    mut rendered: std::collections::BTreeMap<String, String>,
    palette: &Palette,
) -> String {
    changes
        .chunk_by(|a, b| a.address.project_name() == b.address.project_name())
        .map(|project| {
            rendered
                .remove(project[0].address.project_name())
                .unwrap_or_else(|| change_blocks(project, palette))
        })
        .collect()
}

/// Every change's block, in order. The blocks are independent, and thousands of them (keys
/// replaced after drift, with word diffs of their descriptions) take long enough that a large
/// plan's are rendered on every core.
pub fn change_blocks(changes: &[Change], palette: &Palette) -> String {
    /// Below this many changes per core, one thread is quicker than starting more.
    const PER_THREAD: usize = 200;
    let blocks = |part: &[Change]| {
        let mut out = String::new();
        for change in part {
            out.push('\n');
            out.push_str(&render_change(change, palette));
        }
        out
    };
    crate::parallel::chunks(changes, PER_THREAD, |_, part| blocks(part)).concat()
}

fn render_change(change: &Change, palette: &Palette) -> String {
    let mut out = String::new();
    let deposed = match &change.deposed {
        Some(id) => format!(" (deposed object {id})"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  {}",
        palette.bold(&format!(
            "# {}{deposed} {}",
            change.address,
            change.action.phrase()
        ))
    );
    for reason in &change.reasons {
        let _ = writeln!(out, "  {}", palette.dim(&format!("# ({reason})")));
    }
    let symbol = change.action.symbol();
    let _ = writeln!(
        out,
        "{:>3} {} \"{}\" {{",
        colored_symbol(symbol, palette),
        change.address.kind(),
        change.address.name()
    );
    let lines = attribute_lines(change);
    let width = lines.iter().map(|line| line.name.len()).max().unwrap_or(0);
    for line in lines {
        let name = format!("{:<width$}", line.name);
        let text = match &line.kind {
            LineKind::Added(value) => format!("{} {name} = {value}", palette.green("+")),
            LineKind::Removed(value) => format!("{} {name} = {value}", palette.red("-")),
            LineKind::Unchanged(value) => format!("  {name} = {value}"),
            LineKind::Changed(old, new) => {
                format!("{} {name} = {old} -> {new}", palette.yellow("~"))
            }
        };
        let _ = writeln!(out, "      {text}");
        if let Some(words) = &line.word_diff {
            let _ = writeln!(out, "      {}", render_word_diff(words, width, palette));
        }
    }
    out.push_str("    }\n");
    out
}

enum LineKind {
    Added(String),
    Removed(String),
    Unchanged(String),
    Changed(String, String),
}

struct AttributeLine {
    name: String,
    kind: LineKind,
    word_diff: Option<(String, String)>,
}

fn show(value: &Value) -> String {
    value.to_string()
}

fn attribute_lines(change: &Change) -> Vec<AttributeLine> {
    let line = |name: &str, kind: LineKind| AttributeLine {
        name: name.to_string(),
        kind,
        word_diff: None,
    };
    match (&change.before, &change.after) {
        (None, Some(after)) => after
            .iter()
            .map(|(name, value)| line(name, LineKind::Added(show(value))))
            .collect(),
        (Some(before), None) => before
            .iter()
            .map(|(name, value)| line(name, LineKind::Removed(show(value))))
            .collect(),
        (Some(before), Some(after)) => {
            let replacing = matches!(change.action, Action::Replace(_));
            let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|name| match (before.get(name), after.get(name)) {
                    (Some(old), _) if replacing && COMPUTED.contains(&name.as_str()) => line(
                        name,
                        LineKind::Changed(show(old), "(known after apply)".to_string()),
                    ),
                    (Some(old), Some(new)) if old == new => {
                        line(name, LineKind::Unchanged(show(old)))
                    }
                    (Some(old), Some(new)) => AttributeLine {
                        name: name.clone(),
                        kind: LineKind::Changed(show(old), show(new)),
                        word_diff: (name == "description")
                            .then(|| word_diff_worthy(old, new))
                            .flatten(),
                    },
                    (None, Some(new)) => line(name, LineKind::Added(show(new))),
                    (Some(old), None) => line(name, LineKind::Removed(show(old))),
                    (None, None) => unreachable!("name comes from one of the maps"),
                })
                .collect()
        }
        (None, None) => Vec::new(),
    }
}

/// A word diff (shown for descriptions) helps only when a side has several words.
fn word_diff_worthy(old: &Value, new: &Value) -> Option<(String, String)> {
    let (Value::String(old), Value::String(new)) = (old, new) else {
        return None;
    };
    let words = |text: &str| text.split_whitespace().count();
    (words(old) > 1 || words(new) > 1).then(|| (old.clone(), new.clone()))
}

/// `# words: Data [-platform-] {+team+}` — git's word-diff notation, readable without color.
fn render_word_diff(words: &(String, String), width: usize, palette: &Palette) -> String {
    let old: Vec<&str> = words.0.split_whitespace().collect();
    let new: Vec<&str> = words.1.split_whitespace().collect();
    let mut parts = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
        for change in op.iter_changes(&old, &new) {
            let word = change.value();
            parts.push(match change.tag() {
                ChangeTag::Equal => word.to_string(),
                ChangeTag::Delete => palette.red(&format!("[-{word}-]")),
                ChangeTag::Insert => palette.green(&format!("{{+{word}+}}")),
            });
        }
    }
    format!(
        "  {:width$}   {}{}",
        "",
        palette.dim("# words: "),
        parts.join(" ")
    )
}

#[cfg(test)]
mod tests;
