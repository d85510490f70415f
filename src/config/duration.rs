//! `max_age` values: a positive whole number and one unit, `h` (hours), `d` (days) or `w`
//! (weeks), e.g. `12h`, `90d`, `2w`.
//!
//! Minutes and seconds are refused on purpose: `6m` reads as "six months" to many people and as
//! "six minutes" to others, and a key whose maximum age is minutes would be replaced on every
//! apply. Months and years are refused because their length varies.

use std::time::Duration;

use crate::duration::{DurationProblem, Unit, parse};
use crate::model::MaxAge;

const HOUR: u64 = 60 * 60;
const UNITS: [Unit; 3] = [
    Unit {
        suffix: "h",
        length: Duration::from_secs(HOUR),
    },
    Unit {
        suffix: "d",
        length: Duration::from_secs(24 * HOUR),
    },
    Unit {
        suffix: "w",
        length: Duration::from_secs(7 * 24 * HOUR),
    },
];

/// Why a `max_age` is invalid, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationError {
    pub message: String,
    pub help: String,
}

fn invalid(text: &str, why: &str) -> DurationError {
    DurationError {
        message: format!("invalid `max_age` `{text}`: {why}"),
        help: "write a positive whole number followed by `h` (hours), `d` (days) or `w` (weeks), e.g. `90d`".into(),
    }
}

/// The unit a word such as `days` or `Hours` means, if any.
fn unit_of_word(word: &str) -> Option<char> {
    let word = word.to_ascii_lowercase();
    let word = word.strip_suffix('s').unwrap_or(&word);
    match word {
        "h" | "hour" | "hr" => Some('h'),
        "d" | "day" => Some('d'),
        "w" | "week" | "wk" => Some('w'),
        _ => None,
    }
}

/// Parses a `max_age` value.
pub(crate) fn parse_max_age(text: &str) -> Result<MaxAge, DurationError> {
    // Spaces are not part of a `max_age`: `" 90d"` is refused, not trimmed.
    if text.trim() != text {
        return Err(invalid(text, "expected a number followed by a unit"));
    }
    let length = match parse(text, &UNITS) {
        Ok(length) => length,
        Err(DurationProblem::Empty) => return Err(invalid(text, "it is empty")),
        Err(DurationProblem::NoNumber) => {
            return Err(invalid(text, "expected a number followed by a unit"));
        }
        Err(DurationProblem::NoUnit { digits }) => {
            return Err(DurationError {
                message: format!(
                    "invalid `max_age` `{text}`: a number needs a unit, `h` (hours), `d` (days) \
                     or `w` (weeks)"
                ),
                help: format!(
                    "e.g. `max_age = \"{digits}d\"` for {digits} days, or `\"{digits}h\"` for {digits} hours"
                ),
            });
        }
        Err(DurationProblem::UnknownUnit { digits, unit }) => {
            return Err(unknown_unit(text, digits, unit));
        }
        Err(DurationProblem::TooLarge) => return Err(invalid(text, "the number is too large")),
    };
    match i64::try_from(length.as_secs()) {
        Err(_) => Err(invalid(text, "the number is too large")),
        Ok(0) => Err(invalid(text, "it must be greater than zero")),
        Ok(seconds) => Ok(MaxAge {
            text: text.to_string(),
            seconds,
        }),
    }
}

/// The message for a unit `max_age` does not take: a fraction, a unit word, months or years.
fn unknown_unit(text: &str, digits: &str, unit: &str) -> DurationError {
    if unit.starts_with(['.', ',']) {
        return invalid(text, "the number must be whole");
    }
    if let Some(letter) = unit_of_word(unit.trim()) {
        let mut error = invalid(
            text,
            "the unit is one letter, `h`, `d` or `w`, right after the number",
        );
        error.help = format!("write `{digits}{letter}`");
        return error;
    }
    let mut chars = unit.chars();
    let (Some(letter), None) = (chars.next(), chars.next()) else {
        return invalid(text, "expected a number followed by a unit");
    };
    let mut error = invalid(text, &format!("unknown unit `{letter}`"));
    let days_per_unit = match letter {
        'm' | 'M' => Some(30),
        'y' | 'Y' => Some(365),
        _ => None,
    };
    if let Some(days) = days_per_unit.and_then(|d| digits.parse::<u64>().ok()?.checked_mul(d)) {
        error.help = format!(
            "months and years are not accepted (`m` could mean minutes or months); write days, e.g. `{days}d`"
        );
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hours_days_weeks() {
        assert_eq!(
            parse_max_age("90d"),
            Ok(MaxAge {
                text: "90d".into(),
                seconds: 90 * 86_400
            })
        );
        assert_eq!(parse_max_age("12h").unwrap().seconds, 12 * 3_600);
        assert_eq!(parse_max_age("2w").unwrap().seconds, 14 * 86_400);
    }

    #[test]
    fn refuses_zero_negative_odd_and_ambiguous_values() {
        for bad in [
            "", "0d", "-1d", "+1d", "d", "90", "1.5d", "90 d", "9x", "ab", "한",
        ] {
            assert!(parse_max_age(bad).is_err(), "{bad:?} accepted");
        }
        let bare = parse_max_age("90").unwrap_err();
        assert_eq!(
            bare.message,
            "invalid `max_age` `90`: a number needs a unit, `h` (hours), `d` (days) or `w` (weeks)"
        );
        assert_eq!(
            bare.help,
            "e.g. `max_age = \"90d\"` for 90 days, or `\"90h\"` for 90 hours"
        );
        for (text, fix) in [
            ("90 d", "90d"),
            ("90days", "90d"),
            ("12 Hours", "12h"),
            ("2week", "2w"),
        ] {
            let error = parse_max_age(text).unwrap_err();
            assert!(
                error.message.contains("the unit is one letter"),
                "{error:?}"
            );
            assert_eq!(error.help, format!("write `{fix}`"));
        }
        assert!(
            parse_max_age("1.5d")
                .unwrap_err()
                .message
                .ends_with("the number must be whole")
        );
        assert!(
            parse_max_age("9x")
                .unwrap_err()
                .message
                .ends_with("unknown unit `x`")
        );
        let months = parse_max_age("6m").unwrap_err();
        assert!(months.message.contains("unknown unit `m`"), "{months:?}");
        assert!(months.help.contains("180d"), "{months:?}");
        assert!(
            parse_max_age("99999999999999999999w")
                .unwrap_err()
                .message
                .contains("too large")
        );
        assert!(
            parse_max_age("9999999999999999w")
                .unwrap_err()
                .message
                .contains("too large")
        );
    }
}
