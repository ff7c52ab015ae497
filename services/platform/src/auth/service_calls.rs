//! Which Pingan service may call which RPC with the `service` role. Each service declares the
//! calls other services make to it; a caller whose only role is `service` gets those and nothing
//! else, so a compromised service reaches only what its peers really ask of it.

use std::collections::HashMap;

use super::{Caller, Role};

/// The services allowed to make one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// Any service (e.g. event delivery, where the sink checks the envelope's source).
    AnyService,
    /// Only these services (token subject or client-certificate name).
    Only(&'static [&'static str]),
}

/// One RPC a service is called on by its peers.
#[derive(Debug, Clone, Copy)]
pub struct ServiceCall {
    /// `package.Service`, e.g. `pingan.grid.v1.GridRegistryService`.
    pub service: &'static str,
    /// The method's name.
    pub method: &'static str,
    /// Who may make it.
    pub callers: Callers,
}

impl ServiceCall {
    /// `callers` may call `service`/`method`.
    pub const fn new(service: &'static str, method: &'static str, callers: Callers) -> Self {
        Self {
            service,
            method,
            callers,
        }
    }

    /// The gRPC path.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.method)
    }
}

/// The calls one process's services accept from the `service` role, by path.
#[derive(Debug, Clone, Default)]
pub struct ServiceCalls {
    by_path: HashMap<String, Callers>,
}

impl ServiceCalls {
    /// Adds the calls a mounted service declares.
    pub fn allow(&mut self, calls: &[ServiceCall]) {
        for call in calls {
            self.by_path.insert(call.path(), call.callers);
        }
    }

    /// Who may call `path` with the `service` role, when anyone may.
    pub fn callers(&self, path: &str) -> Option<Callers> {
        self.by_path.get(path).copied()
    }

    /// True when `caller` may call `path`. Only a caller whose roles are `service` alone is
    /// narrowed: any other role is checked by the handler as before.
    pub fn permits(&self, caller: &Caller, path: &str) -> bool {
        let service_only = caller.roles.iter().all(|role| *role == Role::Service);
        if !service_only || !caller.has_role(Role::Service) {
            return true;
        }
        match self.callers(path) {
            Some(Callers::AnyService) => true,
            Some(Callers::Only(services)) => services.contains(&caller.subject.as_str()),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Jurisdiction;

    const GRID: &str = "pingan.grid.v1.GridRegistryService";

    fn caller(subject: &str, roles: &[Role]) -> Caller {
        Caller {
            subject: subject.to_owned(),
            roles: roles.iter().copied().collect(),
            jurisdiction: Jurisdiction::Bureau,
        }
    }

    fn calls() -> ServiceCalls {
        let mut calls = ServiceCalls::default();
        calls.allow(&[
            ServiceCall::new(GRID, "LocateGrid", Callers::Only(&["intake"])),
            ServiceCall::new(
                "pingan.events.v1.EventSinkService",
                "Deliver",
                Callers::AnyService,
            ),
        ]);
        calls
    }

    #[test]
    fn a_service_reaches_only_the_calls_declared_for_it() {
        let calls = calls();
        let locate = format!("/{GRID}/LocateGrid");
        assert!(calls.permits(&caller("intake", &[Role::Service]), &locate));
        assert!(!calls.permits(&caller("dispatch", &[Role::Service]), &locate));
        assert!(!calls.permits(
            &caller("intake", &[Role::Service]),
            &format!("/{GRID}/UpsertResident")
        ));
        let deliver = "/pingan.events.v1.EventSinkService/Deliver";
        assert!(calls.permits(&caller("dispatch", &[Role::Service]), deliver));
    }

    #[test]
    fn people_and_mixed_roles_are_left_to_the_handlers() {
        let calls = calls();
        let upsert = format!("/{GRID}/UpsertResident");
        assert!(calls.permits(&caller("officer-1", &[Role::StationOfficer]), &upsert));
        assert!(calls.permits(&caller("ops", &[Role::Service, Role::Admin]), &upsert));
        assert!(calls.permits(&caller("x", &[]), &upsert));
    }
}
