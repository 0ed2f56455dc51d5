//! Search on both backends with the demo catalog: relevance ranking for
//! prefixes, salt names, manufacturers and misspellings (expected top hits),
//! filters, and stable keyset pagination with `totalCount`.

mod support;

use janta_catalog::demo::*;
use janta_testkit::{both_backends, Gql};
use serde_json::{json, Value};
use support::Catalog;

/// The contract's `SearchMedicines`, minus `vendor { name }` (resolved by users through the router).
const SEARCH: &str = "query SearchMedicines($search: String, $first: Int, $after: String) { \
    medicines(search: $search, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } \
    edges { cursor node { id name genericName manufacturer schedule requiresPrescription \
    listings(first: 3) { id price { amount currency } mrp { amount currency } stock vendor { id } } } } } }";

async fn search(gql: &Gql, text: &str, first: i64) -> Value {
    gql.data(None, SEARCH, json!({"search": text, "first": first}))
        .await["medicines"]
        .clone()
}

fn names(result: &Value) -> Vec<String> {
    result["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_string())
        .collect()
}

async fn all_pages(gql: &Gql, vars: Value, page: i64) -> (Vec<String>, i64) {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    let total = loop {
        let mut v = vars.clone();
        v["first"] = json!(page);
        v["after"] = after.clone();
        let data = gql.data(None, SEARCH, v).await["medicines"].clone();
        let total = data["totalCount"].as_i64().unwrap();
        ids.extend(
            data["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_string()),
        );
        if data["pageInfo"]["hasNextPage"] != true {
            break total;
        }
        after = data["pageInfo"]["endCursor"].clone();
        assert!(ids.len() < 500, "pagination does not end");
    };
    (ids, total)
}

both_backends! {
    async fn prefixes_rank_the_name_match_first(db) {
        let c = Catalog::seeded(&db).await;
        let result = search(&c.gql, "parace", 10).await;
        let found = names(&result);
        assert_eq!(found[0], "Paracetamol 500 mg tablet", "{found:?}");
        assert_eq!(result["totalCount"], 7, "{found:?}");
        for brand in ["Dolo 650 tablet", "Crocin Advance 500 mg tablet", "Calpol 250 mg/5 ml suspension", "Combiflam tablet"] {
            assert!(found.iter().any(|n| n == brand), "{brand} missing from {found:?}");
        }
        let first = &result["edges"][0]["node"];
        assert_eq!(first["schedule"], "OTC");
        assert_eq!(first["requiresPrescription"], false);
        assert_eq!(first["listings"].as_array().unwrap().len(), 2);
        assert_eq!(first["listings"][0]["stock"], 200);
        let two_words = names(&search(&c.gql, "dolo 65", 5).await);
        assert_eq!(two_words, ["Dolo 650 tablet"]);
    }

    async fn salt_names_find_brands_and_generics(db) {
        let c = Catalog::seeded(&db).await;
        let cefixime = search(&c.gql, "cefixime", 10).await;
        assert_eq!(names(&cefixime)[0], "Cefixime 200 mg tablet", "the generic's own name ranks first");
        let mut brands = names(&cefixime)[1..].to_vec();
        brands.sort();
        assert_eq!(brands, ["Taxim-O 200 tablet", "Zifi 200 tablet"]);
        assert_eq!(cefixime["edges"][0]["node"]["schedule"], "H1");
        assert_eq!(cefixime["edges"][0]["node"]["listings"].as_array().unwrap().len(), 1, "KA only");

        let amoxicillin = names(&search(&c.gql, "Amoxicillin", 10).await);
        assert_eq!(amoxicillin[0], "Amoxicillin 500 mg capsule", "{amoxicillin:?}");
        assert!(amoxicillin.contains(&"Mox 500 capsule".to_string()));
        assert!(amoxicillin.contains(&"Augmentin 625 Duo tablet".to_string()));
        assert_eq!(amoxicillin.len(), 3);

        let metformin = names(&search(&c.gql, "metformin", 10).await);
        assert_eq!(metformin.len(), 4, "{metformin:?}");
        let cipla = search(&c.gql, "cipla", 20).await;
        assert_eq!(cipla["totalCount"], 9, "manufacturer search: {:?}", names(&cipla));
    }

    async fn misspelt_prefixes_are_corrected(db) {
        let c = Catalog::seeded(&db).await;
        for (typo, top) in [
            ("paracitamol", "Paracetamol 500 mg tablet"),
            ("parcetamol", "Paracetamol 500 mg tablet"),
            ("paracetmol 500", "Paracetamol 500 mg tablet"),
            ("amoxycillin", "Amoxicillin 500 mg capsule"),
            ("cefixme", "Cefixime 200 mg tablet"),
            ("azithromicin", "Azithral 500 tablet"),
            ("pantaprazole", "Pan 40 tablet"),
        ] {
            let found = names(&search(&c.gql, typo, 5).await);
            assert_eq!(found.first().map(String::as_str), Some(top), "{typo}: {found:?}");
        }
        assert!(names(&search(&c.gql, "xyzzyq", 5).await).is_empty());
        assert_eq!(search(&c.gql, "\"; DROP TABLE medicines; --", 5).await["totalCount"], 0);
    }

    async fn pages_are_stable_and_complete(db) {
        let c = Catalog::seeded(&db).await;
        let (ids, total) = all_pages(&c.gql, json!({}), 7).await;
        assert_eq!(total, 77, "the Schedule X medicine is not found (not sold online)");
        assert_eq!(ids.len(), 77);
        assert!(!ids.iter().any(|id| id == ADDWIZE_10_ID));
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 77, "no duplicates across pages");
        let (searched, total) = all_pages(&c.gql, json!({"search": "paracetamol"}), 3).await;
        assert_eq!(searched.len() as i64, total);
        let (one_page, _) = all_pages(&c.gql, json!({"search": "paracetamol"}), 50).await;
        assert_eq!(searched, one_page, "paging does not change the ranking");
        assert_eq!(searched[0], PARACETAMOL_500_ID);
        let (tablets, total) = all_pages(&c.gql, json!({"search": "tablet"}), 9).await;
        assert_eq!(tablets.len() as i64, total);
        assert!(total > 40);
    }

    async fn edits_move_a_medicine_between_filters_and_pages(db) {
        // Search filters and the by-name order read each medicine's current
        // fields from the search facets; an edit must move it everywhere.
        let c = Catalog::seeded(&db).await;
        let admin = c.admin();
        let query = "query($s: String, $c: ID, $rx: Boolean) { medicines(search: $s, categoryId: $c, requiresPrescription: $rx, first: 100) { totalCount edges { node { id name } } } }";
        let count = |vars: Value| {
            let gql = &c.gql;
            async move { gql.data(None, query, vars).await["medicines"]["totalCount"].as_i64().unwrap() }
        };
        let otc_before = count(json!({"s": "paracetamol", "rx": false})).await;
        let antibiotics_before = count(json!({"c": CATEGORY_ANTIBIOTICS_ID})).await;
        let update = "mutation($id: ID!, $input: UpdateMedicineInput!) { updateMedicine(id: $id, input: $input) { version } }";
        c.gql.data(Some(&admin), update, json!({"id": PARACETAMOL_500_ID, "input": {
            "name": "Aaacetamol 500 mg tablet", "schedule": "H", "categoryId": CATEGORY_ANTIBIOTICS_ID}})).await;

        assert_eq!(count(json!({"s": "paracetamol", "rx": false})).await, otc_before - 1, "now needs a prescription");
        assert_eq!(count(json!({"s": "paracetamol", "rx": true})).await, 3);
        assert_eq!(count(json!({"c": CATEGORY_ANTIBIOTICS_ID})).await, antibiotics_before + 1);
        let renamed = names(&search(&c.gql, "aaacetamol", 5).await);
        assert_eq!(renamed, ["Aaacetamol 500 mg tablet"], "found by its new name");
        assert!(!names(&search(&c.gql, "paracetamol 500", 10).await).contains(&"Paracetamol 500 mg tablet".to_string()));
        let by_name = c.gql.data(None, query, json!({})).await;
        assert_eq!(by_name["medicines"]["edges"][0]["node"]["id"], PARACETAMOL_500_ID, "first by its new name");

        c.gql.data(Some(&admin), update, json!({"id": PARACETAMOL_500_ID, "input": {"schedule": "X"}})).await;
        let hidden = c.gql.data(None, query, json!({"s": "aaacetamol"})).await;
        let found: Vec<&Value> = hidden["medicines"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
        assert!(!found.contains(&&json!(PARACETAMOL_500_ID)), "Schedule X is not found: {found:?}");
        let as_admin = c.gql.data(Some(&admin), query, json!({"s": "aaacetamol"})).await;
        assert_eq!(as_admin["medicines"]["totalCount"], 1, "admins still find it");
        assert_eq!(as_admin["medicines"]["edges"][0]["node"]["id"], PARACETAMOL_500_ID);
        let (ids, total) = all_pages(&c.gql, json!({}), 7).await;
        assert_eq!((ids.len(), total), (76, 76), "two Schedule X medicines hidden");
    }

    async fn one_match_per_page_walks_every_match_in_rank_order(db) {
        // Pages of one look only at a window of the best matches after the
        // cursor each time; walked to the end they must equal one big page.
        let c = Catalog::seeded(&db).await;
        for text in ["tablet", "500", "cipla"] {
            let (one_by_one, total) = all_pages(&c.gql, json!({"search": text}), 1).await;
            let (at_once, _) = all_pages(&c.gql, json!({"search": text}), 100).await;
            assert_eq!(one_by_one, at_once, "{text}");
            assert_eq!(one_by_one.len() as i64, total, "{text}");
        }
    }

    async fn filters_combine_with_search(db) {
        let c = Catalog::seeded(&db).await;
        let query = "query($s: String, $c: ID, $rx: Boolean) { medicines(search: $s, categoryId: $c, requiresPrescription: $rx, first: 100) { totalCount edges { node { name requiresPrescription } } } }";
        let antibiotics = c.gql.data(None, query, json!({"c": CATEGORY_ANTIBIOTICS_ID})).await;
        assert_eq!(antibiotics["medicines"]["totalCount"], 11);
        let otc = c.gql.data(None, query, json!({"s": "paracetamol", "rx": false})).await;
        assert_eq!(otc["medicines"]["totalCount"], 5, "Ultracet (H1) and Zerodol-P (H) need a prescription");
        let rx = c.gql.data(None, query, json!({"s": "paracetamol", "rx": true})).await;
        assert_eq!(rx["medicines"]["totalCount"], 2);
        let none = c.gql.data(None, query, json!({"s": "cefixime", "c": CATEGORY_PAIN_FEVER_ID})).await;
        assert_eq!(none["medicines"]["totalCount"], 0);
    }
}
