//! Which dispatches ask the grid to look out (story 1: the residents of the grid are asked to
//! look out for the taxi the phone was left in; a missing person likewise). Decided from the
//! triage rules that matched the call, so the words stay in triage's rules file.

use pingan_proto::dispatch::v1::Lookout;
use pingan_proto::grid::v1::BroadcastAudience;
use pingan_proto::triage::v1::Classification;

/// Triage rule ids whose match asks the grid's residents to look out.
pub const LOOKOUT_RULES: &[&str] = &[
    "assist.lost_in_vehicle",
    "rescue.missing",
    "rescue.missing_vulnerable",
];

/// Longest lookout message, in characters (dispatch refuses more than 1000).
const MAX_CHARS: usize = 200;

/// The lookout to request with the dispatch, if the classification calls for one.
pub fn lookout_for(classification: &Classification, description: &str) -> Option<Lookout> {
    let wanted = classification
        .matched_rules
        .iter()
        .any(|rule| LOOKOUT_RULES.contains(&rule.rule_id.as_str()));
    if !wanted {
        return None;
    }
    let text: String = pingan_platform::pii::scrub(description)
        .chars()
        .take(MAX_CHARS)
        .collect();
    Some(Lookout {
        grid_id: String::new(),
        audiences: vec![BroadcastAudience::Residents as i32],
        message: format!("协查：{text}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingan_proto::triage::v1::MatchedRule;

    fn matched(ids: &[&str]) -> Classification {
        Classification {
            matched_rules: ids
                .iter()
                .map(|id| MatchedRule {
                    rule_id: (*id).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_phone_left_in_a_taxi_asks_the_grid_to_look_out() {
        let lookout = lookout_for(
            &matched(&["assist.lost_in_vehicle"]),
            "手机落在出租车上了，我的电话13812345678",
        )
        .expect("lookout");
        assert!(lookout.message.starts_with("协查："));
        assert!(
            !lookout.message.contains("13812345678"),
            "{}",
            lookout.message
        );
        assert_eq!(lookout.audiences, vec![BroadcastAudience::Residents as i32]);
        assert!(lookout.grid_id.is_empty(), "the dispatch's grid");
    }

    #[test]
    fn other_calls_ask_for_no_lookout() {
        assert!(lookout_for(&matched(&["assist.lost_item", "dispute.quarrel"]), "x").is_none());
        assert!(lookout_for(&Classification::default(), "x").is_none());
        let long = "出".repeat(2000);
        let lookout = lookout_for(&matched(&["rescue.missing"]), &long).expect("lookout");
        assert!(lookout.message.chars().count() <= MAX_CHARS + 3);
    }
}
