//! Diagnostics: where a problem is (byte spans in a source file while checking, then
//! `file:line:column` with the source line once finished) and how it is rendered, cargo-style,
//! with annotate-snippets.

use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

/// One configuration problem, located and ready to render.
///
/// `line` and `column` are 1-based, `column` counts characters. A problem about a whole path
/// (missing file, unreadable file, empty directory) has `line == 0` and `column == 0` and an
/// empty `source_line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// 1-based column in characters (0: the whole file).
    pub column: usize,
    /// What is wrong (the `error:` line).
    pub message: String,
    /// Short text shown next to the caret (may be empty).
    pub label: String,
    /// Optional `= help:` line: how to fix it.
    pub help: Option<String>,
    /// Other places involved, e.g. where a duplicate was first declared.
    pub related: Vec<Related>,
    /// The text of line `line`, without its line ending.
    pub source_line: String,
    /// How many characters the caret underlines (at least 1 when located).
    pub width: usize,
}

/// A secondary location of a [`Diagnostic`], such as "first declared here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    /// What this place is.
    pub label: String,
    /// The text of line `line`, without its line ending.
    pub source_line: String,
    /// How many characters are underlined.
    pub width: usize,
}

impl std::fmt::Display for Diagnostic {
    /// One line: `file:line:column: message` (the full rendering is [`render`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// A source file being checked: its path, text and line starts.
#[derive(Debug)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    lines: super::line_index::LineIndex,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let lines = super::line_index::LineIndex::new(&text);
        SourceFile { path, text, lines }
    }

    /// 0-based line index holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    /// Byte range of line `index` without its line ending.
    fn line_range(&self, index: usize) -> Range<usize> {
        self.lines.range(&self.text, index)
    }

    /// Clamps `offset` into the text and back onto a character boundary.
    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// 1-based line, 1-based character column, the line text, and the caret width in
    /// characters (the span clipped to its first line, at least 1).
    pub fn locate(&self, span: &Range<usize>) -> (usize, usize, String, usize) {
        let (index, line, start) = self.place(span.start);
        let end = self.clamp(span.end).clamp(start, line.end);
        let column = self.text[line.start..start].chars().count() + 1;
        let width = self.text[start..end].chars().count().max(1);
        (index + 1, column, self.text[line].to_string(), width)
    }

    /// 1-based line and 1-based character column of `offset`: what every object's
    /// [`crate::model::Origin`] needs, without the line text a diagnostic shows.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let (index, line, start) = self.place(offset);
        (index + 1, self.text[line.start..start].chars().count() + 1)
    }

    /// The 0-based line index of `offset`, that line's byte range, and `offset` clamped
    /// into it.
    fn place(&self, offset: usize) -> (usize, Range<usize>, usize) {
        let start = self.clamp(offset);
        let index = self.line_index(start);
        let line = self.line_range(index);
        let start = start.min(line.end);
        (index, line, start)
    }
}

/// A place in a source file: the file's index in the source list and a byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: usize,
    pub span: Range<usize>,
}

impl Loc {
    /// Declaration order: file read order, then position in the file.
    pub fn order(&self) -> (usize, usize) {
        (self.file, self.span.start)
    }
}

/// A problem found while checking, located by byte span; turned into a [`Diagnostic`] at the
/// end, when every source is known.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// `None`: about a whole path (I/O problems), see `path`.
    pub loc: Option<Loc>,
    pub path: Option<PathBuf>,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    pub related: Vec<(Loc, String)>,
}

impl Problem {
    pub fn at(loc: Loc, message: impl Into<String>) -> Self {
        Problem {
            loc: Some(loc),
            path: None,
            message: message.into(),
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn about_path(path: &Path, message: impl Into<String>) -> Self {
        Problem {
            loc: None,
            path: Some(path.to_path_buf()),
            message: message.into(),
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.related.push((loc, label.into()));
        self
    }

    /// Sort key: path problems first, then by file and position.
    pub fn sort_key(&self) -> (usize, usize, usize) {
        match &self.loc {
            None => (0, 0, 0),
            Some(loc) => (1, loc.file, loc.span.start),
        }
    }

    /// Locates the problem in `sources`.
    pub fn finish(self, sources: &[SourceFile]) -> Diagnostic {
        let related = self
            .related
            .into_iter()
            .filter_map(|(loc, label)| {
                let source = sources.get(loc.file)?;
                let (line, column, source_line, width) = source.locate(&loc.span);
                Some(Related {
                    file: source.path.clone(),
                    line,
                    column,
                    label,
                    source_line,
                    width,
                })
            })
            .collect();
        match self.loc.and_then(|loc| Some((sources.get(loc.file)?, loc))) {
            Some((source, loc)) => {
                let (line, column, source_line, width) = source.locate(&loc.span);
                Diagnostic {
                    file: source.path.clone(),
                    line,
                    column,
                    message: self.message,
                    label: self.label,
                    help: self.help,
                    related,
                    source_line,
                    width,
                }
            }
            None => Diagnostic {
                file: self.path.unwrap_or_default(),
                line: 0,
                column: 0,
                message: self.message,
                label: self.label,
                help: self.help,
                related,
                source_line: String::new(),
                width: 0,
            },
        }
    }
}

/// Byte range in `line` of `width` characters starting at 1-based character `column`.
fn byte_range(line: &str, column: usize, width: usize) -> Range<usize> {
    let mut offsets = line
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(line.len()));
    let start = offsets.nth(column.saturating_sub(1)).unwrap_or(line.len());
    let end = line[start..]
        .char_indices()
        .map(|(i, _)| start + i)
        .chain(std::iter::once(line.len()))
        .nth(width)
        .unwrap_or(line.len());
    start..end
}

/// Renders every diagnostic like cargo/rustc (`error: …`, ` --> file:line:column`, the source
/// line and a caret), followed by a summary line `N error(s) in configuration`. `styled`
/// adds ANSI colors; the caller decides (terminal, `NO_COLOR`, `--no-color`).
pub fn render(diagnostics: &[Diagnostic], styled: bool) -> String {
    let renderer = if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        let file = d.file.display().to_string();
        let mut group: Group<'_> = if d.line == 0 {
            Level::ERROR
                .primary_title(d.message.as_str())
                .element(Origin::path(file))
        } else {
            Level::ERROR.primary_title(d.message.as_str()).element(
                Snippet::source(d.source_line.as_str())
                    .line_start(d.line)
                    .path(file)
                    .fold(false)
                    .annotation(
                        AnnotationKind::Primary
                            .span(byte_range(&d.source_line, d.column, d.width))
                            .label(d.label.as_str()),
                    ),
            )
        };
        for r in &d.related {
            group = group.element(
                Snippet::source(r.source_line.as_str())
                    .line_start(r.line)
                    .path(r.file.display().to_string())
                    .fold(false)
                    .annotation(
                        AnnotationKind::Context
                            .span(byte_range(&r.source_line, r.column, r.width))
                            .label(r.label.as_str()),
                    ),
            );
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
    }
    let n = diagnostics.len();
    out.push_str(&format!(
        "{n} {} in configuration\n",
        if n == 1 { "error" } else { "errors" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_counts_characters_and_clips_to_the_line() {
        let src = SourceFile::new("f.toml".into(), "a = 1\r\nb = \"한글\" x\nlast".into());
        let x = src.text.find('x').unwrap();
        assert_eq!(src.locate(&(x..x + 1)), (2, 10, "b = \"한글\" x".into(), 1));
        // A span running over the end of its line is clipped to that line.
        assert_eq!(src.locate(&(0..12)), (1, 1, "a = 1".into(), 5));
        // Past the end: the last line, still a 1-wide caret.
        assert_eq!(src.locate(&(999..1000)), (3, 5, "last".into(), 1));
        assert_eq!(src.position(x), (2, 10));
        assert_eq!(src.position(999), (3, 5));
    }

    #[test]
    fn byte_range_maps_character_columns() {
        assert_eq!(byte_range("b = \"한글\" x", 10, 1), 13..14);
        assert_eq!(byte_range("", 1, 1), 0..0);
    }

    #[test]
    fn render_is_plain_and_cargo_like() {
        let d = Diagnostic {
            file: "infra/projects.toml".into(),
            line: 3,
            column: 1,
            message: "unknown key `nicknme` in `project.analytics`".into(),
            label: "did you mean `nickname`?".into(),
            help: None,
            related: vec![],
            source_line: "nicknme = \"Analytics\"".into(),
            width: 7,
        };
        let out = render(&[d], false);
        assert_eq!(
            out,
            "error: unknown key `nicknme` in `project.analytics`\n \
             --> infra/projects.toml:3:1\n  \
             |\n\
             3 | nicknme = \"Analytics\"\n  \
             | ^^^^^^^ did you mean `nickname`?\n\n\
             1 error in configuration\n"
        );
        assert!(!out.contains('\x1b'));
    }
}
