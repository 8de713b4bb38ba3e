//! SMS: the provider account in Administration, sends through real
//! HTTP providers (a local server speaking their APIs), retries, credit
//! packages, the low-balance alert, delivery receipts, SMS automatic rules.

use std::sync::{Arc, Mutex};

use amicale_store::entities::{outbox, sms_accounts};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Backend, TestApp, id_in, location, on_each_backend};

/// What the fake provider received, and what it answers next.
#[derive(Default)]
struct Provider {
    requests: Vec<(HeaderMap, String)>,
    /// Answers in order; the last one repeats.
    answers: Vec<(u16, String)>,
}

type Shared = Arc<Mutex<Provider>>;

async fn answer(State(p): State<Shared>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let mut p = p.lock().unwrap();
    p.requests.push((headers, body));
    let i = (p.requests.len() - 1).min(p.answers.len() - 1);
    let (status, body) = p.answers[i].clone();
    (StatusCode::from_u16(status).unwrap(), body)
}

/// A provider on a local port answering every POST with the next answer.
async fn provider(answers: &[(u16, &str)]) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Provider {
        requests: Vec::new(),
        answers: answers.iter().map(|(s, b)| (*s, b.to_string())).collect(),
    }));
    let app = axum::Router::new()
        .route("/{*path}", post(answer))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

use crate::support::admin_app;

async fn sms_template(app: &TestApp, name: &str, modes: &[&str], body: &str) -> i64 {
    let mut f = vec![
        ("kind", "sms"),
        ("name", name),
        ("active", "1"),
        ("recipient_types", "beneficiary"),
        ("body_fr", body),
    ];
    for m in modes {
        f.push(("sending_modes", m));
    }
    let res = app
        .post_form("/admin/templates/new?kind=sms", "/admin/templates/new", &f)
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_in(&location(&res), "/admin/templates/")
}

/// A beneficiary with a principal mobile that accepts SMS.
async fn texter(app: &TestApp, first: &str, mobile: &str) -> i64 {
    let res = app
        .post_form(
            "/admin/people/new",
            "/admin/people/new",
            &[
                ("civility", "Mme"),
                ("first_name", first),
                ("last_name", "Martin"),
                ("status", "active"),
                ("recipient_type", "beneficiary"),
                ("phone0", mobile),
                ("phone0_kind", "mobile"),
                ("phone0_accepts", "1"),
                ("phone_principal", "0"),
                ("sms_consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_in(&location(&res), "/admin/people/")
}

async fn sms_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("sms"))
        .all(&app.state.db)
        .await
        .unwrap()
}

/// A generic HTTP provider answering 500 first: the SMS is deferred, tried
/// again, accepted once; segments are billed, the receipt recorded, a send
/// the credit cannot cover refused whole, and administrators warned once.
#[tokio::test]
async fn sms_go_through_a_provider_once_and_are_billed() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let (url, prov) = provider(&[
            (500, "overloaded"),
            (200, r#"{"result": {"id": "prov-42"}}"#),
        ])
        .await;
        let res = app
            .post_form(
                "/admin/sms",
                "/admin/sms/account",
                &[
                    ("provider", "generic"),
                    ("label", "Passerelle"),
                    ("sender", "AMICALE"),
                    ("url", &format!("{url}/send")),
                    (
                        "body_template",
                        r#"{"to": "{{to}}", "text": "{{text}}", "from": "{{sender}}", "ref": "{{reference}}"}"#,
                    ),
                    ("id_field", "result.id"),
                    ("authorization", "Bearer s3cret-token"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        // The secret is sealed in the database and never shown back.
        let stored = sms_accounts::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!stored.secrets.contains("s3cret"));
        let page = app.get("/admin/sms").await.text().await.unwrap();
        assert!(!page.contains("s3cret") && page.contains("stored — leave empty to keep"));

        let t = sms_template(
            &app,
            "Rappel SMS",
            &["person_page"],
            "Bonjour {{ person.first_name }}, RDV demain 9h.",
        )
        .await;
        let p = texter(&app, "Hélène", "06 12 34 56 78").await;
        let send_page = format!("/admin/people/{p}/messages?channel=sms");
        let form = |t: i64| {
            vec![
                ("channel", "sms".to_owned()),
                ("template", t.to_string()),
                ("when", "now".to_owned()),
            ]
        };
        let post = |fields: Vec<(&'static str, String)>| {
            let app = &app;
            let send_page = send_page.clone();
            async move {
                let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.post_form(&send_page, &format!("/admin/people/{p}/messages"), &f)
                    .await
            }
        };
        // No package yet: refused, nothing queued.
        let res = post(form(t)).await;
        assert!(location(&res).ends_with("notice=sms_credit:1"), "{}", location(&res));
        assert!(sms_rows(&app).await.is_empty());

        let res = app
            .post_form(
                "/admin/sms",
                "/admin/sms/packages",
                &[("purchased_on", "31/02/2026"), ("quantity", "3")],
            )
            .await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("A date, DD/MM/YYYY.") && html.contains("value=\"31/02/2026\""));
        let res = app
            .post_form(
                "/admin/sms",
                "/admin/sms/packages",
                &[("purchased_on", "02/11/2026"), ("quantity", "3"), ("note", "Devis 12")],
            )
            .await;
        assert_eq!(res.status(), 303);

        let res = post(form(t)).await;
        assert!(location(&res).ends_with("notice=sent:1"), "{}", location(&res));
        let id = sms_rows(&app).await[0].id;
        let row = crate::support::wait_for_state(&app.state.db, id, "sent", 30).await;
        assert_eq!(row.attempts, 2, "deferred once, then sent");
        assert_eq!(row.segments, Some(1));
        assert_eq!(row.provider_id.as_deref(), Some("prov-42"));
        assert_eq!(row.recipient, "+33612345678");
        {
            let prov = prov.lock().unwrap();
            assert_eq!(prov.requests.len(), 2, "one failure, one success");
            let (headers, body) = &prov.requests[1];
            assert_eq!(headers["authorization"], "Bearer s3cret-token");
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["to"], "+33612345678");
            assert_eq!(v["text"], "Bonjour Hélène, RDV demain 9h.");
            assert_eq!(v["from"], "AMICALE");
            assert_eq!(v["ref"], id.to_string());
        }

        // The provider's receipt, at the URL the page gives it.
        let page = app.get("/admin/sms").await.text().await.unwrap();
        assert!(page.contains("2 segments left"), "{page}");
        let hook = page
            .split("<code>")
            .nth(1)
            .and_then(|s| s.split("</code>").next())
            .unwrap()
            .to_owned();
        assert!(hook.starts_with(&app.url("/hooks/sms/")));
        let client = reqwest::Client::new();
        let res = client
            .post(&hook)
            .json(&serde_json::json!({"id": "prov-42", "status": "delivered"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = client
            .post(format!("{hook}x"))
            .json(&serde_json::json!({"id": "prov-42", "status": "failed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "a forged receipt URL is refused");
        let row = outbox::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.receipt.as_deref(), Some("delivered"));

        // 2 segments left, under the default threshold of 100: the
        // administrator is told, once.
        let mails = sink.wait_for(1, 20).await;
        assert!(
            mails[0].subject().contains("SMS credit low: 2 segments left"),
            "{}",
            mails[0].subject()
        );

        // A text of 3 segments (UCS-2, 150 characters) needs more than the 2
        // left: refused whole.
        let long = sms_template(&app, "Long", &["person_page"], &"ê".repeat(150)).await;
        let res = post(form(long)).await;
        assert!(location(&res).ends_with("notice=sms_credit:3"), "{}", location(&res));
        assert_eq!(sms_rows(&app).await.len(), 1);
        let html = app.get(&location(&res)).await.text().await.unwrap();
        assert!(html.contains("This send needs 3 SMS segments"));

        // Another short one fits; no second alert.
        let res = post(form(t)).await;
        assert!(location(&res).ends_with("notice=sent:1"));
        let rows = sms_rows(&app).await;
        let second = rows.iter().map(|r| r.id).max().unwrap();
        crate::support::wait_for_state(&app.state.db, second, "sent", 20).await;
        let alerts = sink
            .received()
            .iter()
            .filter(|m| m.subject().contains("SMS credit low"))
            .count();
        assert_eq!(alerts, 1);
        assert_eq!(prov.lock().unwrap().requests.len(), 3);
        app.stop().await;
    })
    .await;
}

/// The account form refuses what cannot work and keeps what was typed; the
/// test button shows the provider's exact answer with a hint; with the
/// catcher, an automatic SMS rule sends its reminders, billed, exactly once.
#[tokio::test]
async fn sms_account_form_test_button_and_sms_rules() {
    let (app, _sink, _db) = admin_app(Backend::Sqlite).await;
    let res = app
        .post_form(
            "/admin/sms",
            "/admin/sms/account",
            &[
                ("provider", "twilio"),
                ("label", "Twilio"),
                ("sender", "Trop long expéditeur"),
                ("base_url", "ftp://x"),
                ("account_sid", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("Up to 11 letters and digits, or a phone number."));
    assert!(html.contains("An address starting with https://"));
    assert!(html.contains("Required for this provider."));
    assert!(html.contains("value=\"Twilio\""));
    assert_eq!(
        sms_accounts::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );

    let (url, prov) = provider(&[
        (401, r#"{"code": 20003, "message": "Authenticate"}"#),
        (201, r#"{"sid": "SM77", "status": "queued"}"#),
    ])
    .await;
    let res = app
        .post_form(
            "/admin/sms",
            "/admin/sms/account",
            &[
                ("provider", "twilio"),
                ("label", "Twilio"),
                ("sender", "+33700000000"),
                ("base_url", &url),
                ("account_sid", "AC1"),
                ("auth_token", "tok"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    app.post_form(
        "/admin/sms",
        "/admin/sms/packages",
        &[("purchased_on", "2026-11-01"), ("quantity", "500")],
    )
    .await;
    let res = app
        .post_form(
            "/admin/sms",
            "/admin/sms/test",
            &[("phone", "06 98 76 54 32"), ("text", "Essai")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("HTTP 401: ") && html.contains("20003"),
        "{html}"
    );
    assert!(html.contains("refused the credentials"));
    let res = app
        .post_form(
            "/admin/sms",
            "/admin/sms/test",
            &[("phone", "06 98 76 54 32"), ("text", "Essai")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The provider accepted the SMS")
    );
    {
        let p = prov.lock().unwrap();
        let (h, body) = &p.requests[1];
        assert_eq!(h["authorization"], "Basic QUMxOnRvaw==");
        assert!(body.contains("To=%2B33698765432") && body.contains("Body=Essai"));
        assert!(body.contains("StatusCallback="));
    }
    let test_row = sms_rows(&app).await;
    assert_eq!(test_row.len(), 1);
    assert_eq!(test_row[0].provider_id.as_deref(), Some("SM77"));
    assert_eq!(test_row[0].origin.as_str(), "test");
    // Twilio posts its receipts as a form.
    let page = app.get("/admin/sms").await.text().await.unwrap();
    assert!(page.contains("499 segments left"));
    let hook = page
        .split("<code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap()
        .to_owned();
    let res = reqwest::Client::new()
        .post(&hook)
        .form(&[("MessageSid", "SM77"), ("MessageStatus", "undelivered")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let row = outbox::Entity::find_by_id(test_row[0].id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.receipt.as_deref(), Some("failed"));

    // The catcher: an SMS rule J-1 on a workshop tomorrow.
    let res = app
        .post_form(
            "/admin/sms",
            "/admin/sms/account",
            &[("provider", "catcher"), ("label", "Capture")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let t = sms_template(
        &app,
        "Rappel atelier",
        &["automatic"],
        "{{ participant.first_name }}, atelier {{ event.title }} demain.",
    )
    .await;
    let tomorrow = Utc::now().with_timezone(&app.state.tz).date_naive() + chrono::Duration::days(1);
    let res = app
        .post_form(
            "/admin/events/new",
            "/admin/events/new",
            &[
                ("title", "CV"),
                ("nature", "collective"),
                ("event_type", "Atelier"),
                ("mode", "onsite"),
                ("city", "Lyon"),
                ("date", &tomorrow.format("%Y-%m-%d").to_string()),
                ("start", "14:00"),
                ("end", "16:00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let ev = location(&res);
    let ev = ev.split('?').next().unwrap().to_owned();
    for (name, phone) in [("Lina", "06 11 11 11 11"), ("Omar", "06 22 22 22 22")] {
        let id = texter(&app, name, phone).await;
        app.post_form(
            &ev,
            &format!("{ev}/participants"),
            &[("person", &id.to_string())],
        )
        .await;
    }
    let res = app
        .post_form(
            "/admin/rules/new",
            "/admin/rules/new",
            &[
                ("name", "SMS J-1"),
                ("channel", "sms"),
                ("template", &t.to_string()),
                ("offset", "-1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let today = Utc::now().with_timezone(&app.state.tz).date_naive();
    let run = amicale::events::rules::run_day(&app.state, today, Utc::now())
        .await
        .unwrap();
    assert_eq!(run.queued, 2, "{run:?}");
    let again = amicale::events::rules::run_day(&app.state, today, Utc::now())
        .await
        .unwrap();
    assert_eq!(again.queued, 0);
    let rule_rows: Vec<outbox::Model> = sms_rows(&app)
        .await
        .into_iter()
        .filter(|r| r.origin.as_str() == "rule")
        .collect();
    assert_eq!(rule_rows.len(), 2);
    for r in &rule_rows {
        let r = crate::support::wait_for_state(&app.state.db, r.id, "caught", 20).await;
        assert_eq!(r.segments, Some(1));
    }
    let mut to: Vec<String> = rule_rows.iter().map(|r| r.recipient.clone()).collect();
    to.sort();
    assert_eq!(to, ["+33611111111", "+33622222222"]);
    let page = app.get("/admin/sms").await.text().await.unwrap();
    assert!(page.contains("497 segments left"), "{page}");
    app.stop().await;
}
