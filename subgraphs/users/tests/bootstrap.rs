//! The first platform admin (`janta admin create`) on both backends: only
//! ADMIN counts as a platform admin (VENDOR_ADMIN, which also contains the
//! word, does not), a second one needs `force`, and each creation is
//! audited with the actor `bootstrap`.

use janta_platform::auth::Role;
use janta_platform::store::Store;
use janta_testkit::{both_backends, TestDb};
use janta_users::domain::{Email, Password};
use janta_users::service::bootstrap::{create_admin, NewAdmin, BOOTSTRAP_ACTOR};
use janta_users::store::{self, bootstrap::has_platform_admin};

fn admin(email: &str, force: bool) -> NewAdmin {
    NewAdmin {
        email: Email::parse(email).unwrap(),
        full_name: "Asha Rao".into(),
        password: Password::parse("bootstrap-pass-4821").unwrap(),
        force,
    }
}

async fn has_admin(db: &Store) -> bool {
    let mut conn = db.pool().acquire().await.unwrap();
    has_platform_admin(&mut conn).await.unwrap()
}

async fn migrated(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate(&store::migrations()).await.unwrap();
    store
}

both_backends! {
    async fn only_admin_counts_and_a_second_needs_force(db) {
        let store = migrated(&db).await;
        assert!(!has_admin(&store).await);
        let mut tx = store.begin().await.unwrap();
        let vendor_admin = store::NewUser {
            email: "va@janta.example",
            phone: None,
            full_name: "Vendor Admin",
            password_hash: "x",
            roles: &[Role::VendorAdmin, Role::Customer],
            vendor_id: None,
        };
        store::insert_user(&mut tx, vendor_admin).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert!(!has_admin(&store).await, "VENDOR_ADMIN is no platform admin");

        let first = create_admin(&store, admin("root@janta.example", false)).await.unwrap();
        assert_eq!(first.roles(), vec![Role::Admin]);
        assert!(has_admin(&store).await);
        let refused = create_admin(&store, admin("ops@janta.example", false)).await.err().unwrap();
        assert_eq!(refused.code(), janta_platform::ErrorCode::Conflict);
        create_admin(&store, admin("ops@janta.example", true)).await.unwrap();
        let taken = create_admin(&store, admin("ops@janta.example", true)).await.err().unwrap();
        assert_eq!(taken.code(), janta_platform::ErrorCode::Conflict);

        let actors: Vec<String> = sqlx::query_scalar(
            "SELECT actor FROM audit_log WHERE action = 'admin_bootstrapped'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(actors, vec![BOOTSTRAP_ACTOR.to_string(); 2]);
    }
}
