//! Conformance of the column layout on both backends: every field of every record reads back as
//! written, and rows a bureau stored under the 0001 JSON schema are read after the upgrade.
//! Past 500 lines because every record kind needs its full-field fixture here, side by side.

use std::borrow::Cow;

use pingan_grid_registry::MIGRATIONS;
use pingan_grid_registry::domain::*;
use pingan_grid_registry::store::{
    Inserted, NeedFilter, OutreachFilter, Page, ReinspectionFilter, Scope, SqlStore, Store,
    upgrade_legacy,
};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, Migrations};
use pingan_platform::testing::TestDatabase;
use pingan_platform::{Db, with_db};
use sqlx::migrate::Migrator;

const PAGE: Page = Page {
    offset: 0,
    limit: 100,
};
const T0: Millis = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z

fn sealed(masked: &str) -> SealedValue {
    SealedValue {
        masked: masked.into(),
        sealed: format!("{masked}-ciphertext"),
    }
}

fn actor(subject: &str) -> ActorRef {
    ActorRef {
        subject: subject.into(),
        role: "GRID_WORKER".into(),
    }
}

fn here() -> Option<LatLon> {
    Some(LatLon::new(30.274_083_123_456_78, 120.155_070_987_654_32))
}

/// One of each record with every field set to something other than its default.
struct Records {
    station: Station,
    grid: Grid,
    officer: GridOfficer,
    address: Address,
    resident: Resident,
    house: House,
    premises: Premises,
    lookup: IdLookup,
    visit: Visit,
    need: Need,
    inspection: Inspection,
    outreach: Outreach,
    broadcast: Broadcast,
}

fn records() -> Records {
    let station = Station {
        station_id: "st-1".into(),
        name: "西湖派出所".into(),
        kind: 2,
        county: "西湖区".into(),
        region_code: "330106".into(),
        location: here(),
        address: "杭州市西湖区1号".into(),
        duty_phone: "0571-12345678".into(),
        created_at: T0,
        updated_at: T0 + 1,
    };
    let ring = vec![
        LatLon::new(30.1, 120.1),
        LatLon::new(30.1, 120.2),
        LatLon::new(30.2, 120.2),
        LatLon::new(30.1, 120.1),
    ];
    let grid = Grid {
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        name: "一号网格".into(),
        polygon: ring,
        kind: 1,
        area_m2: 12_345.678,
        centroid: LatLon::new(30.133_333_333_333_33, 120.166_666_666_666_67),
        created_at: T0,
        updated_at: T0 + 2,
    };
    let officer = GridOfficer {
        grid_id: "g-1".into(),
        officer_id: "o-1".into(),
        role: 1,
        name: "王警官".into(),
        station_id: "st-1".into(),
        phone: sealed("138****0001"),
        assigned_at: T0 + 3,
    };
    let address = Address {
        address_id: "a-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        full_text: "浙江省杭州市西湖区文三路1号2幢3单元401室".into(),
        components: AddressParts {
            province: "浙江省".into(),
            city: "杭州市".into(),
            county: "西湖区".into(),
            township: "文新街道".into(),
            village: "文一社区".into(),
            street: "文三路".into(),
            house_number: "1号".into(),
            building: "2幢".into(),
            entrance: "3单元".into(),
            room: "401室".into(),
        },
        location: here(),
        address_code: "AC-1".into(),
        created_at: T0,
        updated_at: T0 + 4,
    };
    let resident = Resident {
        resident_id: "r-1".into(),
        name: "张三".into(),
        id_number: sealed("3301**********1234"),
        id_number_hash: "hash-r-1".into(),
        birth_date: "1940-05-06".into(),
        phone: sealed("139****0002"),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        address_id: "a-1".into(),
        address: "文三路1号".into(),
        household_id: "hh-1".into(),
        relation_to_head: "户主".into(),
        residency: 1,
        tags: vec![2, 1, 99],
        location: here(),
        emergency_contact_name: "张小三".into(),
        emergency_contact_phone: sealed("137****0003"),
        visit_interval_secs: 604_800,
        last_visit_at: None,
        notes: "独居".into(),
        created_at: T0,
        updated_at: T0 + 5,
    };
    let house = House {
        house_id: "h-1".into(),
        address_id: "a-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        house_use: 2,
        owner_resident_id: "r-1".into(),
        owner_name: "张三".into(),
        owner_phone: sealed("139****0002"),
        occupant_count: 3,
        floor_area_m2: 88.5,
        location: here(),
        notes: "出租".into(),
        created_at: T0,
        updated_at: T0 + 6,
    };
    let premises = Premises {
        premises_id: "p-1".into(),
        kind: 3,
        name: "平安网吧".into(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        address_id: "a-1".into(),
        address: "文三路2号".into(),
        location: here(),
        credit_code: "91330106MA0000000X".into(),
        contact_name: "李四".into(),
        contact_phone: sealed("136****0004"),
        staff_count: 12,
        inspection_template_ids: vec!["tpl-fire".into(), "tpl-net".into()],
        last_inspected_at: Some(T0 - 86_400_000),
        notes: "夜间营业".into(),
        created_at: T0,
        updated_at: T0 + 7,
    };
    let lookup = IdLookup {
        lookup_id: "l-1".into(),
        actor: actor("officer-9"),
        purpose: 1,
        reason: "走访核实".into(),
        reference_id: "case-1".into(),
        resident_id: "r-1".into(),
        at: T0 + 8,
    };
    let visit = Visit {
        visit_id: "v-1".into(),
        request_id: "req-v-1".into(),
        resident_id: "r-1".into(),
        premises_id: String::new(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        officer_id: "o-1".into(),
        purpose: 1,
        visited_at: T0 + 9,
        contacted: true,
        concern_raised: true,
        notes: "身体不适".into(),
        location: here(),
        recorded_by: actor("o-1"),
        created_at: T0 + 10,
        need_id: "n-1".into(),
    };
    let need = Need {
        need_id: "n-1".into(),
        request_id: "req-n-1".into(),
        resident_id: "r-1".into(),
        premises_id: String::new(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        category: 2,
        description: "需要送药".into(),
        urgent: true,
        status: 2,
        assigned_officer_id: "o-1".into(),
        due_at: T0 + 11,
        visit_id: "v-1".into(),
        resolution_note: "已送达".into(),
        referred_to: "社区医院".into(),
        recorded_by: actor("o-1"),
        resolved_by: Some(actor("o-2")),
        created_at: T0 + 12,
        resolved_at: Some(T0 + 13),
        updated_at: T0 + 14,
    };
    let inspection = Inspection {
        inspection_id: "i-1".into(),
        request_id: "req-i-1".into(),
        result_request_id: "req-i-1-result".into(),
        premises_id: "p-1".into(),
        premises_name: "平安网吧".into(),
        premises_kind: 3,
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        template_id: "tpl-fire".into(),
        template_version: "2026.1".into(),
        items: vec![
            InspectionItem {
                item_code: "F1".into(),
                description: "灭火器".into(),
                result: 3,
                note: "过期".into(),
                evidence_refs: vec!["ev-1".into(), "ev-2".into()],
            },
            InspectionItem {
                item_code: "F2".into(),
                description: "通道".into(),
                result: 2,
                note: String::new(),
                evidence_refs: vec![],
            },
        ],
        hazards: vec![Hazard {
            hazard_id: "hz-1".into(),
            item_code: "F1".into(),
            description: "灭火器过期".into(),
            severity: 2,
            required_action: "更换".into(),
        }],
        status: 3,
        rectification_deadline: Some(T0 + 15),
        reinspection_of: "i-0".into(),
        reinspection_id: String::new(),
        inspector_officer_ids: vec!["o-1".into(), "o-3".into()],
        campaign: "冬季消防".into(),
        summary: "一项不合格".into(),
        started_at: T0 + 16,
        completed_at: Some(T0 + 17),
        updated_at: T0 + 18,
    };
    let outreach = Outreach {
        outreach_id: "out-1".into(),
        request_id: "req-out-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        topics: vec![3, 1],
        format: 2,
        held_at: T0 + 19,
        venue: "社区广场".into(),
        location: here(),
        audience_size: 120,
        organizer_ids: vec!["o-1".into()],
        partners: vec!["社区居委会".into(), "消防站".into()],
        materials_distributed: 300,
        notes: "反诈宣传".into(),
        evidence_refs: vec!["photo-1".into()],
        recorded_by: actor("o-1"),
        created_at: T0 + 20,
    };
    let broadcast = Broadcast {
        broadcast_id: "b-1".into(),
        request_id: "req-b-1".into(),
        grid_id: "g-1".into(),
        station_id: "st-1".into(),
        audiences: vec![1, 2],
        channels: vec![2],
        title: "寻人".into(),
        message: "请留意".into(),
        dispatch_id: "d-1".into(),
        incident_id: "inc-1".into(),
        deliveries: vec![Delivery {
            delivery_id: "dl-1".into(),
            audience: 1,
            recipient_id: "o-1".into(),
            recipient_name: "王警官".into(),
            contact_masked: "138****0001".into(),
            channel: 2,
            status: 2,
            error: "none".into(),
            attempted_at: T0 + 21,
        }],
        sent_by: actor("cc-1"),
        created_at: T0 + 22,
    };
    Records {
        station,
        grid,
        officer,
        address,
        resident,
        house,
        premises,
        lookup,
        visit,
        need,
        inspection,
        outreach,
        broadcast,
    }
}

/// Every record read back through the store equals the one written.
async fn assert_read_back(store: &SqlStore, r: &Records) {
    assert_eq!(
        store.station("st-1").await.expect("station"),
        Some(r.station.clone())
    );
    assert_eq!(store.grid("g-1").await.expect("grid"), Some(r.grid.clone()));
    assert_eq!(
        store.officers("g-1").await.expect("officers"),
        vec![r.officer.clone()]
    );
    assert_eq!(
        store.address("a-1").await.expect("address"),
        Some(r.address.clone())
    );
    let mut resident = r.resident.clone();
    resident.last_visit_at = Some(r.visit.visited_at);
    assert_eq!(
        store.resident("r-1").await.expect("resident"),
        Some(resident)
    );
    assert_eq!(
        store.house("h-1").await.expect("house"),
        Some(r.house.clone())
    );
    assert_eq!(
        store.premises("p-1").await.expect("premises"),
        Some(r.premises.clone())
    );
    assert_eq!(store.need("n-1").await.expect("need"), Some(r.need.clone()));
    assert_eq!(
        store.inspection("i-1").await.expect("inspection"),
        Some(r.inspection.clone())
    );
    let outreach = store
        .outreach(&OutreachFilter::default())
        .await
        .expect("outreach");
    assert_eq!(outreach, vec![r.outreach.clone()]);
    assert_eq!(
        store
            .broadcast_by_request("req-b-1")
            .await
            .expect("broadcast"),
        Some(r.broadcast.clone())
    );
    let due = store
        .due_reinspections(&ReinspectionFilter::default(), PAGE)
        .await
        .expect("due");
    assert_eq!(due, vec![r.inspection.clone()]);
    let open = store
        .open_needs(&NeedFilter::default(), PAGE)
        .await
        .expect("open");
    assert!(open.is_empty(), "the need is resolved");
}

async fn every_field_reads_back(backend: Backend) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    let r = records();
    let mut tx = database.db.begin_write().await.expect("begin");
    store
        .put_station(&mut tx, &r.station)
        .await
        .expect("station");
    store.put_grid(&mut tx, &r.grid).await.expect("grid");
    store
        .put_officer(&mut tx, &r.officer)
        .await
        .expect("officer");
    store
        .put_address(&mut tx, &r.address)
        .await
        .expect("address");
    store
        .put_resident(&mut tx, &r.resident)
        .await
        .expect("resident");
    store.put_house(&mut tx, &r.house).await.expect("house");
    store
        .put_premises(&mut tx, &r.premises)
        .await
        .expect("premises");
    store
        .record_lookup(&mut tx, &r.lookup)
        .await
        .expect("lookup");
    store.insert_visit(&mut tx, &r.visit).await.expect("visit");
    store.insert_need(&mut tx, &r.need).await.expect("need");
    store
        .insert_inspection(&mut tx, &r.inspection)
        .await
        .expect("inspection");
    store
        .insert_outreach(&mut tx, &r.outreach)
        .await
        .expect("outreach");
    store
        .insert_broadcast(&mut tx, &r.broadcast)
        .await
        .expect("broadcast");
    tx.commit().await.expect("commit");
    assert_read_back(&store, &r).await;

    // A repeat returns the stored record with its child rows.
    let mut tx = database.db.begin_write().await.expect("begin");
    let again = store
        .insert_inspection(&mut tx, &r.inspection)
        .await
        .expect("again");
    assert_eq!(again, Inserted::Existing(r.inspection.clone()));
    let again = store
        .insert_broadcast(&mut tx, &r.broadcast)
        .await
        .expect("again");
    assert_eq!(again, Inserted::Existing(r.broadcast.clone()));
    tx.commit().await.expect("commit");
    let scope = Scope::default();
    assert_eq!(store.residents(&scope).await.expect("residents").len(), 1);
    database.cleanup().await;
}

/// The registry's migrations up to and including `version`.
fn migrations_until(version: i64) -> Migrations {
    let cut = |m: &Migrator| -> &'static Migrator {
        let kept: Vec<_> = m
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        Box::leak(Box::new(Migrator {
            migrations: Cow::Owned(kept),
            ..Migrator::DEFAULT
        }))
    };
    Migrations {
        postgres: cut(MIGRATIONS.postgres),
        sqlite: cut(MIGRATIONS.sqlite),
    }
}

async fn insert_v1(db: &Db, sql: &'static str, key: &str, body: String) {
    with_db!(db, pool => sqlx::query(sql).bind(key.to_owned()).bind(body)
        .execute(pool).await.map(|_| ()))
    .expect("legacy row");
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("json")
}

/// Rows written by the 0001 schema (JSON bodies) are read after migration 0002 and its data step.
async fn rows_of_the_json_schema_survive_the_upgrade(backend: Backend) {
    let database = TestDatabase::create(backend, &migrations_until(1))
        .await
        .expect("test database");
    let db = &database.db;
    let mut r = records();
    // serde_json (the 0001 format) reads some floats back one ulp off; pick ones it keeps exactly.
    r.grid.centroid = LatLon::new(30.125, 120.25);
    // The old tables' columns besides the body, as the 0001 store filled them.
    insert_v1(
        db,
        "INSERT INTO stations (station_id, body, updated_ms) VALUES ($1, $2, 0)",
        "st-1",
        json(&r.station),
    )
    .await;
    insert_v1(db, "INSERT INTO grids (grid_id, station_id, kind, body, updated_ms) VALUES ($1, 'st-1', 1, $2, 0)", "g-1", json(&r.grid)).await;
    insert_v1(
        db,
        "INSERT INTO grid_officers (grid_id, officer_id, role, body) VALUES ('g-1', $1, 1, $2)",
        "o-1",
        json(&r.officer),
    )
    .await;
    insert_v1(db, "INSERT INTO addresses (address_id, grid_id, station_id, body) VALUES ($1, 'g-1', 'st-1', $2)", "a-1", json(&r.address)).await;
    insert_v1(db, "INSERT INTO residents (resident_id, grid_id, station_id, id_number_hash, body) VALUES ($1, 'g-1', 'st-1', 'hash-r-1', $2)", "r-1", json(&r.resident)).await;
    insert_v1(
        db,
        "INSERT INTO houses (house_id, grid_id, station_id, body) VALUES ($1, 'g-1', 'st-1', $2)",
        "h-1",
        json(&r.house),
    )
    .await;
    insert_v1(db, "INSERT INTO premises (premises_id, grid_id, station_id, kind, body) VALUES ($1, 'g-1', 'st-1', 3, $2)", "p-1", json(&r.premises)).await;
    insert_v1(
        db,
        "INSERT INTO id_lookups (lookup_id, resident_id, at_ms, body) VALUES ($1, 'r-1', 0, $2)",
        "l-1",
        json(&r.lookup),
    )
    .await;
    insert_v1(db, "INSERT INTO visits (visit_id, request_id, resident_id, premises_id, grid_id, visited_ms, contacted, body) VALUES ($1, 'req-v-1', 'r-1', '', 'g-1', 1767225600132, 1, $2)", "v-1", json(&r.visit)).await;
    insert_v1(db, "INSERT INTO needs (need_id, request_id, grid_id, station_id, resident_id, premises_id, officer_id, category, status, urgent, due_ms, body) VALUES ($1, 'req-n-1', 'g-1', 'st-1', 'r-1', '', 'o-1', 2, 2, 1, 0, $2)", "n-1", json(&r.need)).await;
    insert_v1(db, "INSERT INTO inspections (inspection_id, request_id, premises_id, grid_id, station_id, premises_kind, status, deadline_ms, reinspected, body) VALUES ($1, 'req-i-1', 'p-1', 'g-1', 'st-1', 3, 3, 0, 0, $2)", "i-1", json(&r.inspection)).await;
    insert_v1(db, "INSERT INTO outreach (outreach_id, request_id, grid_id, station_id, held_ms, body) VALUES ($1, 'req-out-1', 'g-1', 'st-1', 0, $2)", "out-1", json(&r.outreach)).await;
    insert_v1(db, "INSERT INTO broadcasts (broadcast_id, request_id, grid_id, created_ms, body) VALUES ($1, 'req-b-1', 'g-1', 0, $2)", "b-1", json(&r.broadcast)).await;

    db.migrate(&MIGRATIONS).await.expect("upgrade to columns");
    assert_eq!(upgrade_legacy(db).await.expect("convert"), 13);
    assert_eq!(upgrade_legacy(db).await.expect("again"), 0, "idempotent");
    let store = SqlStore::new(db.clone());
    assert_read_back(&store, &r).await;
    database.cleanup().await;
}

backend_tests!(
    every_field_reads_back,
    rows_of_the_json_schema_survive_the_upgrade
);
