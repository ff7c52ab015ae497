//! Address text → standard address (一标三实): exact text first, then the normalised text, then a
//! fuzzy match over character bigrams. A wrong grid is worse than no grid (a unit is sent to the
//! wrong place), so an ambiguous answer is no answer.

use super::records::Address;

/// Lowest bigram similarity a fuzzy match needs.
pub const FUZZY_THRESHOLD: f64 = 0.6;
/// How much better than any address of another grid the best fuzzy match must be.
pub const FUZZY_MARGIN: f64 = 0.08;

/// How the text matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// Same full text.
    Exact,
    /// Same text once normalised.
    Normalised,
    /// Similar enough, and clearly the best.
    Fuzzy,
}

/// The standard address text resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressMatch {
    /// The address.
    pub address: Address,
    /// How it matched.
    pub kind: MatchKind,
    /// Similarity 0..1 (1 for exact and normalised).
    pub score: f64,
}

/// Resolves `text` among `candidates`; `None` when nothing matches well enough, or when the
/// best matches lie in different grids.
pub fn resolve(text: &str, candidates: &[Address]) -> Option<AddressMatch> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let exact: Vec<&Address> = candidates
        .iter()
        .filter(|a| a.full_text.trim() == text)
        .collect();
    if let Some(found) = one_grid(&exact) {
        return Some(AddressMatch {
            address: found.clone(),
            kind: MatchKind::Exact,
            score: 1.0,
        });
    }
    if !exact.is_empty() {
        return None;
    }
    let wanted = normalise(text);
    if wanted.is_empty() {
        return None;
    }
    let normalised: Vec<(&Address, String)> = candidates
        .iter()
        .map(|a| (a, normalise(&a.full_text)))
        .collect();
    let folded_wanted = fold(text);
    let same: Vec<&Address> = normalised
        .iter()
        .filter(|(_, n)| *n == wanted)
        .map(|(a, _)| *a)
        .collect();
    if let Some(found) = one_grid(&same) {
        return Some(AddressMatch {
            address: found.clone(),
            kind: MatchKind::Normalised,
            score: 1.0,
        });
    }
    if !same.is_empty() {
        return None;
    }
    fuzzy(&wanted, &folded_wanted, &normalised)
}

/// The first (by id) of `found` when they all lie in one grid.
fn one_grid<'a>(found: &[&'a Address]) -> Option<&'a Address> {
    let first = found
        .iter()
        .min_by(|a, b| a.address_id.cmp(&b.address_id))?;
    found
        .iter()
        .all(|a| a.grid_id == first.grid_id)
        .then_some(*first)
}

fn fuzzy(
    wanted: &str,
    folded_wanted: &str,
    normalised: &[(&Address, String)],
) -> Option<AddressMatch> {
    // A house number is never guessed: 玉村37号 is not 玉村38号.
    let numbers = numbers_of(wanted);
    let mut scored: Vec<(&Address, f64)> = normalised
        .iter()
        .filter(|(_, n)| numbers_of(n) == numbers)
        .map(|(a, n)| {
            let whole = similarity(folded_wanted, &fold(&a.full_text));
            (*a, similarity(wanted, n).max(whole))
        })
        .filter(|(_, score)| *score >= FUZZY_THRESHOLD)
        .collect();
    scored.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| a.0.address_id.cmp(&b.0.address_id))
    });
    let (best, score) = *scored.first()?;
    let rival = scored
        .iter()
        .any(|(a, s)| a.grid_id != best.grid_id && best_by_less_than_margin(score, *s));
    (!rival).then(|| AddressMatch {
        address: best.clone(),
        kind: MatchKind::Fuzzy,
        score,
    })
}

fn best_by_less_than_margin(best: f64, other: f64) -> bool {
    best - other < FUZZY_MARGIN
}

/// The digit runs of a normalised text, in order.
fn numbers_of(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Dice coefficient of the character bigrams of two texts (0..1).
pub fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (a, mut b) = (grams(a), grams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let total = a.len() + b.len();
    let mut common = 0usize;
    for gram in &a {
        if let Some(i) = b.iter().position(|g| g == gram) {
            b.swap_remove(i);
            common += 1;
        }
    }
    // Counts are small (address lengths): the conversion is exact.
    (2 * common) as f64 / total as f64
}

/// The comparable form of address text: no spaces or punctuation, half-width digits and
/// letters, 號 as 号, Chinese house numbers as digits, province / city / county prefixes dropped.
pub fn normalise(text: &str) -> String {
    strip_prefixes(&fold(text)).to_owned()
}

/// `text` with spaces and punctuation dropped, digits and letters half-width, 號 as 号 and
/// Chinese house numbers as digits (prefixes kept).
fn fold(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter_map(|c| {
            let c = match c {
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                    char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
                }
                '號' => '号',
                '\u{3000}' => ' ',
                c => c,
            };
            (!(c.is_whitespace() || c.is_ascii_punctuation() || is_cjk_punctuation(c)))
                .then(|| c.to_ascii_uppercase())
        })
        .collect();
    house_numbers_as_digits(&folded)
}

fn is_cjk_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '（'
            | '）'
            | '【'
            | '】'
            | '《'
            | '》'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '·'
            | '—'
            | '－'
            | '～'
            | '！'
            | '？'
            | '「'
            | '」'
    )
}

/// Drops the leading province, city and county: callers write them or not. A bare "…区" is
/// only taken for a district after a city (社区, 商业区 are places, not districts).
fn strip_prefixes(text: &str) -> &str {
    let after_province = strip_level(text, &["自治区", "特别行政区", "省"], 8);
    let after_city = strip_level(after_province, &["自治州", "地区", "市", "盟"], 6);
    let counties: &[&str] = if after_city.len() < after_province.len() {
        &["自治县", "县", "区", "旗"]
    } else {
        &["自治县", "县", "旗"]
    };
    let rest = strip_level(after_city, counties, 6);
    // Also "西藏山南市…": a province written without its suffix.
    if rest == text {
        for province in ["西藏", "新疆", "内蒙古", "广西", "宁夏"] {
            if let Some(shorter) = text.strip_prefix(province) {
                let stripped = strip_prefixes(shorter);
                if stripped != shorter {
                    return stripped;
                }
            }
        }
    }
    rest
}

/// `text` without a leading place name of at most `max_chars` characters ending in one of
/// `suffixes`, when something is left after it.
fn strip_level<'a>(text: &'a str, suffixes: &[&str], max_chars: usize) -> &'a str {
    let mut best: Option<usize> = None;
    for suffix in suffixes {
        if let Some(at) = text.find(suffix) {
            let end = at + suffix.len();
            let chars = text[..end].chars().count();
            // Two characters at least ("某县"), and not the whole text.
            if chars > suffix.chars().count() && chars <= max_chars && end < text.len() {
                best = Some(best.map_or(end, |b: usize| b.min(end)));
            }
        }
    }
    best.map_or(text, |end| &text[end..])
}

/// "三十七号" → "37号": only numbers directly before 号 (not 一社区, a name).
fn house_numbers_as_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chinese_digit(chars[i]).is_some() {
            i += 1;
        }
        if i > start {
            let run = &chars[start..i];
            match (chars.get(i), chinese_number(run)) {
                (Some('号'), Some(n)) => out.push_str(&n.to_string()),
                _ => out.extend(run),
            }
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        _ => return None,
    })
}

/// The value of a Chinese numeral below 10000 ("三十七" 37, "一百零五" 105, "十二" 12, "二五" 25).
fn chinese_number(run: &[char]) -> Option<u32> {
    let values: Vec<u32> = run
        .iter()
        .map(|c| chinese_digit(*c))
        .collect::<Option<_>>()?;
    if values.iter().all(|v| *v < 10) {
        // Digit by digit ("二五" = 25).
        return values
            .iter()
            .try_fold(0u32, |acc, v| acc.checked_mul(10)?.checked_add(*v));
    }
    let (mut total, mut digit) = (0u32, None::<u32>);
    for v in values {
        if v >= 10 {
            total = total.checked_add(digit.unwrap_or(1).checked_mul(v)?)?;
            digit = None;
        } else {
            digit = Some(v);
        }
    }
    total.checked_add(digit.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(id: &str, grid: &str, text: &str) -> Address {
        Address {
            address_id: id.into(),
            grid_id: grid.into(),
            full_text: text.into(),
            ..Address::default()
        }
    }

    fn demo() -> Vec<Address> {
        vec![
            address("a-101", "g6", "山南市桑日县玉村37号"),
            address("a-104", "g6", "山南市桑日县玉村48号"),
            address("a-102", "g2", "山南市桑日县达巴村62号"),
            address("a-116", "c1", "日喀则市桑珠孜区城南一社区13号"),
            address("a-114", "c2", "日喀则市桑珠孜区城南二社区79号"),
            address("a-p3", "g3", "山南市桑日县温村便民超市"),
            address("a-127", "y6", "阿里地区革吉县盐湖村15号"),
            address("a-130", "y6", "阿里地区革吉县盐湖村15号"),
        ]
    }

    fn resolved(text: &str) -> Option<(String, MatchKind)> {
        resolve(text, &demo()).map(|m| (m.address.address_id, m.kind))
    }

    #[test]
    fn exact_text_matches_first() {
        assert_eq!(
            resolved("山南市桑日县玉村37号"),
            Some(("a-101".into(), MatchKind::Exact))
        );
        // Two standard addresses with one text in one grid: the grid is certain.
        assert_eq!(
            resolved("阿里地区革吉县盐湖村15号"),
            Some(("a-127".into(), MatchKind::Exact))
        );
    }

    #[test]
    fn spelling_variants_match_once_normalised() {
        for text in [
            "桑日县玉村３７號",
            "西藏自治区山南市桑日县 玉村37号",
            "西藏山南市桑日县玉村37号",
            "山南市，桑日县玉村三十七号",
            "玉村37号",
        ] {
            assert_eq!(
                resolved(text),
                Some(("a-101".into(), MatchKind::Normalised)),
                "{text}"
            );
        }
        assert_eq!(
            resolved("桑日县温村便民超市"),
            Some(("a-p3".into(), MatchKind::Normalised))
        );
        // 一社区 is a name, not a number.
        assert_eq!(
            resolved("日喀则市桑珠孜区城南一社区十三号"),
            Some(("a-116".into(), MatchKind::Normalised))
        );
        // Without its city, a district still resolves (fuzzily: 区 alone may be a place).
        assert_eq!(
            resolved("桑珠孜区城南一社区13号"),
            Some(("a-116".into(), MatchKind::Fuzzy))
        );
        assert_eq!(normalise("东郊社区31号"), "东郊社区31号");
    }

    #[test]
    fn a_near_spelling_matches_fuzzily_but_never_another_house_number() {
        let m = resolve("山南市桑日玉村37号院", &demo()).expect("fuzzy");
        assert_eq!(m.address.address_id, "a-101");
        assert_eq!(m.kind, MatchKind::Fuzzy);
        assert!(m.score >= FUZZY_THRESHOLD && m.score < 1.0);
        assert_eq!(resolved("山南市桑日县玉村38号"), None);
        assert_eq!(resolved("拉萨市城关区北京中路100号"), None);
        assert_eq!(resolved("  "), None);
    }

    #[test]
    fn an_ambiguous_text_across_grids_is_no_match() {
        let mut candidates = demo();
        candidates.push(address("x-1", "other", "林芝市桑日县玉村37号"));
        // Normalised, both are 玉村37号 in different grids.
        assert_eq!(
            resolve("玉村37号", &candidates).map(|m| m.address.address_id),
            None
        );
        // The full text still says which one.
        assert_eq!(
            resolve("山南市桑日县玉村37号", &candidates).map(|m| m.kind),
            Some(MatchKind::Exact)
        );
    }

    #[test]
    fn chinese_house_numbers() {
        assert_eq!(house_numbers_as_digits("玉村三十七号"), "玉村37号");
        assert_eq!(house_numbers_as_digits("一百零五号"), "105号");
        assert_eq!(house_numbers_as_digits("十二号"), "12号");
        assert_eq!(house_numbers_as_digits("二五号"), "25号");
        assert_eq!(house_numbers_as_digits("城南一社区"), "城南一社区");
        assert!(similarity("玉村37号", "玉村37号") > 0.99);
        assert_eq!(similarity("", "玉村"), 0.0);
    }
}
