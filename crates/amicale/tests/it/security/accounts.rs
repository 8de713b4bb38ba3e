//! Security tests: accounts and staff rights — identity codes (item 16),
//! logins (15), scopes of duplicates, previews and downloads (3, 8, 17),
//! outgoing requests to SMS providers (19).

use amicale_kernel::permissions::{Level, Module, Scope};
use amicale_store::entities::identities;
use sea_orm::{ActiveModelTrait, EntityTrait};

use crate::support::{admin_app, on_each_backend};

/// The code in a verification mail.
fn six_digits(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned()
}

#[tokio::test]
async fn identity_codes_allow_five_tries_then_are_void() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let res = app
            .post_form(
                "/admin/identities",
                "/admin/identities",
                &[("label", "Service Alumni"), ("address", "alumni@ecole.fr")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let code = six_digits(&sink.wait_for(1, 20).await.remove(0).text());
        let id = identities::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.address == "alumni@ecole.fr")
            .unwrap()
            .id;
        let wrong = if code == "000001" { "000002" } else { "000001" };
        let try_code = |c: String| {
            let app = &app;
            async move {
                let res = app
                    .post_form(
                        "/admin/identities",
                        &format!("/identities/{id}/verify"),
                        &[("code", &c), ("from", "admin")],
                    )
                    .await;
                res.headers()["location"].to_str().unwrap().to_owned()
            }
        };
        for _ in 0..amicale_delivery::identities::CODE_ATTEMPTS {
            assert!(try_code(wrong.to_owned()).await.ends_with("bad_code"));
        }
        // The right code, too late: the code is void.
        assert!(try_code(code).await.ends_with("bad_code"));
        let row = identities::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!row.verified && row.code_hash.is_none());
        app.stop().await;
    })
    .await;
}

/// A permission profile made for a test with these rights; returns its name.
async fn profile(
    app: &crate::support::TestApp,
    name: &str,
    rights: &[(
        amicale_kernel::permissions::Module,
        amicale_kernel::permissions::Level,
        amicale_kernel::permissions::Scope,
    )],
) -> String {
    use amicale_kernel::permissions::{Matrix, Right};
    use amicale_store::entities::permission_profiles;
    let mut m = Matrix::default();
    for (module, level, scope) in rights {
        m.0.insert(
            *module,
            Right {
                visible: true,
                level: *level,
                scope: *scope,
            },
        );
    }
    permission_profiles::ActiveModel {
        name: sea_orm::Set(name.to_owned()),
        builtin: sea_orm::Set(false),
        matrix: sea_orm::Set(serde_json::to_string(&m).unwrap()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    name.to_owned()
}

#[tokio::test]
async fn duplicates_stay_within_the_scope_and_merge_only_duplicates() {
    use amicale_store::entities::persons;
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let a = crate::support::beneficiary(&app, "Hélène", "Dupré", "h1@example.org").await;
        let a2 = crate::support::beneficiary(&app, "Helene", "DUPRE", "h2@example.org").await;
        let other = crate::support::beneficiary(&app, "Marc", "Solo", "marc@example.org").await;
        let (o, o2, m) = (a.to_string(), a2.to_string(), other.to_string());

        // An advisor (scope: assigned to them, nobody here) sees no one.
        let (advisor, _) = crate::support::staff(&app, "adv@example.org", "advisor", None).await;
        let page = app
            .text_as(&advisor, "/admin/people/duplicates?all=1")
            .await;
        assert!(
            !page.contains("h1@example.org") && !page.contains("Dupré"),
            "{page}"
        );
        // Merging needs the create level.
        let res = app
            .post_form_as(
                &advisor,
                "/admin/people/duplicates",
                "/admin/people/duplicates/merge",
                &[("member", &o), ("member", &o2), ("keep", &o)],
            )
            .await;
        assert_eq!(res.status(), 403);

        // Create level, scope "assigned": only the records assigned to them.
        let name = profile(
            &app,
            "merger",
            &[(Module::People, Level::Create, Scope::Assigned)],
        )
        .await;
        let (merger, uid) = crate::support::staff(&app, "merger@example.org", &name, None).await;
        crate::support::assign_referent(&app, a, uid).await;
        let res = app
            .post_form_as(
                &merger,
                "/admin/people/duplicates",
                "/admin/people/duplicates/merge",
                &[("member", &o), ("member", &o2), ("keep", &o)],
            )
            .await;
        assert_eq!(res.status(), 404, "one record out of reach");
        for id in [a, a2] {
            assert!(
                persons::Entity::find_by_id(id)
                    .one(&app.state.db)
                    .await
                    .unwrap()
                    .is_some()
            );
        }

        // Even the administrator cannot merge two different people.
        let res = app
            .post_form(
                "/admin/people/duplicates",
                "/admin/people/duplicates/merge",
                &[("member", &o), ("member", &m), ("keep", &o)],
            )
            .await;
        assert!(crate::support::location(&res).contains("not-duplicates"));
        assert!(
            persons::Entity::find_by_id(other)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_some()
        );
        app.stop().await;
    })
    .await;
}

/// A browser behind the reverse proxy at `ip` (the app trusts the proxy).
fn client_at(ip: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("accept-language", "en".parse().unwrap());
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_lock_out_the_client_not_the_owner_and_a_reset_lifts_the_lock() {
    use crate::support::{TestApp, TestDb, test_config};
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let sink = crate::support::SmtpSink::start().await;
        let mut config = test_config(&db.url, Some(sink.url()));
        config.behind_proxy = true;
        config.login_failures_per_client = 8;
        let app = TestApp::start(config).await;
        app.create_user("owner@example.org", "owner passphrase", true)
            .await;

        let attacker = client_at("203.0.113.7");
        for _ in 0..amicale::auth::store::MAX_FAILURES {
            app.login_with(&attacker, "owner@example.org", "guess")
                .await;
        }
        assert_eq!(
            app.login_with(&attacker, "owner@example.org", "owner passphrase")
                .await,
            429,
            "the guessing client is locked out"
        );
        // The owner, elsewhere, still logs in.
        let owner = client_at("198.51.100.20");
        assert_eq!(
            app.login_with(&owner, "owner@example.org", "owner passphrase")
                .await,
            303
        );

        // Spraying one password over many accounts locks the client.
        let sprayer = client_at("203.0.113.99");
        for i in 0..8 {
            app.login_with(&sprayer, &format!("user{i}@example.org"), "Summer2026!")
                .await;
        }
        assert_eq!(
            app.login_with(&sprayer, "owner@example.org", "owner passphrase")
                .await,
            429
        );

        // A password reset by mail lifts the account's locks, from any client.
        let reset_page = app.text_as(&attacker, "/password/forgot").await;
        let token = crate::support::extract_csrf(&reset_page).unwrap();
        let res = attacker
            .post(app.url("/password/forgot"))
            .header("origin", &app.base)
            .form(&[("email", "owner@example.org"), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success() || res.status().is_redirection());
        let link = crate::support::mailed_link(&app, "owner@example.org", "/password/reset/")
            .await
            .expect("reset link");
        let res = app
            .post_form_as(
                &attacker,
                &link,
                &link,
                &[
                    ("password", "a brand new passphrase"),
                    ("confirm", "a brand new passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            app.login_with(&attacker, "owner@example.org", "a brand new passphrase")
                .await,
            303,
            "the reset lifted the lock"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sms_provider_addresses_cannot_point_inside() {
    use crate::support::{ADMIN, ADMIN_PASSWORD, TestApp, TestDb, test_config};
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let mut config = test_config(&db.url, None);
        config.sms_allow_private_urls = false;
        let app = TestApp::start(config).await;
        app.create_user(ADMIN, ADMIN_PASSWORD, true).await;
        assert_eq!(app.login(ADMIN, ADMIN_PASSWORD).await.status(), 303);
        for url in [
            "http://api.example.com/send",
            "https://127.0.0.1:9/send",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/send",
            "https://localhost/send",
        ] {
            let res = app
                .post_form(
                    "/admin/sms",
                    "/admin/sms/account",
                    &[
                        ("provider", "generic"),
                        ("label", "Passerelle"),
                        ("sender", "AMICALE"),
                        ("url", url),
                        ("body_template", r#"{"to": "{{to}}", "text": "{{text}}"}"#),
                        ("id_field", "id"),
                    ],
                )
                .await;
            assert_eq!(res.status(), 422, "{url}");
            let page = res.text().await.unwrap();
            assert!(page.contains("https://"), "{url}: a clear message");
        }
        assert!(
            amicale_store::entities::sms_accounts::Entity::find()
                .one(&app.state.db)
                .await
                .unwrap()
                .is_none()
        );
        // A public name that resolves inside is refused when called.
        let refused =
            amicale_delivery::sms::outbound::check_resolved("https://localhost:9/", false)
                .await
                .unwrap_err();
        assert!(refused.contains("non-public"), "{refused}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn staff_see_only_their_events_calendars_and_their_own_jobs() {
    use amicale_store::entities::jobs;
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        // An event made by the administrator, out of an advisor-like scope.
        let name = profile(
            &app,
            "events-assigned",
            &[
                (Module::Events, Level::Consult, Scope::Assigned),
                (Module::People, Level::Consult, Scope::All),
            ],
        )
        .await;
        let (staff, _) = crate::support::staff(&app, "ev@example.org", &name, None).await;
        let now = chrono::Utc::now();
        let res = app
            .post_form(
                "/admin/events/new",
                "/admin/events/new",
                &[
                    ("title", "Gala"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("mode", "onsite"),
                    ("site", "Maison des entreprises"),
                    ("city", "Lyon"),
                    ("date", "01/06/2030"),
                    ("start", "19:00"),
                    ("end", "23:00"),
                    ("capacity", "10"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let id = crate::support::id_in(&crate::support::location(&res), "/admin/events/");
        let res = staff
            .get(app.url(&format!("/events/{id}.ics")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "an event out of scope");
        assert_eq!(app.get(&format!("/events/{id}.ics")).await.status(), 200);

        // Someone else's background job does not exist for them.
        let job = jobs::ActiveModel {
            kind: sea_orm::Set("people-import".into()),
            state: sea_orm::Set("done".into()),
            total: sea_orm::Set(1),
            done: sea_orm::Set(1),
            payload: sea_orm::Set("{}".into()),
            result: sea_orm::Set(Some("{\"created\":1}".into())),
            created_by: sea_orm::Set(None),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        let res = staff
            .get(app.url(&format!("/admin/jobs/{}", job.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn template_previews_show_only_persons_the_author_may_see() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let secret =
            crate::support::beneficiary(&app, "Secretia", "Hidden", "secretia@example.org").await;
        let t = crate::support::person_page_template(
            &app,
            "Probe",
            "Probe {{ person.first_name }}",
            "<p>Hello {{ person.first_name }} {{ person.last_name }}</p>",
        )
        .await;
        // Templates without any right on person records.
        profile(
            &app,
            "writer",
            &[(Module::Templates, Level::Create, Scope::All)],
        )
        .await;
        let (writer, _) = crate::support::staff(&app, "writer@example.org", "writer", None).await;
        for path in [
            format!("/admin/templates/{t}/preview?person={secret}"),
            format!("/admin/templates/{t}/preview/frame?person={secret}"),
            format!("/admin/templates/{t}/preview?q=Secret"),
            format!("/admin/templates/{t}/preview"),
        ] {
            let res = writer.get(app.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let page = res.text().await.unwrap();
            assert!(
                !page.contains("Secretia") && !page.contains("Hidden"),
                "{path}: {page}"
            );
        }
        let page = format!("/admin/templates/{t}/preview");
        let res = app
            .post_form_as(
                &writer,
                &page,
                &format!("/admin/templates/{t}/test"),
                &[("person", &secret.to_string()), ("lang", "fr")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let mail = sink.wait_for(1, 20).await.remove(0);
        assert_eq!(mail.to, ["writer@example.org"]);
        assert!(!mail.text().contains("Secretia"));
        // The administrator, who may see the person, previews with them.
        let admin_page = app
            .get(&format!(
                "/admin/templates/{t}/preview/frame?person={secret}"
            ))
            .await
            .text()
            .await
            .unwrap();
        assert!(admin_page.contains("Secretia"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn parallel_guesses_get_no_more_tries_than_the_limit() {
    use crate::support::{TestApp, TestDb, test_config};
    use amicale_store::entities::login_throttle;
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let mut config = test_config(&db.url, None);
        config.behind_proxy = true;
        config.login_failures_per_client = 3;
        let app = TestApp::start(config).await;
        let guesser = client_at("203.0.113.50");
        // Prime the client's CSRF cookie once, then guess ten accounts at once.
        let page = app.text_as(&guesser, "/login").await;
        let token = crate::support::extract_csrf(&page).unwrap();
        let tries = (0..10).map(|i| {
            guesser
                .post(app.url("/login"))
                .header("origin", &app.base)
                .form(&[
                    ("email", format!("user{i}@example.org")),
                    ("password", "Summer2026!".to_owned()),
                    ("csrf_token", token.clone()),
                ])
                .send()
        });
        let answers = futures_util::future::join_all(tries).await;
        let checked = answers
            .iter()
            .filter(|r| r.as_ref().unwrap().status() == 422)
            .count();
        assert!(checked <= 2, "{checked} guesses checked past the limit");
        let row = login_throttle::Entity::find_by_id("client|203.0.113.50".to_owned())
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(row.failures <= 3, "{} tries taken", row.failures);
        assert!(row.locked_until.is_some());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn send_pages_show_persons_only_to_who_may_consult_them() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        crate::support::beneficiary(&app, "Secretia", "Hidden", "secretia@example.org").await;
        let t = crate::support::campaign_template(&app, "Nouvelles").await;
        profile(
            &app,
            "sender",
            &[
                (Module::Sends, Level::Create, Scope::All),
                (Module::Templates, Level::Create, Scope::All),
            ],
        )
        .await;
        let (sender, _) = crate::support::staff(&app, "sender@example.org", "sender", None).await;
        let res = app
            .post_form_as(
                &sender,
                "/admin/campaigns/new?recipient_type=beneficiary&channel=email",
                "/admin/campaigns/new",
                &[
                    ("name", "Novembre"),
                    ("recipient_type", "beneficiary"),
                    ("channel", "email"),
                    ("template", &t.to_string()),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let page = crate::support::location(&res);
        let html = app.text_as(&sender, &page).await;
        assert!(html.contains("1 matching"), "{html}");
        assert!(
            !html.contains("Secretia") && !html.contains("secretia@"),
            "{html}"
        );
        let res = sender
            .get(app.url("/admin/rules/test"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        // The administrator still sees the person.
        assert!(
            app.get(&page)
                .await
                .text()
                .await
                .unwrap()
                .contains("Secretia")
        );
        app.stop().await;
    })
    .await;
}
