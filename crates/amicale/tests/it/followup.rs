//! The follow-up of accompanied persons: situations, projects,
//! enrolments, tasks and documents, typed and scoped, and the campaign
//! filters that read them.

use amicale_store::entities::programmes;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::support::{
    TestApp, admin_app, beneficiary, campaign_template, id_in, location, on_each_backend, staff,
};

async fn body(app: &TestApp, path: &str) -> String {
    app.get(path).await.text().await.unwrap()
}

/// One number from the database (`SELECT … AS n`).
async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    scalar(app, &format!("SELECT COUNT(*) AS n FROM {table}")).await
}

/// The newest row id of a follow-up table.
async fn last_id(app: &TestApp, table: &str) -> i64 {
    scalar(app, &format!("SELECT MAX(id) AS n FROM {table}")).await
}

async fn add(app: &TestApp, person: i64, kind: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let page = format!("/admin/people/{person}/followup");
    app.post_form(&page, &format!("{page}/{kind}"), form).await
}

#[tokio::test]
async fn followup_rows_are_typed_scoped_and_read_by_campaign_filters() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let ods = programmes::Entity::insert(programmes::ActiveModel {
            id: NotSet,
            code: Set("ACTIV".into()),
            name: Set("Activ'Créa".into()),
            level: Set("programme".into()),
        })
        .exec(&app.state.db)
        .await
        .unwrap()
        .last_insert_id
        .to_string();
        let ines = beneficiary(&app, "Inès", "Roux", "ines.roux@example.org").await;
        let karim = beneficiary(&app, "Karim", "Benali", "karim.benali@example.org").await;
        let _sophie = beneficiary(&app, "Sophie", "Laurent", "sophie.laurent@example.org").await;

        // Bad input: told field by field, typed values kept, nothing stored.
        let res = add(
            &app,
            ines,
            "situations",
            &[("situation_date", "31/02/2026"), ("socio_category", "king")],
        )
        .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("value=\"31/02/2026\""), "{page}");
        assert!(
            page.contains("Invalid date") && page.contains("This value is not valid"),
            "{page}"
        );
        assert_eq!(count(&app, "person_situations").await, 0);

        // Inès was a job seeker on the RSA, and is now employed; Karim is a
        // job seeker living in a priority area.
        for form in [
            [
                ("situation_date", "10/01/2025"),
                ("employment_status", "job_seeker"),
                ("minimum_income", "1"),
            ],
            [
                ("situation_date", "2026-01-15"),
                ("employment_status", "fixed_term"),
                ("socio_category", "employee"),
            ],
        ] {
            let res = add(&app, ines, "situations", &form).await;
            assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        }
        let res = add(
            &app,
            karim,
            "situations",
            &[
                ("situation_date", "2026-02-01"),
                ("employment_status", "job_seeker"),
                ("priority_area", "1"),
            ],
        )
        .await;
        assert!(location(&res).contains("notice=fu-saved"));
        let page = body(&app, &format!("/admin/people/{ines}/followup")).await;
        assert!(
            page.contains("Employed (fixed term, temporary)") && page.contains("Job seeker"),
            "{page}"
        );

        // Correcting a row: the form comes back filled, the change is kept.
        let latest = last_id(&app, "person_situations").await - 1;
        let edit = body(
            &app,
            &format!("/admin/people/{ines}/followup?edit=situations:{latest}"),
        )
        .await;
        assert!(
            edit.contains(&format!("/followup/situations/{latest}\""))
                && edit.contains("value=\"2026-01-15\""),
            "{edit}"
        );
        let page = format!("/admin/people/{ines}/followup");
        let res = app
            .post_form(
                &page,
                &format!("{page}/situations/{latest}"),
                &[
                    ("situation_date", "2026-01-15"),
                    ("employment_status", "employed"),
                    ("socio_category", "employee"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert!(body(&app, &page).await.contains("Employed (permanent)"));
        // A row of Inès through Karim's page changes nothing.
        let karim_page = format!("/admin/people/{karim}/followup");
        let res = app
            .post_form(
                &karim_page,
                &format!("{karim_page}/situations/{latest}"),
                &[("situation_date", "2020-01-01")],
            )
            .await;
        assert_eq!(res.status(), 404);
        let res = app
            .post_form(
                &karim_page,
                &format!("{karim_page}/situations/{latest}/delete"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 404);
        assert_eq!(count(&app, "person_situations").await, 3);

        // A project, an enrolment, a task.
        let res = add(
            &app,
            ines,
            "projects",
            &[
                ("title", "Traiteur"),
                ("state", "launched"),
                ("sector", "Restauration"),
            ],
        )
        .await;
        assert_eq!(res.status(), 303);
        let res = add(
            &app,
            karim,
            "enrolments",
            &[
                ("programme_id", &ods),
                ("step", "Montage projet"),
                ("start_date", "2026-01-05"),
                ("end_date", "2026-01-31"),
                ("prescription_channel", "mission_locale"),
            ],
        )
        .await;
        assert_eq!(res.status(), 303);
        let res = add(
            &app,
            karim,
            "enrolments",
            &[
                ("programme_id", "999999"),
                ("start_date", "2026-02-01"),
                ("end_date", "2026-01-01"),
            ],
        )
        .await;
        assert_eq!(res.status(), 422);
        assert_eq!(count(&app, "person_enrolments").await, 1);
        let res = add(
            &app,
            karim,
            "tasks",
            &[("title", "Relancer le dossier"), ("due_date", "2026-03-01")],
        )
        .await;
        assert_eq!(res.status(), 303);
        let task = last_id(&app, "person_tasks").await;
        let res = app
            .post_form(
                &karim_page,
                &format!("{karim_page}/tasks/{task}/delete"),
                &[],
            )
            .await;
        assert!(location(&res).contains("notice=fu-deleted"));
        assert_eq!(count(&app, "person_tasks").await, 0);

        // Documents are judged by their bytes and served as downloads.
        let token = app.csrf(&karim_page).await;
        let upload = |bytes: &'static [u8], name: &'static str| {
            reqwest::multipart::Form::new()
                .text("csrf_token", token.clone())
                .part(
                    "document",
                    reqwest::multipart::Part::bytes(bytes).file_name(name),
                )
        };
        let pdf: &'static [u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        for (bytes, name, outcome) in [
            (pdf, "cv.pdf", "doc-saved"),
            (
                &b"<html><script>alert(1)</script></html>"[..],
                "evil.pdf",
                "doc-refused",
            ),
        ] {
            let res = app
                .client
                .post(app.url(&format!("{karim_page}/documents")))
                .header("origin", &app.base)
                .multipart(upload(bytes, name))
                .send()
                .await
                .unwrap();
            assert!(
                location(&res).contains(outcome),
                "{name}: {}",
                location(&res)
            );
        }
        assert_eq!(count(&app, "person_documents").await, 1);
        let doc = last_id(&app, "person_documents").await;
        let res = app.get(&format!("{karim_page}/documents/{doc}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(&res.bytes().await.unwrap()[..], pdf);
        assert_eq!(
            app.get(&format!("/admin/people/{ines}/followup/documents/{doc}"))
                .await
                .status(),
            404
        );

        // Campaign filters read the latest situation, projects, enrolments.
        let t = campaign_template(&app, "Actualités").await.to_string();
        let res = app
            .post_form(
                "/admin/campaigns/new?recipient_type=beneficiary&channel=email",
                "/admin/campaigns/new",
                &[
                    ("name", "Suivi"),
                    ("recipient_type", "beneficiary"),
                    ("channel", "email"),
                    ("template", &t),
                ],
            )
            .await;
        let c = format!(
            "/admin/campaigns/{}",
            id_in(&location(&res), "/admin/campaigns/")
        );
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "3 matching"),
            (vec![("employment_status", "job_seeker")], "1 matching"),
            (
                vec![
                    ("employment_status", "job_seeker"),
                    ("employment_status", "employed"),
                ],
                "2 matching",
            ),
            (vec![("minimum_income", "yes")], "0 matching"),
            (
                vec![("priority_area", "yes"), ("situation_from", "2026-02-01")],
                "1 matching",
            ),
            (
                vec![("project_state", "launched"), ("sector", "restau")],
                "1 matching",
            ),
            (vec![("programme", &ods)], "1 matching"),
            (
                vec![
                    ("programme", &ods),
                    ("enrolment_end_from", "2026-01-01"),
                    ("enrolment_end_to", "2026-01-31"),
                ],
                "1 matching",
            ),
            (
                vec![
                    ("prescription_channel", "mission_locale"),
                    ("enrolment_end_to", "2025-12-31"),
                ],
                "0 matching",
            ),
        ];
        for (filters, expected) in cases {
            let mut form = vec![("action", "filter")];
            form.extend(filters.iter().copied());
            app.post_form(&c, &format!("{c}/filters"), &form).await;
            let html = body(&app, &c).await;
            assert!(html.contains(expected), "{filters:?} → {expected}");
        }
        let res = app
            .post_form(
                &c,
                &format!("{c}/filters"),
                &[("action", "filter"), ("socio_category", "king")],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("aria-invalid=\"true\""));
        assert!(!body(&app, &c).await.contains("aria-invalid"));

        // Consulting is not changing; out of scope does not exist.
        let (comm, _) = staff(&app, "comm@example.org", "communication_manager", None).await;
        assert!(
            app.text_as(&comm, &karim_page)
                .await
                .contains("Montage projet")
        );
        let res = app
            .post_form_as(
                &comm,
                &karim_page,
                &format!("{karim_page}/tasks"),
                &[("title", "x")],
            )
            .await;
        assert_eq!(res.status(), 403);
        let (advisor, _) = staff(&app, "advisor@example.org", "advisor", None).await;
        assert_eq!(
            advisor
                .get(app.url(&karim_page))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        assert_eq!(
            advisor
                .get(app.url(&format!("{karim_page}/documents/{doc}")))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        app.stop().await;
    })
    .await;
}
