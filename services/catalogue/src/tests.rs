use super::*;

fn shipped() -> &'static Catalogue {
    catalogue().expect("the shipped catalogue is valid")
}

#[test]
fn the_shipped_catalogue_holds_the_shared_vocabulary() {
    let c = shipped();
    for code in [
        "CRIMINAL_VIOLENT",
        "CRIMINAL_PROPERTY",
        "FRAUD",
        "PUBLIC_ORDER",
        "DOMESTIC_VIOLENCE",
        "TRAFFIC_ACCIDENT",
        "RESCUE",
        "ASSISTANCE",
        "DISPUTE",
        "DRUGS",
        "CONTRABAND",
        "FIRE",
        "MEDICAL",
        "UTILITIES",
        "CONSUMER",
        "LABOR",
        "PROPERTY_MANAGEMENT",
        "POLICY_INQUIRY",
        "MUNICIPAL",
        "ENVIRONMENT",
        "TRANSPORT",
        "POLICE_CONDUCT",
        "INVALID",
    ] {
        let category = c.category(code).expect(code);
        assert!(!category.name.is_empty(), "{code}");
        assert_eq!(
            category.kind == Kind::NonPolice,
            !category.department.is_empty(),
            "{code}"
        );
    }
    for code in [
        "aerial_video",
        "water_rescue_search",
        "water_rescue",
        "traffic",
        "mediation",
        "first_aid",
    ] {
        assert!(Capability::parse(code).is_ok(), "{code}");
    }
}

#[test]
fn codes_parse_trimmed_in_any_case_and_unknown_ones_are_refused() {
    assert_eq!(
        CategoryCode::parse(" rescue ").map(CategoryCode::as_str),
        Ok("RESCUE")
    );
    assert_eq!(
        Capability::parse("Aerial_Video").map(Capability::as_str),
        Ok("aerial_video")
    );
    assert_eq!(
        SituationCode::parse("water").map(SituationCode::as_str),
        Ok("WATER")
    );
    assert_eq!(
        CategoryCode::parse("WATER_RESCUE"),
        Err(CatalogueError::UnknownCategory("WATER_RESCUE".into()))
    );
    assert!(matches!(
        Capability::parse("laser"),
        Err(CatalogueError::UnknownCapability(_))
    ));
    assert!(matches!(
        SituationCode::parse(""),
        Err(CatalogueError::UnknownSituation(_))
    ));
}

#[test]
fn a_water_rescue_needs_a_searching_drone_and_a_ground_unit() {
    let c = shipped();
    let rescue = CategoryCode::parse("RESCUE").expect("rescue");
    let water = SituationCode::parse("WATER").expect("water");
    let plain = c.requirements(rescue, &[]);
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].kinds, UnitKind::GROUND.to_vec());
    let wanted = c.requirements(rescue, &[water, water]);
    assert_eq!(wanted.len(), 2, "{wanted:?}");
    assert_eq!(wanted[0].kinds, vec![UnitKind::Drone]);
    let caps: Vec<&str> = wanted[0].capabilities.iter().map(|c| c.as_str()).collect();
    assert_eq!(caps, ["aerial_video", "water_rescue_search"]);
    assert_eq!(wanted[1].kinds, UnitKind::GROUND.to_vec());
    assert_eq!(
        wanted[1].count, 1,
        "the same ground unit is not asked twice"
    );
    let wire = proto::requirements(&wanted);
    assert_eq!(
        wire[0].kinds,
        vec![pingan_proto::dispatch::v1::UnitKind::Drone as i32]
    );
}

#[test]
fn a_category_without_its_own_response_gets_the_default() {
    let c = shipped();
    let utilities = CategoryCode::parse("UTILITIES").expect("utilities");
    assert!(c.category("UTILITIES").expect("u").response.is_empty());
    assert_eq!(c.requirements(utilities, &[]), c.default_response);
}

#[test]
fn police_categories_name_a_response_with_known_capabilities() {
    let c = shipped();
    for category in &c.categories {
        assert_eq!(
            category.kind.stays_with_police(),
            !category.response.is_empty(),
            "{}",
            category.code
        );
    }
    let needed: Vec<&str> = c.needed_capabilities().iter().map(|c| c.as_str()).collect();
    assert!(needed.contains(&"aerial_video"));
    assert!(needed.contains(&"water_rescue_search"));
}

fn edited(from: &str, to: &str) -> Result<Catalogue, CatalogueError> {
    let text = SOURCE.replacen(from, to, 1);
    assert_ne!(text, SOURCE, "{from} is in the file");
    data::parse(text.leak())
}

#[test]
fn inconsistent_files_are_refused() {
    let invalid =
        |r: Result<Catalogue, CatalogueError>| matches!(r, Err(CatalogueError::Invalid(_)));
    assert!(invalid(edited(
        "\"code\": \"FRAUD\"",
        "\"code\": \"RESCUE\""
    )));
    assert!(invalid(edited(
        "\"code\": \"FRAUD\"",
        "\"code\": \"fraud\""
    )));
    assert!(invalid(edited(
        "\"kind\": \"POLICE\"",
        "\"kind\": \"POLIS\""
    )));
    assert!(invalid(edited(
        "\"priority\": \"P2\"",
        "\"priority\": \"P9\""
    )));
    assert!(invalid(edited("[\"mediation\"]", "[\"mediate\"]")));
    assert!(invalid(edited("[\"DRONE\"]", "[\"BOAT\"]")));
    assert!(invalid(edited("\"count\": 1", "\"count\": 0")));
    assert!(invalid(edited(
        "\"department\": \"市场监督管理局\"",
        "\"department\": \"\""
    )));
    assert!(matches!(data::parse("{"), Err(CatalogueError::Parse(_))));
    assert!(matches!(
        edited("\"version\"", "\"versoin\""),
        Err(CatalogueError::Parse(_))
    ));
}
