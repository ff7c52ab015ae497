//! The client commands as a script runs them: the real `pingan` binary against one `pingan dev`
//! (free port, temporary data dir) shared by the tests of this file. Outputs are asserted, not
//! only exit codes (docs/cli.md documents both).

mod client_support;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use client_support::{
    AUTH_SECRET, PINGAN, dev, eventually, free_port, json, lines_of, next_matching, ok, pingan,
    report,
};

#[test]
fn a_reported_call_is_listed_shown_and_has_a_timeline() {
    let dev = dev();
    let answer = report("29.2502", "88.8603", "有人落水了，快来救人");
    let incident = answer["incident_id"]
        .as_str()
        .expect("incident_id")
        .to_owned();
    assert!(!incident.is_empty());
    assert!(
        answer["outcome"]
            .as_str()
            .unwrap_or("")
            .starts_with("OUTCOME_")
    );

    // Human output of the same pinned invocation (no --json) names the incident.
    let text = ok(pingan(
        &dev.endpoint,
        &[
            "call",
            "report",
            "--channel",
            "110",
            "--phone",
            "13800138000",
            "--lat",
            "29.2502",
            "--lon",
            "88.8603",
            "--description",
            "有人落水了，快来救人",
            "--request-id",
            "client-test-human",
        ],
    ));
    assert!(text.starts_with("incident     "), "{text}");

    let list = json(&pingan(&dev.endpoint, &["incidents", "list", "--json"]));
    let listed = list
        .as_array()
        .expect("incidents list --json is an array")
        .iter()
        .find(|i| i["incident_id"] == incident.as_str())
        .expect("the reported incident is listed")
        .clone();
    assert_eq!(listed["description"], "有人落水了，快来救人");
    assert!(
        listed["status"]
            .as_str()
            .unwrap_or("")
            .starts_with("INCIDENT_STATUS_")
    );

    let table = ok(pingan(&dev.endpoint, &["incidents", "list"]));
    assert!(table.starts_with("incident_id"), "{table}");
    assert!(table.contains(&incident), "{table}");
    let csv = ok(pingan(&dev.endpoint, &["incidents", "list", "--csv"]));
    assert!(csv.starts_with("incident_id,status,priority,"), "{csv}");

    let shown = ok(pingan(&dev.endpoint, &["incidents", "show", &incident]));
    assert!(
        shown.contains(&incident) && shown.contains("有人落水"),
        "{shown}"
    );
    // The dev user may read callers' numbers: the call line shows it in clear.
    assert!(shown.contains("13800138000"), "{shown}");
    let shown = json(&pingan(
        &dev.endpoint,
        &["incidents", "show", &incident, "--json"],
    ));
    assert_eq!(shown["incident_id"], incident.as_str());

    let timeline = json(&pingan(
        &dev.endpoint,
        &["incidents", "timeline", &incident, "--json"],
    ));
    let kinds: Vec<&str> = timeline
        .as_array()
        .expect("timeline array")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.first(),
        Some(&"TIMELINE_ENTRY_KIND_CALL_RECEIVED"),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"TIMELINE_ENTRY_KIND_CLASSIFIED"),
        "{kinds:?}"
    );
    let text = ok(pingan(&dev.endpoint, &["incidents", "timeline", &incident]));
    assert!(text.contains("CALL_RECEIVED"), "{text}");
}

#[test]
fn units_near_finds_a_unit_where_it_reported_its_position() {
    let dev = dev();
    let text = ok(pingan(
        &dev.endpoint,
        &[
            "units",
            "position",
            "u-st-caye-o2",
            "--lat",
            "32.45",
            "--lon",
            "81.20",
        ],
    ));
    assert_eq!(text.trim(), "unit u-st-caye-o2 position ACCEPTED");
    let near = json(&pingan(
        &dev.endpoint,
        &[
            "units", "near", "--lat", "32.4501", "--lon", "81.2001", "--radius", "1000", "--json",
        ],
    ));
    let near = near.as_array().expect("array");
    assert_eq!(near.len(), 1, "{near:?}");
    assert_eq!(near[0]["unit_id"], "u-st-caye-o2");
    assert!(near[0]["distance_m"].as_f64().expect("distance") < 50.0);
    let table = ok(pingan(
        &dev.endpoint,
        &[
            "units", "near", "--lat", "32.4501", "--lon", "81.2001", "--radius", "1000",
        ],
    ));
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap_or("")
            .starts_with("u-st-caye-o2  CAYE-2"),
        "{table}"
    );
}

#[test]
fn a_dispatch_is_assigned_acknowledged_attended_and_closed() {
    let dev = dev();
    // A P3 dispute waits for a dispatcher.
    let answer = report("29.2401", "92.1401", "邻居吵架，吵得很凶");
    let dispatch = eventually("the dispatch of the dispute", || {
        let shown = json(&pingan(
            &dev.endpoint,
            &[
                "incidents",
                "show",
                answer["incident_id"].as_str()?,
                "--json",
            ],
        ));
        shown["dispatch_id"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
    });
    let unit = "u-st-rongxiang-o1";
    let step = |args: &[&str]| ok(pingan(&dev.endpoint, args));
    let assigned = step(&["dispatch", "assign", &dispatch, unit, "--note", "最近"]);
    assert_eq!(
        assigned.trim(),
        format!("dispatch {dispatch} ASSIGNED unit {unit} ASSIGNED")
    );
    let acked = step(&["dispatch", "ack", &dispatch, unit]);
    assert!(
        acked.trim().ends_with(&format!("unit {unit} ACKNOWLEDGED")),
        "{acked}"
    );
    let arrived = step(&["dispatch", "arrive", &dispatch, unit]);
    assert_eq!(
        arrived.trim(),
        format!("dispatch {dispatch} ON_SCENE unit {unit} ON_SCENE")
    );
    let units = json(&pingan(&dev.endpoint, &["units", "list", "--json"]));
    let on_scene = units
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["unit_id"] == unit)
        .expect("unit listed");
    assert_eq!(on_scene["status"], "UNIT_STATUS_ON_SCENE");
    let closed = json(&pingan(
        &dev.endpoint,
        &[
            "dispatch",
            "close",
            &dispatch,
            "--disposition",
            "mediated",
            "--narrative",
            "调解成功",
            "--json",
        ],
    ));
    assert_eq!(closed["status"], "DISPATCH_STATUS_CLOSED");
    assert_eq!(closed["disposition"], "DISPOSITION_MEDIATED");
    // Closing twice is refused as a wrong state transition: exit 3 with the status on stderr.
    let again = pingan(
        &dev.endpoint,
        &["dispatch", "assign", &dispatch, "u-st-rongxiang-o3"],
    );
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("FAILED_PRECONDITION"));
}

#[test]
fn board_watch_without_a_terminal_prints_each_change() {
    let dev = dev();
    let mut watcher = Command::new(PINGAN)
        .args(["board", "watch", "--endpoint", &dev.endpoint])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn board watch");
    let lines = lines_of(&mut watcher);
    let snapshot = next_matching(&lines, |l| l.starts_with("snapshot "));
    assert!(snapshot.contains("units="), "{snapshot}");

    ok(pingan(
        &dev.endpoint,
        &[
            "units",
            "status",
            "u-st-caye-o4",
            "busy",
            "--reason",
            "meal",
        ],
    ));
    let busy = next_matching(&lines, |l| l.starts_with("unit u-st-caye-o4 "));
    assert!(
        busy.contains("status=BUSY") && busy.contains("callsign=CAYE-4"),
        "{busy}"
    );
    ok(pingan(
        &dev.endpoint,
        &["units", "status", "u-st-caye-o4", "available"],
    ));
    let back = next_matching(&lines, |l| l.starts_with("unit u-st-caye-o4 "));
    assert!(back.contains("status=AVAILABLE"), "{back}");

    // A P1 rescue in Caye opens a dispatch the board shows.
    let answer = report("32.3801", "81.1001", "有人掉进河里了，救命");
    let incident = answer["incident_id"].as_str().expect("incident").to_owned();
    let line = next_matching(&lines, |l| {
        l.starts_with("dispatch ") && l.contains(&incident)
    });
    assert!(
        line.contains("priority=P1") && line.contains("category=RESCUE"),
        "{line}"
    );
    assert!(line.contains("breached=no"), "{line}");

    watcher.kill().expect("kill the watcher");
    let _ = watcher.wait();
}

#[test]
fn incidents_watch_without_a_terminal_prints_new_incidents() {
    let dev = dev();
    let mut watcher = Command::new(PINGAN)
        .args([
            "incidents",
            "watch",
            "--interval",
            "1",
            "--endpoint",
            &dev.endpoint,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn incidents watch");
    let lines = lines_of(&mut watcher);
    // Let the first look happen, then report a call it has not seen.
    std::thread::sleep(Duration::from_millis(1500));
    let answer = report("29.2505", "88.8606", "我的手机被偷了");
    let incident = answer["incident_id"].as_str().expect("incident").to_owned();
    let line = next_matching(&lines, |l| l.contains(&incident));
    assert!(line.starts_with(&format!("new {incident} ")), "{line}");
    assert!(line.contains("CRIMINAL_PROPERTY"), "{line}");
    watcher.kill().expect("kill the watcher");
    let _ = watcher.wait();
}

#[test]
fn a_diverted_call_shows_in_overdue_transfers_once_past_its_deadline() {
    let dev = dev();
    let answer = report("29.2503", "88.8604", "小区停水两天了，自来水一直没来");
    assert_eq!(answer["outcome"], "OUTCOME_DIVERTED_TO_12345", "{answer}");
    let transfer = answer["transfer_id"].as_str().expect("transfer").to_owned();
    let overdue = eventually("the transfer overdue in 2030", || {
        let list = json(&pingan(
            &dev.endpoint,
            &[
                "transfers",
                "overdue",
                "--as-of",
                "2030-01-01T00:00:00Z",
                "--json",
            ],
        ));
        list.as_array()?
            .iter()
            .find(|t| t["transfer_id"] == transfer.as_str())
            .cloned()
    });
    assert_eq!(overdue["direction"], "TRANSFER_DIRECTION_TO_12345");
    assert_eq!(overdue["overdue"], true);
    let now = ok(pingan(&dev.endpoint, &["transfers", "overdue"]));
    assert!(!now.contains(&transfer), "not overdue today: {now}");
}

#[test]
fn a_complaint_call_is_listed_and_the_audit_chain_verifies() {
    let dev = dev();
    let answer = report("29.2504", "88.8605", "我要投诉民警态度恶劣，不出警");
    assert_eq!(answer["outcome"], "OUTCOME_COMPLAINT_FILED", "{answer}");
    let incident = answer["incident_id"].as_str().expect("incident").to_owned();
    let complaint = eventually("the complaint filed", || {
        let list = json(&pingan(
            &dev.endpoint,
            &[
                "complaints",
                "list",
                "--incident",
                &incident,
                "--reason",
                "review",
                "--json",
            ],
        ));
        list.as_array()?.first().cloned()
    });
    let id = complaint["complaint_id"].as_str().expect("id");
    assert_eq!(complaint["source"], "COMPLAINT_SOURCE_CALL_110");
    let table = ok(pingan(
        &dev.endpoint,
        &["complaints", "list", "--reason", "review"],
    ));
    assert!(table.contains(id), "{table}");
    let shown = ok(pingan(
        &dev.endpoint,
        &["complaints", "show", id, "--reason", "review"],
    ));
    assert!(
        shown.contains("allegation") && shown.contains("态度恶劣"),
        "{shown}"
    );

    let verified = ok(pingan(&dev.endpoint, &["audit", "verify"]));
    assert!(verified.starts_with("audit chain OK: "), "{verified}");
    let verified = json(&pingan(&dev.endpoint, &["audit", "verify", "--json"]));
    assert_eq!(verified["status"], "CHAIN_STATUS_OK");
}

#[test]
fn analysis_reports_count_the_periods_incidents_in_json_csv_and_text() {
    let dev = dev();
    // A category no other test reports, so that the count is this call's.
    let answer = report("29.2508", "88.8609", "有人在路边卖假药，骗老人钱");
    assert!(answer["incident_id"].as_str().is_some(), "{answer}");
    let to = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let stats = eventually("the incident counted", || {
        let stats = json(&pingan(
            &dev.endpoint,
            &["report", "incidents", "--to", &to, "--json"],
        ));
        let total = stats["total"][0]["count"].as_i64()?;
        (total >= 1).then_some(stats)
    });
    assert!(stats["by_station"].is_array(), "{stats}");
    assert!(stats["by_category"].is_array(), "{stats}");
    let csv = ok(pingan(
        &dev.endpoint,
        &["report", "incidents", "--to", &to, "--csv"],
    ));
    assert!(csv.starts_with("section,key,label,count,"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("total,")), "{csv}");
    let text = ok(pingan(&dev.endpoint, &["report", "incidents", "--to", &to]));
    assert!(text.starts_with("== total\n"), "{text}");

    // The other analyses answer from the same endpoint.
    for analysis in [
        "hotspots",
        "response-times",
        "exchange",
        "followup",
        "service-requests",
    ] {
        let out = pingan(&dev.endpoint, &["report", analysis, "--to", &to, "--json"]);
        let printed = json(&out);
        assert!(
            out.status.success() && printed.is_object(),
            "report {analysis}: {printed} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // A period that ends before it starts is the caller's error: exit 3, the field named.
    let out = pingan(
        &dev.endpoint,
        &[
            "report",
            "incidents",
            "--from",
            "2030-01-02",
            "--to",
            "2030-01-01",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");
}

#[test]
fn bad_input_is_exit_3_naming_the_field() {
    let dev = dev();
    let out = pingan(
        &dev.endpoint,
        &[
            "call",
            "report",
            "--channel",
            "110",
            "--phone",
            "13800138000",
            "--lat",
            "200",
            "--lon",
            "92.14",
            "--description",
            "有人打架",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.starts_with("error: ReportCall: INVALID_ARGUMENT: "),
        "{stderr}"
    );
    assert!(stderr.contains("location.lat"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = pingan(&dev.endpoint, &["incidents", "show", "no-such-incident"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_FOUND"));
}

#[test]
fn missing_flags_without_a_terminal_are_a_usage_error() {
    let out = pingan(
        &dev().endpoint,
        &["call", "report", "--phone", "13800138000"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--lat") && stderr.contains("--description"),
        "{stderr}"
    );
    let out = pingan(&dev().endpoint, &["units", "near", "--lat", "1"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage code");
}

#[test]
fn an_unreachable_endpoint_is_exit_5_and_a_bad_token_exit_4() {
    let port = free_port();
    let out = pingan(
        &format!("127.0.0.1:{port}"),
        &["incidents", "list", "--json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains(&format!("connecting to http://127.0.0.1:{port}")),
        "{stderr}"
    );

    // `pingan dev` checks a token when one is sent; PINGAN_TOKEN is read like --token.
    let out = Command::new(PINGAN)
        .args(["units", "list"])
        .env(
            "PINGAN_ENDPOINT",
            dev().endpoint.trim_start_matches("http://"),
        )
        .env("PINGAN_TOKEN", "not-a-token")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("UNAUTHENTICATED"), "{stderr}");
}

#[test]
fn a_signed_token_is_sent_with_every_call() {
    let token = Command::new(PINGAN)
        .args(["token", "--subject", "desk-7", "--role", "dispatcher"])
        .args(["--station", "st-chengnan"])
        .args(["--auth-secret", AUTH_SECRET])
        .output()
        .expect("pingan token");
    let token = ok(token).trim().to_owned();
    let out = ok(pingan(
        &dev().endpoint,
        &["units", "list", "--json", "--token", &token],
    ));
    // The token was sent: its jurisdiction (one station) decides what is listed.
    let units: serde_json::Value = serde_json::from_str(&out).expect("json");
    let stations: Vec<&str> = units
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|u| u["station_id"].as_str())
        .collect();
    assert_eq!(stations, ["st-chengnan"; 6], "{units}");
    // A dispatcher may read callers' numbers: `incidents show` prints them in clear.
    // A category no other test reports nearby, so that it is not linked as a duplicate.
    let answer = report("29.2506", "88.8607", "路口发生车祸，两车相撞");
    let incident = answer["incident_id"].as_str().expect("incident");
    let shown = ok(pingan(
        &dev().endpoint,
        &["incidents", "show", incident, "--token", &token],
    ));
    assert!(shown.contains("13800138000"), "{shown}");
}

#[test]
fn a_token_for_an_audience_passes_only_where_that_audience_is_required() {
    let minted = Command::new(PINGAN)
        .args(["token", "--subject", "desk-8", "--role", "dispatcher"])
        .args([
            "--auth-secret",
            AUTH_SECRET,
            "--audience",
            "pingan-prefecture",
        ])
        .env_remove("PINGAN_AUTH_AUDIENCE")
        .output()
        .expect("pingan token");
    let token = ok(minted).trim().to_owned();
    let requiring = |audience: &str| {
        let mut settings = pingan_platform::auth::AuthSettings::new("pingan");
        settings.audience = Some(audience.to_owned());
        pingan_platform::auth::Authenticator::with_settings(
            Some(AUTH_SECRET.as_bytes()),
            None,
            settings,
        )
        .expect("authenticator")
    };
    let claims = requiring("pingan-prefecture")
        .verify(&token)
        .expect("the audience it was minted for");
    assert_eq!(claims.sub, "desk-8");
    assert!(requiring("another-bureau").verify(&token).is_err());
}

#[test]
fn the_endpoint_comes_from_the_environment_without_a_scheme() {
    let mut child = Command::new(PINGAN)
        .args(["units", "list", "--csv", "--station", "st-chengnan"])
        .env(
            "PINGAN_ENDPOINT",
            dev().endpoint.trim_start_matches("http://"),
        )
        .env_remove("PINGAN_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(child.wait().expect("wait").success());
    assert!(out.starts_with("unit_id,callsign,kind,status,"), "{out}");
    assert_eq!(
        out.lines().count(),
        7,
        "header and six Chengnan units: {out}"
    );
}

#[test]
fn completions_cover_the_client_commands() {
    let out = Command::new(PINGAN)
        .args(["completions", "bash"])
        .output()
        .expect("run");
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        script.contains("complete -F _pingan"),
        "a bash completion function"
    );
    for word in [
        "pingan",
        "board",
        "incidents",
        "dispatch",
        "transfers",
        "--endpoint",
    ] {
        assert!(script.contains(word), "{word} in the bash completions");
    }
}
