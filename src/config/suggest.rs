//! "Did you mean …?": the closest valid key to a misspelt one, by edit distance.

/// Levenshtein distance in characters (insert, delete, substitute each cost 1).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo: at most a
/// third of the word's length away (at least 1), or equal ignoring case, `-`/`_` and a trailing
/// `s` (`service-accounts` → `service_account`).
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = fold(word);
    if let Some(exact) = candidates.iter().find(|c| fold(c) == folded) {
        return Some(exact);
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn fold(word: &str) -> String {
    let lower = word.to_lowercase().replace('-', "_");
    lower.strip_suffix('s').map(str::to_string).unwrap_or(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("nicknme", "nickname"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("한글", "한"), 1);
    }

    #[test]
    fn closest_suggests_plausible_typos_only() {
        let keys = ["nickname", "description", "ignore", "service_account"];
        assert_eq!(closest("nicknme", &keys), Some("nickname"));
        assert_eq!(closest("descripton", &keys), Some("description"));
        assert_eq!(closest("service-accounts", &keys), Some("service_account"));
        assert_eq!(closest("Nickname", &keys), Some("nickname"));
        assert_eq!(closest("owner", &keys), None);
        assert_eq!(closest("x", &keys), None);
    }
}
