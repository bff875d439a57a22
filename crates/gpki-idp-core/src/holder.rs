//! Whether a card's holder is the account's person: the citizen certificate's subject CN
//! (the holder's name) against the account's display name. Binding a card with a password
//! alone must not bind a stranger's card (NIST SP 800-63B §6.1: binding a factor needs more
//! than the weaker factor), so a registration whose names differ needs the GM's one-time
//! enrollment code.
//!
//! Names are compared as people write them: NFKC (full-width letters, digits and spaces are
//! their half-width selves), without spaces or the middle dots of transliterated and
//! indigenous names (`瓦歷斯·諾幹`), Latin letters in any case; a display name may add a
//! title (`王小明老師`) or a part in brackets (`林美玲（職員）`).

use unicode_normalization::UnicodeNormalization;

/// Titles a school writes after a name in its display names.
const TITLES: [&str; 14] = [
    "輔導老師",
    "代理老師",
    "老師",
    "教師",
    "校長",
    "主任",
    "組長",
    "職員",
    "幹事",
    "護理師",
    "技工",
    "工友",
    "先生",
    "小姐",
];

/// A name as compared: NFKC, lower case, without spaces and middle dots.
pub fn normalise(name: &str) -> String {
    name.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '‧' | '・' | '･' | '.'))
        .collect()
}

/// The display name without a part in brackets and a trailing title, normalised.
fn display_core(display_name: &str) -> String {
    let mut name = normalise(display_name);
    // NFKC turned full-width brackets into ASCII ones.
    while let (Some(open), Some(close)) = (name.find('('), name.rfind(')')) {
        if close < open {
            break;
        }
        name.replace_range(open..=close, "");
    }
    for title in TITLES {
        if let Some(stripped) = name.strip_suffix(&normalise(title)) {
            if !stripped.is_empty() {
                return stripped.to_string();
            }
        }
    }
    name
}

/// Whether the holder named `subject_cn` is the person of an account displayed as
/// `display_name`.
pub fn same_person(subject_cn: &str, display_name: &str) -> bool {
    let holder = normalise(subject_cn);
    !holder.is_empty()
        && (holder == normalise(display_name) || holder == display_core(display_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_people_write_them() {
        assert!(same_person("王小明", "王小明"));
        assert!(same_person("王小明", "王小明老師"));
        assert!(same_person("王 小明", "王小明 老師"));
        assert!(same_person("林美玲", "林美玲（職員）"));
        assert!(same_person("林美玲", "林美玲 (職員)"));
        assert!(
            same_person("陳校長", "陳校長"),
            "a name that ends like a title"
        );
        assert!(same_person("瓦歷斯·諾幹", "瓦歷斯‧諾幹"));
        assert!(same_person("ＷＡＮＧ　Ｘｉａｏ", "wang xiao"));
        assert!(same_person("Amy Lin", "AMY LIN 老師"));
    }

    #[test]
    fn another_person_does_not() {
        assert!(!same_person("王小華", "王小明老師"));
        assert!(
            !same_person("王小", "王小明"),
            "a part of the name is not the name"
        );
        assert!(!same_person("", "王小明"));
        assert!(
            !same_person("老師", "王小明老師"),
            "a title is not the name"
        );
        assert!(!same_person("王小明", "王小明明老師"));
    }
}
