//! CC and BCC on a manual mail (C1): who gets a copy, who can see whom, and
//! a typo refused with what was typed kept.

use crate::support::{TestApp, admin_app, id_in, on_each_backend};

async fn template_and_person(app: &TestApp) -> (i64, i64) {
    let res = app
        .post_form(
            "/admin/templates/new?kind=email",
            "/admin/templates/new",
            &[
                ("kind", "email"),
                ("name", "Suivi"),
                ("active", "1"),
                ("recipient_types", "beneficiary"),
                ("sending_modes", "person_page"),
                ("subject_fr", "Suivi de {{ person.first_name }}"),
                (
                    "body_fr",
                    "<p>Bonjour {{ person.first_name }}, voici votre suivi.</p>",
                ),
            ],
        )
        .await;
    let t = id_in(
        res.headers()["location"].to_str().unwrap(),
        "/admin/templates/",
    );
    let res = app
        .post_form(
            "/admin/people/new",
            "/admin/people/new",
            &[
                ("first_name", "Inès"),
                ("last_name", "Roux"),
                ("email0", "ines.roux@example.org"),
                ("email0_accepts", "1"),
                ("status", "active"),
                ("recipient_type", "beneficiary"),
            ],
        )
        .await;
    let p = id_in(
        res.headers()["location"].to_str().unwrap(),
        "/admin/people/",
    );
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
