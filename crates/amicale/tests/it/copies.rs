//! CC and BCC on a manual mail: who gets a copy, who can see whom, and
//! a typo refused with what was typed kept.

use crate::support::{TestApp, admin_app, beneficiary, on_each_backend, person_page_template};

async fn template_and_person(app: &TestApp) -> (i64, i64) {
    let t = person_page_template(
        app,
        "Suivi",
        "Suivi de {{ person.first_name }}",
        "<p>Bonjour {{ person.first_name }}, voici votre suivi.</p>",
    )
    .await;
    let p = beneficiary(app, "Inès", "Roux", "ines.roux@example.org").await;
    (t, p)
}

async fn send(app: &TestApp, p: i64, t: i64, cc: &str, bcc: &str, hide: bool) -> String {
    let page = format!("/admin/people/{p}/messages");
    let t = t.to_string();
    let mut form = vec![
        ("channel", "email"),
        ("template", t.as_str()),
        ("when", "now"),
        ("cc", cc),
        ("bcc", bcc),
    ];
    if hide {
        form.push(("hide_all", "on"));
    }
    let res = app.post_form(&page, &page, &form).await;
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn manual_mails_carry_cc_and_bcc() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let (t, p) = template_and_person(&app).await;

        // A typo: nothing is sent, the form comes back with what was typed.
        let loc = send(
            &app,
            p,
            t,
            "conseiller@example.org, pas-une-adresse",
            "",
            false,
        )
        .await;
        assert!(loc.contains("notice=copies_invalid"), "{loc}");
        let page = app.get(&loc).await.text().await.unwrap();
        assert!(page.contains("pas-une-adresse"), "{page}");
        assert!(
            page.contains("value=\"conseiller@example.org, pas-une-adresse\""),
            "{page}"
        );

        // CC is seen by all, BCC by nobody; each address gets one copy.
        let loc = send(
            &app,
            p,
            t,
            "conseiller@example.org",
            "direction@example.org",
            false,
        )
        .await;
        assert!(loc.ends_with("notice=sent:1"), "{loc}");
        let mail = sink.wait_for(1, 20).await.remove(0);
        let mut to = mail.to.clone();
        to.sort();
        assert_eq!(
            to,
            [
                "conseiller@example.org",
                "direction@example.org",
                "ines.roux@example.org"
            ]
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(mail.data.as_bytes())
            .unwrap();
        let cc = parsed.header_raw("Cc").unwrap_or_default();
        assert!(cc.contains("conseiller@example.org"), "{}", mail.data);
        assert!(
            !mail.data.contains("direction@example.org"),
            "{}",
            mail.data
        );
        assert!(mail.text().contains("Bonjour Inès"), "{}", mail.data);

        // Hide all recipients: the CC becomes a BCC.
        let loc = send(&app, p, t, "conseiller@example.org", "", true).await;
        assert!(loc.ends_with("notice=sent:1"), "{loc}");
        let mail = sink.wait_for(2, 20).await.remove(1);
        let mut to = mail.to.clone();
        to.sort();
        assert_eq!(to, ["conseiller@example.org", "ines.roux@example.org"]);
        assert!(
            !mail.data.contains("conseiller@example.org"),
            "{}",
            mail.data
        );
    })
    .await;
}
