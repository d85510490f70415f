//! Writing TOML keys and strings by hand, so that the output keeps the layout of a hand-written
//! file (a serializer would decide the layout itself).

/// A table or value key: bare when TOML allows it (`A-Z a-z 0-9 _ -`), else a quoted string.
pub fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { name.to_string() } else { string(name) }
}

/// A basic string, with every character TOML requires escaped.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bare_only_when_toml_allows_it() {
        assert_eq!(key("etl-runner"), "etl-runner");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key("한"), "\"한\"");
        assert_eq!(key(""), "\"\"");
    }

    #[test]
    fn strings_round_trip_through_a_toml_parser() {
        for value in [
            "plain",
            "quote \" and \\ back",
            "tab\tnew\nline",
            "bell\u{7}",
            "한글",
        ] {
            let text = format!("v = {}\nk.{} = 1\n", string(value), key(value));
            let parsed: toml::Table = toml::from_str(&text).unwrap();
            assert_eq!(parsed["v"].as_str(), Some(value), "{text}");
            assert!(
                parsed["k"].as_table().unwrap().contains_key(value),
                "{text}"
            );
        }
    }
}
