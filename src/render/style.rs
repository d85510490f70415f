//! Colors for human output. Whether to color is decided once by the caller (terminal,
//! `NO_COLOR`, `--no-color`); renderers only ask the palette.

use console::Style;

/// The styles a renderer uses; all plain when color is off.
#[derive(Debug, Clone)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// A palette that colors when `enabled`.
    pub fn new(enabled: bool) -> Palette {
        Palette { enabled }
    }

    /// A palette that never colors.
    pub fn plain() -> Palette {
        Palette::new(false)
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    }

    /// Additions.
    pub fn green(&self, text: &str) -> String {
        self.paint(Style::new().green(), text)
    }

    /// Changes.
    pub fn yellow(&self, text: &str) -> String {
        self.paint(Style::new().yellow(), text)
    }

    /// Removals.
    pub fn red(&self, text: &str) -> String {
        self.paint(Style::new().red(), text)
    }

    /// Headers.
    pub fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Comments and reasons.
    pub fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dim(), text)
    }
}
