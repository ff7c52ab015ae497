//! Mediations and revisits as columns: what a record writes, how a row reads back (with its
//! child tables), and the reads shared by the pool and transaction paths.

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{self, Arg, Cols, Columns, On};
use pingan_proto::followup::v1::Mediation;
use pingan_proto::followup::v1::{
    CommitteeMember, ContactMethod, MediationNextStep, MediationStatus, Party, PartyRole, Revisit,
    RevisitAttempt, RevisitReason, RevisitStatus,
};

use super::cols::*;
use super::db::Children;
use super::rows::{Loading, Record, Stored, decode};

pub(super) const MEDIATIONS: &str = "followup_mediations";
pub(super) const REVISITS: &str = "followup_revisits";
const PARTIES: Children = Children {
    table: "followup_mediation_parties",
    owner: &["mediation_id"],
};
const COMMITTEE: Children = Children {
    table: "followup_mediation_committee",
    owner: &["mediation_id"],
};
const TAGS: Children = Children {
    table: "followup_revisit_tags",
    owner: &["revisit_id"],
};
const ATTEMPTS: Children = Children {
    table: "followup_revisit_attempts",
    owner: &["revisit_id"],
};

/// The columns of a mediation (party phones apart, in `party_phones_enc`).
pub(super) fn mediation_columns(m: &Mediation) -> Result<Columns, StorageError> {
    let mut row: Columns = vec![
        ("mediation_id", s(&m.mediation_id)),
        ("incident_id", s(&m.incident_id)),
        ("station_id", s(&m.station_id)),
        ("grid_id", s(&m.grid_id)),
        ("category", s(&m.category)),
        ("summary", s(&m.summary)),
        ("mediator_officer_id", s(&m.mediator_officer_id)),
        ("place", s(&m.place)),
        ("status", name::<MediationStatus>(m.status)),
        ("agreement_text", s(&m.agreement_text)),
        ("next_step", name::<MediationNextStep>(m.next_step)),
        ("next_step_detail", s(&m.next_step_detail)),
        ("outcome_notes", s(&m.outcome_notes)),
        ("agreement_signed", Arg::Bool(m.agreement_signed)),
        (
            "started_at",
            required_time(m.started_at.as_ref(), "mediation")?,
        ),
        ("concluded_at", time(m.concluded_at.as_ref())),
        (
            "created_at",
            required_time(m.created_at.as_ref(), "mediation")?,
        ),
        (
            "updated_at",
            required_time(m.updated_at.as_ref(), "mediation")?,
        ),
        ("record", Arg::Bytes(Some(Vec::new()))),
    ];
    row.extend(actor(
        ["opened_by_subject", "opened_by_role", "opened_by_name"],
        m.opened_by.as_ref(),
    ));
    row.extend(actor(
        [
            "concluded_by_subject",
            "concluded_by_role",
            "concluded_by_name",
        ],
        m.concluded_by.as_ref(),
    ));
    Ok(row)
}

/// Writes a mediation's parties and committee members.
pub(super) async fn write_mediation_children(
    tx: &mut Tx,
    m: &Mediation,
) -> Result<(), StorageError> {
    let parties = m
        .parties
        .iter()
        .map(|p| {
            vec![
                ("name", s(&p.name)),
                ("role", name::<PartyRole>(p.role)),
                ("phone_masked", s(&p.phone_masked)),
                ("resident_id", s(&p.resident_id)),
                ("party_position", s(&p.position)),
            ]
        })
        .collect();
    PARTIES.write(tx, &[&m.mediation_id], parties).await?;
    let members = m
        .committee_members
        .iter()
        .map(|c| {
            vec![
                ("person_id", s(&c.person_id)),
                ("name", s(&c.name)),
                ("committee", s(&c.committee)),
            ]
        })
        .collect();
    COMMITTEE.write(tx, &[&m.mediation_id], members).await
}

/// A mediation row with its encrypted party phones.
pub(super) fn decode_mediation(row: &dyn Cols) -> Result<Stored<Mediation>, StorageError> {
    decode(row, "party_phones_enc", false)
}

impl Record for Mediation {
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError> {
        Ok(Mediation {
            mediation_id: row.text("mediation_id")?,
            incident_id: row.text("incident_id")?,
            station_id: row.text("station_id")?,
            grid_id: row.text("grid_id")?,
            category: row.text("category")?,
            parties: Vec::new(),
            summary: row.text("summary")?,
            mediator_officer_id: row.text("mediator_officer_id")?,
            committee_members: Vec::new(),
            place: row.text("place")?,
            status: enum_col::<MediationStatus>(row, "status")?,
            agreement_text: row.text("agreement_text")?,
            next_step: enum_col::<MediationNextStep>(row, "next_step")?,
            next_step_detail: row.text("next_step_detail")?,
            outcome_notes: row.text("outcome_notes")?,
            agreement_signed: row.flag("agreement_signed")?,
            started_at: time_col(row, "started_at")?,
            concluded_at: time_col(row, "concluded_at")?,
            opened_by: actor_col(
                row,
                ["opened_by_subject", "opened_by_role", "opened_by_name"],
            )?,
            concluded_by: actor_col(
                row,
                [
                    "concluded_by_subject",
                    "concluded_by_role",
                    "concluded_by_name",
                ],
            )?,
            created_at: time_col(row, "created_at")?,
            updated_at: time_col(row, "updated_at")?,
        })
    }

    fn load<'a, 'b: 'a>(&'a mut self, on: &'a mut On<'b>) -> Loading<'a> {
        Box::pin(async move {
            let id = self.mediation_id.clone();
            self.parties = PARTIES.read(on, &[&id], decode_party).await?;
            self.committee_members = COMMITTEE.read(on, &[&id], decode_member).await?;
            Ok(())
        })
    }
}

fn decode_party(row: &dyn Cols) -> Result<Party, StorageError> {
    Ok(Party {
        name: row.text("name")?,
        role: enum_col::<PartyRole>(row, "role")?,
        phone: String::new(),
        phone_masked: row.text("phone_masked")?,
        resident_id: row.text("resident_id")?,
        position: row.text("party_position")?,
    })
}

fn decode_member(row: &dyn Cols) -> Result<CommitteeMember, StorageError> {
    Ok(CommitteeMember {
        person_id: row.text("person_id")?,
        name: row.text("name")?,
        committee: row.text("committee")?,
    })
}

/// The columns of a revisit (its contact phone apart; `overdue` is computed, never stored).
pub(super) fn revisit_columns(r: &Revisit) -> Result<Columns, StorageError> {
    Ok(vec![
        ("revisit_id", s(&r.revisit_id)),
        ("incident_id", s(&r.incident_id)),
        ("mediation_id", s(&r.mediation_id)),
        ("station_id", s(&r.station_id)),
        ("grid_id", s(&r.grid_id)),
        ("assigned_officer_id", s(&r.assigned_officer_id)),
        ("category", s(&r.category)),
        ("reason", name::<RevisitReason>(r.reason)),
        ("policy_rule_id", s(&r.policy_rule_id)),
        ("contact_name", s(&r.contact_name)),
        ("contact_phone_masked", s(&r.contact_phone_masked)),
        ("resident_id", s(&r.resident_id)),
        ("status", name::<RevisitStatus>(r.status)),
        ("due_at", required_time(r.due_at.as_ref(), "revisit")?),
        ("sequence", Arg::Int(Some(i64::from(r.sequence)))),
        ("previous_revisit_id", s(&r.previous_revisit_id)),
        ("completed_at", time(r.completed_at.as_ref())),
        (
            "created_at",
            required_time(r.created_at.as_ref(), "revisit")?,
        ),
        (
            "updated_at",
            required_time(r.updated_at.as_ref(), "revisit")?,
        ),
        ("record", Arg::Bytes(Some(Vec::new()))),
    ])
}

/// Writes a revisit's resident tags and attempts.
pub(super) async fn write_revisit_children(tx: &mut Tx, r: &Revisit) -> Result<(), StorageError> {
    let tags = r
        .resident_tags
        .iter()
        .map(|tag| vec![("tag", s(tag))])
        .collect();
    TAGS.write(tx, &[&r.revisit_id], tags).await?;
    let attempts = r
        .attempts
        .iter()
        .map(|a| {
            let mut row: Columns = vec![
                ("performed_at", time(a.performed_at.as_ref())),
                ("method", name::<ContactMethod>(a.method)),
                ("contacted", Arg::Bool(a.contacted)),
                ("issue_resolved", Arg::Bool(a.issue_resolved)),
                ("satisfaction", Arg::Int(Some(i64::from(a.satisfaction)))),
                ("notes", s(&a.notes)),
                (
                    "another_revisit_needed",
                    Arg::Bool(a.another_revisit_needed),
                ),
            ];
            row.extend(actor(
                [
                    "recorded_by_subject",
                    "recorded_by_role",
                    "recorded_by_name",
                ],
                a.recorded_by.as_ref(),
            ));
            row
        })
        .collect();
    ATTEMPTS.write(tx, &[&r.revisit_id], attempts).await
}

/// A revisit row with its encrypted contact phone.
pub(super) fn decode_revisit(row: &dyn Cols) -> Result<Stored<Revisit>, StorageError> {
    decode(row, "contact_phone_enc", false)
}

impl Record for Revisit {
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError> {
        Ok(Revisit {
            revisit_id: row.text("revisit_id")?,
            incident_id: row.text("incident_id")?,
            mediation_id: row.text("mediation_id")?,
            station_id: row.text("station_id")?,
            grid_id: row.text("grid_id")?,
            assigned_officer_id: row.text("assigned_officer_id")?,
            category: row.text("category")?,
            reason: enum_col::<RevisitReason>(row, "reason")?,
            policy_rule_id: row.text("policy_rule_id")?,
            contact_name: row.text("contact_name")?,
            contact_phone_masked: row.text("contact_phone_masked")?,
            contact_phone: String::new(),
            resident_id: row.text("resident_id")?,
            resident_tags: Vec::new(),
            status: enum_col::<RevisitStatus>(row, "status")?,
            due_at: time_col(row, "due_at")?,
            overdue: false,
            sequence: row.int32("sequence")?,
            previous_revisit_id: row.text("previous_revisit_id")?,
            attempts: Vec::new(),
            completed_at: time_col(row, "completed_at")?,
            created_at: time_col(row, "created_at")?,
            updated_at: time_col(row, "updated_at")?,
        })
    }

    fn load<'a, 'b: 'a>(&'a mut self, on: &'a mut On<'b>) -> Loading<'a> {
        Box::pin(async move {
            let id = self.revisit_id.clone();
            self.resident_tags = TAGS.read(on, &[&id], |row| row.text("tag")).await?;
            self.attempts = ATTEMPTS.read(on, &[&id], decode_attempt).await?;
            Ok(())
        })
    }
}

fn decode_attempt(row: &dyn Cols) -> Result<RevisitAttempt, StorageError> {
    Ok(RevisitAttempt {
        performed_at: time_col(row, "performed_at")?,
        method: enum_col::<ContactMethod>(row, "method")?,
        contacted: row.flag("contacted")?,
        issue_resolved: row.flag("issue_resolved")?,
        satisfaction: row.int32("satisfaction")?,
        notes: row.text("notes")?,
        another_revisit_needed: row.flag("another_revisit_needed")?,
        recorded_by: actor_col(
            row,
            [
                "recorded_by_subject",
                "recorded_by_role",
                "recorded_by_name",
            ],
        )?,
    })
}

/// Inserts a mediation with its children.
pub(super) async fn insert_mediation(
    tx: &mut Tx,
    m: &Mediation,
    party_phones_enc: Option<Vec<u8>>,
) -> Result<(), StorageError> {
    let mut row = mediation_columns(m)?;
    row.push(("party_phones_enc", Arg::Bytes(party_phones_enc)));
    storage_rows::insert(tx, MEDIATIONS, row, "").await?;
    write_mediation_children(tx, m).await
}
