//! A person's own account over HTTP, directly on the users subgraph, on
//! both SQLite and PostgreSQL: verifying e-mail with the code sent after
//! sign-up (wrong codes throttle, old codes expire), changing and resetting
//! the password (and the sessions that end with it), seeing and ending
//! sessions, and consent history. Codes are read where notifications gets
//! them: the `AccountCodeIssued` events in the outbox.

use janta_platform::store::Store;
use janta_testkit::{both_backends, config, error_code, Gql, TestDb};
use serde_json::{json, Value};

struct Users {
    gql: Gql,
    store: Store,
}

async fn start(db: &TestDb) -> Users {
    let config = config("users", db, "http://127.0.0.1:9/unused");
    let (router, store) = janta_users::build(&config).await.expect("users builds");
    let base = janta_testkit::serve(router).await;
    Users {
        gql: Gql::new(format!("{base}/graphql")),
        store,
    }
}

const PASSWORD: &str = "long enough pw";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id emailVerified phoneVerified } } }";
const LOGIN: &str = "mutation($e: String!, $p: String!, $d: String) { login(email: $e, password: $p, device: $d) { accessToken refreshToken } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
const VERIFY_EMAIL: &str = "mutation($c: String!) { verifyEmail(code: $c) { id emailVerified } }";
const VERIFY_PHONE: &str = "mutation($c: String!) { verifyPhone(code: $c) { id phoneVerified } }";
const RESEND: &str = "mutation($ch: VerificationChannel!) { resendVerificationCode(channel: $ch) }";
const CHANGE: &str = "mutation($c: String!, $n: String!, $t: String) { changePassword(currentPassword: $c, newPassword: $n, currentRefreshToken: $t) }";
const REQUEST_RESET: &str = "mutation($e: String!) { requestPasswordReset(email: $e) }";
const RESET: &str =
    "mutation($t: String!, $n: String!) { resetPassword(token: $t, newPassword: $n) }";
const SESSIONS: &str = "query($t: String) { mySessions(currentRefreshToken: $t) { id device createdAt lastUsedAt current } }";
const REVOKE: &str = "mutation($id: ID!) { revokeSession(id: $id) }";
const REVOKE_OTHERS: &str =
    "mutation($t: String!) { revokeOtherSessions(currentRefreshToken: $t) }";
const CONSENTS: &str = "{ myConsents { kind granted version recordedAt currentVersion history { granted version recordedAt } } }";
const UPDATE_CONSENT: &str = "mutation($k: ConsentKind!, $g: Boolean!) { updateConsent(kind: $k, granted: $g) { kind granted version recordedAt } }";

impl Users {
    async fn register(&self, email: &str, phone: Option<&str>) -> Value {
        let input = json!({ "input": {
            "email": email, "password": PASSWORD, "fullName": "Asha Rao", "phone": phone
        }});
        self.gql.data(None, REGISTER, input).await["register"].clone()
    }

    async fn login(&self, email: &str, password: &str, device: &str) -> Value {
        let vars = json!({ "e": email, "p": password, "d": device });
        self.gql.data(None, LOGIN, vars).await["login"].clone()
    }

    /// The newest secret of `purpose` sent to `user_id`, as notifications
    /// receives it.
    async fn code(&self, user_id: &str, purpose: &str) -> String {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT payload FROM outbox WHERE event_type = 'AccountCodeIssued' AND aggregate_id = $1 \
             ORDER BY occurred_at, id",
        )
        .bind(user_id)
        .fetch_all(self.store.pool())
        .await
        .unwrap();
        rows.iter()
            .rev()
            .map(|(p,)| serde_json::from_str::<Value>(p).unwrap())
            .find(|p| p["purpose"] == purpose)
            .map(|p| p["code"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {purpose} code for {user_id}"))
    }

    async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .unwrap();
        n
    }

    /// Moves the codes of `user_id` back in time (expiry and cooldown).
    async fn age_codes(&self, user_id: &str, minutes: i64) {
        let past = janta_platform::scalars::to_db_time(
            chrono::Utc::now() - chrono::Duration::minutes(minutes),
        );
        sqlx::query("UPDATE account_codes SET created_at = $2, expires_at = $2 WHERE user_id = $1")
            .bind(user_id)
            .bind(past)
            .execute(self.store.pool())
            .await
            .unwrap();
    }
}

fn other_than(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

both_backends! {
    async fn verify_email_with_the_code_sent_after_sign_up(db) {
        let u = start(&db).await;
        let auth = u.register("asha@example.com", Some("+919876543210")).await;
        assert_eq!(auth["user"]["emailVerified"], false);
        let (token, id) = (auth["accessToken"].as_str().unwrap(), auth["user"]["id"].as_str().unwrap());
        let stored: i64 = u.count("SELECT COUNT(*) FROM account_codes WHERE purpose IN ('VERIFY_EMAIL', 'VERIFY_PHONE')").await;
        assert_eq!(stored, 2, "a code for the e-mail and one for the phone");
        let code = u.code(id, "VERIFY_EMAIL").await;
        assert_eq!(u.count(&format!("SELECT COUNT(*) FROM account_codes WHERE code_hash = '{code}' OR salt = '{code}'")).await, 0, "only a salted hash is stored");
        let done = u.gql.data(Some(token), VERIFY_EMAIL, json!({ "c": code })).await;
        assert_eq!(done["verifyEmail"]["emailVerified"], true);
        let again = u.gql.send(Some(token), VERIFY_EMAIL, json!({ "c": code })).await;
        assert_eq!(error_code(&again).as_deref(), Some("BAD_USER_INPUT"), "single use: {again}");
        let phone = u.code(id, "VERIFY_PHONE").await;
        let done = u.gql.data(Some(token), VERIFY_PHONE, json!({ "c": phone })).await;
        assert_eq!(done["verifyPhone"]["phoneVerified"], true);
        let anonymous = u.gql.send(None, VERIFY_EMAIL, json!({ "c": code })).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
    }

    async fn five_wrong_codes_throttle_until_a_new_code(db) {
        let u = start(&db).await;
        let auth = u.register("guess@example.com", None).await;
        let (token, id) = (auth["accessToken"].as_str().unwrap(), auth["user"]["id"].as_str().unwrap());
        let code = u.code(id, "VERIFY_EMAIL").await;
        for _ in 0..5 {
            let wrong = u.gql.send(Some(token), VERIFY_EMAIL, json!({ "c": other_than(&code) })).await;
            assert_eq!(error_code(&wrong).as_deref(), Some("BAD_USER_INPUT"), "{wrong}");
        }
        let right_but_late = u.gql.send(Some(token), VERIFY_EMAIL, json!({ "c": code })).await;
        assert_eq!(error_code(&right_but_late).as_deref(), Some("RATE_LIMITED"), "{right_but_late}");
        let too_soon = u.gql.send(Some(token), RESEND, json!({ "ch": "EMAIL" })).await;
        assert_eq!(error_code(&too_soon).as_deref(), Some("RATE_LIMITED"), "cooldown: {too_soon}");
        u.age_codes(id, 2).await;
        u.gql.data(Some(token), RESEND, json!({ "ch": "EMAIL" })).await;
        let fresh = u.code(id, "VERIFY_EMAIL").await;
        let done = u.gql.data(Some(token), VERIFY_EMAIL, json!({ "c": fresh })).await;
        assert_eq!(done["verifyEmail"]["emailVerified"], true);
        let no_phone = u.gql.send(Some(token), RESEND, json!({ "ch": "PHONE" })).await;
        assert_eq!(error_code(&no_phone).as_deref(), Some("BAD_USER_INPUT"));
        let malformed = u.gql.send(Some(token), VERIFY_EMAIL, json!({ "c": "12ab" })).await;
        assert_eq!(error_code(&malformed).as_deref(), Some("BAD_USER_INPUT"));
    }

    async fn an_expired_code_is_refused(db) {
        let u = start(&db).await;
        let auth = u.register("late@example.com", None).await;
        let (token, id) = (auth["accessToken"].as_str().unwrap(), auth["user"]["id"].as_str().unwrap());
        let code = u.code(id, "VERIFY_EMAIL").await;
        u.age_codes(id, 11).await;
        let late = u.gql.send(Some(token), VERIFY_EMAIL, json!({ "c": code })).await;
        assert_eq!(error_code(&late).as_deref(), Some("BAD_USER_INPUT"), "{late}");
        let me = u.gql.data(Some(token), "{ me { emailVerified } }", json!({})).await;
        assert_eq!(me["me"]["emailVerified"], false);
    }

    async fn password_change_ends_the_other_sessions(db) {
        let u = start(&db).await;
        u.register("change@example.com", None).await;
        let here = u.login("change@example.com", PASSWORD, "Laptop").await;
        let there = u.login("change@example.com", PASSWORD, "Phone").await;
        let token = here["accessToken"].as_str().unwrap();
        let wrong = u.gql.send(Some(token), CHANGE, json!({ "c": "not my password", "n": "a brand new secret", "t": here["refreshToken"] })).await;
        assert_eq!(error_code(&wrong).as_deref(), Some("BAD_USER_INPUT"));
        let common = u.gql.send(Some(token), CHANGE, json!({ "c": PASSWORD, "n": "qwertyuiop", "t": here["refreshToken"] })).await;
        assert_eq!(error_code(&common).as_deref(), Some("BAD_USER_INPUT"), "common password: {common}");
        let short = u.gql.send(Some(token), CHANGE, json!({ "c": PASSWORD, "n": "short", "t": here["refreshToken"] })).await;
        assert_eq!(error_code(&short).as_deref(), Some("BAD_USER_INPUT"));
        let done = u.gql.data(Some(token), CHANGE, json!({ "c": PASSWORD, "n": "a brand new secret", "t": here["refreshToken"] })).await;
        assert_eq!(done["changePassword"], true);
        let theirs = u.gql.send(None, REFRESH, json!({ "t": there["refreshToken"] })).await;
        assert_eq!(error_code(&theirs).as_deref(), Some("UNAUTHENTICATED"), "other session ended: {theirs}");
        let mine = u.gql.data(None, REFRESH, json!({ "t": here["refreshToken"] })).await;
        assert!(mine["refreshToken"]["accessToken"].is_string(), "current session goes on");
        let old = u.gql.send(None, LOGIN, json!({ "e": "change@example.com", "p": PASSWORD })).await;
        assert_eq!(error_code(&old).as_deref(), Some("UNAUTHENTICATED"));
        u.login("change@example.com", "a brand new secret", "Tablet").await;
    }

    async fn reset_answers_the_same_for_unknown_addresses_and_ends_every_session(db) {
        let u = start(&db).await;
        let auth = u.register("forgot@example.com", None).await;
        let id = auth["user"]["id"].as_str().unwrap();
        let session = u.login("forgot@example.com", PASSWORD, "Laptop").await;
        let known = u.gql.send(None, REQUEST_RESET, json!({ "e": "forgot@example.com" })).await;
        let unknown = u.gql.send(None, REQUEST_RESET, json!({ "e": "nobody@example.com" })).await;
        assert_eq!(known, unknown, "identical bodies");
        assert_eq!(known, json!({ "data": { "requestPasswordReset": true } }));
        let token = u.code(id, "PASSWORD_RESET").await;
        assert_eq!(u.count("SELECT COUNT(*) FROM account_codes WHERE purpose = 'PASSWORD_RESET'").await, 1);
        let bad = u.gql.send(None, RESET, json!({ "t": "not-a-token", "n": "a brand new secret" })).await;
        assert_eq!(error_code(&bad).as_deref(), Some("BAD_USER_INPUT"));
        let done = u.gql.data(None, RESET, json!({ "t": token, "n": "a brand new secret" })).await;
        assert_eq!(done["resetPassword"], true);
        for refresh in [&auth["refreshToken"], &session["refreshToken"]] {
            let ended = u.gql.send(None, REFRESH, json!({ "t": refresh })).await;
            assert_eq!(error_code(&ended).as_deref(), Some("UNAUTHENTICATED"), "{ended}");
        }
        let twice = u.gql.send(None, RESET, json!({ "t": token, "n": "another new secret" })).await;
        assert_eq!(error_code(&twice).as_deref(), Some("BAD_USER_INPUT"), "single use: {twice}");
        let fresh = u.login("forgot@example.com", "a brand new secret", "Phone").await;
        let me = u.gql.data(fresh["accessToken"].as_str(), "{ me { emailVerified } }", json!({})).await;
        assert_eq!(me["me"]["emailVerified"], true, "the reset came through the e-mail");
    }

    async fn sessions_are_listed_and_revoked(db) {
        let u = start(&db).await;
        u.register("devices@example.com", None).await;
        let laptop = u.login("devices@example.com", PASSWORD, "Laptop").await;
        let phone = u.login("devices@example.com", PASSWORD, "Phone").await;
        let tablet = u.login("devices@example.com", PASSWORD, "Tablet").await;
        let token = laptop["accessToken"].as_str().unwrap();
        let listed = u.gql.data(Some(token), SESSIONS, json!({ "t": laptop["refreshToken"] })).await;
        let sessions = listed["mySessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 4, "registration, laptop, phone, tablet: {listed}");
        let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["device"], "Laptop");
        let phone_id = sessions.iter().find(|s| s["device"] == "Phone").unwrap()["id"].clone();
        u.gql.data(Some(token), REVOKE, json!({ "id": phone_id })).await;
        let ended = u.gql.send(None, REFRESH, json!({ "t": phone["refreshToken"] })).await;
        assert_eq!(error_code(&ended).as_deref(), Some("UNAUTHENTICATED"));
        let again = u.gql.send(Some(token), REVOKE, json!({ "id": phone_id })).await;
        assert_eq!(error_code(&again).as_deref(), Some("NOT_FOUND"));
        let stranger = u.register("stranger@example.com", None).await;
        let theirs = u.gql.send(stranger["accessToken"].as_str(), REVOKE, json!({ "id": sessions[0]["id"] })).await;
        assert_eq!(error_code(&theirs).as_deref(), Some("NOT_FOUND"), "another's session is not found");
        let others = u.gql.data(Some(token), REVOKE_OTHERS, json!({ "t": laptop["refreshToken"] })).await;
        assert_eq!(others["revokeOtherSessions"], 2, "registration and tablet");
        let ended = u.gql.send(None, REFRESH, json!({ "t": tablet["refreshToken"] })).await;
        assert_eq!(error_code(&ended).as_deref(), Some("UNAUTHENTICATED"));
        let left = u.gql.data(Some(token), SESSIONS, json!({ "t": null })).await;
        assert_eq!(left["mySessions"].as_array().unwrap().len(), 1);
        u.gql.data(None, REFRESH, json!({ "t": laptop["refreshToken"] })).await;
    }

    async fn consent_history_is_kept(db) {
        let u = start(&db).await;
        let auth = u.register("consent@example.com", None).await;
        let token = auth["accessToken"].as_str().unwrap();
        let before = u.gql.data(Some(token), CONSENTS, json!({})).await;
        let marketing = |v: &Value| v["myConsents"].as_array().unwrap().iter().find(|c| c["kind"] == "MARKETING").unwrap().clone();
        assert_eq!(marketing(&before)["granted"], false, "marketing is never pre-ticked");
        assert_eq!(marketing(&before)["recordedAt"], Value::Null);
        let terms = before["myConsents"].as_array().unwrap().iter().find(|c| c["kind"] == "TERMS").unwrap().clone();
        assert_eq!(terms["granted"], true, "registering accepts the terms in force: {terms}");
        assert_eq!(terms["version"], "terms-2026-11");
        assert!(terms["recordedAt"].is_string(), "{terms}");
        let granted = u.gql.data(Some(token), UPDATE_CONSENT, json!({ "k": "MARKETING", "g": true })).await;
        assert_eq!(granted["updateConsent"]["granted"], true);
        assert_eq!(granted["updateConsent"]["version"], "marketing-2026-11");
        u.gql.data(Some(token), UPDATE_CONSENT, json!({ "k": "MARKETING", "g": false })).await;
        u.gql.data(Some(token), UPDATE_CONSENT, json!({ "k": "PRESCRIPTION_PROCESSING", "g": true })).await;
        let after = u.gql.data(Some(token), CONSENTS, json!({})).await;
        let m = marketing(&after);
        assert_eq!(m["granted"], false, "the latest choice stands");
        assert_eq!(m["history"].as_array().unwrap().iter().map(|h| h["granted"].clone()).collect::<Vec<_>>(), vec![json!(true), json!(false)]);
        assert_eq!(u.count("SELECT COUNT(*) FROM consents").await, 4, "append-only: terms at registration, then three choices");
        let bad = u.gql.send(Some(token), UPDATE_CONSENT, json!({ "k": "NEWSLETTER", "g": true })).await;
        assert!(bad["errors"][0]["message"].as_str().unwrap().contains("ConsentKind"), "{bad}");
        let anonymous = u.gql.send(None, CONSENTS, json!({})).await;
        assert_eq!(error_code(&anonymous).as_deref(), Some("UNAUTHENTICATED"));
    }
}
