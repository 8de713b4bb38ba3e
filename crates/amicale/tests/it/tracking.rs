//! Opens and clicks and the List-Unsubscribe headers: what a
//! real mail carries, what its links do, what the reports count.

use amicale_store::entities::{tracking_events, unsubscriptions};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{
    TestApp, admin_app, beneficiary, new_client, on_each_backend, person_page_template,
};

fn header(raw: &str, name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    msg.header_raw(name).map(|v| v.trim().to_owned())
}

fn html_of(raw: &str) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    msg.body_html(0).map(|h| h.into_owned()).unwrap_or_default()
}

/// The first attribute value after `marker` (up to the closing quote).
fn link_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[start..];
    let end = rest.find('"').unwrap();
    rest[..end].to_owned()
}

async fn send_now(app: &TestApp, person: i64, template: i64) {
    let page = format!("/admin/people/{person}/messages");
    let res = app
        .post_form(
            &page,
            &page,
            &[
                ("channel", "email"),
                ("template", &template.to_string()),
                ("when", "now"),
            ],
        )
        .await;
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.ends_with("notice=sent:1"), "{loc}");
}

#[tokio::test]
async fn tracked_links_pixel_reports_and_one_click_unsubscribe() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = person_page_template(
            &app,
            "Offres",
            "Offres pour {{ person.first_name }}",
            r#"<p>Bonjour, voici les <a href="https://jobs.example.org/offres?a=1&b=2">offres</a>.</p>"#,
        )
        .await;
        let p = beneficiary(&app, "Inès", "Roux", "ines.roux@example.org").await;
        send_now(&app, p, t).await;
        let mail = sink.wait_for(1, 20).await.remove(0);

        // One-click unsubscribe headers point at the signed page.
        let lu = header(&mail.data, "List-Unsubscribe").expect("List-Unsubscribe");
        assert!(lu.starts_with(&format!("<{}", app.url("/unsubscribe/"))), "{lu}");
        assert_eq!(
            header(&mail.data, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );

        // The link goes through the redirect, the pixel is there.
        let html = html_of(&mail.data);
        assert!(!html.contains("https://jobs.example.org"), "{html}");
        let click = link_after(&html, &app.url("/t/c/"));
        let pixel = link_after(&html, &app.url("/t/o/"));
        let anon = new_client();
        let res = anon.get(&click).send().await.unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(
            res.headers()["location"],
            "https://jobs.example.org/offres?a=1&b=2"
        );
        // Another destination with the same signature: no open redirect.
        let parts: Vec<&str> = click.rsplitn(3, '/').collect();
        let forged = format!(
            "{}/{}/{}",
            parts[2],
            base64_url("https://evil.example/"),
            parts[0]
        );
        assert_eq!(anon.get(&forged).send().await.unwrap().status(), 404);
        for _ in 0..2 {
            let res = anon.get(&pixel).send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-type"], "image/gif");
        }
        assert_eq!(
            tracking_events::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            2,
            "one open (twice) and one click"
        );
        let csv = app
            .get("/admin/reports?format=csv")
            .await
            .text()
            .await
            .unwrap();
        let line = csv.lines().find(|l| l.contains("Offres")).unwrap();
        let cols: Vec<&str> = line.split(',').collect();
        // …sent,waiting,deferred,failed,bounced,delivered_pct,opened,clicked,unsubscribed
        assert_eq!(&cols[cols.len() - 3..], ["1", "1", "0"], "{csv}");
        let page = app.get("/admin/reports").await.text().await.unwrap();
        assert!(page.contains("100.0 %") && page.contains("Tracking of opens and clicks is on."));

        // RFC 8058: the client posts to the link, without cookie or token.
        let url = lu.trim_matches(['<', '>']);
        let res = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            unsubscriptions::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            1
        );

        // Tracking off: the next message carries its links as they are.
        let res = app
            .post_form("/admin/reports", "/admin/tracking", &[("on", "off")])
            .await;
        assert_eq!(res.status(), 303);
        let q = beneficiary(&app, "Paul", "Blanc", "paul.blanc@example.org").await;
        send_now(&app, q, t).await;
        let second = sink.wait_for(2, 20).await.remove(1);
        let html = html_of(&second.data);
        assert!(html.contains("https://jobs.example.org/offres?a=1&amp;b=2"), "{html}");
        assert!(!html.contains("/t/o/") && !html.contains("/t/c/"));
        app.stop().await;
    })
    .await;
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
