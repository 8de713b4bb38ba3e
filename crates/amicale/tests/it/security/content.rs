//! Security tests: what people type travelling into mail, HTML and calendars
//! (issue 20, items 9, 10 and 14): control characters in names, bare CRs on
//! the SMTP wire, script in templates, `javascript:` links, ICS injection.

use crate::support::{TestApp, admin_app, beneficiary, on_each_backend, person_page_template};

/// Sends template `t` to person `p` from their page, now.
async fn send(app: &TestApp, p: i64, t: i64) {
    let page = format!("/admin/people/{p}/messages");
    let t = t.to_string();
    let form = [
        ("channel", "email"),
        ("template", t.as_str()),
        ("when", "now"),
        ("cc", ""),
        ("bcc", ""),
    ];
    let res = app.post_form(&page, &page, &form).await;
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.ends_with("notice=sent:1"), "{loc}");
}

/// Item 10: a first name with a bare CR is refused by the CRM form, with a
/// message on the field and what was typed kept; nothing is created.
#[tokio::test]
async fn the_crm_form_refuses_control_characters_in_names() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Ann\rBob"),
                    ("last_name", "Smuggler"),
                    ("email0", "ann.bob@example.org"),
                    ("email0_accepts", "1"),
                    ("city", "Paris\u{1b}[2J"),
                    ("status", "active"),
                    ("recipient_type", "beneficiary"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("caractère de contrôle") || page.contains("control character"),
            "{page}"
        );
        // What was typed comes back for the user to fix.
        assert!(page.contains("Smuggler"), "{page}");
        assert!(page.contains("ann.bob@example.org"), "{page}");
        assert!(
            page.contains("Ann\rBob") || page.contains("Ann&#13;Bob"),
            "{page}"
        );
        let list = app.get("/admin/people").await.text().await.unwrap();
        assert!(!list.contains("Smuggler"), "nothing was created");
        // The same name without the CR is fine: the refusal is about the CR.
        beneficiary(&app, "Ann Bob", "Smuggler", "ann.bob@example.org").await;
        app.stop().await;
    })
    .await;
}

/// Item 10: even a value that holds a bare CR (stored before the fix, or by
/// a path that forgot to check) never puts a bare CR or LF on the SMTP
/// wire: the MIME layer encodes it and the DATA writer makes every line end
/// CRLF. The sink reads the raw stream, as a real MTA would.
#[tokio::test]
async fn a_bare_cr_in_merge_data_never_reaches_smtp_data() {
    on_each_backend(|b| async move {
        use amicale::db::entities::persons;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let (app, sink, _db) = admin_app(b).await;
        // An all-ASCII, short-line body: the case that went out 7bit with
        // the CR intact.
        let t = person_page_template(
            &app,
            "Smuggle",
            "Hello",
            "<p>Hello {{ person.first_name }}</p>",
        )
        .await;
        let p = beneficiary(&app, "Ann", "Bob", "ann.bob@example.org").await;
        // Legacy data: written behind the forms' back.
        let row = persons::Entity::find_by_id(p)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut row: persons::ActiveModel = row.into();
        row.first_name = Set("Ann\r.\rMAIL FROM:<evil@example.org>\rBob".into());
        row.update(&app.state.db).await.unwrap();
        send(&app, p, t).await;
        let mail = sink.wait_for(1, 20).await.remove(0);
        assert!(
            mail.bare_line_ends().is_empty(),
            "bare CR/LF at {:?} in {:?}",
            mail.bare_line_ends(),
            String::from_utf8_lossy(&mail.raw)
        );
        assert!(mail.raw.ends_with(b"\r\n.\r\n"));
        // One message arrived, not two.
        assert_eq!(sink.received().len(), 1);
        app.stop().await;
    })
    .await;
}
