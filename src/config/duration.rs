//! `max_age` values: a positive whole number and one unit, `h` (hours), `d` (days) or `w`
//! (weeks), e.g. `12h`, `90d`, `2w`.
//!
//! Minutes and seconds are refused on purpose: `6m` reads as "six months" to many people and as
//! "six minutes" to others, and a key whose maximum age is minutes would be replaced on every
//! apply. Months and years are refused because their length varies.

use crate::model::MaxAge;

const HOUR: i64 = 60 * 60;
const UNITS: [(char, i64); 3] = [('h', HOUR), ('d', 24 * HOUR), ('w', 7 * 24 * HOUR)];

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

/// Parses a `max_age` value.
pub(crate) fn parse_max_age(text: &str) -> Result<MaxAge, DurationError> {
    let Some(unit) = text.chars().last() else {
        return Err(invalid(text, "it is empty"));
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(text, "expected a number followed by a unit"));
    }
    let Some(&(_, unit_seconds)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        let mut error = invalid(text, &format!("unknown unit `{unit}`"));
        let days_per_unit = match unit {
            'm' | 'M' => Some(30),
            'y' | 'Y' => Some(365),
            _ => None,
        };
        if let Some(days) = days_per_unit.and_then(|d| digits.parse::<u64>().ok()?.checked_mul(d)) {
            error.help = format!(
                "months and years are not accepted (`m` could mean minutes or months); write days, e.g. `{days}d`"
            );
        }
        return Err(error);
    };
    let seconds = digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_seconds));
    match seconds {
        None => Err(invalid(text, "the number is too large")),
        Some(0) => Err(invalid(text, "it must be greater than zero")),
        Some(seconds) => Ok(MaxAge {
            text: text.to_string(),
            seconds,
        }),
    }
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
