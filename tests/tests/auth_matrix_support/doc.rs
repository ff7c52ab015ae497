//! Renders the declared policy as docs/security-matrix.md.

use std::fmt::Write as _;

use pingan_platform::auth::{Callers, Role};

use super::policy::{POLICY, ROLES, Refusal, Scope};

/// Short column headers, in the order of [`ROLES`].
fn header(role: Role) -> &'static str {
    match role {
        Role::Dispatcher => "disp",
        Role::CommandCenter => "cmd",
        Role::StationOfficer => "stn",
        Role::VillageOfficer => "vil",
        Role::GridWorker => "grid",
        Role::Inspector => "insp",
        Role::LegalUnit => "legal",
        Role::CallIntegrator => "110",
        Role::HotlineIntegrator => "12345",
        Role::Service => "svc",
        Role::Admin => "admin",
        Role::Device => "dev",
    }
}

/// The whole file.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "# Roles × RPC matrix\n\n\
         Generated from the declared policy in `tests/tests/auth_matrix_support/policy.rs`; do \
         not edit by hand. `tests/tests/auth_matrix.rs` calls every RPC with a token of every \
         role (station A) and of every allowed role at another station (B), on SQLite and on \
         Postgres + Redis, and fails when a handler answers otherwise than this table says: \
         a role without a mark is `PERMISSION_DENIED`; a marked role passes authorization at \
         its own station and gets the \"other station\" answer elsewhere. The same test fails \
         when this file is out of date; regenerate it with\n\n\
         ```sh\nPINGAN_UPDATE_DOCS=1 cargo test -p pingan-tests --test auth_matrix security_matrix_doc\n```\n\n\
         Roles: ",
    );
    let legend: Vec<String> = ROLES
        .iter()
        .map(|role| format!("`{}` {}", header(*role), role.as_str()))
        .collect();
    out.push_str(&legend.join(", "));
    out.push_str(
        ". A device token (`unit:<id>`) acts for its own unit: its \"station\" is the unit.\n\n\
         Other station: `DENIED` = `PERMISSION_DENIED`; `HIDDEN` = `NOT_FOUND`, the service \
         does not reveal that the record exists; `FILTERED` = the answer holds nothing of the \
         other station; `UNKNOWN` = `INVALID_ARGUMENT` naming the referenced record as \
         unknown, as for one that does not exist; `bureau` = not station-scoped (reason below \
         the table). Roles named after `except` act bureau-wide on that RPC by design. `∅`: \
         the role passes, but a device token covers no station, so it never sees a station's \
         records there. `svc`: a caller whose only role is `service` may make only the calls \
         some service is declared to make (listed at the end, from each service's \
         `api/service_calls.rs`); every other call by a service is `PERMISSION_DENIED` before \
         its handler, and so is a listed call by another service.\n\n",
    );
    let mut service = "";
    let mut reasons: Vec<(&str, String)> = Vec::new();
    for rpc in POLICY {
        if rpc.service != service {
            if !service.is_empty() {
                out.push('\n');
            }
            service = rpc.service;
            let _ = write!(out, "## `{service}`\n\n| RPC |");
            for role in ROLES {
                let _ = write!(out, " {} |", header(role));
            }
            out.push_str(" other station |\n|---|");
            for _ in ROLES {
                out.push_str(":-:|");
            }
            out.push_str("---|\n");
        }
        let _ = write!(out, "| {} |", rpc.method);
        for role in ROLES {
            out.push_str(if !rpc.allows(role) {
                "   |"
            } else if role == Role::Device
                && matches!(rpc.scope, Scope::Station { .. })
                && !rpc.scope.for_unit()
            {
                " ∅ |"
            } else {
                " ✓ |"
            });
        }
        let scope = match rpc.scope {
            Scope::Station {
                refusal,
                exempt,
                why,
                ..
            } => {
                let mut text = match refusal {
                    Refusal::Denied => "DENIED".to_owned(),
                    Refusal::Hidden => "HIDDEN".to_owned(),
                    Refusal::Unknown => "UNKNOWN".to_owned(),
                    Refusal::Filtered => "FILTERED".to_owned(),
                };
                if !exempt.is_empty() {
                    let names: Vec<&str> = exempt.iter().map(|r| header(*r)).collect();
                    let _ = write!(text, " except {} ({why})", names.join(", "));
                }
                text
            }
            Scope::Bureau(why) => {
                let n = match reasons.iter().position(|(w, _)| *w == why) {
                    Some(i) => i + 1,
                    None => {
                        reasons.push((why, String::new()));
                        reasons.len()
                    }
                };
                format!("bureau ({n})")
            }
        };
        let _ = writeln!(out, " {scope} |");
    }
    out.push_str("\n## Not station-scoped\n\n");
    for (i, (why, _)) in reasons.iter().enumerate() {
        let _ = writeln!(out, "{}. {why}.", i + 1);
    }
    out.push_str("\n## Calls between services (role `svc`)\n\n| RPC | made by |\n|---|---|\n");
    for call in pingan::routing::service_calls() {
        let by = match call.callers {
            Callers::AnyService => "any service".to_owned(),
            Callers::Only(services) => services.join(", "),
        };
        let _ = writeln!(out, "| `{}` | {by} |", call.path());
    }
    out
}
