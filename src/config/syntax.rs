//! TOML syntax: parses one file with `toml`'s spanned, error-recovering parser and turns its
//! errors into located problems. TOML's own "duplicate key" errors (a table header or key written
//! twice in one file) are reworded and, where the first definition can be found, point at it too;
//! `[[project]]` after `[project.<name>]` says that `project` is a table of named projects.
//! Nesting beyond `toml`'s limit is reported where it is: a dotted key with too many parts (an
//! error `toml` gives without a location) is found in the text, inline tables and arrays nested
//! too deeply at the bracket where the limit is crossed.

use std::ops::Range;

use toml::Spanned;
use toml::de::DeTable;

use super::diagnostic::{Loc, Problem};
use super::parse::Collection;

/// `toml`'s nesting limit (`LIMIT` in its parser, which it does not export): a dotted key may
/// have at most this many parts, and inline tables and arrays may nest this deep. The test
/// `toml_nesting_limits_are_the_ones_assumed` fails if `toml` changes it.
pub(crate) const TOML_NESTING_MAX: usize = 80;
/// `toml`'s message, without a location, for a dotted key with too many parts.
const KEY_TOO_DEEP: &str = "recursion limit";
/// `toml`'s message for inline tables or arrays nested too deeply.
const VALUE_TOO_DEEP: &str = "cannot recurse further; max recursion depth met";

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
    // Found only when `toml` reports a key too deep, which it does without a location.
    let mut deep_keys: Option<std::vec::IntoIter<(Range<usize>, usize)>> = None;
    for error in &errors {
        if error.message() == "duplicate key" {
            let span = error.span().unwrap_or(0..0);
            let line = lines.index_of(span.start);
            if let Some(problem) = duplicate(file, &lines, line, span, &mut duplicate_headers) {
                problems.push(problem);
            }
            continue;
        }
        usable = false;
        let (span, message, label) = match (error.span(), error.message()) {
            (None, KEY_TOO_DEEP) => {
                let deep = deep_keys
                    .get_or_insert_with(|| deep_dotted_keys(text).into_iter())
                    .next();
                match deep {
                    Some((span, parts)) => (
                        span,
                        format!(
                            "invalid TOML: this dotted key has {parts} parts; at most \
                             {TOML_NESTING_MAX} are supported (each part is a nested table)"
                        ),
                        "nested too deeply",
                    ),
                    None => (
                        0..0,
                        format!(
                            "invalid TOML: a dotted key has more than {TOML_NESTING_MAX} parts \
                             (each part is a nested table)"
                        ),
                        "somewhere in this file",
                    ),
                }
            }
            (span, VALUE_TOO_DEEP) => (
                span.unwrap_or(0..0),
                format!(
                    "invalid TOML: inline tables and arrays are nested more than \
                     {TOML_NESTING_MAX} levels deep"
                ),
                "nested too deeply",
            ),
            (span, message) => (
                span.unwrap_or(0..0),
                format!("invalid TOML: {message}"),
                "here",
            ),
        };
        let line = lines.index_of(span.start);
        // One error per line: after the first, the recovering parser's guesses on the
        // same line are mostly echoes of it.
        if !seen_lines.contains(&line) {
            seen_lines.push(line);
            problems.push(Problem::at(Loc { file, span }, message).label(label));
        }
    }
    (tree, usable)
}

/// Every dotted key of `text` with more than [`TOML_NESTING_MAX`] parts, in order: its span
/// and its number of parts. A key is a run of bare or quoted keys joined by dots (whitespace
/// allowed around them) and followed by `=` (a key-value pair) or `]` (a table header); a run
/// that long is nothing else. One pass over the text, without recursion.
fn deep_dotted_keys(text: &str) -> Vec<(Range<usize>, usize)> {
    let bytes = text.as_bytes();
    let skip_blank = |mut i: usize| {
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        i
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                // A comment runs to the end of its line.
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n);
            }
            _ => match simple_key_end(bytes, i) {
                None => i += 1,
                Some(mut end) => {
                    let start = i;
                    let mut parts = 1;
                    loop {
                        let dot = skip_blank(end);
                        if bytes.get(dot) != Some(&b'.') {
                            break;
                        }
                        match simple_key_end(bytes, skip_blank(dot + 1)) {
                            Some(next) => {
                                parts += 1;
                                end = next;
                            }
                            None => break,
                        }
                    }
                    let after = bytes.get(skip_blank(end));
                    if parts > TOML_NESTING_MAX && matches!(after, Some(b'=' | b']')) {
                        found.push((start..end, parts));
                    }
                    i = end;
                }
            },
        }
    }
    found
}

/// The end of the simple key (bare, `"basic"` or `'literal'`) starting at `start`, if one
/// does; never past the end of its line.
fn simple_key_end(bytes: &[u8], start: usize) -> Option<usize> {
    let bare = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    match *bytes.get(start)? {
        b if bare(b) => Some(
            bytes[start..]
                .iter()
                .position(|&b| !bare(b))
                .map_or(bytes.len(), |n| start + n),
        ),
        quote @ (b'"' | b'\'') => {
            let mut i = start + 1;
            while i < bytes.len() && bytes[i] != b'\n' {
                if bytes[i] == b'\\' && quote == b'"' {
                    i += 2;
                } else if bytes[i] == quote {
                    return Some(i + 1);
                } else {
                    i += 1;
                }
            }
            None
        }
        _ => None,
    }
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
        if let Some(problem) = array_over_table(file, lines, line, &header) {
            return Some(problem);
        }
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

/// `[[P]]` where `P` is already a table (`[P]`, `[P.x]` or a dotted key above it): kcform's
/// configuration has no arrays of tables, and `P` is usually a table of named objects, such
/// as `project` with `[project.<name>]`. `None` when `header` is not `[[…]]`.
fn array_over_table(file: usize, lines: &Lines<'_>, line: usize, header: &str) -> Option<Problem> {
    let path = header.strip_prefix("[[")?.strip_suffix("]]")?;
    let here = lines.loc(file, line);
    let segments = split_path(path);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (message, help) = match Collection::at(&segments) {
        Some(collection) => collection.array_of_tables(),
        None => (
            format!("`{path}` must be a table, not an array of tables"),
            format!(
                "`[[…]]` declares an array of tables, which kcform's configuration does not use; \
                 write the table once, as `[{path}]`"
            ),
        ),
    };
    let label = match Collection::at(&segments) {
        Some(collection) => format!("expected {}", collection.expected),
        None => "an array of tables".to_string(),
    };
    let mut problem = Problem::at(here, message).label(label).help(help);
    let inside = format!("{path}.");
    let table_above = (0..line).find(|&l| {
        let text = lines.text(l);
        match header_path(text) {
            Some(above) => {
                let above = above.trim_start_matches('[').trim_end_matches(']');
                above == path || above.starts_with(&inside)
            }
            None => key_path(text).is_some_and(|key| key.starts_with(&inside)),
        }
    });
    if let Some(above) = table_above {
        problem = problem.related(lines.loc(file, above), format!("`{path}` is a table here"));
    }
    Some(problem)
}

/// The parts of a dotted path as written (`project."a b".x` → `project`, `a b`, `x`), quotes
/// removed; whitespace outside quotes is already gone (see [`squeeze_until`]).
fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote = None;
    for c in path.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => parts.last_mut().expect("one part").push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '.' => parts.push(String::new()),
            None => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
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

/// Line lookup for one text (see [`super::line_index::LineIndex`]).
struct Lines<'a> {
    text: &'a str,
    index: super::line_index::LineIndex,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            index: super::line_index::LineIndex::new(text),
        }
    }

    fn index_of(&self, offset: usize) -> usize {
        self.index.line_of(offset)
    }

    fn range(&self, line: usize) -> Range<usize> {
        self.index.range(self.text, line)
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

    /// Whether `text` parses without syntax errors (duplicates aside).
    fn parses(text: &str) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let (_, usable) = parse(0, text, &mut problems);
        if usable {
            Ok(())
        } else {
            Err(problems.into_iter().map(|p| p.message).collect())
        }
    }

    #[test]
    fn toml_nesting_limits_are_the_ones_assumed() {
        let key = |parts: usize| vec!["a"; parts].join(".");
        assert_eq!(parses(&format!("{} = 1\n", key(TOML_NESTING_MAX))), Ok(()));
        assert_eq!(parses(&format!("[{}]\n", key(TOML_NESTING_MAX))), Ok(()));
        let too_many = parses(&format!("{} = 1\n", key(TOML_NESTING_MAX + 1))).unwrap_err();
        assert_eq!(
            too_many,
            [
                "invalid TOML: this dotted key has 81 parts; at most 80 are supported (each part is \
              a nested table)"
            ]
        );
        let nested = |depth: usize| format!("x = {}1{}\n", "{a=".repeat(depth), "}".repeat(depth));
        assert_eq!(parses(&nested(TOML_NESTING_MAX)), Ok(()));
        assert_eq!(
            parses(&nested(TOML_NESTING_MAX + 1)).unwrap_err(),
            ["invalid TOML: inline tables and arrays are nested more than 80 levels deep"]
        );
    }

    #[test]
    fn deep_dotted_keys_are_found_with_their_spans() {
        let deep = vec!["a"; 81].join(".");
        let quoted = vec!["'x.y'"; 90].join(" . ");
        let text = format!(
            "# {deep} = in a comment\nv = \"{deep}]\"\n[{deep}]\nshort.key = 1\nt = {{ {quoted} = 1 }}\n"
        );
        let header = text.find(&format!("[{deep}]")).unwrap() + 1;
        let inline = text.find(&quoted).unwrap();
        assert_eq!(
            deep_dotted_keys(&text),
            [
                (header..header + deep.len(), 81),
                (inline..inline + quoted.len(), 90)
            ]
        );
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
