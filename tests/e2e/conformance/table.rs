//! The table of deliberate differences in `docs/api.md`, and the check of observed differences
//! against it.

use super::*;

/// The table of `docs/api.md` under [`TABLE_HEADING`]: `| case | difference | why |`.
pub(super) fn documented() -> Vec<Row> {
    let text = std::fs::read_to_string(API_DOC).expect("docs/api.md");
    let mut rows = Vec::new();
    let mut in_section = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            in_section = line.trim() == TABLE_HEADING;
            continue;
        }
        if !in_section || !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 3 || cells[0] == "case" || cells[0].starts_with("---") {
            continue;
        }
        let unquote = |cell: &str| cell.trim_matches('`').to_string();
        rows.push(Row {
            case: unquote(cells[0]),
            what: unquote(cells[1]),
            line: n + 1,
        });
    }
    assert!(
        !rows.is_empty(),
        "docs/api.md has no table under `{TABLE_HEADING}`"
    );
    rows
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub(super) fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// Checks the observed differences against the documented rows: every difference is
/// documented, every row still matches one, and no row is listed twice.
pub(super) fn check_against_table(found: &[Difference], rows: &[Row]) -> Result<(), String> {
    let mut problems = Vec::new();
    let matches = |row: &Row, d: &Difference| glob(&row.what, &d.what) && glob(&row.case, &d.case);
    for d in found {
        if !rows.iter().any(|row| matches(row, d)) {
            problems.push(format!(
                "undocumented difference: | `{}` | `{}` |",
                d.case, d.what
            ));
        }
    }
    for row in rows {
        if !found.iter().any(|d| matches(row, d)) {
            problems.push(format!(
                "docs/api.md:{}: stale row (no such difference any more): | `{}` | `{}` |",
                row.line, row.case, row.what
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for row in rows {
        if !seen.insert((&row.case, &row.what)) {
            problems.push(format!(
                "docs/api.md:{}: row listed twice: | `{}` | `{}` |",
                row.line, row.case, row.what
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
