//! `Classify` as a client calls it (a tonic client over TCP to the service built by
//! `pingan_triage::build` with `--triage-classifier model`), on both backends: a call in which the rules find no word at all is
//! classified by the model (its top classes and probabilities in the explanation, its version
//! named); a danger call is P1 police whatever the model says (a hostile model file that puts
//! everything in a 12345 category at P4 is loaded with `--triage-model`); a bad model file is
//! refused by ReloadRules and the model in force stays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pingan_platform::ServiceContext;
use pingan_platform::auth::{Authenticator, Role, TokenIssuer};
use pingan_platform::clients::Peers;
use pingan_platform::clock::SharedClock;
use pingan_platform::events::{Outbox, Subscriptions};
use pingan_platform::idempotency::RequestLog;
use pingan_platform::pii::PiiKeys;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_proto::common::v1::{Channel, Priority};
use pingan_proto::triage::v1 as pb;
use pingan_proto::triage::v1::triage_service_client::TriageServiceClient;
use pingan_triage::domain::rules::CompiledRules;
use pingan_triage::domain::scan::scan;
use pingan_triage::model::{DEFAULT_MODEL, Model, ModelFile};
use pingan_triage::{HotlineSimulator, MIGRATIONS, TriageConfig};
use tonic::Code;
use tonic::transport::Channel as GrpcChannel;

const SECRET: &[u8] = b"triage-classify-grpc-test-secret-0123456789";

/// No word of any rule, modifier or situation: only the model can place it.
const NO_KEYWORD: &str = "请问新生儿上户口需要带哪些材料";
/// A knife attack in progress.
const DANGER: &str = "他拿着菜刀追着我砍，我躲在厕所里";

struct Served {
    database: TestDatabase,
    addr: SocketAddr,
    issuer: TokenIssuer,
    server: tokio::task::JoinHandle<()>,
}

async fn serve(backend: Backend, model_path: Option<PathBuf>) -> Served {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("database");
    let clock: SharedClock = pingan_platform::clock::system();
    let db = database.db.clone();
    let context = ServiceContext {
        db: db.clone(),
        redis: None,
        peers: Peers::new(&BTreeMap::new(), None).expect("peers"),
        auth: Authenticator::new(SECRET, "pingan-test").expect("auth"),
        pii: PiiKeys::random(),
        clock: clock.clone(),
        outbox: Outbox::new(
            "triage",
            db.clone(),
            Arc::new(Subscriptions::default()),
            clock.clone(),
        ),
        requests: RequestLog::new(db, clock.clone()),
    };
    let config = TriageConfig {
        model_path,
        classifier: "model".into(),
        simulator: Some(HotlineSimulator::new(clock)),
        ..TriageConfig::default()
    };
    let parts = pingan_triage::build(&context, &config).expect("build");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(parts.server)
            .serve_with_incoming(incoming)
            .await;
    });
    Served {
        database,
        addr,
        issuer: TokenIssuer::new(SECRET, "pingan-test").expect("issuer"),
        server,
    }
}

impl Served {
    async fn client(&self) -> TriageServiceClient<GrpcChannel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..50 {
            if let Ok(client) = TriageServiceClient::connect(url.clone()).await {
                return client;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server at {url} does not answer");
    }

    fn request<T>(&self, role: Role, message: T) -> tonic::Request<T> {
        let token = self
            .issuer
            .issue("tester-1", &[role], &[], Duration::from_secs(3600))
            .expect("token");
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("metadata"),
        );
        request
    }

    async fn classify(&self, text: &str) -> pb::Classification {
        self.client()
            .await
            .classify(self.request(
                Role::Dispatcher,
                pb::ClassifyRequest {
                    text: text.into(),
                    channel: Channel::Channel110 as i32,
                    ..Default::default()
                },
            ))
            .await
            .expect("classify")
            .into_inner()
            .classification
            .expect("classification")
    }

    async fn stop(self) {
        self.server.abort();
        self.database.cleanup().await;
    }
}

fn explanation(c: &pb::Classification, rule_id: &str) -> String {
    c.matched_rules
        .iter()
        .find(|r| r.rule_id == rule_id)
        .map(|r| r.explanation.clone())
        .unwrap_or_else(|| panic!("no {rule_id} in {c:#?}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pingan-classify-grpc-{}-{name}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

async fn a_call_without_any_listed_word_is_placed_by_the_model(backend: Backend) {
    let rules = CompiledRules::builtin().expect("rules");
    let seen = scan(&rules, NO_KEYWORD);
    assert!(
        seen.matched_rules.is_empty() && seen.active.is_empty() && seen.situations.is_empty(),
        "the premise: the rules see nothing in {NO_KEYWORD}"
    );
    let model = Model::builtin().expect("model");
    let top = model.score(&rules, &seen).category.top().0.to_owned();

    let served = serve(backend, None).await;
    let c = served.classify(NO_KEYWORD).await;
    assert_eq!(c.category, top, "the model's category: {c:#?}");
    assert_eq!(c.category, "POLICY_INQUIRY", "{c:#?}");
    assert_eq!(c.kind(), pb::Kind::NonPolice, "{c:#?}");
    assert_eq!(c.priority(), Priority::P4);
    assert!(!c.department.is_empty(), "routed to a 12345 department");
    assert!(
        c.matched_rules.iter().all(|r| r.rule_id != "fallback"),
        "not the rules' fallback: {c:#?}"
    );
    // The explanation: the model (version, top classes with probabilities) and the diversion.
    let category = explanation(&c, "model.category");
    assert!(category.contains(model.version()), "{category}");
    assert!(category.contains("POLICY_INQUIRY 0."), "{category}");
    assert!(explanation(&c, "model.kind").contains("NON_POLICE"));
    assert!(explanation(&c, "model.priority").contains("P4"));
    assert!(explanation(&c, "divert.allowed").contains("POLICY_INQUIRY"));
    assert_eq!(c.rules_version, rules.version);
    served.stop().await;
}

/// A model that puts every call in UTILITIES, NON_POLICE, P4 with near certainty.
fn hostile_model() -> String {
    let mut file: ModelFile = serde_json::from_str(DEFAULT_MODEL).expect("model file");
    for head in [
        &mut file.heads.kind,
        &mut file.heads.category,
        &mut file.heads.priority,
    ] {
        head.weights.iter_mut().for_each(|w| *w = 0.0);
        for (class, bias) in head.classes.iter().zip(head.bias.iter_mut()) {
            *bias = if matches!(class.as_str(), "UTILITIES" | "NON_POLICE" | "P4") {
                20.0
            } else {
                0.0
            };
        }
    }
    file.version = "hostile-1".into();
    serde_json::to_string(&file).expect("json")
}

async fn a_danger_call_is_p1_police_whatever_the_model_says(backend: Backend) {
    let dir = temp_dir("hostile");
    let path = dir.join("model.json");
    std::fs::write(&path, hostile_model()).expect("write");
    let served = serve(backend, Some(path.clone())).await;

    // The hostile model is in force: a plain call goes where it says.
    let plain = served.classify("明天天气怎么样").await;
    assert!(explanation(&plain, "model.category").contains("hostile-1"));
    assert_eq!(plain.category, "UTILITIES", "{plain:#?}");

    let c = served.classify(DANGER).await;
    assert_eq!(c.kind(), pb::Kind::Police, "{c:#?}");
    assert_eq!(c.priority(), Priority::P1, "{c:#?}");
    assert!(c.department.is_empty());
    assert!(
        c.needs_confirmation,
        "a refused diversion is confirmed by a person"
    );
    let overridden = c
        .matched_rules
        .iter()
        .find(|r| r.rule_id == "danger.override")
        .unwrap_or_else(|| panic!("no danger.override in {c:#?}"));
    assert!(!overridden.matched_words.is_empty());
    assert!(explanation(&c, "model.category").contains("UTILITIES 1.00"));

    // A bad model file is refused; the model in force stays; a good one is taken.
    let mut admin = served.client().await;
    std::fs::write(&path, "{ not a model").expect("break");
    let status = admin
        .reload_rules(served.request(
            Role::Admin,
            pb::ReloadRulesRequest {
                request_id: "reload-1".into(),
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let still = served.classify(DANGER).await;
    assert!(explanation(&still, "model.category").contains("hostile-1"));

    std::fs::write(&path, DEFAULT_MODEL).expect("restore");
    admin
        .reload_rules(served.request(
            Role::Admin,
            pb::ReloadRulesRequest {
                request_id: "reload-2".into(),
            },
        ))
        .await
        .expect("reload");
    let shipped = Model::builtin().expect("model");
    let after = served.classify(DANGER).await;
    assert!(explanation(&after, "model.category").contains(shipped.version()));
    assert_eq!(after.priority(), Priority::P1);
    assert!(matches!(after.kind(), pb::Kind::Police | pb::Kind::Joint));
    served.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await })+
        }
    };
}

both_backends!(
    a_call_without_any_listed_word_is_placed_by_the_model,
    a_danger_call_is_p1_police_whatever_the_model_says,
);
