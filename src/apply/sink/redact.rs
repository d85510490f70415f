//! Scrubbing a secret out of what a delivery command printed, before any of it is quoted in an
//! error message (and so in the terminal and the journal record).
//!
//! A command may echo its input in many shapes, so every occurrence of the secret is replaced
//! by `<redacted>` in each of these encodings: plain; JSON-string-escaped (with and without
//! `\/`); percent-encoded (URL component and form encoding, and every byte as `%XX`); hex; and
//! standard and URL-safe base64, padded or not, including the part of a longer base64 stream
//! (such as the whole secret document, base64-encoded) that only the secret's bytes determine,
//! at each of the three byte alignments. All but base64 match regardless of ASCII case. Line
//! breaks inside a match are ignored, so a wrapped base64 or hex dump is caught too, and text
//! that ends part-way through an encoding (output cut off) has that tail redacted as well.
//! Encodings nobody could anticipate (encryption, a hash) are not recognized; that is why only
//! one line of a command's stderr is ever quoted (see the sink's module documentation).

/// What replaces the secret.
pub const REDACTED: &str = "<redacted>";

/// Fragments shorter than this are not looked for (they would match unrelated text); the
/// plain secret is always looked for.
const MIN_FRAGMENT: usize = 6;

/// One shape of the secret to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Needle {
    bytes: Vec<u8>,
    /// Match regardless of ASCII case (not for base64, whose alphabet is case-sensitive).
    fold_case: bool,
}

/// `text` with every occurrence of `secret`, in any of the encodings of the module
/// documentation, replaced by [`REDACTED`].
pub fn scrub(text: &[u8], secret: &str) -> Vec<u8> {
    if secret.is_empty() {
        return text.to_vec();
    }
    // Match on the text without its line breaks; `kept[i]` is where byte i came from.
    let kept: Vec<usize> = (0..text.len())
        .filter(|&i| text[i] != b'\n' && text[i] != b'\r')
        .collect();
    let stripped: Vec<u8> = kept.iter().map(|&i| text[i]).collect();
    let folded = stripped.to_ascii_lowercase();
    let mut hidden = vec![false; text.len()];
    let mut hide = |from: usize, to: usize| {
        // `from..to` in `stripped`: hide the original bytes, line breaks in between included.
        if from < to {
            hidden[kept[from]..=kept[to - 1]].fill(true);
        }
    };
    for needle in needles(secret) {
        let (haystack, pattern) = if needle.fold_case {
            (&folded, needle.bytes.to_ascii_lowercase())
        } else {
            (&stripped, needle.bytes.clone())
        };
        let n = pattern.len();
        if n == 0 || n > haystack.len() {
            // Still check for a cut-off tail below.
        } else {
            let mut at = 0;
            while at + n <= haystack.len() {
                if haystack[at..at + n] == pattern[..] {
                    hide(at, at + n);
                    at += n;
                } else {
                    at += 1;
                }
            }
        }
        // Output cut off part-way through the secret: hide the tail that starts it.
        let longest = n.saturating_sub(1).min(haystack.len());
        if let Some(len) = (MIN_FRAGMENT..=longest)
            .rev()
            .find(|&len| haystack.ends_with(&pattern[..len]))
        {
            hide(haystack.len() - len, haystack.len());
        }
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if hidden[i] {
            out.extend_from_slice(REDACTED.as_bytes());
            while i < text.len() && hidden[i] {
                i += 1;
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// The first non-blank line of `text`, trimmed, with control characters replaced, cut to
/// `max_chars` characters (marked with `…`), and a note of how many further lines were left
/// out. `None` when `text` has no non-blank line.
pub fn first_line(text: &str, max_chars: usize) -> Option<String> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let line = lines.next()?.trim();
    let mut shown: String = line
        .chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if line.chars().count() > max_chars {
        shown.push('…');
    }
    match lines.count() {
        0 => {}
        1 => shown.push_str(" (1 more line not shown)"),
        more => shown.push_str(&format!(" ({more} more lines not shown)")),
    }
    Some(shown)
}

fn needles(secret: &str) -> Vec<Needle> {
    let bytes = secret.as_bytes();
    let folding = |text: String| Needle {
        bytes: text.into_bytes(),
        fold_case: true,
    };
    let mut out = vec![folding(secret.to_string())];
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json[1..json.len() - 1].to_string();
    out.push(folding(json.replace('/', "\\/")));
    out.push(folding(json));
    out.push(folding(percent_encode(bytes, |b| {
        b.is_ascii_alphanumeric() || b"-._~".contains(&b)
    })));
    out.push(folding(percent_encode(bytes, |_| false)));
    out.push(folding(
        url::form_urlencoded::byte_serialize(bytes).collect(),
    ));
    out.push(folding(hex::encode(bytes)));
    for alphabet in [STANDARD, URL_SAFE] {
        let padded = base64(bytes, alphabet);
        out.push(Needle {
            bytes: padded.clone().into_bytes(),
            fold_case: false,
        });
        for fragment in base64_fragments(bytes, alphabet) {
            out.push(Needle {
                bytes: fragment.into_bytes(),
                fold_case: false,
            });
        }
    }
    out.retain(|needle| needle.bytes.len() >= MIN_FRAGMENT || needle.bytes == bytes);
    // Longer shapes first, so that a padded encoding is hidden whole rather than around a
    // fragment of it.
    out.sort_by(|a, b| {
        (b.bytes.len(), &a.bytes, a.fold_case).cmp(&(a.bytes.len(), &b.bytes, b.fold_case))
    });
    out.dedup();
    out
}

fn percent_encode(bytes: &[u8], keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The standard base64 alphabet.
pub(super) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 with `=` padding.
pub(super) fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// For each of the three positions the secret can start at in a longer base64 stream, the
/// run of base64 characters that depends on the secret's bytes alone: the characters that
/// also carry bits of the bytes before or after it are left out.
fn base64_fragments(bytes: &[u8], alphabet: &[u8; 64]) -> Vec<String> {
    (0..3)
        .map(|offset| {
            let mut buffer = vec![0u8; offset];
            buffer.extend_from_slice(bytes);
            let encoded = base64(&buffer, alphabet);
            // Character i covers bits 6i..6i+6 of the buffer; the secret's bits are
            // 8·offset..8·(offset + len).
            let first = (8 * offset).div_ceil(6);
            let end = 8 * (offset + bytes.len()) / 6;
            encoded.get(first..end).unwrap_or_default().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Chosen so that every encoding differs from the plain text: `/`, `+`, a space, a quote,
    // a backslash and bytes whose base64 uses `+` and `/`.
    const SECRET: &str = "kc/Se+cr\"et \\ü~?>>>???";

    fn scrubbed(text: &str) -> String {
        String::from_utf8(scrub(text.as_bytes(), SECRET)).unwrap()
    }

    fn assert_hidden(encoded: &str) {
        let text = format!("error: got {encoded} from stdin\n");
        let out = scrubbed(&text);
        assert_eq!(out, "error: got <redacted> from stdin\n", "{encoded}");
    }

    #[test]
    fn base64_matches_the_reference_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes(), STANDARD), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff], STANDARD), "+/8=");
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE), "-_8=");
    }

    #[test]
    fn the_plain_secret_is_hidden_in_any_case() {
        assert_hidden(SECRET);
        assert_hidden(&SECRET.to_ascii_uppercase());
    }

    #[test]
    fn a_json_escaped_secret_is_hidden() {
        let json = serde_json::to_string(SECRET).unwrap();
        assert_hidden(&json[1..json.len() - 1]);
        assert_hidden(&json[1..json.len() - 1].replace('/', "\\/"));
    }

    #[test]
    fn a_percent_encoded_secret_is_hidden() {
        // `kc%2FSe%2Bcr%22et%20%5C%C3%BC~%3F%3E%3E%3E%3F%3F%3F`, in either hex case.
        let component = percent_encode(SECRET.as_bytes(), |b| {
            b.is_ascii_alphanumeric() || b"-._~".contains(&b)
        });
        assert!(component.contains("%2F") && component.contains("%C3%BC"));
        assert_hidden(&component);
        assert_hidden(&component.to_lowercase());
        let form: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        assert!(form.contains('+'), "{form}");
        assert_hidden(&form);
        assert_hidden(&percent_encode(SECRET.as_bytes(), |_| false));
    }

    #[test]
    fn a_hex_encoded_secret_is_hidden_in_either_case() {
        let hex = hex::encode(SECRET);
        assert_hidden(&hex);
        assert_hidden(&hex.to_uppercase());
    }

    #[test]
    fn a_base64_encoded_secret_is_hidden_in_both_alphabets_with_or_without_padding() {
        let standard = base64(SECRET.as_bytes(), STANDARD);
        let url_safe = base64(SECRET.as_bytes(), URL_SAFE);
        assert!(
            standard.ends_with('=') && standard.contains('/'),
            "{standard}"
        );
        assert_ne!(standard, url_safe);
        for encoded in [&standard, &url_safe] {
            assert_hidden(encoded);
            let unpadded = encoded.trim_end_matches('=');
            let out = scrubbed(&format!("error: got {unpadded} from stdin"));
            // At most the last character, which also carries padding bits, may remain.
            assert!(out.starts_with("error: got <redacted>"), "{out}");
            assert!(
                out.len() <= "error: got <redacted>x from stdin".len(),
                "{out}"
            );
        }
    }

    #[test]
    fn a_secret_inside_a_longer_base64_stream_is_hidden_at_every_alignment() {
        for prefix in ["", "a", "ab", "abc", "{\"secret_access_key\": \""] {
            for alphabet in [STANDARD, URL_SAFE] {
                let document = format!("{prefix}{SECRET}\", \"project\": \"analytics\"}}");
                let encoded = base64(document.as_bytes(), alphabet);
                let out = scrubbed(&encoded);
                assert!(out.contains(REDACTED), "{prefix:?}: {out}");
                let remains = out.replace(REDACTED, " ");
                // What is left around the redaction carries at most a few bits of the secret:
                // no run of the secret's own encoding is left.
                for fragment in base64_fragments(SECRET.as_bytes(), alphabet) {
                    assert!(!remains.contains(&fragment[..MIN_FRAGMENT]), "{remains}");
                }
            }
        }
    }

    #[test]
    fn a_wrapped_dump_is_hidden_across_its_line_breaks() {
        let document = format!("{{\"secret_access_key\": \"{SECRET}\"}}");
        let encoded = base64(document.as_bytes(), STANDARD);
        let wrapped: Vec<String> = encoded
            .as_bytes()
            .chunks(12)
            .map(|line| String::from_utf8(line.to_vec()).unwrap())
            .collect();
        let out = scrubbed(&wrapped.join("\n"));
        let fragment = &base64_fragments(SECRET.as_bytes(), STANDARD)[2];
        let remains = out.replace(['\n', '\r'], "");
        assert!(!remains.contains(&fragment[..MIN_FRAGMENT]), "{out}");
        let hex = hex::encode(SECRET);
        let out = scrubbed(&format!("{}\r\n{}", &hex[..10], &hex[10..]));
        assert_eq!(out, REDACTED);
    }

    #[test]
    fn output_cut_off_inside_the_secret_hides_the_tail() {
        let out = scrubbed(&format!("echo: {}", &SECRET[..9]));
        assert_eq!(out, "echo: <redacted>");
        let hex = hex::encode(SECRET);
        let out = scrubbed(&format!("echo: {}", &hex[..20]));
        assert_eq!(out, "echo: <redacted>");
    }

    #[test]
    fn unrelated_text_is_left_alone() {
        let text = "vault: permission denied (403) for path secret/data/analytics\n";
        assert_eq!(scrubbed(text), text);
    }

    #[test]
    fn the_first_line_is_trimmed_cut_and_counts_the_rest() {
        assert_eq!(
            first_line("\n  \n  sealed \n", 200).as_deref(),
            Some("sealed")
        );
        assert_eq!(
            first_line("one\ntwo\nthree\n", 200).as_deref(),
            Some("one (2 more lines not shown)")
        );
        assert_eq!(first_line("abcdef", 3).as_deref(), Some("abc…"));
        assert_eq!(
            first_line("a\u{1b}[31mb", 10).as_deref(),
            Some("a\u{fffd}[31mb")
        );
        assert_eq!(first_line(" \n\t\n", 200), None);
    }
}
