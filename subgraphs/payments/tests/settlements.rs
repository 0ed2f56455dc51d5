//! Vendor settlements on both backends: figures computed by hand for a
//! period with two captured orders, one refund and an 8 % commission; the
//! statement cannot be changed, repeated or overlapped; periods that are not
//! over are refused; only the vendor's staff and admins read it.

mod common;

use common::start;
use janta_platform::demo::{VENDOR_KA_ID, VENDOR_MH_ID};
use janta_testkit::{both_backends, error_code};
use serde_json::{json, Value};

const SET_COMMISSION: &str = "mutation($vendorId: ID!, $rate: String!, $from: Date!) {
  setVendorCommission(vendorId: $vendorId, ratePercent: $rate, effectiveFrom: $from) { ratePercent effectiveFrom }
}";
const ISSUE: &str = "mutation($vendorId: ID!, $start: Date!, $end: Date!) {
  issueSettlement(vendorId: $vendorId, periodStart: $start, periodEnd: $end) {
    id paymentsCount captured { amount } refunded { amount } gstInSales { amount }
    taxableValue { amount } commissionRatePercent
    commission { amount } tcs { amount } tds { amount } payout { amount } vendor { id }
  }
}";
const READ: &str = "query($id: ID!) { settlement(id: $id) { id payout { amount } } }";
const LIST: &str =
    "query { vendorSettlements(first: 10) { totalCount edges { node { id periodStart } } } }";
const REFUND: &str = "mutation($paymentId: ID!) {
  refundPayment(paymentId: $paymentId, amount: \"100.00\", reason: \"one strip damaged\", idempotencyKey: \"settle-refund-1\") { id status }
}";

/// Yesterday in India, as the period the tests settle.
fn yesterday() -> chrono::NaiveDate {
    let india = chrono::FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    chrono::Utc::now().with_timezone(&india).date_naive() - chrono::Days::new(1)
}

/// Noon yesterday in India, in the stored form.
fn yesterday_noon() -> String {
    let noon_utc = yesterday().and_hms_opt(6, 30, 0).unwrap().and_utc();
    janta_platform::scalars::to_db_time(noon_utc)
}

both_backends! {
    async fn admins_issuing_overlapping_periods_at_once_get_one_statement(db) {
        let h = start(&db).await;
        let admin = h.admin();
        let from = (yesterday() - chrono::Days::new(30)).to_string();
        h.gql.data(Some(&admin), SET_COMMISSION, json!({"vendorId": VENDOR_KA_ID, "rate": "8", "from": from})).await;
        let periods: Vec<(String, String)> = (1..=24u64)
            .map(|back| ((yesterday() - chrono::Days::new(back)).to_string(), yesterday().to_string()))
            .collect();
        let issues = periods.iter().map(|(start, end)| {
            h.gql.send(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": start, "end": end}))
        });
        let answers = futures::future::join_all(issues).await;
        let issued = answers.iter().filter(|a| a["errors"].is_null()).count();
        assert_eq!(issued, 1, "{answers:?}");
        assert!(answers.iter().filter(|a| !a["errors"].is_null()).all(|a| error_code(a).as_deref() == Some("CONFLICT")));
        assert_eq!(h.count("SELECT COUNT(*) FROM settlements").await, 1);
    }

    async fn a_statement_matches_hand_computed_figures_and_cannot_change(db) {
        let h = start(&db).await;
        let first = h.captured_payment(123_450).await;
        let second = h.captured_payment(67_890).await;
        // The GST inside each order (as orders reports it): 12 % inside
        // 1234.50 is 132.27, 5 % inside 678.90 is 32.33.
        let store = h.state.store.pool();
        for (payment, tax) in [(&first, 13_227), (&second, 3_233)] {
            sqlx::query("UPDATE payments SET tax = $1 WHERE id = $2").bind(tax).bind(&payment.id).execute(store).await.unwrap();
        }
        let refunded: Value = h.gql.send(Some(&h.vendor_admin()), REFUND, json!({"paymentId": first.id})).await;
        assert!(refunded["errors"].is_null(), "{refunded}");
        // The refund's share of its payment's GST: 132.27 × 100 / 1234.50 = 10.71.
        let refund_tax: (i64,) = sqlx::query_as("SELECT tax FROM refunds").fetch_one(store).await.unwrap();
        assert_eq!(refund_tax.0, 1_071);
        // The captures and the refund happened yesterday (India time).
        sqlx::query("UPDATE payments SET captured_at = $1").bind(yesterday_noon()).execute(store).await.unwrap();
        sqlx::query("UPDATE refunds SET updated_at = $1 WHERE status = 'SUCCEEDED'").bind(yesterday_noon()).execute(store).await.unwrap();
        // A payment of another vendor does not count.
        assert_ne!(second.vendor_id, VENDOR_MH_ID);

        let admin = h.admin();
        let day = yesterday().to_string();
        let no_rate = h.gql.send(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": day, "end": day})).await;
        assert_eq!(error_code(&no_rate).as_deref(), Some("BAD_USER_INPUT"), "{no_rate}");
        let from = (yesterday() - chrono::Days::new(30)).to_string();
        let rate = h.gql.data(Some(&admin), SET_COMMISSION, json!({"vendorId": VENDOR_KA_ID, "rate": "8", "from": from})).await;
        assert_eq!(rate["setVendorCommission"]["ratePercent"], "8.00");
        let again = h.gql.send(Some(&admin), SET_COMMISSION, json!({"vendorId": VENDOR_KA_ID, "rate": "9", "from": from})).await;
        assert_eq!(error_code(&again).as_deref(), Some("CONFLICT"), "a rate is never edited in place");

        let issued = h.gql.data(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": day, "end": day})).await;
        let s = &issued["issueSettlement"];
        // By hand: captured 1234.50 + 678.90 = 1913.40; refunded 100.00; net 1813.40;
        // GST in it 132.27 + 32.33 − 10.71 = 153.89, taxable value 1659.51;
        // commission 8 % of 1813.40 = 145.072 → 145.07; TCS 0.5 % of 1659.51
        // = 8.29755 → 8.30; TDS 0.1 % = 1.65951 → 1.66;
        // payout 1813.40 − 145.07 − 8.30 − 1.66 = 1658.37.
        assert_eq!(s["paymentsCount"], 2);
        assert_eq!(s["captured"]["amount"], "1913.40");
        assert_eq!(s["refunded"]["amount"], "100.00");
        assert_eq!(s["gstInSales"]["amount"], "153.89");
        assert_eq!(s["taxableValue"]["amount"], "1659.51");
        assert_eq!(s["commissionRatePercent"], "8.00");
        assert_eq!(s["commission"]["amount"], "145.07");
        assert_eq!(s["tcs"]["amount"], "8.30");
        assert_eq!(s["tds"]["amount"], "1.66");
        assert_eq!(s["payout"]["amount"], "1658.37");
        assert_eq!(s["vendor"]["id"], VENDOR_KA_ID);
        let id = s["id"].as_str().unwrap().to_string();
        assert_eq!(h.outbox("SettlementIssued").await, 1);
        assert_eq!(h.count("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'settlement' AND action = 'issued'").await, 1);

        // Immutable: the table refuses changes; the period cannot be settled again.
        assert!(sqlx::query("UPDATE settlements SET payout = 1").execute(store).await.is_err());
        assert!(sqlx::query("DELETE FROM settlements").execute(store).await.is_err());
        let twice = h.gql.send(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": day, "end": day})).await;
        assert_eq!(error_code(&twice).as_deref(), Some("CONFLICT"));
        let overlapping = (yesterday() - chrono::Days::new(3)).to_string();
        let overlap = h.gql.send(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": overlapping, "end": day})).await;
        assert_eq!(error_code(&overlap).as_deref(), Some("CONFLICT"));
        let today = (yesterday() + chrono::Days::new(1)).to_string();
        let not_over = h.gql.send(Some(&admin), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": today, "end": today})).await;
        assert_eq!(error_code(&not_over).as_deref(), Some("BAD_USER_INPUT"));

        // The vendor's staff read it; another vendor and customers do not.
        let read = h.gql.data(Some(&h.vendor_admin()), READ, json!({"id": id})).await;
        assert_eq!(read["settlement"]["payout"]["amount"], "1658.37");
        for outsider in [h.other_vendor_admin(), h.customer()] {
            let refused = h.gql.send(Some(&outsider), READ, json!({"id": id})).await;
            assert_eq!(error_code(&refused).as_deref(), Some("NOT_FOUND"));
        }
        let mine = h.gql.data(Some(&h.pharmacist()), LIST, json!({})).await;
        assert_eq!(mine["vendorSettlements"]["totalCount"], 1);
        let theirs = h.gql.data(Some(&h.other_vendor_admin()), LIST, json!({})).await;
        assert_eq!(theirs["vendorSettlements"]["totalCount"], 0);
        let customer = h.gql.send(Some(&h.customer()), LIST, json!({})).await;
        assert_eq!(error_code(&customer).as_deref(), Some("FORBIDDEN"));
        let vendor_issues = h.gql.send(Some(&h.vendor_admin()), ISSUE, json!({"vendorId": VENDOR_KA_ID, "start": day, "end": day})).await;
        assert_eq!(error_code(&vendor_issues).as_deref(), Some("FORBIDDEN"), "only admins issue");
    }
}
