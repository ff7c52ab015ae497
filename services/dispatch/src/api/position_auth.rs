//! Who may report a unit's position: the unit's own device (role `device`, subject
//! `unit:<unit_id>`), the officers and dispatchers of the unit's station (station-scoped roles
//! with that station in their jurisdiction), and the bureau-wide roles (admin, service, and the
//! command center with the whole bureau in its jurisdiction). Checked per unit, per fix.

use std::collections::HashMap;

use pingan_platform::ApiError;
use pingan_platform::auth::{Caller, Role};

use crate::positions::PositionStore;
use crate::store::Store;

/// Roles that may call the position RPCs at all; each unit is then checked by [`ReportGate`].
pub(crate) const REPORTERS: &[Role] = &[
    Role::Device,
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
    Role::Admin,
];
/// Roles that report for the units of the stations in their jurisdiction (a command center
/// without a station list has the whole bureau).
const STATION_SCOPED: &[Role] = &[
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::CommandCenter,
];
/// Roles that report for every unit (no service reports positions: the guard refuses them).
const BUREAU_WIDE: &[Role] = &[Role::Admin];

/// True when `caller` may report the position of `unit_id`, a unit of `station_id`.
pub(crate) fn may_report(caller: &Caller, unit_id: &str, station_id: &str) -> bool {
    caller.device_unit() == Some(unit_id)
        || caller.has_any(BUREAU_WIDE)
        || (caller.has_any(STATION_SCOPED) && caller.can_see_station(station_id))
}

/// What the gate says about one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The caller may report it.
    Allowed,
    /// No such unit: nothing to authorise, nothing to write.
    UnknownUnit,
}

/// Checks the units of one request or stream, looking each unit's station up once: in the live
/// store (kept in step with every registration), in the database for units it does not hold.
pub(crate) struct ReportGate<'a> {
    store: &'a dyn Store,
    live: &'a dyn PositionStore,
    caller: &'a Caller,
    stations: HashMap<String, Option<String>>,
}

impl<'a> ReportGate<'a> {
    /// A gate for `caller`'s fixes.
    pub(crate) fn new(
        store: &'a dyn Store,
        live: &'a dyn PositionStore,
        caller: &'a Caller,
    ) -> Self {
        Self {
            store,
            live,
            caller,
            stations: HashMap::new(),
        }
    }

    /// Reads the stations of the units not seen yet, in one query.
    pub(crate) async fn learn<'u>(
        &mut self,
        unit_ids: impl Iterator<Item = &'u str>,
    ) -> Result<(), ApiError> {
        let mut unseen: Vec<String> = unit_ids
            .filter(|id| !self.stations.contains_key(*id))
            .map(str::to_owned)
            .collect();
        unseen.sort_unstable();
        unseen.dedup();
        if unseen.is_empty() {
            return Ok(());
        }
        let live = self.live.stations(&unseen).await?;
        let missing: Vec<String> = unseen
            .iter()
            .filter(|id| !live.contains_key(*id))
            .cloned()
            .collect();
        for (unit_id, station) in live {
            self.stations.insert(unit_id, Some(station));
        }
        if !missing.is_empty() {
            for unit in self.store.units(&missing).await? {
                self.stations.insert(unit.unit_id, Some(unit.station_id));
            }
        }
        for unit_id in unseen {
            self.stations.entry(unit_id).or_insert(None);
        }
        Ok(())
    }

    /// Allowed or unknown unit; PERMISSION_DENIED when the caller may not report `unit_id`.
    pub(crate) async fn check(&mut self, unit_id: &str) -> Result<Verdict, ApiError> {
        let station = match self.stations.get(unit_id) {
            Some(station) => station.clone(),
            None => {
                let station = self.store.unit(unit_id).await?.map(|row| row.station_id);
                self.stations.insert(unit_id.to_owned(), station.clone());
                station
            }
        };
        match station {
            None => Ok(Verdict::UnknownUnit),
            Some(station) if may_report(self.caller, unit_id, &station) => Ok(Verdict::Allowed),
            Some(_) => Err(ApiError::PermissionDenied(format!(
                "the caller may not report the position of unit {unit_id}: only its device, its station's officers and dispatchers, or bureau-wide roles may"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use pingan_platform::auth::Jurisdiction;

    use super::*;

    fn caller(subject: &str, roles: &[Role], stations: Option<&[&str]>) -> Caller {
        Caller {
            subject: subject.to_owned(),
            roles: roles.iter().copied().collect(),
            jurisdiction: match stations {
                None => Jurisdiction::Bureau,
                Some(list) => Jurisdiction::Stations(
                    list.iter()
                        .map(|s| (*s).to_owned())
                        .collect::<BTreeSet<_>>(),
                ),
            },
        }
    }

    #[test]
    fn devices_report_their_own_unit_and_officers_their_own_station() {
        let device = caller("unit:u-1", &[Role::Device], Some(&[]));
        assert!(may_report(&device, "u-1", "st-a"));
        assert!(!may_report(&device, "u-2", "st-a"));
        let officer = caller("o-1", &[Role::StationOfficer], Some(&["st-a"]));
        assert!(may_report(&officer, "u-2", "st-a"));
        assert!(!may_report(&officer, "u-9", "st-b"));
        let village = caller("o-2", &[Role::VillageOfficer], Some(&["st-b"]));
        assert!(!may_report(&village, "u-2", "st-a"));
        let center = caller("cc", &[Role::CommandCenter], None);
        assert!(may_report(&center, "u-9", "st-b"));
        let admin = caller("ops", &[Role::Admin], Some(&["st-a"]));
        assert!(may_report(&admin, "u-9", "st-b"));
        let inspector = caller("i", &[Role::Inspector], None);
        assert!(
            !may_report(&inspector, "u-1", "st-a"),
            "bureau-wide reader, not a reporter"
        );
    }
}
