//! Security tests: what people type travelling into mail, HTML and calendars
//! (issue 20, items 9, 10 and 14): control characters in names, bare CRs on
//! the SMTP wire, script in templates, `javascript:` links, ICS injection.

use crate::support::{
    TestApp, admin_app, beneficiary, id_in, location, on_each_backend, person_page_template,
};

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
        use amicale_store::entities::persons;
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

/// The event form with `fields` over a valid base; returns the response.
async fn post_event(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![
        ("title", "Atelier"),
        ("nature", "collective"),
        ("event_type", "Atelier"),
        ("mode", "remote"),
        ("date", "2031-05-12"),
        ("start", "14:00"),
        ("end", "16:00"),
        ("open_registration", "1"),
    ];
    for (k, v) in fields {
        form.retain(|(n, _)| n != k);
        form.push((k, v));
    }
    app.post_form("/admin/events/new", "/admin/events/new", &form)
        .await
}

/// Parses `ics` with the independent `icalendar` Python library (installed
/// like `.ci/run` does when missing); returns the SUMMARY of each VEVENT and
/// the names of its properties.
fn read_ics(ics: &str) -> Vec<(String, Vec<String>)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let has = Command::new("python3")
        .args(["-c", "import icalendar"])
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        let ok = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "icalendar",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install icalendar");
    }
    let script = r#"
import icalendar, json, sys
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
print(json.dumps([[str(e.get("SUMMARY")), sorted(e.keys())] for e in cal.walk("VEVENT")]))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "icalendar refused the file: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Item 14: a video link carrying a CRLF and a calendar property is
/// refused (so are plain http and other schemes), with a message on the field.
#[tokio::test]
async fn event_links_with_line_breaks_are_refused() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        for link in [
            "https://meet.example.org/x\r\nATTENDEE;CN=Evil:mailto:evil@example.org",
            "https://meet.example.org/x\nEND:VEVENT",
            "javascript:alert(1)",
            "http://meet.example.org/x",
        ] {
            let res = post_event(&app, &[("title", "Lien piégé"), ("video_link", link)]).await;
            assert_eq!(res.status(), 422, "{link:?}");
            let page = res.text().await.unwrap();
            assert!(page.contains("https://"), "{page}");
        }
        let list = app.get("/admin/events").await.text().await.unwrap();
        assert!(!list.contains("Lien piégé"), "nothing was created");
        // A title with a line break is refused like any control character.
        let res = post_event(&app, &[("title", "Atelier\r\nATTENDEE:x")]).await;
        assert_eq!(res.status(), 422);
        // A proper link is kept.
        let res = post_event(&app, &[("video_link", "https://meet.example.org/abc")]).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        app.stop().await;
    })
    .await;
}

/// Item 14: whatever an event's title holds (separators typed in the form,
/// line breaks and a smuggled property stored behind its back), its .ics
/// file parses to exactly one VEVENT with the title intact, and a stored
/// link with a line break is left out rather than written.
#[tokio::test]
async fn ics_values_are_escaped_by_the_writer() {
    on_each_backend(|b| async move {
        use amicale_store::entities::events;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let (app, _sink, _db) = admin_app(b).await;
        let typed = "Atelier; CV, lettre \\ entretien";
        let res = post_event(&app, &[("title", typed), ("city", "Lyon; Rhône")]).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let id = id_in(&location(&res), "/admin/events/");
        let ics = app
            .get(&format!("/events/{id}.ics"))
            .await
            .text()
            .await
            .unwrap();
        let parsed = read_ics(&ics);
        assert_eq!(parsed.len(), 1, "{ics}");
        assert_eq!(parsed[0].0, typed, "{ics}");

        // Legacy values, stored before the form checked them.
        let stored = "Atelier\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Faux; x, y";
        let row = events::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut row: events::ActiveModel = row.into();
        row.title = Set(stored.into());
        row.video_link =
            Set("https://meet.example.org/x\r\nATTENDEE:mailto:evil@example.org".into());
        row.update(&app.state.db).await.unwrap();
        let ics = app
            .get(&format!("/events/{id}.ics"))
            .await
            .text()
            .await
            .unwrap();
        let parsed = read_ics(&ics);
        assert_eq!(parsed.len(), 1, "{ics}");
        assert_eq!(parsed[0].0, stored, "{ics}");
        assert!(!parsed[0].1.contains(&"ATTENDEE".to_owned()), "{ics}");
        assert!(!ics.contains("evil@example.org"), "{ics}");
        // Every line of the file is a content line of at most 75 octets.
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "{l:?}");
        }
        assert!(!ics.replace("\r\n", "").contains(['\r', '\n']), "{ics:?}");
        app.stop().await;
    })
    .await;
}

/// Item 9: the raw-block trick with whitespace control (`{%+ raw %}`) and
/// its cousins are refused when the template is saved.
#[tokio::test]
async fn templates_that_print_unescaped_text_are_refused() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        for body in [
            "<p>Bonjour</p>{%+ raw %}{#<img src=x onerror=alert(1)><script>alert(1)</script>#}{% endraw %}",
            "{%- raw -%}{#<script>alert(1)</script>#}{%- endraw %}",
            "{%+ autoescape false %}{{ person.first_name }}{% endautoescape %}",
        ] {
            let res = app
                .post_form(
                    "/admin/templates/new?kind=email",
                    "/admin/templates/new",
                    &[
                        ("kind", "email"),
                        ("name", "Piège"),
                        ("active", "1"),
                        ("recipient_types", "beneficiary"),
                        ("sending_modes", "person_page"),
                        ("subject_fr", "Bonjour"),
                        ("body_fr", body),
                    ],
                )
                .await;
            assert_eq!(res.status(), 422, "{body}");
        }
        let list = app.get("/admin/templates").await.text().await.unwrap();
        assert!(!list.contains("Piège"), "nothing was saved");
        app.stop().await;
    })
    .await;
}

/// Item 9: a link whose address is merge data gets no `javascript:` URL
/// into the message that reaches the SMTP server, whatever the person's
/// city says.
#[tokio::test]
async fn merge_data_cannot_make_a_javascript_link() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = person_page_template(
            &app,
            "Lien",
            "Lien",
            r#"<p><a href="{{ person.city }}">Votre ville</a> <a href="https://ok.example/">ok</a></p>"#,
        )
        .await;
        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Ann"),
                    ("last_name", "Bob"),
                    ("email0", "ann.bob@example.org"),
                    ("email0_accepts", "1"),
                    ("city", "javascript:alert(1)"),
                    ("status", "active"),
                    ("recipient_type", "beneficiary"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let p = id_in(&location(&res), "/admin/people/");
        send(&app, p, t).await;
        let mail = sink.wait_for(1, 20).await.remove(0);
        let msg = mail_parser::MessageParser::default()
            .parse(mail.data.as_bytes())
            .unwrap();
        let html = msg.body_html(0).unwrap().into_owned();
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        assert!(html.contains("Votre ville"), "{html}");
        // The good link is kept (rewritten for click tracking), beside the
        // unsubscribe footer's.
        assert_eq!(html.matches("/t/c/").count(), 1, "{html}");
        assert_eq!(
            html.matches("href=").count(),
            1 + html.matches("/unsubscribe/").count(),
            "{html}"
        );
        app.stop().await;
    })
    .await;
}

/// Item 9 for newsletters (sent with `amicale send`): their merged body is
/// cleaned too, inside the layout, which keeps its own look.
#[tokio::test]
async fn a_newsletter_body_cannot_get_a_javascript_link_either() {
    on_each_backend(|b| async move {
        let (app, sink, db) = admin_app(b).await;
        let res = app
            .post_form(
                "/admin/templates/new?kind=newsletter",
                "/admin/templates/new",
                &[
                    ("kind", "newsletter"),
                    ("name", "Lettre"),
                    ("active", "1"),
                    ("recipient_types", "beneficiary"),
                    ("sending_modes", "campaign"),
                    ("subject_fr", "Nouvelles"),
                    (
                        "body_fr",
                        r#"<p><a href="{{ person.city }}">Votre ville</a> {{ person.first_name }}</p>"#,
                    ),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let t = id_in(&location(&res), "/admin/templates/");
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("list.csv");
        std::fs::write(
            &csv,
            "email;first_name;city\nann.bob@example.org;{{ network.name }};javascript:alert(1)\n",
        )
        .unwrap();
        crate::support::cli_send(&app, &db.url, t, &csv);
        let mail = sink.wait_for(1, 30).await.remove(0);
        let msg = mail_parser::MessageParser::default()
            .parse(mail.data.as_bytes())
            .unwrap();
        let html = msg.body_html(0).unwrap().into_owned();
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        assert!(html.contains("Votre ville"), "{html}");
        // Merged text is never read as a merge tag again.
        assert!(html.contains("{{ network.name }}"), "{html}");
        // The layout is still there (its header band and unsubscribe footer).
        assert!(html.contains("#1d4ed8") && html.contains("/unsubscribe/"), "{html}");
        app.stop().await;
    })
    .await;
}
