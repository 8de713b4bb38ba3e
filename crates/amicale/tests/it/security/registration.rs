//! Security tests: self-registration cannot take over or hide an existing
//! record (items 1 and 2), and mails to third parties are throttled (12).

use amicale_store::entities::{persons, registrations, users};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{
    TestApp, admin_app, beneficiary, confirm_registration, extract_csrf, mailed_link, new_client,
    on_each_backend,
};

const ATTACKER_PW: &str = "attacker passphrase";

async fn register_as(app: &TestApp, email: &str, role: &str) -> reqwest::Response {
    app.post_form_as(
        &new_client(),
        "/register",
        "/register",
        &[
            ("first_name", "Mallory"),
            ("last_name", "Evil"),
            ("email", email),
            ("role", role),
            ("password", ATTACKER_PW),
            ("confirm", ATTACKER_PW),
        ],
    )
    .await
}

async fn status_of(app: &TestApp, id: i64) -> String {
    persons::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn registering_with_someone_elses_address_takes_over_and_hides_nothing() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let victim = beneficiary(&app, "Alice", "Alumna", "alice@example.org").await;
        let before = status_of(&app, victim).await;

        for role in ["recruiter", "alumni"] {
            let res = register_as(&app, "ALICE@example.org", role).await;
            assert_eq!(res.status(), 200);
            assert!(res.text().await.unwrap().contains("request is recorded"));
            // No login with the attacker's password, the record untouched,
            // nothing in the moderation queue.
            let client = new_client();
            assert_ne!(
                app.login_with(&client, "alice@example.org", ATTACKER_PW)
                    .await,
                303,
                "{role}: the attacker must not log in as the alumna"
            );
            assert_eq!(
                status_of(&app, victim).await,
                before,
                "{role}: record hidden"
            );
            assert_eq!(
                registrations::Entity::find()
                    .count(&app.state.db)
                    .await
                    .unwrap(),
                0
            );
            assert_eq!(users::Entity::find().count(&app.state.db).await.unwrap(), 1);
            let queue = app.get("/admin/registrations").await.text().await.unwrap();
            assert!(!queue.contains("alice@example.org"), "{role}: queued");
        }

        // The owner of the mailbox follows the link without knowing the
        // attacker's password: nothing opens.
        let link = mailed_link(&app, "ALICE@example.org", "/register/confirm/")
            .await
            .expect("the link went to the address, not to the attacker");
        let client = new_client();
        let res = app
            .post_form_as(&client, &link, &link, &[("password", "a guess of hers")])
            .await;
        assert_eq!(res.status(), 422);
        assert_eq!(users::Entity::find().count(&app.state.db).await.unwrap(), 1);
        assert_eq!(status_of(&app, victim).await, before);

        // A link is used once; an unknown one is refused.
        let res = confirm_registration(&app, "ALICE@example.org", ATTACKER_PW).await;
        assert_eq!(
            res.status(),
            200,
            "the attacker's password with the owner's link"
        );
        let res = app
            .post_form_as(&new_client(), &link, &link, &[("password", ATTACKER_PW)])
            .await;
        assert_eq!(res.status(), 404, "single use");
        let res = app
            .post_form_as(
                &new_client(),
                "/register/confirm/forged",
                "/register/confirm/forged",
                &[("password", ATTACKER_PW)],
            )
            .await;
        assert_eq!(res.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_address_with_an_account_is_refused_at_confirmation() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        // A request made before the address got its account.
        let res = register_as(&app, "late@example.org", "recruiter").await;
        assert_eq!(res.status(), 200);
        app.create_user("late@example.org", "the real passphrase", false)
            .await;
        let res = confirm_registration(&app, "late@example.org", ATTACKER_PW).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("already has an account"));
        assert_ne!(
            app.login_with(&new_client(), "late@example.org", ATTACKER_PW)
                .await,
            303
        );
        assert_eq!(
            persons::Entity::find()
                .filter(persons::Column::Email.eq("late@example.org"))
                .count(&app.state.db)
                .await
                .unwrap(),
            0
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn mails_to_one_address_are_throttled() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let cap = app.state.config.mail_per_address_per_hour as usize;
        for _ in 0..cap {
            assert_eq!(
                register_as(&app, "flood@example.org", "alumni")
                    .await
                    .status(),
                200
            );
        }
        let res = register_as(&app, "flood@example.org", "alumni").await;
        assert_eq!(res.status(), 429);
        assert!(res.text().await.unwrap().contains("Too many messages"));
        let sent = amicale_store::entities::outbox::Entity::find()
            .filter(amicale_store::entities::outbox::Column::Recipient.eq("flood@example.org"))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(sent as usize, cap);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn address_change_links_and_resets_are_throttled_too() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let cap = app.state.config.mail_per_address_per_hour as usize;
        let count = |to: &'static str| {
            let db = app.state.db.clone();
            async move {
                amicale_store::entities::outbox::Entity::find()
                    .filter(amicale_store::entities::outbox::Column::Recipient.eq(to))
                    .count(&db)
                    .await
                    .unwrap() as usize
            }
        };
        for i in 0..=cap {
            let res = app
                .post_form(
                    "/account/email",
                    "/account/email",
                    &[
                        ("email", "target@example.org"),
                        ("current", crate::support::ADMIN_PASSWORD),
                    ],
                )
                .await;
            let status = res.status().as_u16();
            let page = res.text().await.unwrap();
            if i < cap {
                assert_eq!(status, 200, "{page}");
            } else {
                assert_eq!(status, 422);
                assert!(page.contains("Too many messages"));
            }
        }
        assert_eq!(count("target@example.org").await, cap);

        // Reset links: the same answer every time, mails up to the cap.
        for _ in 0..=cap {
            let client = new_client();
            let page = app.text_as(&client, "/password/forgot").await;
            let token = extract_csrf(&page).unwrap();
            let res = client
                .post(app.url("/password/forgot"))
                .header("origin", &app.base)
                .form(&[("email", crate::support::ADMIN), ("csrf_token", &token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            // Past the two-minute guard, as if time went by.
            amicale_store::entities::password_resets::Entity::delete_many()
                .exec(&app.state.db)
                .await
                .unwrap();
        }
        assert_eq!(count(crate::support::ADMIN).await, cap);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn two_confirmations_of_one_address_at_once_open_one_account_and_never_fail() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        for _ in 0..2 {
            assert_eq!(
                register_as(&app, "twice@example.org", "recruiter")
                    .await
                    .status(),
                200
            );
        }
        // Both links, followed at the same moment.
        let rows = amicale_store::entities::registration_requests::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 2);
        let mut links = Vec::new();
        for r in amicale_store::entities::outbox::Entity::find()
            .filter(amicale_store::entities::outbox::Column::Recipient.eq("twice@example.org"))
            .all(&app.state.db)
            .await
            .unwrap()
        {
            let start = r.body_text.find("/register/confirm/").unwrap();
            let rest = &r.body_text[start..];
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            links.push(rest[..end].to_owned());
        }
        assert_eq!(links.len(), 2);
        let (c1, c2) = (new_client(), new_client());
        let t1 = extract_csrf(&app.text_as(&c1, &links[0]).await).unwrap();
        let t2 = extract_csrf(&app.text_as(&c2, &links[1]).await).unwrap();
        let post = |c: &reqwest::Client, link: &str, t: &str| {
            c.post(app.url(link))
                .header("origin", &app.base)
                .form(&[("password", ATTACKER_PW), ("csrf_token", t)])
                .send()
        };
        let (a, b2) = tokio::join!(post(&c1, &links[0], &t1), post(&c2, &links[1], &t2));
        let statuses = [a.unwrap().status().as_u16(), b2.unwrap().status().as_u16()];
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "one success and one clear answer: {statuses:?}"
        );
        assert_eq!(
            users::Entity::find()
                .filter(users::Column::Email.eq("twice@example.org"))
                .count(&app.state.db)
                .await
                .unwrap(),
            1
        );
        app.stop().await;
    })
    .await;
}

/// Registers `first last <email>` as `role` and follows the link with the
/// same password, as a visitor who owns the mailbox would.
async fn register_and_confirm(app: &TestApp, email: &str, role: &str) -> String {
    assert_eq!(register_as(app, email, role).await.status(), 200);
    let res = confirm_registration(app, email, ATTACKER_PW).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_merged_address_cannot_open_the_record_it_joined() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let alice = beneficiary(&app, "Mallory", "Evil", "alice@example.org").await;
        // The attacker registers under the same name with their own address…
        register_and_confirm(&app, "mallory@evil.example", "alumni").await;
        let pending = persons::Entity::find()
            .filter(persons::Column::Email.eq("mallory@evil.example"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        // …staff merge the pending record into the real one…
        let (keep, drop) = (alice.to_string(), pending.to_string());
        let res = app
            .post_form(
                "/admin/people/duplicates",
                "/admin/people/duplicates/merge",
                &[("member", &keep), ("member", &drop), ("keep", &keep)],
            )
            .await;
        assert!(crate::support::location(&res).contains("merged"));
        assert_eq!(
            registrations::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            0,
            "the merge cancels the pending request"
        );
        // …and the attacker's address is now a secondary one of that record.
        let page = register_and_confirm(&app, "mallory@evil.example", "recruiter").await;
        assert!(page.contains("already known to the network"), "{page}");
        assert_ne!(
            app.login_with(&new_client(), "alice@example.org", ATTACKER_PW)
                .await,
            303
        );
        assert_ne!(
            app.login_with(&new_client(), "mallory@evil.example", ATTACKER_PW)
                .await,
            303
        );
        assert_eq!(users::Entity::find().count(&app.state.db).await.unwrap(), 1);
        assert_eq!(
            registrations::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            0
        );
        app.stop().await;
    })
    .await;
}
