//! Sender identities and the sent archive: allowed domains,
//! a shared mailbox verified by the code mailed to it, From and Reply-To of
//! real mails, and who sees what in the archive.

use amicale_store::entities::identities;
use sea_orm::EntityTrait;

use crate::support::{
    SmtpSink, TestApp, admin_app, beneficiary, new_client, on_each_backend, person_page_template,
    wait_settled,
};

const ADMIN: &str = "admin@example.org";
const PASSWORD: &str = "admin passphrase";

fn header(raw: &str, name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    msg.header_raw(name).map(|v| v.trim().to_owned())
}

async fn send_now(app: &TestApp, person: i64, template: i64, identity: &str) -> String {
    let page = format!("/admin/people/{person}/messages");
    let res = app
        .post_form(
            &page,
            &page,
            &[
                ("channel", "email"),
                ("template", &template.to_string()),
                ("when", "now"),
                ("identity", identity),
            ],
        )
        .await;
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn identities_set_the_sender_and_fill_each_users_archive() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        app.create_user("other@example.org", PASSWORD, true).await;

        // Allowed domains: a typo is refused and kept.
        let res = app
            .post_form(
                "/admin/identities",
                "/admin/identities/domains",
                &[("domains", "ecole.fr, ecole")],
            )
            .await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("is not a domain name") && html.contains("value=\"ecole.fr, ecole\"")
        );
        let res = app
            .post_form(
                "/admin/identities",
                "/admin/identities/domains",
                &[("domains", "ecole.fr")],
            )
            .await;
        assert_eq!(res.status(), 303);

        // A shared mailbox: the code goes to the mailbox itself.
        let res = app
            .post_form(
                "/admin/identities",
                "/admin/identities",
                &[("label", "Service Alumni"), ("address", "pas une adresse")],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("value=\"Service Alumni\"")
        );
        let res = app
            .post_form(
                "/admin/identities",
                "/admin/identities",
                &[("label", "Service Alumni"), ("address", "alumni@ecole.fr")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let mail = sink.wait_for(1, 20).await.remove(0);
        assert_eq!(mail.to, ["alumni@ecole.fr"]);
        let code: String = mail
            .text()
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a six-digit code")
            .to_owned();
        let shared = identities::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.address == "alumni@ecole.fr")
            .unwrap();
        assert!(!shared.verified);
        assert_ne!(
            shared.code_hash.as_deref(),
            Some(code.as_str()),
            "stored hashed"
        );

        // A template and a person to write to.
        let t = person_page_template(
            &app,
            "Offres",
            "Offres pour {{ person.first_name }}",
            "<p>Bonjour.</p>",
        )
        .await;
        let p = beneficiary(&app, "Inès", "Roux", "ines.roux@example.org").await;

        // Not verified, not assigned: not offered, and refused if posted.
        let page = app
            .get(&format!("/admin/people/{p}/messages"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !page.contains("alumni@ecole.fr")
                && page.contains("name=\"identity\"")
                && page.contains("admin@example.org"),
            "{page}"
        );
        let loc = send_now(&app, p, t, &shared.id.to_string()).await;
        assert!(loc.ends_with("notice=bad_identity"), "{loc}");

        let res = app
            .post_form(
                "/admin/identities",
                &format!("/admin/identities/{}/users", shared.id),
                &[("user", &app_user_id(&app, ADMIN).await.to_string())],
            )
            .await;
        assert_eq!(res.status(), 303);
        let res = app
            .post_form(
                "/account/identity",
                &format!("/identities/{}/verify", shared.id),
                &[("code", "000000")],
            )
            .await;
        let wrong = if code == "000000" {
            "verified"
        } else {
            "bad_code"
        };
        assert!(res.headers()["location"].to_str().unwrap().ends_with(wrong));
        let res = app
            .post_form(
                "/account/identity",
                &format!("/identities/{}/verify", shared.id),
                &[("code", &code)],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("notice=verified")
        );

        // As the mailbox, of an allowed domain: it is the From.
        let loc = send_now(&app, p, t, &shared.id.to_string()).await;
        assert!(loc.ends_with("notice=sent:1"), "{loc}");
        let mail = sink.wait_for(2, 20).await.remove(1);
        assert_eq!(
            header(&mail.data, "From").as_deref(),
            Some("\"Service Alumni\" <alumni@ecole.fr>")
        );
        assert!(header(&mail.data, "Reply-To").is_none());

        // As oneself (example.org is not allowed): from the platform in my
        // name, answers to my Reply-To.
        let res = app
            .post_form(
                "/account/identity",
                "/account/identity",
                &[("reply_to", "claire.assistante@example.org")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let loc = send_now(&app, p, t, "").await;
        assert!(loc.ends_with("notice=sent:1"), "{loc}");
        let mail = sink.wait_for(3, 20).await.remove(2);
        let from = header(&mail.data, "From").unwrap();
        assert!(
            from.contains("Test User") && from.contains(&app.state.mail_from.email.to_string()),
            "{from}"
        );
        assert_eq!(
            header(&mail.data, "Reply-To").as_deref(),
            Some("claire.assistante@example.org")
        );

        // My archive holds both, with their rendered subjects.
        wait_settled(&app.state.db, 20).await;
        let archive = app.get("/sent").await.text().await.unwrap();
        assert!(archive.contains("2 messages"), "{archive}");
        assert_eq!(archive.matches("Offres pour Inès").count(), 2);
        let only_shared = app
            .get(&format!("/sent?identity={}", shared.id))
            .await
            .text()
            .await
            .unwrap();
        assert!(only_shared.contains("1 messages"));
        let msg_id: i64 = only_shared
            .split("href=\"/sent/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(app.get(&format!("/sent/{msg_id}")).await.status(), 200);
        let none = app.get("/sent?q=introuvable").await.text().await.unwrap();
        assert!(none.contains("0 messages"));

        // Another administrator, not assigned to the mailbox, does not see it.
        let other = new_client();
        assert_eq!(
            app.login_with(&other, "other@example.org", PASSWORD).await,
            303
        );
        let res = other
            .get(app.url(&format!("/sent/{msg_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let theirs = other
            .get(app.url("/sent"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(theirs.contains("0 messages"));

        // One user left: the mailbox becomes their own identity.
        let res = app
            .post_form(
                "/admin/identities",
                &format!("/admin/identities/{}/convert", shared.id),
                &[],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("notice=converted")
        );
        let converted = identities::Entity::find_by_id(shared.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(converted.kind, "personal");
        assert_eq!(
            converted.owner_user_id,
            Some(app_user_id(&app, ADMIN).await)
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_administrator_routes_a_personal_identity_through_its_own_profile() {
    on_each_backend(|b| async move {
        let (app, default_sink, _db) = admin_app(b).await;
        let relay = SmtpSink::start().await;
        let port = relay.port.to_string();
        let res = app
            .post_form(
                "/admin/transports",
                "/admin/transports",
                &[
                    ("label", "Relais de Claire"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", "none"),
                    ("timeout_secs", "5"),
                    ("rate_per_sec", "0"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let profile = amicale_store::entities::smtp_profiles::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let me = app_user_id(&app, ADMIN).await;
        let page = app.get("/admin/identities").await.text().await.unwrap();
        assert!(
            page.contains(&format!("id=\"personal-{me}\"")) && page.contains("Personal identities"),
            "{page}"
        );

        // Only staff users have a personal identity to route.
        app.create_user("member@example.org", PASSWORD, false).await;
        let member = app_user_id(&app, "member@example.org").await;
        let res = app
            .post_form(
                "/admin/identities",
                &format!("/admin/identities/personal/{member}"),
                &[("smtp_profile", &profile.to_string())],
            )
            .await;
        assert_eq!(res.status(), 404);

        let res = app
            .post_form(
                "/admin/identities",
                &format!("/admin/identities/personal/{me}"),
                &[("smtp_profile", &profile.to_string())],
            )
            .await;
        assert_eq!(res.status(), 303);
        let page = app.get("/admin/identities").await.text().await.unwrap();
        assert!(
            page.contains(&format!(
                "<option value=\"{profile}\" selected>Relais de Claire"
            )),
            "{page}"
        );

        // What I send as myself goes through my relay, not the default.
        let t = person_page_template(&app, "Suivi", "Suivi", "<p>Bonjour.</p>").await;
        let p = beneficiary(&app, "Inès", "Roux", "ines.roux@example.org").await;
        let loc = send_now(&app, p, t, "").await;
        assert!(loc.ends_with("notice=sent:1"), "{loc}");
        let got = relay.wait_for(1, 20).await;
        assert_eq!(got[0].to, ["ines.roux@example.org"]);
        assert!(
            !default_sink
                .received()
                .iter()
                .any(|m| m.to.iter().any(|t| t.contains("ines.roux")))
        );

        // A new login address is a new identity, still through my relay.
        use amicale_store::entities::users;
        use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
        let mut user = users::Entity::find_by_id(me)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        user.email = Set("claire.new@example.org".into());
        let user = user.update(&app.state.db).await.unwrap();
        let renewed = amicale_delivery::identities::personal(&app.state.db, &user)
            .await
            .unwrap();
        assert_eq!(renewed.address, "claire.new@example.org");
        assert_eq!(renewed.smtp_profile_id, Some(profile));
        app.stop().await;
    })
    .await;
}

async fn app_user_id(app: &TestApp, email: &str) -> i64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    amicale_store::entities::users::Entity::find()
        .filter(amicale_store::entities::users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}
