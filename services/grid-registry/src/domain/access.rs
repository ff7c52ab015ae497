//! Who may see phone and ID numbers in clear; everybody else gets the masked form.

use pingan_platform::auth::{Caller, Role};

/// Roles that may read ID numbers in clear (station leadership, case officers, administrators).
const ID_NUMBER_ROLES: [Role; 2] = [Role::StationOfficer, Role::Admin];

/// Police roles that may call people: phone numbers in clear, within their jurisdiction.
const PHONE_ROLES: [Role; 5] = [
    Role::StationOfficer,
    Role::VillageOfficer,
    Role::Dispatcher,
    Role::Service,
    Role::Admin,
];

/// True when `caller`'s roles open some phone or ID numbers in clear (in its own stations).
pub fn reads_in_clear(caller: &Caller) -> bool {
    caller.has_any(&ID_NUMBER_ROLES) || caller.has_any(&PHONE_ROLES)
}

/// What one caller may see of records in one station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    /// ID numbers in clear.
    pub id_number: bool,
    /// Phone numbers in clear.
    pub phone: bool,
}

impl Visibility {
    /// Nothing in clear.
    pub const MASKED: Self = Self {
        id_number: false,
        phone: false,
    };

    /// What `caller` may see of records belonging to `station_id`.
    pub fn of(caller: &Caller, station_id: &str) -> Self {
        if !caller.can_see_station(station_id) {
            return Self::MASKED;
        }
        Self {
            id_number: caller.has_any(&ID_NUMBER_ROLES),
            phone: caller.has_any(&PHONE_ROLES),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use pingan_platform::auth::Jurisdiction;

    use super::*;

    fn caller(roles: &[Role], stations: &[&str]) -> Caller {
        Caller {
            subject: "x".into(),
            roles: roles.iter().copied().collect(),
            jurisdiction: Jurisdiction::Stations(
                stations
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<BTreeSet<_>>(),
            ),
        }
    }

    #[test]
    fn grid_workers_see_masked_numbers_and_officers_only_in_their_station() {
        let worker = caller(&[Role::GridWorker], &["st-a"]);
        assert_eq!(Visibility::of(&worker, "st-a"), Visibility::MASKED);
        let village = caller(&[Role::VillageOfficer], &["st-a"]);
        assert_eq!(
            Visibility::of(&village, "st-a"),
            Visibility {
                id_number: false,
                phone: true
            }
        );
        assert_eq!(Visibility::of(&village, "st-b"), Visibility::MASKED);
        let leader = caller(&[Role::StationOfficer], &["st-a"]);
        assert!(Visibility::of(&leader, "st-a").id_number);
    }
}
