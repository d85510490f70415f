//! Durations written as a whole number and one unit (`90d`, `30s`): the one parser behind
//! `max_age` in the configuration and `KCFORM_HTTP_TIMEOUT` in the environment, each with the
//! units it allows. Callers turn a [`DurationProblem`] into their own message.

use std::time::Duration;

/// A unit a caller allows: its suffix and its length.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// What follows the number (`h`, `ms`…).
    pub suffix: &'static str,
    /// How long one of it is.
    pub length: Duration,
}

/// Why a text is not a duration in the allowed units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationProblem<'a> {
    /// Nothing was written.
    Empty,
    /// It does not start with a number.
    NoNumber,
    /// A number without a unit.
    NoUnit {
        /// The number as written.
        digits: &'a str,
    },
    /// A unit not among the allowed ones.
    UnknownUnit {
        /// The number as written.
        digits: &'a str,
        /// What follows it.
        unit: &'a str,
    },
    /// Too long to represent.
    TooLarge,
}

/// Parses `text` (surrounding spaces ignored) as a whole number followed by one of `units`.
pub fn parse<'a>(text: &'a str, units: &[Unit]) -> Result<Duration, DurationProblem<'a>> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationProblem::Empty);
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(DurationProblem::NoNumber);
    }
    if unit.is_empty() {
        return Err(DurationProblem::NoUnit { digits });
    }
    let Some(found) = units.iter().find(|u| u.suffix == unit) else {
        return Err(DurationProblem::UnknownUnit { digits, unit });
    };
    digits
        .parse::<u32>()
        .ok()
        .and_then(|n| found.length.checked_mul(n))
        .ok_or(DurationProblem::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNITS: [Unit; 2] = [
        Unit {
            suffix: "ms",
            length: Duration::from_millis(1),
        },
        Unit {
            suffix: "h",
            length: Duration::from_secs(3600),
        },
    ];

    #[test]
    fn a_number_and_an_allowed_unit_is_a_duration() {
        assert_eq!(parse("250ms", &UNITS), Ok(Duration::from_millis(250)));
        assert_eq!(parse(" 2h ", &UNITS), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("0h", &UNITS), Ok(Duration::ZERO));
    }

    #[test]
    fn every_other_text_says_what_is_wrong() {
        assert_eq!(parse("", &UNITS), Err(DurationProblem::Empty));
        assert_eq!(parse("h", &UNITS), Err(DurationProblem::NoNumber));
        assert_eq!(
            parse("90", &UNITS),
            Err(DurationProblem::NoUnit { digits: "90" })
        );
        assert_eq!(
            parse("3d", &UNITS),
            Err(DurationProblem::UnknownUnit {
                digits: "3",
                unit: "d"
            })
        );
        assert_eq!(
            parse("99999999999h", &UNITS),
            Err(DurationProblem::TooLarge)
        );
    }
}
