//! The incident vocabulary every service shares: the categories triage emits (code, Chinese
//! name, kind, default priority, 12345 department, the units a response needs), the capabilities
//! units may carry, and the response situations a triage rule can recognise (e.g. `WATER`: a
//! drone with aerial video and a ground unit).
//!
//! The vocabulary is data (`catalogue.json`, embedded and parsed once). Codes are typed:
//! [`CategoryCode`], [`Capability`] and [`SituationCode`] can only be built from catalogue
//! entries, so a value of those types is known to every service.

pub mod classification;
mod data;
pub mod proto;

use std::collections::BTreeSet;
use std::sync::LazyLock;

pub use data::{CatalogueError, SOURCE};

/// Who handles calls of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Police business.
    Police,
    /// Police together with fire (119) or ambulance (120).
    Joint,
    /// A complaint about police (complaints-audit).
    ComplaintAboutPolice,
    /// Not police business (12345).
    NonPolice,
    /// Silent call, misdial, prank.
    Invalid,
}

impl Kind {
    /// Parses the catalogue spelling (`POLICE`, `NON_POLICE`, ...).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "POLICE" => Self::Police,
            "JOINT" => Self::Joint,
            "COMPLAINT_ABOUT_POLICE" => Self::ComplaintAboutPolice,
            "NON_POLICE" => Self::NonPolice,
            "INVALID" => Self::Invalid,
            _ => return None,
        })
    }

    /// The catalogue spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Police => "POLICE",
            Self::Joint => "JOINT",
            Self::ComplaintAboutPolice => "COMPLAINT_ABOUT_POLICE",
            Self::NonPolice => "NON_POLICE",
            Self::Invalid => "INVALID",
        }
    }

    /// Police or joint: a unit goes.
    pub fn stays_with_police(self) -> bool {
        matches!(self, Self::Police | Self::Joint)
    }
}

/// Response priority of the shared vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Threat to life, crime in progress against a person.
    P1,
    /// Urgent.
    P2,
    /// Police business that can wait.
    P3,
    /// Not for a police unit.
    P4,
}

impl Priority {
    const ALL: [Priority; 4] = [Self::P1, Self::P2, Self::P3, Self::P4];

    /// Parses `P1`..`P4`.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }

    /// More urgent by `by` levels (P1 at most).
    pub fn raised(self, by: u8) -> Self {
        Self::ALL[(self as usize).saturating_sub(usize::from(by))]
    }

    /// Less urgent by `by` levels, never past `floor`.
    pub fn lowered(self, by: u8, floor: Self) -> Self {
        Self::ALL[(self as usize + usize::from(by)).min(floor as usize)]
    }

    /// `P1`..`P4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
            Self::P4 => "P4",
        }
    }
}

/// A kind of unit a requirement accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitKind {
    /// An officer on foot or bicycle.
    Officer,
    /// A patrol car and its crew.
    PatrolCar,
    /// A police drone and its pilot.
    Drone,
    /// An auxiliary police officer or team.
    Auxiliary,
}

impl UnitKind {
    /// The kinds that move on the ground (the catalogue's `GROUND`).
    pub const GROUND: [UnitKind; 3] = [Self::Officer, Self::PatrolCar, Self::Auxiliary];

    /// Parses one catalogue spelling; `GROUND` stands for [`UnitKind::GROUND`].
    pub fn parse_group(value: &str) -> Option<Vec<Self>> {
        Some(match value {
            "OFFICER" => vec![Self::Officer],
            "PATROL_CAR" => vec![Self::PatrolCar],
            "DRONE" => vec![Self::Drone],
            "AUXILIARY" => vec![Self::Auxiliary],
            "GROUND" => Self::GROUND.to_vec(),
            _ => return None,
        })
    }

    /// The catalogue spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "OFFICER",
            Self::PatrolCar => "PATROL_CAR",
            Self::Drone => "DRONE",
            Self::Auxiliary => "AUXILIARY",
        }
    }
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(&'static str);

        impl $name {
            /// The code as the wire spells it.
            pub fn as_str(self) -> &'static str {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0
            }
        }
    };
}

code_type!(
    /// A category code of the catalogue, e.g. `RESCUE` (built only by [`CategoryCode::parse`]).
    CategoryCode
);
code_type!(
    /// A unit capability of the catalogue, e.g. `aerial_video` (built only by [`Capability::parse`]).
    Capability
);
code_type!(
    /// A response situation of the catalogue, e.g. `WATER` (built only by [`SituationCode::parse`]).
    SituationCode
);

impl CategoryCode {
    /// The catalogue's category for `value` (trimmed, any case).
    pub fn parse(value: &str) -> Result<Self, CatalogueError> {
        Ok(catalogue()?.category(value)?.code)
    }
}

impl Capability {
    /// The catalogue's capability for `value` (trimmed, any case).
    pub fn parse(value: &str) -> Result<Self, CatalogueError> {
        Ok(catalogue()?.capability(value)?.code)
    }
}

impl SituationCode {
    /// The catalogue's situation for `value` (trimmed, any case).
    pub fn parse(value: &str) -> Result<Self, CatalogueError> {
        Ok(catalogue()?.situation(value)?.code)
    }
}

/// Units a response wants of one sort.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    /// Acceptable kinds (empty: any kind).
    pub kinds: Vec<UnitKind>,
    /// Capabilities every chosen unit must have.
    pub capabilities: Vec<Capability>,
    /// How many units (at least 1).
    pub count: u32,
}

/// One category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Code, e.g. `RESCUE`.
    pub code: CategoryCode,
    /// Chinese name, e.g. 紧急救助.
    pub name: String,
    /// Who handles it.
    pub kind: Kind,
    /// Priority when no rule says otherwise.
    pub priority: Priority,
    /// 12345 department (non-police categories only).
    pub department: String,
    /// Units a response needs; empty when no police unit attends (dispatch then uses the
    /// catalogue's default response, e.g. for a call bounced back by 12345).
    pub response: Vec<Requirement>,
}

/// One capability a unit may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityInfo {
    /// Code, e.g. `aerial_video`.
    pub code: Capability,
    /// Chinese name.
    pub name: String,
}

/// One response situation a triage rule can attach to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Situation {
    /// Code, e.g. `WATER`.
    pub code: SituationCode,
    /// Chinese name, e.g. 落水救援.
    pub name: String,
    /// What it means, for people editing rules.
    pub description: String,
    /// Units it adds to the category's response.
    pub response: Vec<Requirement>,
}

/// The whole vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Version of the catalogue file.
    pub version: String,
    /// Categories, in file order (triage breaks score ties by it).
    pub categories: Vec<Category>,
    /// Capabilities.
    pub capabilities: Vec<CapabilityInfo>,
    /// Situations.
    pub situations: Vec<Situation>,
    /// Response for a dispatched category that names none.
    pub default_response: Vec<Requirement>,
}

static CATALOGUE: LazyLock<Result<Catalogue, CatalogueError>> =
    LazyLock::new(|| data::parse(SOURCE));

/// The catalogue shipped with the platform (parsed once; its unit tests prove it valid).
pub fn catalogue() -> Result<&'static Catalogue, CatalogueError> {
    CATALOGUE.as_ref().map_err(Clone::clone)
}

impl Catalogue {
    /// The category `value` names (trimmed, any case).
    pub fn category(&self, value: &str) -> Result<&Category, CatalogueError> {
        let wanted = value.trim();
        self.categories
            .iter()
            .find(|c| c.code.0.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| CatalogueError::UnknownCategory(value.to_owned()))
    }

    /// The capability `value` names (trimmed, any case).
    pub fn capability(&self, value: &str) -> Result<&CapabilityInfo, CatalogueError> {
        let wanted = value.trim();
        self.capabilities
            .iter()
            .find(|c| c.code.0.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| CatalogueError::UnknownCapability(value.to_owned()))
    }

    /// The situation `value` names (trimmed, any case).
    pub fn situation(&self, value: &str) -> Result<&Situation, CatalogueError> {
        let wanted = value.trim();
        self.situations
            .iter()
            .find(|s| s.code.0.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| CatalogueError::UnknownSituation(value.to_owned()))
    }

    /// The units a response to `category` in `situations` needs: the category's own response
    /// (the default response when it names none) merged with every situation's; a requirement
    /// asked for twice counts once, with the larger count.
    pub fn requirements(
        &self,
        category: CategoryCode,
        situations: &[SituationCode],
    ) -> Vec<Requirement> {
        let own = self
            .category(category.0)
            .map(|c| c.response.as_slice())
            .unwrap_or_default();
        let base = if own.is_empty() {
            self.default_response.as_slice()
        } else {
            own
        };
        let mut out: Vec<Requirement> = base.to_vec();
        let mut seen = BTreeSet::new();
        for code in situations {
            if !seen.insert(*code) {
                continue;
            }
            let Ok(situation) = self.situation(code.0) else {
                continue;
            };
            for wanted in &situation.response {
                match out
                    .iter_mut()
                    .find(|r| r.kinds == wanted.kinds && r.capabilities == wanted.capabilities)
                {
                    Some(same) => same.count = same.count.max(wanted.count),
                    None => out.push(wanted.clone()),
                }
            }
        }
        // Most specific first: the scarce units (fewest kinds, most capabilities) are picked
        // before the general ones, so a drone is not taken by "any unit".
        out.sort_by_key(|r| {
            (
                if r.kinds.is_empty() {
                    usize::MAX
                } else {
                    r.kinds.len()
                },
                std::cmp::Reverse(r.capabilities.len()),
            )
        });
        out
    }

    /// Every capability some category, situation or the default response needs.
    pub fn needed_capabilities(&self) -> BTreeSet<Capability> {
        self.categories
            .iter()
            .flat_map(|c| c.response.iter())
            .chain(self.situations.iter().flat_map(|s| s.response.iter()))
            .chain(self.default_response.iter())
            .flat_map(|r| r.capabilities.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests;
