//! Accounts through the router, with the contract's operations: a customer
//! who has not proved an e-mail or phone cannot order (when so configured)
//! and can once the e-mailed code is entered; five wrong codes throttle; a
//! password change ends the other sessions; a reset request for an unknown
//! e-mail reads exactly like one for a known e-mail.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{code, operation, Platform, TEST_PASSWORD};

const KA_PARACETAMOL: &str = "019a0000-0000-7000-8002-100000000001";

async fn login(p: &Platform, email: &str, device: &str) -> Value {
    p.gql
        .data(
            None,
            &operation("LoginOnDevice"),
            json!({"email": email, "password": TEST_PASSWORD, "device": device}),
        )
        .await["login"]
        .clone()
}

fn token(login: &Value, field: &str) -> String {
    login[field].as_str().expect("token").to_string()
}

/// Cart with one pack and an address; returns the `PlaceOrder` response.
async fn try_to_order(p: &Platform, customer: &str, address: &str, key: &str) -> Value {
    let vars = json!({"listingId": KA_PARACETAMOL, "quantity": 1});
    p.gql
        .data(Some(customer), &operation("AddToCart"), vars)
        .await;
    let input = json!({"input": {"addressId": address, "idempotencyKey": key}});
    p.gql
        .send(Some(customer), &operation("PlaceOrder"), input)
        .await
}

#[tokio::test]
async fn an_unverified_customer_orders_only_after_entering_the_emailed_code() {
    let p = Platform::start_with(&[("JANTA_REQUIRE_VERIFIED_CONTACT", "true")]).await;
    let user_id = p.register("asha.rao@example.in", "Asha Rao").await;
    let customer = token(
        &login(&p, "asha.rao@example.in", "phone").await,
        "accessToken",
    );
    let address = p
        .gql
        .data(
            Some(&customer),
            &operation("AddAddress"),
            json!({"input": {"line1": "4 Church Street", "city": "Bengaluru", "state": "KA",
                "pincode": "560001"}}),
        )
        .await["addAddress"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let refused = try_to_order(&p, &customer, &address, "verify-1").await;
    assert_eq!(code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["details"]["reason"],
        "CONTACT_NOT_VERIFIED"
    );

    let sent = p.account_code(&user_id, "VERIFY_EMAIL").await;
    let verified = p
        .gql
        .data(
            Some(&customer),
            &operation("VerifyEmail"),
            json!({"code": sent}),
        )
        .await;
    assert_eq!(verified["verifyEmail"]["emailVerified"], true);
    let placed = try_to_order(&p, &customer, &address, "verify-2").await;
    assert!(placed["errors"].is_null(), "{placed}");
    assert_eq!(
        placed["data"]["placeOrder"]["orders"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn five_wrong_codes_throttle_even_the_right_one() {
    let p = Platform::start().await;
    let user_id = p.register("ravi.k@example.in", "Ravi Kumar").await;
    let customer = token(
        &login(&p, "ravi.k@example.in", "laptop").await,
        "accessToken",
    );
    let sent = p.account_code(&user_id, "VERIFY_EMAIL").await;
    let wrong = if sent == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let body = p
            .gql
            .send(
                Some(&customer),
                &operation("VerifyEmail"),
                json!({"code": wrong}),
            )
            .await;
        assert_eq!(
            code(&body).as_deref(),
            Some("BAD_USER_INPUT"),
            "attempt {attempt}"
        );
    }
    let throttled = p
        .gql
        .send(
            Some(&customer),
            &operation("VerifyEmail"),
            json!({"code": sent}),
        )
        .await;
    assert_eq!(
        code(&throttled).as_deref(),
        Some("RATE_LIMITED"),
        "{throttled}"
    );
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let p = Platform::start().await;
    p.register("meena.s@example.in", "Meena S").await;
    let here = login(&p, "meena.s@example.in", "this phone").await;
    let there = login(&p, "meena.s@example.in", "old laptop").await;
    let changed = p
        .gql
        .data(
            Some(&token(&here, "accessToken")),
            &operation("ChangePassword"),
            json!({"currentPassword": TEST_PASSWORD, "newPassword": "a-brand-new-passphrase-9",
                "currentRefreshToken": token(&here, "refreshToken")}),
        )
        .await;
    assert_eq!(changed["changePassword"], true);

    let refresh = |refresh_token: String| {
        let gql = p.gql.clone();
        async move {
            let vars = json!({ "refreshToken": refresh_token });
            gql.send(None, &operation("Refresh"), vars).await
        }
    };
    let elsewhere = refresh(token(&there, "refreshToken")).await;
    assert_eq!(
        code(&elsewhere).as_deref(),
        Some("UNAUTHENTICATED"),
        "{elsewhere}"
    );
    let kept = refresh(token(&here, "refreshToken")).await;
    assert!(
        kept["data"]["refreshToken"]["accessToken"].is_string(),
        "{kept}"
    );

    let old_password = p
        .gql
        .send(
            None,
            &operation("Login"),
            json!({"email": "meena.s@example.in", "password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(code(&old_password).as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_reset_request_reads_the_same_for_unknown_and_known_addresses() {
    let p = Platform::start().await;
    p.register("known.person@example.in", "Known Person").await;
    let ask = |email: &'static str| {
        let url = format!("http://127.0.0.1:{}/graphql", p.port);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(&json!({"query": operation("RequestPasswordReset"),
                    "variables": {"email": email}}))
                .send()
                .await
                .expect("router answers");
            (response.status(), response.text().await.expect("body"))
        }
    };
    let known = ask("known.person@example.in").await;
    let unknown = ask("nobody.here@example.in").await;
    assert_eq!(known, unknown, "the answer tells whether an account exists");
    assert!(
        known.1.contains("\"requestPasswordReset\":true"),
        "{}",
        known.1
    );

    // Nor does the time it takes: alternate the two addresses and compare
    // the medians of their answer times (a lookup that hashed, mailed or
    // slept on one path only would show by milliseconds).
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for round in 0..24 {
        for (which, email) in ["known.person@example.in", "nobody.here@example.in"]
            .into_iter()
            .enumerate()
        {
            let started = Instant::now();
            assert_eq!(ask(email).await.0, reqwest::StatusCode::OK);
            if round >= 4 {
                times[which].push(started.elapsed());
            }
        }
    }
    let [known_median, unknown_median] = times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    });
    let gap = known_median.abs_diff(unknown_median);
    let noise = Duration::from_millis(2).max(known_median.min(unknown_median) * 3 / 10);
    assert!(
        gap <= noise,
        "a reset for a known address answers in {known_median:?}, for an unknown one in \
         {unknown_median:?}: the time tells whether an account exists"
    );
}
