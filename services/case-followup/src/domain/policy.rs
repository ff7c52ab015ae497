//! The revisit policy, as data: which closed incidents are revisited, why, and how soon.
//! Shipped as `policy/revisits.json`; rules are tried in order and the first match wins.

use chrono::Duration;
use pingan_proto::followup::v1::RevisitReason;
use serde::Deserialize;

/// The policy shipped with the service.
pub const DEFAULT_POLICY: &str = include_str!("../../policy/revisits.json");

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid JSON or not the expected shape.
    #[error("revisit policy: {0}")]
    Parse(#[from] serde_json::Error),
    /// A rule is unusable.
    #[error("revisit policy rule {rule}: {why}")]
    Rule {
        /// Rule id.
        rule: String,
        /// What is wrong.
        why: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
struct PolicyFile {
    version: String,
    #[serde(default)]
    never_revisit_dispositions: Vec<String>,
    repeat_due_after_hours: i64,
    rules: Vec<RuleFile>,
}

#[derive(Debug, Clone, Deserialize)]
struct RuleFile {
    id: String,
    reason: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    dispositions: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    due_after_hours: i64,
}

/// One rule of the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Rule id (recorded on the revisit).
    pub id: String,
    /// Why a revisit scheduled by this rule is made.
    pub reason: RevisitReason,
    /// Incident categories it applies to (any when empty).
    pub categories: Vec<String>,
    /// Dispositions it applies to (any when empty).
    pub dispositions: Vec<String>,
    /// Words in the dispatch summary or narrative, any of which makes it apply (ignored when empty).
    pub keywords: Vec<String>,
    /// How long after the close the revisit is due.
    pub due_after: Duration,
}

/// What a closed incident looks like to the policy.
#[derive(Debug, Clone, Default)]
pub struct ClosedIncident<'a> {
    /// Triage category, e.g. "DISPUTE".
    pub category: &'a str,
    /// Disposition without its prefix, e.g. "MEDIATED".
    pub disposition: &'a str,
    /// Dispatch summary and closing narrative.
    pub text: &'a str,
}

/// The decision for one closed incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The rule that matched.
    pub rule_id: String,
    /// Why.
    pub reason: RevisitReason,
    /// Due after the close.
    pub due_after: Duration,
}

/// The revisit policy.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisitPolicy {
    /// Version of the policy file.
    pub version: String,
    never: Vec<String>,
    /// Delay of a revisit asked for by a previous one.
    pub repeat_due_after: Duration,
    /// Rules, in order.
    pub rules: Vec<Rule>,
}

impl RevisitPolicy {
    /// A policy that schedules nothing.
    pub fn empty() -> Self {
        Self {
            version: "empty".into(),
            never: Vec::new(),
            repeat_due_after: Duration::hours(72),
            rules: Vec::new(),
        }
    }

    /// The policy shipped with the service.
    pub fn shipped() -> Result<Self, PolicyError> {
        Self::parse(DEFAULT_POLICY)
    }

    /// Parses and checks a policy file.
    pub fn parse(json: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = serde_json::from_str(json)?;
        let mut rules = Vec::with_capacity(file.rules.len());
        for rule in file.rules {
            let reason = RevisitReason::from_str_name(&format!("REVISIT_REASON_{}", rule.reason))
                .filter(|r| *r != RevisitReason::Unspecified)
                .ok_or_else(|| PolicyError::Rule {
                    rule: rule.id.clone(),
                    why: format!("unknown reason {}", rule.reason),
                })?;
            if rule.due_after_hours <= 0 {
                return Err(PolicyError::Rule {
                    rule: rule.id,
                    why: "due_after_hours must be positive".into(),
                });
            }
            if rule.categories.is_empty()
                && rule.dispositions.is_empty()
                && rule.keywords.is_empty()
            {
                return Err(PolicyError::Rule {
                    rule: rule.id,
                    why: "matches every incident: give categories, dispositions or keywords".into(),
                });
            }
            rules.push(Rule {
                id: rule.id,
                reason,
                categories: rule.categories.iter().map(|c| c.to_uppercase()).collect(),
                dispositions: rule.dispositions.iter().map(|d| d.to_uppercase()).collect(),
                keywords: rule.keywords.iter().map(|k| k.to_lowercase()).collect(),
                due_after: Duration::hours(rule.due_after_hours),
            });
        }
        Ok(Self {
            version: file.version,
            never: file
                .never_revisit_dispositions
                .iter()
                .map(|d| d.to_uppercase())
                .collect(),
            repeat_due_after: Duration::hours(file.repeat_due_after_hours.max(1)),
            rules,
        })
    }

    /// Whether (and why, and when) a closed incident is revisited.
    pub fn decide(&self, incident: &ClosedIncident<'_>) -> Option<Decision> {
        let category = incident.category.to_uppercase();
        let disposition = incident.disposition.to_uppercase();
        if self.never.contains(&disposition) {
            return None;
        }
        let text = incident.text.to_lowercase();
        self.rules
            .iter()
            .find(|rule| {
                (rule.categories.is_empty() || rule.categories.contains(&category))
                    && (rule.dispositions.is_empty() || rule.dispositions.contains(&disposition))
                    && (rule.keywords.is_empty() || rule.keywords.iter().any(|k| text.contains(k)))
            })
            .map(|rule| Decision {
                rule_id: rule.id.clone(),
                reason: rule.reason,
                due_after: rule.due_after,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(category: &str, disposition: &str, text: &str) -> Option<Decision> {
        RevisitPolicy::shipped()
            .expect("policy")
            .decide(&ClosedIncident {
                category,
                disposition,
                text,
            })
    }

    #[test]
    fn disputes_victims_and_vulnerable_callers_are_revisited() {
        let dispute = decide("DISPUTE", "RESOLVED_ON_SCENE", "扫码付款纠纷").expect("dispute");
        assert_eq!(dispute.reason, RevisitReason::Dispute);
        assert_eq!(dispute.due_after, Duration::hours(72));
        let mediated = decide("PUBLIC_ORDER", "MEDIATED", "").expect("mediated");
        assert_eq!(mediated.rule_id, "dispute-mediated");
        let victim = decide("FRAUD", "CASE_OPENED", "").expect("victim");
        assert_eq!(victim.reason, RevisitReason::CrimeVictim);
        let elderly = decide("ASSISTANCE", "ASSISTANCE_GIVEN", "独居老人摔倒").expect("elderly");
        assert_eq!(elderly.reason, RevisitReason::VulnerableCaller);
        assert_eq!(elderly.due_after, Duration::hours(24));
    }

    #[test]
    fn other_incidents_and_false_reports_are_not() {
        assert!(decide("TRAFFIC_ACCIDENT", "RESOLVED_ON_SCENE", "").is_none());
        assert!(decide("DISPUTE", "FALSE_REPORT", "").is_none());
        assert!(decide("DISPUTE", "CANCELLED", "").is_none());
    }

    #[test]
    fn bad_policies_are_refused() {
        let unknown = r#"{"version":"x","repeat_due_after_hours":1,
            "rules":[{"id":"a","reason":"NOPE","categories":["DISPUTE"],"due_after_hours":1}]}"#;
        assert!(RevisitPolicy::parse(unknown).is_err());
        let catch_all = r#"{"version":"x","repeat_due_after_hours":1,
            "rules":[{"id":"a","reason":"DISPUTE","due_after_hours":1}]}"#;
        assert!(RevisitPolicy::parse(catch_all).is_err());
        assert!(RevisitPolicy::parse("{").is_err());
    }
}
