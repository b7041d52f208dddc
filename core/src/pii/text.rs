//! What surrounds a candidate: the checks that tell a phone number from a piece of a longer number,
//! and the words that make a bare digit run a phone number or an SSN.

/// The character just before byte `i`.
pub(super) fn before(text: &str, i: usize) -> Option<char> {
    text.get(..i)?.chars().next_back()
}

/// The character at byte `i` (just after a candidate ending at `i`).
pub(super) fn after(text: &str, i: usize) -> Option<char> {
    text.get(i..)?.chars().next()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a number candidate at `start..end` is a whole token rather than part of a longer
/// number, a word or a dotted or dashed sequence (`1.555-123-4567`, `555-123-4567-89`).
pub(super) fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    clean_before(text, start) && clean_after(text, end)
}

/// Nothing glued to the left of `start`: no letter or digit, and no separator after a digit.
pub(super) fn clean_before(text: &str, start: usize) -> bool {
    match before(text, start) {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) => {
            !(matches!(c, '.' | '-' | '/' | ',' | '+')
                && before(text, start - c.len_utf8()).is_some_and(|d| d.is_ascii_digit()))
        }
    }
}

/// Nothing glued to the right of `end`: no letter or digit, and no separator before a digit.
pub(super) fn clean_after(text: &str, end: usize) -> bool {
    match after(text, end) {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) => {
            !(matches!(c, '.' | '-' | '/' | ',')
                && after(text, end + c.len_utf8()).is_some_and(|d| d.is_ascii_digit()))
        }
    }
}

/// Whether `start..end` sits inside a list of space-separated numbers (`997 998 999 1000 1001`),
/// where any run of groups can take the shape of a phone or card number by chance.
pub(super) fn in_number_list(text: &str, start: usize, end: usize) -> bool {
    let digit_before = before(text, start) == Some(' ')
        && before(text, start - 1).is_some_and(|c| c.is_ascii_digit());
    let digit_after =
        after(text, end) == Some(' ') && after(text, end + 1).is_some_and(|c| c.is_ascii_digit());
    digit_before || digit_after
}

/// Up to `bytes` bytes of text before `start` (fewer at a character boundary), ASCII-lowercased so
/// that byte offsets stay those of the text; and where the window starts.
pub(super) fn lower_before(text: &str, start: usize, bytes: usize) -> (usize, String) {
    let mut from = start.saturating_sub(bytes);
    while from < start && !text.is_char_boundary(from) {
        from += 1;
    }
    (
        from,
        text.get(from..start)
            .unwrap_or_default()
            .to_ascii_lowercase(),
    )
}

/// Whether any of `words` occurs in the `bytes` bytes before `start` with no other number or
/// replacement tag in between: in `call 027 896 92 86 and 531-21-7351`, "call" is about the first
/// number only. A replacement tag (`[PHONE]`) is no context word either. Both rules make the
/// reading of a number the same before and after its neighbours are scrubbed.
pub(super) fn preceded_by_any(text: &str, start: usize, bytes: usize, words: &[&str]) -> bool {
    let (mut from, mut window) = lower_before(text, start, bytes);
    if let Some(cut) = window.rfind(|c: char| c.is_ascii_digit() || c == ']') {
        from += cut + 1;
        window = window.split_off(cut + 1);
    }
    // Words match at their start only: "tel" in "Telefon", not in "Costello".
    words.iter().any(|w| {
        window
            .match_indices(w)
            .any(|(i, _)| before(text, from + i).is_none_or(|c| !c.is_alphanumeric() && c != '['))
    })
}

/// The word just before `start`, skipping spaces and a colon, lowercased.
pub(super) fn previous_word(text: &str, start: usize) -> String {
    let (_, window) = lower_before(text, start, 24);
    let trimmed = window.trim_end_matches(|c: char| c.is_whitespace() || c == ':');
    let word: String = trimmed
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '.')
        .collect();
    word.chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_decide_whether_a_number_stands_alone() {
        let t = "a 555-1234 b";
        assert!(stands_alone(t, 2, 10));
        assert!(!stands_alone("x555-1234", 1, 9));
        assert!(!stands_alone("1.555", 2, 5));
        assert!(stands_alone("end 555.", 4, 7));
        assert!(!stands_alone("555-1234-9", 0, 8));
    }

    #[test]
    fn words_before_a_candidate() {
        assert_eq!(previous_word("running Version 1.2", 16), "version");
        assert_eq!(previous_word("ver.: 2", 6), "ver.");
        assert!(preceded_by_any("Call me at 555", 11, 30, &["call"]));
        assert_eq!(lower_before("ééé", 6, 3), (4, "é".to_string()));
        assert!(!preceded_by_any("x [PHONE] 12", 10, 8, &["phone"]));
        assert!(!preceded_by_any("call 12 and 34", 12, 30, &["call"]));
        assert!(!preceded_by_any("Costello 12", 9, 30, &["tel"]));
        assert!(preceded_by_any("Telefon: 12", 9, 30, &["tel"]));
        assert!(in_number_list("7 998 999 1000", 2, 14));
        assert!(!in_number_list("call 998 999 1000.", 5, 17));
    }
}
