//! Every bulk path honours opt-out (issue 28): each message carries its
//! recipient's own signed one-click unsubscribe link (header and body), the
//! RFC 8058 POST to it works without cookie or token, and the next send on
//! the same path skips the address.

use amicale_store::entities::suppressions;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};

use crate::support::{TestApp, admin_app, campaign_template, id_in, location, on_each_backend};

fn header(raw: &str, name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    msg.header_raw(name).map(|v| v.trim().to_owned())
}

/// What a mail client does with the List-Unsubscribe headers of `raw`
/// (RFC 8058): a POST of `List-Unsubscribe=One-Click` to the URL, without
/// cookies. Returns the URL.
async fn one_click(raw: &str) -> String {
    let lu = header(raw, "List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(
        header(raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let url = lu.trim_start_matches('<').trim_end_matches('>').to_owned();
    let res = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "one-click POST: {}",
        res.status()
    );
    url
}

fn mail_to<'a>(
    got: &'a [crate::support::smtp::Received],
    to: &str,
) -> &'a crate::support::smtp::Received {
    got.iter()
        .find(|m| m.to == [to])
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

#[tokio::test]
async fn csv_sends_carry_a_working_one_click_unsubscribe_and_skip_those_who_left() {
    on_each_backend(|b| async move {
        let (app, sink, db) = admin_app(b).await;
        let t = campaign_template(&app, "Lettre aux partenaires").await;
        suppressions::ActiveModel {
            address: Set("bounced@example.org".into()),
            reason: Set("hard_bounce".into()),
            detail: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("list.csv");
        std::fs::write(
            &csv,
            "email;first_name\nann@example.org;Ann\nbob@example.org;Bob\nbounced@example.org;Carl\n",
        )
        .unwrap();

        let out = crate::support::cli_send(&app, &db.url, t, &csv);
        assert!(
            out.contains("3 selected, 2 will receive it: 1 hard_bounced"),
            "{out}"
        );
        let got = sink.wait_for(2, 30).await;
        let ann = mail_to(&got, "ann@example.org");
        let url = one_click(&ann.data).await;
        assert!(url.starts_with(&app.url("/unsubscribe/")), "{url}");
        // The body carries the same link (a footer: the template has none).
        assert!(ann.text().contains(&url), "{}", ann.text());
        // Bob's link is his own.
        let bob = header(&mail_to(&got, "bob@example.org").data, "List-Unsubscribe").unwrap();
        assert_ne!(bob, format!("<{url}>"));

        // The second run skips Ann.
        let out = crate::support::cli_send(&app, &db.url, t, &csv);
        assert!(
            out.contains("3 selected, 1 will receive it: 1 hard_bounced, 1 unsubscribed"),
            "{out}"
        );
        let got = sink.wait_for(3, 30).await;
        let to: Vec<String> = got.iter().map(|m| m.to.join(",")).collect();
        assert_eq!(
            to.iter().filter(|t| *t == "ann@example.org").count(),
            1,
            "{to:?}"
        );
        assert_eq!(to.iter().filter(|t| *t == "bob@example.org").count(), 2);
        assert!(!to.iter().any(|t| t == "bounced@example.org"));
        app.stop().await;
    })
    .await;
}

/// A beneficiary accepting e-mail, through the CRM form.
async fn person(app: &TestApp, first: &str, email: &str) -> i64 {
    crate::support::beneficiary(app, first, "Martin", email).await
}

async fn campaign_to_everyone(app: &TestApp, template: i64, name: &str) -> String {
    let res = app
        .post_form(
            "/admin/campaigns/new?recipient_type=beneficiary&channel=email",
            "/admin/campaigns/new",
            &[
                ("name", name),
                ("recipient_type", "beneficiary"),
                ("channel", "email"),
                ("template", &template.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let id = id_in(&location(&res), "/admin/campaigns/");
    let page = format!("/admin/campaigns/{id}");
    app.post_form(&page, &format!("{page}/select"), &[("action", "all")])
        .await;
    let html = app.get(&page).await.text().await.unwrap();
    let res = app
        .post_form(&page, &format!("{page}/schedule"), &[("when", "now")])
        .await;
    assert!(
        location(&res).ends_with("notice=launched"),
        "{}",
        location(&res)
    );
    html
}

#[tokio::test]
async fn campaigns_one_click_unsubscribe_works_and_the_next_campaign_skips() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = campaign_template(&app, "Nouvelles").await;
        person(&app, "Ann", "ann@example.org").await;
        person(&app, "Bob", "bob@example.org").await;
        let html = campaign_to_everyone(&app, t, "Novembre").await;
        assert!(html.contains("2 of 2 will receive it"), "{html}");
        let got = sink.wait_for(2, 30).await;
        let ann = mail_to(&got, "ann@example.org");
        let url = one_click(&ann.data).await;
        assert!(ann.text().contains(&url));

        let html = campaign_to_everyone(&app, t, "Décembre").await;
        assert!(html.contains("1 of 2 will receive it"), "{html}");
        let got = sink.wait_for(3, 30).await;
        assert_eq!(
            got.iter().filter(|m| m.to == ["ann@example.org"]).count(),
            1
        );
        assert_eq!(
            got.iter().filter(|m| m.to == ["bob@example.org"]).count(),
            2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn automatic_rules_one_click_unsubscribe_works_and_the_next_run_skips() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let res = app
            .post_form(
                "/admin/templates/new?kind=email",
                "/admin/templates/new",
                &[
                    ("kind", "email"),
                    ("name", "Rappel"),
                    ("active", "1"),
                    ("recipient_types", "beneficiary"),
                    ("sending_modes", "automatic"),
                    ("subject_fr", "Rappel : {{ event.title }}"),
                    ("body_fr", "<p>Bonjour {{ participant.first_name }}.</p>"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let template = id_in(&location(&res), "/admin/templates/");
        let ann = person(&app, "Ann", "ann@example.org").await;
        let bob = person(&app, "Bob", "bob@example.org").await;
        let today = Utc::now().with_timezone(&app.state.tz).date_naive();
        // Two workshops, on J+2 and J+3, both with Ann and Bob.
        for (title, day) in [
            ("Atelier un", today + Duration::days(2)),
            ("Atelier deux", today + Duration::days(3)),
        ] {
            let res = app
                .post_form(
                    "/admin/events/new",
                    "/admin/events/new",
                    &[
                        ("title", title),
                        ("nature", "collective"),
                        ("event_type", "Atelier"),
                        ("mode", "onsite"),
                        ("site", "Maison des entreprises"),
                        ("city", "Lyon"),
                        ("date", &day.format("%d/%m/%Y").to_string()),
                        ("start", "09:30"),
                        ("end", "11:00"),
                        ("capacity", "10"),
                    ],
                )
                .await;
            assert_eq!(res.status(), 303);
            let page = format!("/admin/events/{}", id_in(&location(&res), "/admin/events/"));
            for p in [ann, bob] {
                let res = app
                    .post_form(
                        &page,
                        &format!("{page}/participants"),
                        &[("person", &p.to_string())],
                    )
                    .await;
                assert_eq!(res.status(), 303);
            }
        }
        let res = app
            .post_form(
                "/admin/rules/new",
                "/admin/rules/new",
                &[
                    ("name", "Rappel ateliers"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("channel", "email"),
                    ("template", &template.to_string()),
                    ("offset", "-2"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());

        amicale::events::rules::run_day(&app.state, today, Utc::now())
            .await
            .unwrap();
        let got = sink.wait_for(2, 30).await;
        let mail = mail_to(&got, "ann@example.org");
        let url = one_click(&mail.data).await;
        assert!(mail.text().contains(&url));

        // The next day's run reminds Bob only.
        let next =
            amicale::events::rules::run_day(&app.state, today + Duration::days(1), Utc::now())
                .await
                .unwrap();
        assert_eq!(next.queued, 1, "{next:?}");
        let got = sink.wait_for(3, 30).await;
        assert_eq!(
            got.iter().filter(|m| m.to == ["ann@example.org"]).count(),
            1
        );
        assert_eq!(
            got.iter().filter(|m| m.to == ["bob@example.org"]).count(),
            2
        );
        app.stop().await;
    })
    .await;
}
