//! Personal-data requests on the users subgraph over HTTP, on SQLite and
//! PostgreSQL, with its consumer on the in-process bus: an export gets
//! users' own part at once and becomes READY when the five other subgraphs
//! answered through `recordPersonalDataAnswer` (each only for itself, once);
//! the signed link returns the one document and refuses a forged one; a
//! deletion with the wrong password is refused and changes nothing.

use janta_events::{InProcessBus, Runtime};
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

struct Users {
    gql: Gql,
    base: String,
}

async fn start(db: &TestDb) -> Users {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let runtime = Runtime::new(InProcessBus::new());
    let (router, _store) = janta_users::build_with(&config, &runtime)
        .await
        .expect("users builds");
    let base = janta_testkit::serve(router).await;
    Users {
        gql: Gql::new(format!("{base}/graphql")),
        base,
    }
}

const PASSWORD: &str = "long enough pw";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }";
const REQUEST: &str = "mutation { requestDataExport { id status subgraphsAnswered } }";
const EXPORTS: &str =
    "{ myDataExports { id status readyAt subgraphsAnswered downloadUrl expiresAt } }";
const ANSWER: &str = "mutation($r: ID!, $k: PersonalDataAnswerKind!, $s: String!, $b: JSON!) { \
    recordPersonalDataAnswer(requestId: $r, kind: $k, subgraph: $s, body: $b) }";
const DELETE: &str = "mutation($p: String!) { requestAccountDeletion(password: $p) { id status } }";

impl Users {
    async fn register(&self, email: &str) -> (String, String) {
        let input = json!({ "input": {
            "email": email, "password": PASSWORD, "fullName": "Asha Rao", "phone": "+919876500001"
        }});
        let data = self.gql.data(None, REGISTER, input).await;
        let token = data["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let id = data["register"]["user"]["id"].as_str().unwrap().to_string();
        (id, token)
    }

    async fn service_token(&self, service: &str) -> String {
        let secret = format!("janta-dev-service-client-{service}");
        let response: Value = reqwest::Client::new()
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(service, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token endpoint")
            .json()
            .await
            .expect("token JSON");
        response["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    async fn answer(&self, service: &str, subgraph: &str, export: &str, body: Value) -> Value {
        let token = self.service_token(service).await;
        let vars = json!({ "r": export, "k": "EXPORT", "s": subgraph, "b": body });
        self.gql.send(Some(&token), ANSWER, vars).await
    }

    async fn export(&self, token: &str) -> Value {
        self.gql.data(Some(token), EXPORTS, json!({})).await["myDataExports"][0].clone()
    }
}

both_backends! {
    async fn an_export_is_ready_when_every_subgraph_answered(db) {
        let u = start(&db).await;
        let (user_id, token) = u.register("asha@example.in").await;
        let (_, other) = u.register("ravi@example.in").await;
        let asked = u.gql.data(Some(&token), REQUEST, json!({})).await;
        let id = asked["requestDataExport"]["id"].as_str().unwrap().to_string();
        assert_eq!(asked["requestDataExport"]["status"], "PENDING");
        // Asking again while it is being put together answers the same one.
        let again = u.gql.data(Some(&token), REQUEST, json!({})).await;
        assert_eq!(again["requestDataExport"]["id"], id.as_str(), "{again}");

        // users answers for itself through its own consumer.
        let mut export = u.export(&token).await;
        for _ in 0..200 {
            if export["subgraphsAnswered"] == json!(["users"]) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            export = u.export(&token).await;
        }
        assert_eq!(export["subgraphsAnswered"], json!(["users"]), "{export}");
        assert_eq!(export["downloadUrl"], Value::Null);

        // A subgraph answers only for itself; customers not at all.
        let posing = u.answer("orders", "payments", &id, json!({})).await;
        assert_eq!(error_code(&posing).as_deref(), Some("FORBIDDEN"), "{posing}");
        let vars = json!({ "r": id, "k": "EXPORT", "s": "orders", "b": {} });
        let customer = u.gql.send(Some(&token), ANSWER, vars).await;
        assert_eq!(error_code(&customer).as_deref(), Some("FORBIDDEN"), "{customer}");

        for service in ["catalog", "prescriptions", "orders", "payments", "notifications"] {
            let body = json!({ "answeredBy": service });
            let answered = u.answer(service, service, &id, body).await;
            assert_eq!(answered["data"]["recordPersonalDataAnswer"], true, "{answered}");
        }
        // Once is enough: a second answer changes nothing.
        let again = u.answer("orders", "orders", &id, json!({ "answeredBy": "again" })).await;
        assert_eq!(again["data"]["recordPersonalDataAnswer"], true);

        let export = u.export(&token).await;
        assert_eq!(export["status"], "READY", "{export}");
        assert_eq!(export["subgraphsAnswered"].as_array().unwrap().len(), 6);
        let link = export["downloadUrl"].as_str().expect("a link");
        // The link names users' public URL; this users listens elsewhere.
        let path = &link[link.find("/exports/").expect("an export link")..];
        let url = &format!("{}{path}", u.base);
        let document: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        assert_eq!(document["exportId"], id.as_str());
        assert_eq!(document["userId"], user_id.as_str());
        assert_eq!(document["orders"], json!({ "answeredBy": "orders" }));
        assert_eq!(document["users"]["profile"]["email"], "asha@example.in");
        assert_eq!(document["users"]["profile"]["phone"], "+919876500001");
        assert_eq!(document["users"]["consents"][0]["kind"], "TERMS");
        assert!(!document.to_string().contains("ravi@example.in"));
        let forged = reqwest::get(url.replace("expires=", "expires=9")).await.unwrap();
        assert_eq!(forged.status(), reqwest::StatusCode::FORBIDDEN);

        // Once it is ready, a new request makes a new copy; the list shows
        // both with what each has.
        let fresh = u.gql.data(Some(&token), REQUEST, json!({})).await;
        assert_ne!(fresh["requestDataExport"]["id"], id.as_str(), "{fresh}");
        let listed = u.gql.data(Some(&token), EXPORTS, json!({})).await;
        let listed = listed["myDataExports"].as_array().unwrap().clone();
        assert_eq!(listed.len(), 2, "{listed:?}");
        let old = listed.iter().find(|e| e["id"] == id.as_str()).unwrap();
        assert_eq!(old["subgraphsAnswered"].as_array().unwrap().len(), 6, "{old}");

        // Someone else sees none of it.
        let theirs = u.gql.data(Some(&other), EXPORTS, json!({})).await;
        assert_eq!(theirs["myDataExports"], json!([]));
    }

    async fn a_deletion_needs_the_password(db) {
        let u = start(&db).await;
        let (_, token) = u.register("asha@example.in").await;
        let wrong = u.gql.send(Some(&token), DELETE, json!({ "p": "not the password" })).await;
        assert_eq!(error_code(&wrong).as_deref(), Some("BAD_USER_INPUT"), "{wrong}");
        // Nothing closed: the export still works for the account.
        let asked = u.gql.send(Some(&token), REQUEST, json!({})).await;
        assert_eq!(asked["data"]["requestDataExport"]["status"], "PENDING", "{asked}");
    }
}
