//! The markdown plan for a pull-request comment: the summary first, a warning banner when
//! anything is destroyed, deactivated or replaced, a table of changes, drift notes, and the full
//! human plan inside `<details>` in a `diff` block. Never longer than [`MAX_LEN`] characters:
//! past that, the table and the full plan are cut with a note saying how much was left out.
//!
//! Every piece of user or live text (names, nicknames, descriptions, rotation values, reasons,
//! drift notes) goes through `text` or `code`, or inside a fence longer than any backtick run
//! it holds: a reviewer trusts this comment, so no value may open HTML or a comment, close the
//! table cell or the code block, or start a block of its own.

use std::fmt::Write as _;

use crate::plan::{Action, Plan};

use super::{Palette, human};

/// GitHub's limit for a comment body.
pub const MAX_LEN: usize = 65_536;
/// Room kept for the closing lines and truncation notes.
const RESERVE: usize = 1_024;

fn action_label(action: Action) -> &'static str {
    match action {
        Action::Create => "🟢 create",
        Action::Update => "🟡 update",
        Action::Activate => "🟡 activate",
        Action::Deactivate => "🟠 deactivate",
        Action::Delete => "🔴 destroy",
        Action::Replace(_) => "🟣 replace",
    }
}

/// Moves each line's change symbol to the first column (GitHub colors `diff` blocks by it) and
/// shows in-place changes as `!`, which GitHub colors as a change.
fn diff_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    for symbol in ["+/-", "-/+"] {
        if let Some(rest) = trimmed.strip_prefix(symbol) {
            let lead = if symbol == "+/-" { "+" } else { "-" };
            return format!(
                "{lead}{}{symbol}{rest}",
                " ".repeat(indent.saturating_sub(1))
            );
        }
    }
    for (symbol, lead) in [("+ ", "+"), ("- ", "-"), ("~ ", "!")] {
        if let Some(rest) = trimmed.strip_prefix(symbol) {
            let pad = " ".repeat(indent.saturating_sub(1));
            return format!("{lead}{pad} {rest}");
        }
    }
    line.to_string()
}

/// Inline text shown as written: every ASCII punctuation character is backslash-escaped (which
/// CommonMark allows for all of them, and GFM honours inside table cells for `|`), so `<`, `&`,
/// `` ` ``, `*`, `[`, `|`, `#`… stay literal; line breaks and other control characters become
/// spaces, so a value cannot end its line, list item or table row.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().map(visible) {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Control characters become spaces, and the invisible marks that reorder or hide text
/// (bidirectional overrides and isolates) become `�`, so what a reviewer reads is what the
/// value holds.
fn visible(c: char) -> char {
    match c {
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
        c if c.is_control() => ' ',
        c => c,
    }
}

/// A code span holding `value` literally: delimited by more backticks than its longest run, padded
/// when it starts or ends with a backtick or a space (CommonMark strips one space each side),
/// with `|` escaped when it sits in a table cell (GFM splits cells before reading code spans).
fn code(value: &str, in_table: bool) -> String {
    let flat: String = value.chars().map(visible).collect();
    let flat = if in_table {
        flat.replace('|', "\\|")
    } else {
        flat
    };
    let ticks = "`".repeat(longest_backtick_run(&flat) + 1);
    let pad = if flat.starts_with(['`', ' ']) || flat.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{flat}{pad}{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Renders the markdown comment.
pub fn render(plan: &Plan, checksum: &str) -> String {
    let summary = plan.summary();
    let mut head = String::new();
    if plan.is_empty() {
        let _ = writeln!(head, "### kcform plan: no changes\n");
        let _ = writeln!(head, "{}", human::NO_CHANGES);
    } else {
        let _ = writeln!(
            head,
            "### kcform plan: {} to add, {} to change, {} to deactivate, {} to destroy\n",
            summary.add, summary.change, summary.deactivate, summary.destroy
        );
    }
    if plan.is_destructive() {
        let count = |f: fn(Action) -> bool| plan.changes.iter().filter(|c| f(c.action)).count();
        let _ = writeln!(
            head,
            "> [!WARNING]\n> This plan **destroys {}**, **deactivates {}** and **replaces {}** object(s). \
             Destroyed access keys and deactivated service accounts stop working immediately; review them below.\n",
            count(|a| a == Action::Delete),
            count(|a| a == Action::Deactivate),
            count(|a| matches!(a, Action::Replace(_)))
        );
    }
    if !plan.denied.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> The credential cannot perform {} of these {} operation(s); `kcform apply` will refuse:",
            plan.denied.len(),
            plan.changes.len()
        );
        for denied in plan.denied.iter().take(50) {
            let _ = writeln!(
                head,
                "> - {} {}: {}",
                denied.action,
                code(&denied.address.to_string(), false),
                text(&denied.reason)
            );
        }
        if plan.denied.len() > 50 {
            let _ = writeln!(head, "> - … and {} more", plan.denied.len() - 50);
        }
        head.push('\n');
    }
    if !plan.drift.is_empty() {
        let _ = writeln!(head, "**Changed outside kcform since the last apply:**\n");
        for drift in &plan.drift {
            let _ = writeln!(
                head,
                "- {}: {}",
                code(&drift.address.to_string(), false),
                text(&drift.notes.join("; "))
            );
        }
        head.push('\n');
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(head, "**No longer declared:**\n");
        for unmanaged in &plan.unmanaged {
            let _ = writeln!(
                head,
                "- {}: {}",
                code(&unmanaged.address.to_string(), false),
                text(&human::unmanaged_text(unmanaged))
            );
        }
        head.push('\n');
    }
    if !plan.unrecorded_rotations.is_empty() {
        let _ = writeln!(head, "**No record of these keys' rotation values:**\n");
        for unrecorded in &plan.unrecorded_rotations {
            let _ = writeln!(
                head,
                "- {}: {}",
                code(&unrecorded.address.to_string(), false),
                text(&human::unrecorded_rotation_text(unrecorded))
            );
        }
        head.push('\n');
    }
    let footer = format!("\nPlan checksum: `{checksum}`\n");
    if plan.is_empty() {
        return format!("{head}{footer}");
    }

    let budget = MAX_LEN - RESERVE - head.len() - footer.len();
    let mut table = String::from("| Action | Address | Why |\n|---|---|---|\n");
    let mut shown = 0;
    for change in &plan.changes {
        let row = format!(
            "| {} | {}{} | {} |\n",
            action_label(change.action),
            code(&change.address.to_string(), true),
            change
                .deposed
                .as_ref()
                .map(|id| format!(" (deposed {})", code(id, true)))
                .unwrap_or_default(),
            text(&change.reasons.join("; "))
        );
        if table.len() + row.len() > budget / 2 {
            break;
        }
        table.push_str(&row);
        shown += 1;
    }
    if shown < plan.changes.len() {
        let _ = writeln!(
            table,
            "\n_… and {} more change(s) not listed: the plan is too long for one comment._",
            plan.changes.len() - shown
        );
    }

    let full: Vec<String> = human::render(plan, &Palette::plain())
        .lines()
        .map(|line| diff_line(line).chars().map(visible).collect())
        .collect();
    let room = budget.saturating_sub(table.len()).saturating_sub(200);
    let mut block = String::new();
    let mut lines_shown = 0;
    for line in &full {
        if block.len() + line.len() + 1 > room {
            break;
        }
        block.push_str(line);
        block.push('\n');
        lines_shown += 1;
    }
    let cut = if lines_shown < full.len() {
        format!(
            "\n_The full plan was cut after {lines_shown} of {} lines; run `kcform show` on the saved plan to read all of it._\n",
            full.len()
        )
    } else {
        String::new()
    };
    // A fence closes only on a run of backticks at least as long as the one that opened it.
    let fence = "`".repeat((longest_backtick_run(&block) + 1).max(3));
    let comment = format!(
        "{head}{table}\n<details><summary>Full plan</summary>\n\n{fence}diff\n{block}{fence}\n{cut}</details>\n{footer}"
    );
    debug_assert!(comment.chars().count() <= MAX_LEN);
    comment
}
