//! Where the lines of one text start: the one line index behind diagnostics' locations and the
//! syntax checker's line scans. A line's range never includes its line ending, `\n` or `\r\n`,
//! so a file with Windows line endings is located exactly as one without.

use std::ops::Range;

/// Line starts of one text.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// 0-based index of the line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte range of line `index` in `text` (the text indexed), without its line ending.
    pub fn range(&self, text: &str, index: usize) -> Range<usize> {
        let start = self.starts[index];
        let end = self.starts.get(index + 1).map_or(self.len, |next| next - 1);
        let line = &text[start..end];
        start..start + line.strip_suffix('\r').unwrap_or(line).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_before_their_line_ending_either_way() {
        for text in ["a = 1\nbb = 2\n", "a = 1\r\nbb = 2\r\n"] {
            let index = LineIndex::new(text);
            let second = text.find("bb").unwrap();
            assert_eq!(index.line_of(second), 1);
            assert_eq!(&text[index.range(text, 1)], "bb = 2");
            assert_eq!(&text[index.range(text, 0)], "a = 1");
            assert_eq!(index.line_of(0), 0);
        }
    }
}
