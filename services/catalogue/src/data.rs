//! The catalogue file: its shape, and the checks that make it one consistent vocabulary.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::{
    Capability, CapabilityInfo, Catalogue, Category, CategoryCode, Kind, Priority, Requirement,
    Situation, SituationCode, UnitKind,
};

/// The catalogue shipped with the platform.
pub const SOURCE: &str = include_str!("../catalogue.json");

/// Why a code or a catalogue file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// Not a category of the catalogue.
    #[error("unknown category {0:?}: not in the category catalogue")]
    UnknownCategory(String),
    /// Not a capability of the catalogue.
    #[error("unknown capability {0:?}: not in the capability catalogue")]
    UnknownCapability(String),
    /// Not a situation of the catalogue.
    #[error("unknown situation {0:?}: not in the situation catalogue")]
    UnknownSituation(String),
    /// The file is not valid JSON of the expected shape.
    #[error("catalogue file is not valid: {0}")]
    Parse(String),
    /// Valid JSON, inconsistent content.
    #[error("catalogue file is inconsistent: {0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File<'a> {
    version: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for people editing the file
    description: String,
    #[serde(borrow)]
    capabilities: Vec<CapabilityFile<'a>>,
    #[serde(borrow)]
    default_response: Vec<RequirementFile<'a>>,
    #[serde(borrow)]
    situations: Vec<SituationFile<'a>>,
    #[serde(borrow)]
    categories: Vec<CategoryFile<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityFile<'a> {
    code: &'a str,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementFile<'a> {
    #[serde(default, borrow)]
    kinds: Vec<&'a str>,
    #[serde(default, borrow)]
    capabilities: Vec<&'a str>,
    count: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SituationFile<'a> {
    code: &'a str,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(borrow)]
    response: Vec<RequirementFile<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile<'a> {
    code: &'a str,
    name: String,
    kind: String,
    priority: String,
    #[serde(default)]
    department: String,
    #[serde(default, borrow)]
    response: Vec<RequirementFile<'a>>,
}

fn invalid(what: impl Into<String>) -> CatalogueError {
    CatalogueError::Invalid(what.into())
}

fn is_code(code: &str, upper: bool) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| {
            c == '_'
                || c.is_ascii_digit()
                || if upper {
                    c.is_ascii_uppercase()
                } else {
                    c.is_ascii_lowercase()
                }
        })
}

fn requirements(
    list: &[RequirementFile<'static>],
    capabilities: &[CapabilityInfo],
    what: &str,
) -> Result<Vec<Requirement>, CatalogueError> {
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        if r.count == 0 || r.count > 20 {
            return Err(invalid(format!(
                "{what} response[{i}]: count must be 1..20"
            )));
        }
        let mut kinds = BTreeSet::new();
        for k in &r.kinds {
            let group = UnitKind::parse_group(k)
                .ok_or_else(|| invalid(format!("{what} response[{i}]: unknown unit kind {k}")))?;
            kinds.extend(group);
        }
        let mut caps = BTreeSet::new();
        for c in &r.capabilities {
            let found = capabilities
                .iter()
                .find(|known| known.code.0 == *c)
                .ok_or_else(|| invalid(format!("{what} response[{i}]: unknown capability {c}")))?;
            caps.insert(found.code);
        }
        out.push(Requirement {
            kinds: kinds.into_iter().collect(),
            capabilities: caps.into_iter().collect(),
            count: r.count,
        });
    }
    Ok(out)
}

/// Parses and checks a catalogue file (codes are borrowed from `text`, hence `'static`).
pub fn parse(text: &'static str) -> Result<Catalogue, CatalogueError> {
    let file: File<'static> =
        serde_json::from_str(text).map_err(|e| CatalogueError::Parse(e.to_string()))?;
    if file.version.trim().is_empty() {
        return Err(invalid("version must not be empty"));
    }
    let mut capabilities: Vec<CapabilityInfo> = Vec::new();
    for c in &file.capabilities {
        if !is_code(c.code, false) {
            return Err(invalid(format!(
                "capability {:?}: codes are lower_snake_case",
                c.code
            )));
        }
        if capabilities.iter().any(|k| k.code.0 == c.code) {
            return Err(invalid(format!("capability {} twice", c.code)));
        }
        if c.name.trim().is_empty() {
            return Err(invalid(format!("capability {}: needs a name", c.code)));
        }
        capabilities.push(CapabilityInfo {
            code: Capability(c.code),
            name: c.name.clone(),
        });
    }
    let default_response = requirements(&file.default_response, &capabilities, "default")?;
    if default_response.is_empty() {
        return Err(invalid("default_response must name at least one unit"));
    }
    let mut situations: Vec<Situation> = Vec::new();
    for s in &file.situations {
        if !is_code(s.code, true) {
            return Err(invalid(format!(
                "situation {:?}: codes are UPPER_SNAKE_CASE",
                s.code
            )));
        }
        if situations.iter().any(|k| k.code.0 == s.code) {
            return Err(invalid(format!("situation {} twice", s.code)));
        }
        let response = requirements(&s.response, &capabilities, s.code)?;
        if response.is_empty() {
            return Err(invalid(format!("situation {}: adds no unit", s.code)));
        }
        situations.push(Situation {
            code: SituationCode(s.code),
            name: s.name.clone(),
            description: s.description.clone(),
            response,
        });
    }
    let mut categories: Vec<Category> = Vec::new();
    for c in &file.categories {
        if !is_code(c.code, true) {
            return Err(invalid(format!(
                "category {:?}: codes are UPPER_SNAKE_CASE",
                c.code
            )));
        }
        if categories.iter().any(|k| k.code.0 == c.code) {
            return Err(invalid(format!("category {} twice", c.code)));
        }
        let kind = Kind::parse(&c.kind)
            .ok_or_else(|| invalid(format!("category {}: unknown kind {}", c.code, c.kind)))?;
        let priority = Priority::parse(&c.priority).ok_or_else(|| {
            invalid(format!(
                "category {}: unknown priority {}",
                c.code, c.priority
            ))
        })?;
        let has_department = !c.department.trim().is_empty();
        if (kind == Kind::NonPolice) != has_department {
            return Err(invalid(format!(
                "category {}: a 12345 department is required for non-police categories and only for them",
                c.code
            )));
        }
        let response = requirements(&c.response, &capabilities, c.code)?;
        if kind.stays_with_police() == response.is_empty() {
            return Err(invalid(format!(
                "category {}: police and joint categories name their response, the others none",
                c.code
            )));
        }
        if c.name.trim().is_empty() {
            return Err(invalid(format!("category {}: needs a name", c.code)));
        }
        categories.push(Category {
            code: CategoryCode(c.code),
            name: c.name.clone(),
            kind,
            priority,
            department: c.department.clone(),
            response,
        });
    }
    if categories.is_empty() {
        return Err(invalid("no categories"));
    }
    Ok(Catalogue {
        version: file.version,
        categories,
        capabilities,
        situations,
        default_response,
    })
}
