//! TOML syntax: parses one file with `toml`'s spanned, error-recovering parser and turns its
//! errors into located problems. TOML's own "duplicate key" errors (a table header or key written
//! twice in one file) are reworded and, where the first definition can be found, point at it too.

use std::ops::Range;

use toml::Spanned;
use toml::de::DeTable;

use super::diagnostic::{Loc, Problem};

/// Parses `text` (file number `file`). Returns the tree and whether it can be checked further:
/// after real syntax errors the recovered tree may lack parts of the file, so checking it would
/// report errors that are not there; after duplicate-key errors alone it is complete (the first
/// definition wins).
pub(crate) fn parse<'i>(
    file: usize,
    text: &'i str,
    problems: &mut Vec<Problem>,
) -> (Spanned<DeTable<'i>>, bool) {
    let (tree, errors) = DeTable::parse_recoverable(text);
    let lines = Lines::new(text);
    let mut usable = true;
    let mut seen_lines = Vec::new();
    let mut duplicate_headers = Vec::new();
    for error in &errors {
        let span = error.span().unwrap_or(0..0);
        let line = lines.index_of(span.start);
        if error.message() == "duplicate key" {
            if let Some(problem) = duplicate(file, &lines, line, span, &mut duplicate_headers) {
                problems.push(problem);
            }
        } else {
            usable = false;
            // One error per line: after the first, the recovering parser's guesses on the
            // same line are mostly echoes of it.
            if !seen_lines.contains(&line) {
                seen_lines.push(line);
                problems.push(
                    Problem::at(
                        Loc { file, span },
                        format!("invalid TOML: {}", error.message()),
                    )
                    .label("here"),
                );
            }
        }
    }
    (tree, usable)
}

/// A duplicate-key problem, or `None` when it only echoes a duplicate table header above it
/// (the keys of a repeated `[table]` are reported as duplicates too).
fn duplicate(
    file: usize,
    lines: &Lines<'_>,
    line: usize,
    span: Range<usize>,
    duplicate_headers: &mut Vec<usize>,
) -> Option<Problem> {
    let here = Loc {
        file,
        span: span.clone(),
    };
    let text = lines.text(line);
    if let Some(header) = header_path(text) {
        duplicate_headers.push(line);
        // Underline the whole header, as duplicates across files do, not only its last key.
        let here = Loc {
            file,
            span: lines.header_span(line, span.end).unwrap_or(span),
        };
        let first = (0..line).find(|&l| header_path(lines.text(l)).as_deref() == Some(&header));
        let mut problem = Problem::at(
            here,
            format!("table `{header}` is defined twice in this file"),
        )
        .label("defined again here")
        .help("TOML allows each table once per file; merge the two tables");
        if let Some(first) = first {
            problem = problem.related(lines.loc(file, first), "first defined here");
        }
        return Some(problem);
    }
    let enclosing = (0..line)
        .rev()
        .find(|&l| header_path(lines.text(l)).is_some());
    if enclosing.is_some_and(|h| duplicate_headers.contains(&h)) {
        return None;
    }
    let key = key_path(text);
    let first = key.as_ref().and_then(|key| {
        let from = enclosing.map_or(0, |h| h + 1);
        (from..line).find(|&l| key_path(lines.text(l)).as_ref() == Some(key))
    });
    let name = key.unwrap_or_else(|| lines.slice(span).to_string());
    let mut problem = Problem::at(here, format!("key `{name}` is defined twice in this table"))
        .label("defined again here")
        .help("TOML allows each key once per table; remove one of them");
    if let Some(first) = first {
        problem = problem.related(lines.loc(file, first), "first defined here");
    }
    Some(problem)
}

/// `line` with whitespace outside quotes removed, up to the first unquoted `stop`; and whether
/// `stop` was found.
fn squeeze_until(line: &str, stop: char) -> (String, bool) {
    let mut out = String::new();
    let mut quote = None;
    for c in line.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == stop => return (out, true),
            None if c.is_whitespace() => {}
            None => out.push(c),
        }
    }
    (out, false)
}

/// `[a . "b"]` → `[a."b"]` (whitespace outside quotes removed); `None` if not a header line.
fn header_path(line: &str) -> Option<String> {
    let line = line.trim_start();
    if !line.starts_with('[') {
        return None;
    }
    let (mut out, _) = squeeze_until(line, '#');
    let end = out.rfind(']')?;
    out.truncate(end + 1);
    Some(out)
}

/// The key of a `key = value` line, whitespace outside quotes removed.
fn key_path(line: &str) -> Option<String> {
    let (out, found) = squeeze_until(line, '=');
    (found && !out.is_empty()).then_some(out)
}

/// Line lookup for one text.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn index_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    fn range(&self, line: usize) -> Range<usize> {
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .map_or(self.text.len(), |next| next - 1);
        start..end
    }

    fn text(&self, line: usize) -> &'a str {
        &self.text[self.range(line)]
    }

    fn slice(&self, span: Range<usize>) -> &'a str {
        self.text.get(span).unwrap_or_default()
    }

    /// From the header's `[` to its closing `]` (or `]]`), the first one at or after `from`.
    fn header_span(&self, line: usize, from: usize) -> Option<Range<usize>> {
        let range = self.range(line);
        let text = &self.text[range.clone()];
        let start = range.start + (text.len() - text.trim_start().len());
        let close = from.checked_sub(range.start)?;
        let rest = text.get(close..)?;
        let mut end = range.start + close + rest.find(']')? + 1;
        if self.text[end..].starts_with(']') {
            end += 1;
        }
        Some(start..end)
    }

    /// The line's first non-blank character onwards.
    fn loc(&self, file: usize, line: usize) -> Loc {
        let range = self.range(line);
        let text = &self.text[range.clone()];
        let indent = text.len() - text.trim_start().len();
        let content = text.trim();
        Loc {
            file,
            span: range.start + indent..range.start + indent + content.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_key_paths_are_normalised() {
        assert_eq!(
            header_path(" [ project . a ] # x").as_deref(),
            Some("[project.a]")
        );
        assert_eq!(
            header_path("[project.\"a b\"]").as_deref(),
            Some("[project.\"a b\"]")
        );
        assert_eq!(header_path("[[x]]").as_deref(), Some("[[x]]"));
        assert_eq!(header_path("a = 1"), None);
        assert_eq!(
            key_path("  nickname = \"a=b\"").as_deref(),
            Some("nickname")
        );
        assert_eq!(key_path("a . b = 1").as_deref(), Some("a.b"));
        assert_eq!(key_path("\"x = y\" = 1").as_deref(), Some("\"x = y\""));
        assert_eq!(key_path("[a]"), None);
    }

    #[test]
    fn syntax_errors_are_located_and_make_the_tree_unusable() {
        let mut problems = Vec::new();
        let (_, usable) = parse(0, "a = 1\nb = \"open\nc = 2\n", &mut problems);
        assert!(!usable);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.starts_with("invalid TOML"));
        // At the end of line 2, where the closing quote is missing.
        assert_eq!(problems[0].loc.as_ref().unwrap().span.start, 15);
    }

    #[test]
    fn duplicates_keep_the_tree_usable_and_name_the_first_definition() {
        let text = "[p]\nx = 1\nx = 2\n[q]\n[p]\nx = 3\n";
        let mut problems = Vec::new();
        let (_, usable) = parse(0, text, &mut problems);
        assert!(usable);
        // `x = 3` under the repeated `[p]` is not reported again.
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0].message,
            "key `x` is defined twice in this table"
        );
        assert_eq!(problems[0].related[0].0.span, 4..9);
        assert_eq!(
            problems[1].message,
            "table `[p]` is defined twice in this file"
        );
        assert_eq!(problems[1].related[0].0.span, 0..3);
    }
}
