//! The template library: validation with line and column, versions, delete
//! refusal, preview with a real person, test sends with attachments, SMS
//! counting, JUNGO2 import, merge-field catalogue, access.

use amicale_store::entities::{outbox, persons, template_versions, templates};
use chrono::Utc;
use reqwest::multipart::{Form, Part};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Backend, TestApp, on_each_backend};

const ADMIN: &str = "admin@example.org";

use crate::support::admin_app;

fn form<'a>(
    name: &'a str,
    modes: &[&'a str],
    subject: &'a str,
    body: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("kind", "email"),
        ("name", name),
        ("active", "1"),
        ("recipient_types", "member"),
        ("subject_fr", subject),
        ("body_fr", body),
    ];
    for m in modes {
        f.push(("sending_modes", m));
    }
    f
}

async fn create(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.post_form(
        "/admin/templates/new?kind=email",
        "/admin/templates/new",
        fields,
    )
    .await
}

fn id_from(res: &reqwest::Response) -> i64 {
    let loc = res.headers()["location"].to_str().unwrap();
    loc.trim_start_matches("/admin/templates/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn add_person(app: &TestApp) -> i64 {
    persons::Entity::insert(persons::ActiveModel {
        civility: Set("Mme".into()),
        first_name: Set("Hélène".into()),
        last_name: Set("Dupré".into()),
        email: Set(Some("helene.dupre@example.org".into())),
        city: Set("Lyon".into()),
        country: Set("France".into()),
        promo_year: Set(Some(2012)),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .unwrap()
    .last_insert_id
}

#[tokio::test]
async fn bad_templates_are_refused_with_line_and_column_and_kept() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let body = "<p>Bonjour</p>\n<p>{{ person.frist_name }}</p>";
        let res = create(&app, &form("Relance", &["campaign"], "Objet", body)).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("frist_name"), "unknown field named");
        assert!(html.contains("line 2"), "line reported: {html}");
        assert!(html.contains("value=\"Relance\""), "name kept");
        assert!(
            html.contains("{{ person.frist_name }}"),
            "body kept as typed"
        );

        // Event fields in a person-triggered template.
        let res = create(
            &app,
            &form(
                "Convocation",
                &["campaign"],
                "RDV",
                "<p>{{ event.start }}</p>",
            ),
        )
        .await;
        assert_eq!(res.status(), 422);

        // Syntax error.
        let res = create(&app, &form("Cassé", &["campaign"], "x", "<p>{% if %}</p>")).await;
        assert_eq!(res.status(), 422);

        // Missing name, modes and subject.
        let res = create(&app, &[("kind", "email"), ("body_fr", "<p>x</p>")]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("Give the template a name"));
        assert!(html.contains("Tick at least one sending mode"));
        assert!(html.contains("The subject is required"));

        // Raw output is refused.
        let res = create(
            &app,
            &form("Brut", &["campaign"], "x", "{{ person.first_name | safe }}"),
        )
        .await;
        assert_eq!(res.status(), 422);

        assert_eq!(
            templates::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            0,
            "nothing saved"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_template_is_saved_clean_with_its_text_part_and_versions() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let body = "<p onclick=\"x()\">Bonjour {{ person.first_name }}</p><script>alert(1)</script><ul><li>un</li></ul>";
        let res = create(&app, &form("Bienvenue", &["campaign", "person_page"], "Bienvenue {{ person.first_name }}", body)).await;
        assert_eq!(res.status(), 303);
        let id = id_from(&res);
        let (t, v) = amicale::comms::templates::store::get(&app.state.db, id).await.unwrap();
        assert_eq!(t.sending_modes, "campaign,person_page");
        assert!(!v.body_fr.contains("script") && !v.body_fr.contains("onclick"), "{}", v.body_fr);
        assert!(v.body_fr.contains("{{ person.first_name }}"));
        assert_eq!(v.text_fr, "Bonjour {{ person.first_name }}\n\n- un");
        let page = app.get(&format!("/admin/templates/{id}?saved=1")).await.text().await.unwrap();
        assert!(page.contains("Template saved (version 1)"));
        assert!(page.contains("by Test User"), "who created and modified it");

        // Unused version: edited in place.
        let mut f = form("Bienvenue", &["campaign"], "Bienvenue !", "<p>v1 bis</p>");
        f.retain(|(k, _)| *k != "kind");
        let res = app.post_form(&format!("/admin/templates/{id}"), &format!("/admin/templates/{id}"), &f).await;
        assert_eq!(res.status(), 303);
        assert!(res.headers()["location"].to_str().unwrap().ends_with("saved=1"));

        // Once used by a send, the version is frozen and an edit makes version 2.
        amicale::comms::templates::store::freeze(&app.state.db, v.id).await.unwrap();
        let f2: Vec<(&str, &str)> = vec![
            ("name", "Bienvenue"),
            ("active", "1"),
            ("recipient_types", "member"),
            ("sending_modes", "campaign"),
            ("subject_fr", "Bienvenue v2"),
            ("body_fr", "<p>v2</p>"),
        ];
        let res = app.post_form(&format!("/admin/templates/{id}"), &format!("/admin/templates/{id}"), &f2).await;
        assert!(res.headers()["location"].to_str().unwrap().ends_with("saved=2"));
        let versions = template_versions::Entity::find()
            .filter(template_versions::Column::TemplateId.eq(id))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(versions.len(), 2);
        let old = versions.iter().find(|v| v.number == 1).unwrap();
        assert_eq!(old.body_fr, "<p>v1 bis</p>", "the sent version is unchanged");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_template_with_scheduled_sends_cannot_be_deleted() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let res = create(
            &app,
            &form("Catalogue", &["campaign"], "Catalogue", "<p>x</p>"),
        )
        .await;
        let id = id_from(&res);
        let (_, v) = amicale::comms::templates::store::get(&app.state.db, id)
            .await
            .unwrap();
        let now = Utc::now();
        let msg = outbox::Entity::insert(outbox::ActiveModel {
            channel: Set(amicale_kernel::Channel::Email),
            recipient: Set("x@example.org".into()),
            subject: Set("Catalogue".into()),
            body_text: Set("x".into()),
            origin: Set(amicale_delivery::outbox::Origin::Campaign),
            state: Set(amicale_delivery::outbox::State::Queued),
            attempts: Set(0),
            // Far in the future so the worker leaves it alone.
            next_attempt_at: Set(now + chrono::Duration::days(30)),
            message_id: Set("<t@x>".into()),
            created_at: Set(now),
            updated_at: Set(now),
            template_version_id: Set(Some(v.id)),
            ..Default::default()
        })
        .exec(&app.state.db)
        .await
        .unwrap()
        .last_insert_id;

        let page = app
            .get(&format!("/admin/templates/{id}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !page.contains(&format!("/admin/templates/{id}/delete")),
            "no trash icon"
        );
        assert!(page.contains("cannot be deleted"));
        let list = app.get("/admin/templates").await.text().await.unwrap();
        assert!(list.contains("Catalogue"));
        let res = app
            .post_form(
                &format!("/admin/templates/{id}"),
                &format!("/admin/templates/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 409, "the server refuses too");
        assert!(
            templates::Entity::find_by_id(id)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_some()
        );

        // Inactivating is always possible.
        let res = app
            .post_form(
                &format!("/admin/templates/{id}"),
                &format!("/admin/templates/{id}/active"),
                &[("active", "0")],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert!(
            !templates::Entity::find_by_id(id)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap()
                .active
        );

        // Once sent, it may go; the message keeps its row.
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::State,
                sea_orm::sea_query::Expr::value("sent"),
            )
            .filter(outbox::Column::Id.eq(msg))
            .exec(&app.state.db)
            .await
            .unwrap();
        let res = app
            .post_form(
                &format!("/admin/templates/{id}"),
                &format!("/admin/templates/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert!(
            templates::Entity::find_by_id(id)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            outbox::Entity::find_by_id(msg)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_some()
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn preview_uses_a_real_person_and_the_test_goes_to_me_with_attachments() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let person = add_person(&app).await;
        let body = "<p>Bonjour {{ person.civility }} {{ person.first_name }} {{ person.last_name }} <b>&amp;</b></p>";
        let res = create(&app, &form("Accueil", &["campaign"], "Bienvenue {{ person.first_name }}", body)).await;
        let id = id_from(&res);

        // A real PDF is accepted; a text file named .pdf is not.
        let token = app.csrf(&format!("/admin/templates/{id}")).await;
        let upload = |name: &'static str, bytes: &'static [u8], token: String| {
            let form = Form::new()
                .text("csrf_token", token)
                .part("file", Part::bytes(bytes).file_name(name).mime_str("application/pdf").unwrap());
            app.client
                .post(app.url(&format!("/admin/templates/{id}/attachments")))
                .header("origin", &app.base)
                .multipart(form)
                .send()
        };
        let ok = upload("programme.pdf", b"%PDF-1.4\n%fake but well-formed header\n", token.clone()).await.unwrap();
        assert_eq!(ok.status(), 303);
        let bad = upload("virus.pdf", b"MZ this is not a pdf", token.clone()).await.unwrap();
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.unwrap().contains("does not match the file"));
        // Without the token the upload is refused before anything is read.
        let no_token = app
            .client
            .post(app.url(&format!("/admin/templates/{id}/attachments")))
            .multipart(Form::new().part("file", Part::bytes(&b"%PDF-1.4"[..]).file_name("a.pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(no_token.status(), 403);

        let page = app
            .get(&format!("/admin/templates/{id}/preview?person={person}&lang=fr"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Bienvenue Hélène"), "{page}");
        assert!(page.contains("Hélène Dupré"));
        let frame = app.get(&format!("/admin/templates/{id}/preview/frame?person={person}&lang=fr")).await;
        let csp = frame.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("sandbox"));
        let html = frame.text().await.unwrap();
        assert!(html.contains("Bonjour Mme Hélène Dupré"), "{html}");

        let person_s = person.to_string();
        let res = app
            .post_form(
                &format!("/admin/templates/{id}/preview?person={person}"),
                &format!("/admin/templates/{id}/test"),
                &[("person", person_s.as_str()), ("lang", "fr")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let mails = sink.wait_for(1, 20).await;
        assert_eq!(mails[0].to, vec![ADMIN.to_owned()], "the test goes to me, not to the person");
        assert_eq!(mails[0].subject(), "[TEST] Bienvenue Hélène");
        assert!(mails[0].data.contains("programme.pdf"), "attachment included");
        let counts = amicale::comms::templates::store::counts(&app.state.db, id).await.unwrap();
        assert_eq!(counts.sent, 0, "a test is not a send");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sms_templates_are_counted_like_the_server_sends_them() {
    let (app, _sink, _db) = admin_app(Backend::Sqlite).await;
    let res = app
        .post_form(
            "/admin/templates/new?kind=sms",
            "/admin/templates/new",
            &[
                ("kind", "sms"),
                ("name", "Rappel SMS"),
                ("recipient_types", "member"),
                ("sending_modes", "person_page"),
                ("body_fr", "Bonjour {{ person.first_name }}, RDV demain."),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let count: serde_json::Value = app
        .client
        .get(app.url("/admin/templates/sms-count"))
        .query(&[("text", "Bonjour, ça va ?")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["encoding"], "ucs2");
    assert_eq!(count["segments"], 1);
    let long = "a".repeat(161);
    let count: serde_json::Value = app
        .client
        .get(app.url("/admin/templates/sms-count"))
        .query(&[("text", long.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (count["encoding"].as_str(), count["segments"].as_u64()),
        (Some("gsm7"), Some(2))
    );
    app.stop().await;
}

const GUIDE_EXAMPLE: &str = "Objet : Rappel réunion J-1 Message : <p>Bonjour ${tab.action_beneficiaire_personne/personne_civilite} ${tab.action_beneficiaire_personne/personne_prenom} ${tab.action_beneficiaire_personne/personne_nom},</p>\n<p>Votre prochain rendez-vous téléphonique est programmé le ${action_date# l j F Y à H:i}\navec ${action_animateur_intervenant/personne_prenom} ${action_animateur_intervenant/personne_nom}.</p>";

#[tokio::test]
async fn jungo2_templates_are_imported_and_unknown_signets_named() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let token = app.csrf("/admin/templates/import").await;
        let form = Form::new()
            .text("csrf_token", token)
            .part(
                "files",
                Part::bytes(GUIDE_EXAMPLE.as_bytes().to_vec()).file_name("Rappel_J-1.txt"),
            )
            .part(
                "files",
                Part::bytes(&b"Bonjour ${personne/personne_pointure}"[..])
                    .file_name("pointure.txt"),
            );
        let res = app
            .client
            .post(app.url("/admin/templates/import"))
            .header("origin", &app.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "one file refused");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("personne/personne_pointure"),
            "unknown signet named: {html}"
        );
        assert!(html.contains("1 template(s) imported"));
        let all = templates::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(all.len(), 1);
        let (t, v) = amicale::comms::templates::store::get(&app.state.db, all[0].id)
            .await
            .unwrap();
        assert_eq!(v.subject_fr, "Rappel réunion J-1");
        assert!(
            v.body_fr.contains("{{ participant.first_name }}"),
            "{}",
            v.body_fr
        );
        assert!(t.sending_modes.contains("automatic"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn merge_field_catalogue_and_access() {
    let (app, _sink, db) = admin_app(Backend::Sqlite).await;
    let page = app.get("/admin/merge-fields").await.text().await.unwrap();
    assert!(page.contains("{{ person.first_name }}"));
    assert!(page.contains("{{ event.start }}"));
    assert!(page.contains("{{ unsubscribe_url }}"));
    app.create_user("member@example.org", "member passphrase", false)
        .await;
    let member = TestApp::start(crate::support::web_only_config(&db.url)).await;
    member
        .login("member@example.org", "member passphrase")
        .await;
    for path in [
        "/admin/templates",
        "/admin/templates/new",
        "/admin/merge-fields",
        "/admin/templates/import",
    ] {
        assert_eq!(member.get(path).await.status(), 403, "{path}");
    }
    let res = member
        .post_form(
            "/",
            "/admin/templates/new",
            &[("kind", "email"), ("name", "x")],
        )
        .await;
    assert_eq!(res.status(), 403);
    member.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn newsletters_are_laid_out_with_mjml_and_zip_imports_work() {
    let (app, _sink, _db) = admin_app(Backend::Sqlite).await;
    let person = add_person(&app).await;
    let res = app
        .post_form(
            "/admin/templates/new?kind=newsletter",
            "/admin/templates/new",
            &[
                ("kind", "newsletter"),
                ("name", "Lettre"),
                ("recipient_types", "member"),
                ("sending_modes", "campaign"),
                ("subject_fr", "Nouvelles de {{ network.name }}"),
                (
                    "body_fr",
                    "<h2>Bonjour {{ person.first_name }}</h2><p>Les nouvelles.</p>",
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let id = id_from(&res);
    let html = app
        .get(&format!(
            "/admin/templates/{id}/preview/frame?person={person}&lang=fr"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Bonjour Hélène"), "{html}");
    assert!(html.contains("Se désinscrire"), "layout footer");
    assert!(html.contains("<table"), "MJML rendered to tables");
    assert!(html.contains("style=\""), "CSS inlined");

    // A zip of JUNGO2 files.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("convocation.txt", opts).unwrap();
        std::io::Write::write_all(
            &mut zip,
            "Objet : Convocation\nBonjour ${personne/personne_prenom},\nà bientôt.".as_bytes(),
        )
        .unwrap();
        zip.start_file("image.png", opts).unwrap();
        std::io::Write::write_all(&mut zip, b"\x89PNG").unwrap();
        zip.finish().unwrap();
    }
    let token = app.csrf("/admin/templates/import").await;
    let form = Form::new().text("csrf_token", token).part(
        "files",
        Part::bytes(buf.into_inner()).file_name("modeles.zip"),
    );
    let res = app
        .client
        .post(app.url("/admin/templates/import"))
        .header("origin", &app.base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("1 template(s) imported"));
    let t = templates::Entity::find()
        .filter(templates::Column::Name.eq("convocation"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("imported from the zip");
    let (_, v) = amicale::comms::templates::store::get(&app.state.db, t.id)
        .await
        .unwrap();
    assert_eq!(v.subject_fr, "Convocation");
    assert!(
        v.body_fr.contains("{{ person.first_name }}"),
        "{}",
        v.body_fr
    );
    app.stop().await;
}
