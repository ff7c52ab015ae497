use super::*;

#[test]
fn shipped_rules_compile() {
    let rules = CompiledRules::builtin().expect("shipped rules");
    assert!(!rules.version.is_empty());
    assert!(rules.rules.len() > 40);
    assert!(rules.category_index("UTILITIES").is_some());
}

#[test]
fn every_catalogue_category_is_known_and_situations_compile() {
    let rules = CompiledRules::builtin().expect("shipped rules");
    let catalogue = pingan_catalogue::catalogue().expect("catalogue");
    assert_eq!(rules.categories.len(), catalogue.categories.len());
    assert!(
        rules
            .situations
            .iter()
            .any(|s| s.situation.as_str() == "WATER")
    );
}

#[test]
fn a_rule_or_situation_outside_the_catalogue_is_refused() {
    let broken =
        DEFAULT_RULES.replace("\"category\": \"RESCUE\"", "\"category\": \"WATER_RESCUE\"");
    assert!(matches!(
        CompiledRules::parse(&broken),
        Err(RulesError::Invalid(m)) if m.contains("WATER_RESCUE")
    ));
    let broken = DEFAULT_RULES.replace("\"situation\": \"WATER\"", "\"situation\": \"FLOOD\"");
    assert!(matches!(
        CompiledRules::parse(&broken),
        Err(RulesError::Invalid(m)) if m.contains("FLOOD")
    ));
}

#[test]
fn inconsistent_rules_are_refused() {
    let broken = DEFAULT_RULES.replace("\"category\": \"FRAUD\"", "\"category\": \"NOPE\"");
    assert!(matches!(
        CompiledRules::parse(&broken),
        Err(RulesError::Invalid(_))
    ));
    assert!(matches!(
        CompiledRules::parse("{"),
        Err(RulesError::Parse(_))
    ));
}

#[test]
fn normalize_folds_case_and_width() {
    assert_eq!(normalize("ＫＴＶ门口"), "ktv门口");
}

#[test]
fn normalize_reads_traditional_characters_as_simplified() {
    assert_eq!(normalize("樓上有人開槍，快來"), "楼上有人开枪,快来");
    assert_eq!(
        normalize("我阿公下午自己走出去就沒回來"),
        "我阿公下午自己走出去就没回来"
    );
    // Simplified text is left as it is.
    assert_eq!(normalize("着火了，著名的饭店"), "着火了,著名的饭店");
}
