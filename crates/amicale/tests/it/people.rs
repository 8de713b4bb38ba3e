//! People, directory and CRM: accent-insensitive search on both backends,
//! advanced criteria, who may see the directory, the CRM list with its
//! filters, columns and bulk actions, exports.

use amicale::people::model::{Status, TagKind};
use amicale::people::store::{self, EmailEntry, Experience, Names, PersonInput};
use amicale_people::{CommunityRole, Email, PromoYear};
use amicale_store::entities::{audit_log, group_members, person_roles, persons};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

use crate::support::{TestApp, on_each_backend, spawn_app, staff};

fn person(first: &str, last: &str, email: &str) -> PersonInput {
    let mut p = PersonInput::new(first, last);
    p.emails.push(EmailEntry {
        email: Email::parse(email).unwrap(),
        accepts: true,
    });
    p
}

async fn add(app: &TestApp, p: PersonInput) -> i64 {
    let names = Names::load(&app.state.db).await.unwrap();
    store::create(&app.state.db, &p, &names).await.unwrap()
}

/// Four persons: two Hélène Dupré-like, one deactivated, one recruiter.
async fn fixture(app: &TestApp) -> (i64, i64, i64, i64) {
    let mut helene = person("Hélène", "Dupré", "helene.dupre@example.org");
    helene.city = "Lyon".into();
    helene.country = "France".into();
    helene.promo_year = Some(PromoYear::new(2010).unwrap());
    helene.roles.push((CommunityRole::Alumni, None));
    helene.tags.push((TagKind::Skill, "Négociation".into()));
    helene.tags.push((TagKind::Sport, "Équitation".into()));
    helene.experiences.push(Experience {
        company: "Société Générale".into(),
        title: "Analyste".into(),
        sector: "Banque".into(),
        ..Default::default()
    });
    let helene = add(app, helene).await;

    let mut marc = person("Marc", "Dupont", "marc.dupont@example.org");
    marc.city = "Paris".into();
    marc.promo_year = Some(PromoYear::new(2025).unwrap());
    marc.roles.push((CommunityRole::Student, None));
    let marc = add(app, marc).await;

    let mut hidden = person("Hélène", "Martin", "helene.martin@example.org");
    hidden.status = Status::Deactivated;
    hidden.roles.push((CommunityRole::Alumni, None));
    let hidden = add(app, hidden).await;

    let mut rec = person("Rita", "Recruteuse", "rita@example.org");
    rec.roles.push((CommunityRole::Recruiter, None));
    let rec = add(app, rec).await;
    (helene, marc, hidden, rec)
}

use crate::support::admin_app;

async fn body(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn directory_search_ignores_accents_case_and_order() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, marc, hidden, _) = fixture(&app).await;
        let page = body(&app, "/directory?q=helene+dupre").await;
        assert!(page.contains("1 result"), "count first: {page}");
        assert!(page.contains(&format!("/directory/{helene}")));
        assert!(!page.contains(&format!("/directory/{marc}")));
        // Order, case and accents do not matter; prefixes match.
        let page = body(&app, "/directory?q=DUPR%C3%89+H%C3%A9l").await;
        assert!(page.contains(&format!("/directory/{helene}")));
        // Short prefixes beside a long word, alone, or three words (the
        // forms PostgreSQL serves differently) find the same person.
        for q in ["dupre+h", "du+h", "h+du+lyon", "dupre+x"] {
            let page = body(&app, &format!("/directory?q={q}")).await;
            assert_eq!(
                page.contains(&format!("/directory/{helene}")),
                !q.ends_with('x'),
                "{q}"
            );
        }
        // A deactivated member is hidden from the directory.
        let page = body(&app, "/directory?q=helene").await;
        assert!(page.contains(&format!("/directory/{helene}")));
        assert!(!page.contains(&format!("/directory/{hidden}")));
        // Company, city and skill are part of the quick search.
        for q in ["societe+generale", "lyon", "negociation"] {
            let page = body(&app, &format!("/directory?q={q}")).await;
            assert!(page.contains(&format!("/directory/{helene}")), "{q}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn advanced_criteria_match_their_own_field_only() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, marc, _, _) = fixture(&app).await;
        // "Lyon" as a company finds nobody; as a city finds Hélène.
        let page = body(&app, "/directory?company=lyon").await;
        assert!(page.contains("0 results"), "{page}");
        let page = body(&app, "/directory?city=LYON").await;
        assert!(page.contains(&format!("/directory/{helene}")));
        let page = body(&app, "/directory?promo=2025").await;
        assert!(page.contains(&format!("/directory/{marc}")));
        assert!(!page.contains(&format!("/directory/{helene}")));
        let page = body(&app, "/directory?sport=equitation&sector=banque").await;
        assert!(page.contains(&format!("/directory/{helene}")));
        // A promo that is not a number is reported, and the input kept.
        let page = body(&app, "/directory?promo=vingt").await;
        assert!(page.contains("expects a number"));
        assert!(page.contains("value=\"vingt\""));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn recruiters_and_visitors_never_reach_the_directory() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let (helene, _, _, rec) = fixture(&app).await;
        // A visitor is sent to the login page.
        let res = app.get("/directory?q=helene").await;
        assert_eq!(res.status(), 303);
        // A recruiter's account linked to their record: 403 everywhere.
        app.create_user("rita@example.org", "recruiter passphrase", false)
            .await;
        let uid = amicale_store::entities::users::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        link(&app, rec, uid).await;
        assert_eq!(
            app.login("rita@example.org", "recruiter passphrase")
                .await
                .status(),
            303
        );
        for path in [
            "/directory?q=helene".to_owned(),
            format!("/directory/{helene}"),
            "/admin/people".to_owned(),
        ] {
            assert_eq!(app.get(&path).await.status(), 403, "{path}");
        }
        let home = body(&app, "/").await;
        assert!(!home.contains("href=\"/directory\""), "no menu entry");
        app.stop().await;
    })
    .await;
}

async fn link(app: &TestApp, person: i64, user: i64) {
    persons::Entity::update_many()
        .col_expr(
            persons::Column::UserId,
            sea_orm::sea_query::Expr::value(user),
        )
        .filter(persons::Column::Id.eq(person))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_member_uses_the_directory_but_not_the_crm() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let (helene, marc, hidden, _) = fixture(&app).await;
        app.create_user("marc.dupont@example.org", "student passphrase", false)
            .await;
        let uid = amicale_store::entities::users::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        link(&app, marc, uid).await;
        assert_eq!(
            app.login("marc.dupont@example.org", "student passphrase")
                .await
                .status(),
            303
        );
        let profile = body(&app, &format!("/directory/{helene}")).await;
        assert!(profile.contains("Hélène Dupré"));
        assert!(profile.contains("Négociation"));
        assert_eq!(app.get(&format!("/directory/{hidden}")).await.status(), 404);
        assert_eq!(app.get("/admin/people").await.status(), 403);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn crm_filters_columns_and_bulk_actions() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, marc, hidden, rec) = fixture(&app).await;
        let page = body(&app, "/admin/people").await;
        assert!(page.contains("4 results"), "all persons, active or not");
        let page = body(&app, "/admin/people?inactive=1").await;
        assert!(page.contains("1 result") && page.contains(&format!("/admin/people/{hidden}")));
        let page = body(&app, "/admin/people?role=student").await;
        assert!(page.contains("1 result") && page.contains(&format!("/admin/people/{marc}")));

        // Visible columns are remembered for this user.
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/columns",
                &[
                    ("col", "external_ref"),
                    ("col", "site"),
                    ("back", "/admin/people"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let page = body(&app, "/admin/people").await;
        assert!(page.contains("External reference") && !page.contains(">Roles<"));

        // Students of promo 2025 become alumni, selected "all matching".
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[
                    ("scope", "all"),
                    ("f_role", "student"),
                    ("f_promo", "2025"),
                    ("action", "students_to_alumni"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let roles: Vec<String> = person_roles::Entity::find()
            .filter(person_roles::Column::PersonId.eq(marc))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.role)
            .collect();
        assert_eq!(roles, vec!["alumni".to_owned()]);

        // Add two ticked persons to a new group.
        let (h, r) = (helene.to_string(), rec.to_string());
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[
                    ("scope", "selected"),
                    ("id", &h),
                    ("id", &r),
                    ("action", "add_to_group"),
                    ("group_name", "Chapitre Lyon"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            group_members::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            2
        );

        // Delete refuses without the confirmation, and changes nothing.
        let hid = hidden.to_string();
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[("id", &hid), ("action", "delete")],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("done=confirm")
        );
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            4
        );
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[("id", &hid), ("action", "delete"), ("confirm", "1")],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            3
        );
        if b == crate::support::Backend::Postgres {
            // The search table follows: the deleted person's row is gone,
            // the others are there.
            use sea_orm::{ConnectionTrait, Statement};
            let row = app
                .state
                .db
                .query_one_raw(Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    format!(
                        "SELECT count(*) AS n, count(*) FILTER (WHERE id = {hidden}) AS gone \
                         FROM person_search WHERE id IN (SELECT id FROM persons) OR id = {hidden}"
                    ),
                ))
                .await
                .unwrap()
                .unwrap();
            let n: i64 = row.try_get("", "n").unwrap();
            let gone: i64 = row.try_get("", "gone").unwrap();
            assert_eq!((n, gone), (3, 0));
        }
        // Every bulk action is in the audit log.
        let actions: Vec<String> = audit_log::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert_eq!(
            actions,
            vec!["students_to_alumni", "add_to_group", "delete"]
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn export_streams_csv_and_xlsx_of_the_filtered_list() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (_, _, _, _) = fixture(&app).await;
        // Filtered (read a page at a time) and not (on PostgreSQL, in one
        // pass): Hélène's row is the same.
        let mut helene = Vec::new();
        for query in ["format=csv&city=lyon", "format=csv"] {
            let res = app.get(&format!("/admin/people/export?{query}")).await;
            assert_eq!(res.status(), 200);
            assert!(
                res.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .contains(".csv")
            );
            let text = res.text().await.unwrap();
            // A byte-order mark, so spreadsheets read UTF-8; English: ",".
            let text = text.strip_prefix('\u{feff}').expect("a BOM").to_owned();
            let mut lines = text.lines();
            let header = lines.next().unwrap().to_owned();
            assert!(header.contains("First name") && header.contains("External reference"));
            let rows: Vec<&str> = lines.filter(|l| l.contains("Hélène,Dupré")).collect();
            assert_eq!(rows.len(), 1, "{text}");
            assert!(rows[0].contains("helene.dupre@example.org"));
            if query.contains("city") {
                assert_eq!(text.lines().count(), 2, "{text}");
            } else {
                assert_eq!(text.lines().count(), 5, "header and four persons: {text}");
            }
            // What comes from the child tables: the first experience's
            // company, the skill and the sport in their own columns.
            let cells: Vec<&str> = rows[0].split(',').collect();
            let head: Vec<&str> = header.split(',').collect();
            let cell = |name: &str| cells[head.iter().position(|h| *h == name).unwrap()];
            assert_eq!(cell("Company"), "Société Générale", "{text}");
            assert_eq!(cell("Skills"), "Négociation", "{text}");
            assert_eq!(cell("Sports"), "Équitation", "{text}");
            assert_eq!(cell("Interests"), "", "{text}");
            helene.push(rows[0].to_owned());
        }
        assert_eq!(helene[0], helene[1]);
        // In French, columns are split on ";" as French spreadsheets expect,
        // and the import reads that back.
        let admin = amicale::auth::store::find_by_email(
            &app.state.db,
            &amicale_kernel::Login::parse(crate::support::ADMIN).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        amicale::auth::store::set_locale(&app.state.db, admin.id, "fr")
            .await
            .unwrap();
        let fr = app
            .get("/admin/people/export?format=csv&city=lyon")
            .await
            .text()
            .await
            .unwrap();
        let fr = fr.strip_prefix('\u{feff}').expect("a BOM");
        let head = fr.lines().next().unwrap();
        assert!(head.contains("Prénom;") && !head.contains(','), "{head}");
        assert!(fr.contains("Hélène;Dupré"), "{fr}");

        let res = app.get("/admin/people/export?format=xlsx").await;
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert_eq!(sheet.matches("<row ").count(), 5, "header and four persons");
        assert!(sheet.contains("Dupré"));
        app.stop().await;
    })
    .await;
}

fn cli(db_url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_amicale"));
    cmd.env("AMICALE_DATABASE_URL", db_url)
        .env("AMICALE_LOG_LEVEL", "warn");
    cmd
}

fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "JSON report: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

const GOOD: &str = "Prénom;Nom;E-mail;Promo;Cursus;Campus;Rôle;Compétences\n\
Hélène;Dupré;helene@example.org;2010;Master Finance;Lyon;diplômé;Négociation, Excel\n\
Marc;Dupont;marc@example.org;2025;;Paris;étudiant;\n";

#[tokio::test]
async fn import_reports_every_row_and_upserts_by_email() {
    on_each_backend(|b| async move {
        let db = crate::support::TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.csv");
        std::fs::write(&good, GOOD).unwrap();
        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            format!(
                "{GOOD}Zoé;Bad;not-an-email;20x0;;;pirate;\n\
                 Marc;Twice;marc@example.org;;;;;\n"
            ),
        )
        .unwrap();

        // All or nothing: one rejected row, nothing written, exit non-zero,
        // and every bad field of the row is reported.
        let out = cli(&db.url)
            .args(["import", "people"])
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let r = report(&out);
        assert_eq!(r["written"], false);
        let rejected = r["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 2, "{r}");
        assert_eq!(rejected[0]["row"], 4);
        let codes: Vec<&str> = rejected[0]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"email-invalid") && codes.contains(&"role-unknown"),
            "{codes:?}"
        );
        assert!(
            codes
                .iter()
                .any(|c| c.starts_with("not-a-number") || c.starts_with("promo")),
            "{codes:?}"
        );
        assert_eq!(rejected[1]["row"], 5);
        assert_eq!(rejected[1]["errors"][0]["code"], "duplicate-in-file");
        assert_eq!(rejected[1]["errors"][0]["first_row"], 3);

        // The dry run of the good file writes nothing either.
        let out = cli(&db.url)
            .args(["import", "people", "--dry-run"])
            .arg(&good)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(report(&out)["created"], 2);

        // Valid rows only: the two good ones are created.
        let out = cli(&db.url)
            .args(["import", "people", "--mode", "valid", "--invite"])
            .arg(&bad)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = report(&out);
        assert_eq!(
            (r["created"].as_u64(), r["written"].as_bool()),
            (Some(2), Some(true))
        );

        // Re-importing the same file changes nothing.
        let out = cli(&db.url)
            .args(["import", "people"])
            .arg(&good)
            .output()
            .unwrap();
        let r = report(&out);
        assert_eq!(
            (
                r["created"].as_u64(),
                r["updated"].as_u64(),
                r["unchanged"].as_u64()
            ),
            (Some(0), Some(0), Some(2)),
            "{r}"
        );

        // A changed city updates the same person.
        let moved = dir.path().join("moved.csv");
        std::fs::write(
            &moved,
            "email,first_name,last_name,city\nhelene@example.org,Hélène,Dupré,Nantes\n",
        )
        .unwrap();
        let out = cli(&db.url)
            .args(["import", "people"])
            .arg(&moved)
            .output()
            .unwrap();
        assert_eq!(report(&out)["updated"], 1);

        // The export lists both, and imports back unchanged.
        let out = cli(&db.url)
            .args([
                "export",
                "people",
                "--format",
                "csv",
                "--filter",
                "city=nantes",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let csv = String::from_utf8(out.stdout).unwrap();
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(csv.contains("Négociation") && csv.contains("Nantes"));
        let back = dir.path().join("back.csv");
        std::fs::write(&back, &csv).unwrap();
        let out = cli(&db.url)
            .args(["import", "people"])
            .arg(&back)
            .output()
            .unwrap();
        let r = report(&out);
        assert_eq!(
            (r["created"].as_u64(), r["unchanged"].as_u64()),
            (Some(0), Some(1)),
            "{r}"
        );

        let out = cli(&db.url)
            .args(["export", "people", "--format", "xlsx"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let xlsx = dir.path().join("all.xlsx");
        std::fs::write(&xlsx, &out.stdout).unwrap();
        let out = cli(&db.url)
            .args(["import", "people", "--dry-run"])
            .arg(&xlsx)
            .output()
            .unwrap();
        let r = report(&out);
        assert_eq!(r["unchanged"], 2, "an XLSX export reads back: {r}");
    })
    .await;
}

#[tokio::test]
async fn the_person_form_checks_every_field_and_keeps_the_input() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, _, _, _) = fixture(&app).await;
        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Zoé"),
                    ("last_name", ""),
                    ("email0", "zoe@@example"),
                    ("phone0", "12"),
                    ("promo", "3000"),
                    ("city", "Nantes"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        for msg in [
            "This field is required",
            "e-mail address is not valid",
            "phone number is not valid",
            "between 1900 and 2100",
        ] {
            assert!(page.contains(msg), "{msg}");
        }
        assert!(page.contains("value=\"zoe@@example\"") && page.contains("value=\"Nantes\""));
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            4
        );

        // An address that belongs to someone else is refused on its field.
        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Zoé"),
                    ("last_name", "Roux"),
                    ("email0", "HELENE.DUPRE@example.org"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("already belongs to another person")
        );

        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Zoé"),
                    ("last_name", "Roux"),
                    ("email0", "zoe.roux@example.org"),
                    ("email0_accepts", "1"),
                    ("phone0", "06 12 34 56 78"),
                    ("promo", "2015"),
                    ("role", "alumni"),
                    ("skill", "Python, SQL"),
                    ("status", "active"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let loc = res.headers()["location"].to_str().unwrap().to_owned();
        let page = body(&app, &loc).await;
        assert!(page.contains("Record saved") && page.contains("06 12 34 56 78"));
        // Found at once by the directory, accent-insensitively.
        let page = body(&app, "/directory?q=zoe+python").await;
        assert!(page.contains("1 result"), "{page}");

        // Editing keeps what the form does not show (experiences).
        let path = format!("/admin/people/{helene}");
        let res = app
            .post_form(
                &path,
                &path,
                &[
                    ("first_name", "Hélène"),
                    ("last_name", "Dupré-Roy"),
                    ("email0", "helene.dupre@example.org"),
                    ("status", "active"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let page = body(&app, "/directory?company=societe+generale").await;
        assert!(page.contains("Dupré-Roy"), "{page}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn import_through_the_web_previews_then_runs_in_the_background() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let token = app.csrf("/admin/people/import").await;
        let upload = |bytes: &'static str, mode: &'static str| {
            // The role for rows without one: none for "all", alumni for
            // "valid".
            let role = if mode == "valid" { "alumni" } else { "" };
            reqwest::multipart::Form::new()
                .text("csrf_token", token.clone())
                .text("mode", mode)
                .text("role", role)
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(bytes.as_bytes()).file_name("people.csv"),
                )
        };
        let bad: &'static str = "Prénom;Nom;E-mail\nAnne;Petit;anne@example.org\nBob;;bob@\n";
        let res = app
            .client
            .post(app.url("/admin/people/import"))
            .header("origin", &app.base)
            .multipart(upload(bad, "all"))
            .send()
            .await
            .unwrap();
        let page = res.text().await.unwrap();
        assert!(
            page.contains("<td>3</td>") && page.contains("e-mail address is not valid"),
            "{page}"
        );
        assert!(
            page.contains("nothing will be imported") && !page.contains("/admin/people/import/")
        );
        // No role chosen and none in the file: the office is warned.
        assert!(page.contains("2 rows give no role"), "{page}");

        let res = app
            .client
            .post(app.url("/admin/people/import"))
            .header("origin", &app.base)
            .multipart(upload(bad, "valid"))
            .send()
            .await
            .unwrap();
        let page = res.text().await.unwrap();
        let job: i64 = page
            .split("action=\"/admin/people/import/")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("confirm button");
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            0,
            "preview writes nothing"
        );
        let res = app
            .post_form(
                "/admin/people/import",
                &format!("/admin/people/import/{job}"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 303);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let j = amicale_store::entities::jobs::Entity::find_by_id(job)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
            if j.state == "done" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "job stuck: {j:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let page = body(&app, &format!("/admin/jobs/{job}")).await;
        assert!(
            page.contains("1 created") && page.contains("1 rows with errors"),
            "{page}"
        );
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            1
        );
        // The role chosen on the form went to the row that gave none.
        let roles: Vec<String> = amicale_store::entities::person_roles::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.role)
            .collect();
        assert_eq!(roles, vec!["alumni".to_owned()]);
        // Confirming twice does not import twice.
        let res = app
            .post_form(
                "/admin/people/import",
                &format!("/admin/people/import/{job}"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 404);
        app.stop().await;
    })
    .await;
}

/// The link of the last message queued for `to`.
async fn last_link(app: &TestApp, to: &str, prefix: &str) -> String {
    use sea_orm::QueryOrder;
    let m = amicale_store::entities::outbox::Entity::find()
        .filter(amicale_store::entities::outbox::Column::Recipient.eq(to))
        .order_by_desc(amicale_store::entities::outbox::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a message");
    let start = m.body_text.find(prefix).expect("link in the text");
    m.body_text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned()
}

async fn outbox_to(app: &TestApp, to: &str) -> u64 {
    amicale_store::entities::outbox::Entity::find()
        .filter(amicale_store::entities::outbox::Column::Recipient.eq(to))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn invitations_finish_accounts_remind_three_times_and_respect_refusal() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let mut anne = person("Anne", "Petit", "anne@example.org");
        anne.roles.push((CommunityRole::Alumni, None));
        let anne = add(&app, anne).await;
        let bob = add(&app, person("Bob", "Grand", "bob@example.org")).await;
        let (a, bb) = (anne.to_string(), bob.to_string());
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[("id", &a), ("id", &bb), ("action", "invite")],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("done=invited")
        );
        let link = last_link(&app, "anne@example.org", "/invitation/").await;
        assert!(link.starts_with("/invitation/"), "{link}");

        // Bob refuses: the GET only asks, the POST records it.
        let bob_link = last_link(&app, "bob@example.org", "/invitation/").await;
        let stop_path = format!("{bob_link}/stop");
        assert_eq!(app.get(&stop_path).await.status(), 200);
        let p = persons::Entity::find_by_id(bob)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!p.invitations_stop);
        let res = app.post_form(&stop_path, &stop_path, &[]).await;
        assert_eq!(res.status(), 200);
        let p = persons::Entity::find_by_id(bob)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(p.invitations_stop);

        // Reminders at D+4, D+10, D+60, each once, to Anne only, same link.
        let now = chrono::Utc::now();
        let before = outbox_to(&app, "anne@example.org").await;
        for (days, expected) in [(3, 0), (5, 1), (5, 1), (11, 2), (30, 2), (61, 3), (90, 3)] {
            amicale::people::accounts::remind(&app.state, now + chrono::Duration::days(days))
                .await
                .unwrap();
            assert_eq!(
                outbox_to(&app, "anne@example.org").await - before,
                expected,
                "day {days}"
            );
        }
        assert_eq!(
            last_link(&app, "anne@example.org", "/invitation/").await,
            link
        );
        assert_eq!(
            outbox_to(&app, "bob@example.org").await,
            1,
            "no reminder after refusal"
        );

        // Anne finishes her account and is signed in as a member.
        let client = crate::support::new_client();
        let short = app
            .post_form_as(
                &client,
                &link,
                &link,
                &[("password", "short"), ("confirm", "short")],
            )
            .await;
        assert_eq!(short.status(), 422);
        let res = app
            .post_form_as(
                &client,
                &link,
                &link,
                &[
                    ("password", "anne passphrase"),
                    ("confirm", "anne passphrase"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let dir = client
            .get(app.url("/directory?q=petit"))
            .send()
            .await
            .unwrap();
        assert_eq!(dir.status(), 200, "a member now");
        let p = persons::Entity::find_by_id(anne)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(p.user_id.is_some() && p.status == "active");
        // The link is spent; inviting her again does nothing.
        assert_eq!(
            client.get(app.url(&link)).send().await.unwrap().status(),
            410
        );
        let res = app
            .post_form(
                "/admin/people",
                "/admin/people/bulk",
                &[("id", &a), ("id", &bb), ("action", "invite")],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("done=none-invited")
        );

        // She deactivates, disappears, and comes back by logging in.
        let res = app
            .post_form_as(&client, "/account/deactivate", "/account/deactivate", &[])
            .await;
        assert_eq!(res.status(), 303);
        let page = body(&app, "/directory?q=anne").await;
        assert!(page.contains("0 results"));
        let again = TestApp::login_with(&app, &client, "anne@example.org", "anne passphrase").await;
        assert_eq!(again, 303);
        let page = body(&app, "/directory?q=anne").await;
        assert!(page.contains("1 result"));
        app.stop().await;
    })
    .await;
}

async fn register(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let client = crate::support::new_client();
    app.post_form_as(&client, "/register", "/register", fields)
        .await
}

#[tokio::test]
async fn self_registration_waits_for_moderation_and_recruiters_pass_at_once() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let res = register(
            &app,
            &[
                ("first_name", "Léo"),
                ("last_name", ""),
                ("email", "leo@"),
                ("role", "alumni"),
                ("password", "x"),
                ("confirm", "x"),
            ],
        )
        .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("value=\"Léo\"")
                && page.contains("not valid")
                && page.contains("at least 10")
        );
        assert_eq!(
            persons::Entity::find().count(&app.state.db).await.unwrap(),
            0
        );

        for (first, email, role) in [
            ("Léo", "leo@example.org", "alumni"),
            ("Mia", "mia@example.org", "student"),
            ("Rex", "rex@example.org", "recruiter"),
        ] {
            let res = register(
                &app,
                &[
                    ("first_name", first),
                    ("last_name", "Test"),
                    ("email", email),
                    ("role", role),
                    ("promo", "2012"),
                    ("password", "a long passphrase"),
                    ("confirm", "a long passphrase"),
                ],
            )
            .await;
            assert_eq!(res.status(), 200);
            assert!(res.text().await.unwrap().contains("request is recorded"));
            // Nothing exists before the address is proven.
            assert_eq!(
                persons::Entity::find()
                    .filter(persons::Column::Email.eq(email))
                    .count(&app.state.db)
                    .await
                    .unwrap(),
                0
            );
            let res = crate::support::confirm_registration(&app, email, "a long passphrase").await;
            assert_eq!(res.status(), 200);
        }
        let client = crate::support::new_client();
        // Pending members cannot log in yet; the recruiter can, without the directory.
        assert_eq!(
            app.login_with(&client, "leo@example.org", "a long passphrase")
                .await,
            422
        );
        let rex = crate::support::new_client();
        assert_eq!(
            app.login_with(&rex, "rex@example.org", "a long passphrase")
                .await,
            303
        );
        assert_eq!(
            rex.get(app.url("/directory"))
                .send()
                .await
                .unwrap()
                .status(),
            403
        );

        // A second request with a known address looks the same, and mails the owner.
        let res = register(
            &app,
            &[
                ("first_name", "Léo"),
                ("last_name", "Test"),
                ("email", "LEO@example.org"),
                ("role", "alumni"),
                ("password", "a long passphrase"),
                ("confirm", "a long passphrase"),
            ],
        )
        .await;
        assert!(res.text().await.unwrap().contains("request is recorded"));
        // Leo's link, confirmed, then the second request's: it changes nothing.
        assert_eq!(outbox_to(&app, "LEO@example.org").await, 1);
        let res =
            crate::support::confirm_registration(&app, "LEO@example.org", "a long passphrase")
                .await;
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("already has an account or a pending request")
        );

        let queue = body(&app, "/admin/registrations").await;
        assert!(
            queue.contains("leo@example.org")
                && queue.contains("mia@example.org")
                && !queue.contains("rex@")
        );
        let id_of = |email: &'static str| {
            let db = app.state.db.clone();
            async move {
                persons::Entity::find()
                    .filter(persons::Column::Email.eq(email))
                    .one(&db)
                    .await
                    .unwrap()
                    .map(|p| p.id)
            }
        };
        let leo = id_of("leo@example.org").await.unwrap();
        let mia = id_of("mia@example.org").await.unwrap();
        let res = app
            .post_form(
                "/admin/registrations",
                &format!("/admin/registrations/{leo}"),
                &[("decision", "accept")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let res = app
            .post_form(
                "/admin/registrations",
                &format!("/admin/registrations/{mia}"),
                &[("decision", "refuse")],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert!(
            id_of("mia@example.org").await.is_none(),
            "refused and removed"
        );
        assert_eq!(
            outbox_to(&app, "mia@example.org").await,
            2,
            "the link, then the answer"
        );
        assert_eq!(outbox_to(&app, "leo@example.org").await, 2, "welcome mail");
        assert_eq!(
            app.login_with(&client, "leo@example.org", "a long passphrase")
                .await,
            303
        );
        assert_eq!(
            client
                .get(app.url("/directory"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        // A second decision on the same request changes nothing.
        let res = app
            .post_form(
                "/admin/registrations",
                &format!("/admin/registrations/{leo}"),
                &[("decision", "accept")],
            )
            .await;
        assert_eq!(res.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn duplicates_are_listed_and_merged_into_the_active_record() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let mut old = person("Helene", "DUPRE", "h.dupre@old.example.org");
        old.status = Status::Deactivated;
        old.roles.push((CommunityRole::Student, None));
        old.tags.push((TagKind::Sport, "Voile".into()));
        old.external_ref = Some("EXT-9".into());
        let old = add(&app, old).await;
        let mut new = person("Hélène", "Dupré", "helene@new.example.org");
        new.roles.push((CommunityRole::Alumni, None));
        new.city = "Lyon".into();
        let new = add(&app, new).await;
        add(&app, person("Marc", "Solo", "marc@example.org")).await;
        let group = amicale::people::bulk::group_id(&app.state.db, "Voile club")
            .await
            .unwrap();
        amicale::people::bulk::apply(
            &app.state.db,
            &amicale::people::bulk::Action::AddToGroup { group_id: group },
            &[old],
        )
        .await
        .unwrap();

        let page = body(&app, "/admin/people/duplicates").await;
        assert!(
            page.contains(&format!("/admin/people/{old}"))
                && page.contains(&format!("/admin/people/{new}"))
        );
        assert!(!page.contains("Solo"));
        assert!(
            page.contains(&format!("value=\"{new}\" checked")),
            "the active one is kept by default"
        );
        let (o, n) = (old.to_string(), new.to_string());
        let res = app
            .post_form(
                "/admin/people/duplicates",
                "/admin/people/duplicates/merge",
                &[("member", &o), ("member", &n), ("keep", &n)],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("merged")
        );
        assert!(
            persons::Entity::find_by_id(old)
                .one(&app.state.db)
                .await
                .unwrap()
                .is_none()
        );
        let rec = store::load(&app.state.db, new).await.unwrap();
        let emails: Vec<&str> = rec.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(
            emails,
            vec!["helene@new.example.org", "h.dupre@old.example.org"]
        );
        let mut roles: Vec<&str> = rec.roles.iter().map(|r| r.role.as_str()).collect();
        roles.sort();
        assert_eq!(roles, vec!["alumni", "student"]);
        assert_eq!(rec.person.external_ref.as_deref(), Some("EXT-9"));
        assert_eq!(rec.person.status, "active");
        assert_eq!(
            group_members::Entity::find()
                .filter(group_members::Column::PersonId.eq(new))
                .count(&app.state.db)
                .await
                .unwrap(),
            1
        );
        // Search finds the merged record by what came from the other one.
        let page = body(&app, "/directory?sport=voile").await;
        assert!(page.contains(&format!("/directory/{new}")));
        let page = body(&app, "/admin/people/duplicates").await;
        assert!(page.contains("No probable duplicates"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn groups_and_saved_lists_static_or_re_evaluated() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, marc, _, _) = fixture(&app).await;
        let res = app
            .post_form(
                "/admin/groups",
                "/admin/groups",
                &[("name", "Chapitre Lyon"), ("kind", "chapter")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let res = app
            .post_form(
                "/admin/groups",
                "/admin/groups",
                &[("name", "Chapitre Lyon"), ("kind", "chapter")],
            )
            .await;
        assert!(res.text().await.unwrap().contains("already has this name"));
        let page = body(&app, "/admin/groups").await;
        assert!(page.contains("Chapitre Lyon") && page.contains("Country chapter"));

        // From a directory search: "dup" finds Hélène Dupré and Marc Dupont.
        for (name, dynamic) in [("Figée", "0"), ("Vivante", "1")] {
            let res = app
                .post_form(
                    "/directory?q=dup",
                    "/lists",
                    &[
                        ("from", "directory"),
                        ("f_q", "dup"),
                        ("name", name),
                        ("dynamic", dynamic),
                    ],
                )
                .await;
            assert_eq!(res.status(), 303);
        }
        let res = app
            .post_form(
                "/directory?q=dup",
                "/lists",
                &[("from", "directory"), ("f_q", "dup"), ("name", " ")],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .contains("done=list-name")
        );
        let lists = amicale_store::entities::saved_lists::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(lists.len(), 2);
        // A new Dupuis joins the re-evaluated list only.
        let late = add(&app, person("Jean", "Dupuis", "jean.dupuis@example.org")).await;
        let fixed = body(&app, &format!("/lists/{}", lists[0].id)).await;
        let live = body(&app, &format!("/lists/{}", lists[1].id)).await;
        for page in [&fixed, &live] {
            assert!(
                page.contains(&format!("/directory/{helene}"))
                    && page.contains(&format!("/directory/{marc}"))
            );
        }
        assert!(!fixed.contains(&format!("/directory/{late}")));
        assert!(live.contains(&format!("/directory/{late}")));
        // Someone else's list is not found.
        let client = crate::support::new_client();
        app.create_user("other@example.org", "other passphrase", true)
            .await;
        assert_eq!(
            app.login_with(&client, "other@example.org", "other passphrase")
                .await,
            303
        );
        let res = client
            .get(app.url(&format!("/lists/{}", lists[0].id)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn permission_profiles_limit_modules_levels_and_scopes() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, marc, _, _) = fixture(&app).await;
        let (advisor, advisor_id) = staff(&app, "advisor@example.org", "advisor", None).await;
        // Marc is assigned to the advisor; Hélène is not; Hélène is on the Lyon site.
        crate::support::assign_referent(&app, marc, advisor_id).await;
        persons::Entity::update_many()
            .col_expr(
                persons::Column::Site,
                sea_orm::sea_query::Expr::value("Lyon"),
            )
            .filter(persons::Column::Id.eq(helene))
            .exec(&app.state.db)
            .await
            .unwrap();
        let get = |c: &reqwest::Client, path: String| {
            let c = c.clone();
            let url = app.url(&path);
            async move { c.get(url).send().await.unwrap() }
        };
        let page = get(&advisor, "/admin/people".into())
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("1 result") && page.contains(&format!("/admin/people/{marc}")),
            "{page}"
        );
        assert_eq!(
            get(&advisor, format!("/admin/people/{helene}"))
                .await
                .status(),
            404
        );
        assert_eq!(
            get(&advisor, format!("/admin/people/{marc}"))
                .await
                .status(),
            200
        );
        assert_eq!(get(&advisor, "/admin/templates".into()).await.status(), 403);
        assert_eq!(
            get(&advisor, "/admin/people/new".into()).await.status(),
            403,
            "modify, not create"
        );
        assert_eq!(get(&advisor, "/admin".into()).await.status(), 403);
        // A bulk action posted with an out-of-scope id acts on the assigned one only.
        let page = get(&advisor, "/admin/people".into())
            .await
            .text()
            .await
            .unwrap();
        let token = crate::support::extract_csrf(&page).unwrap();
        let (h, m) = (helene.to_string(), marc.to_string());
        let res = advisor
            .post(app.url("/admin/people/bulk"))
            .header("origin", &app.base)
            .form(&[
                ("id", h.as_str()),
                ("id", m.as_str()),
                ("action", "add_to_group"),
                ("group_name", "Suivis"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let members: Vec<i64> = group_members::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.person_id)
            .collect();
        assert_eq!(members, vec![marc]);

        // A communication manager consults people but cannot change them.
        let (comm, _) = staff(&app, "comm@example.org", "communication_manager", None).await;
        assert_eq!(get(&comm, "/admin/templates".into()).await.status(), 200);
        assert!(
            get(&comm, "/admin/people".into())
                .await
                .text()
                .await
                .unwrap()
                .contains("4 results")
        );
        let res = comm
            .post(app.url("/admin/people/bulk"))
            .header("origin", &app.base)
            .form(&[
                ("id", m.as_str()),
                ("action", "delete"),
                ("confirm", "1"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // A partner manager of the Lyon site sees Lyon only.
        let (partner, _) =
            staff(&app, "partner@example.org", "partner_manager", Some("Lyon")).await;
        let page = get(&partner, "/admin/people".into())
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("1 result") && page.contains(&format!("/admin/people/{helene}")));

        // The administrator takes People away from advisors: refused at once.
        let advisor_profile = amicale_store::entities::permission_profiles::Entity::find()
            .filter(amicale_store::entities::permission_profiles::Column::Name.eq("advisor"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let path = format!("/admin/profiles/{advisor_profile}");
        let mut form: Vec<(String, String)> = Vec::new();
        for module in [
            "directory",
            "people",
            "templates",
            "sends",
            "registrations",
            "administration",
            "events",
        ] {
            form.push((
                format!("{module}_level"),
                if module == "directory" {
                    "consult"
                } else {
                    "none"
                }
                .into(),
            ));
            form.push((format!("{module}_scope"), "all".into()));
            form.push((format!("{module}_visible"), "1".into()));
        }
        let fields: Vec<(&str, &str)> =
            form.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(app.post_form(&path, &path, &fields).await.status(), 303);
        assert_eq!(get(&advisor, "/admin/people".into()).await.status(), 403);
        assert_eq!(get(&advisor, "/directory?q=dup".into()).await.status(), 200);
        // A level that does not exist is refused, not guessed.
        let bad = [("people_level", "everything"), ("people_scope", "all")];
        assert_eq!(app.post_form(&path, &path, &bad).await.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_login_email_changes_only_once_the_new_address_is_proven() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let (_, marc, _, _) = fixture(&app).await;
        app.create_user("marc.dupont@example.org", "student passphrase", false)
            .await;
        let uid = amicale_store::entities::users::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        link(&app, marc, uid).await;
        assert_eq!(
            app.login("marc.dupont@example.org", "student passphrase")
                .await
                .status(),
            303
        );
        let res = app
            .post_form(
                "/account/email",
                "/account/email",
                &[("email", "marc@new.example.org"), ("current", "wrong one")],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("value=\"marc@new.example.org\"")
        );
        let res = app
            .post_form(
                "/account/email",
                "/account/email",
                &[
                    ("email", "helene.dupre@example.org"),
                    ("current", "student passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422, "another person's address");
        let res = app
            .post_form(
                "/account/email",
                "/account/email",
                &[
                    ("email", "marc@new.example.org"),
                    ("current", "student passphrase"),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
        let link_path = last_link(&app, "marc@new.example.org", "/account/email/").await;
        // Nothing changed yet.
        let client = crate::support::new_client();
        assert_eq!(
            app.login_with(&client, "marc.dupont@example.org", "student passphrase")
                .await,
            303
        );
        let res = client.get(app.url(&link_path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let other = crate::support::new_client();
        assert_eq!(
            app.login_with(&other, "marc@new.example.org", "student passphrase")
                .await,
            303
        );
        let rec = store::load(&app.state.db, marc).await.unwrap();
        assert_eq!(rec.person.email.as_deref(), Some("marc@new.example.org"));
        assert_eq!(
            client
                .get(app.url(&link_path))
                .send()
                .await
                .unwrap()
                .status(),
            410
        );
        // A forged link is refused.
        let forged = link_path.replace('.', "x.");
        assert_eq!(
            client.get(app.url(&forged)).send().await.unwrap().status(),
            410
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn photos_are_checked_by_content_and_shown_on_cards() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let (helene, _, _, _) = fixture(&app).await;
        let path = format!("/admin/people/{helene}");
        let token = app.csrf(&path).await;
        let send = |name: &'static str, bytes: Vec<u8>| {
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", token.clone())
                .part(
                    "photo",
                    reqwest::multipart::Part::bytes(bytes).file_name(name),
                );
            app.client
                .post(app.url(&format!("{path}/photo")))
                .header("origin", &app.base)
                .multipart(form)
                .send()
        };
        let fake = send("me.png", b"<script>alert(1)</script>".to_vec())
            .await
            .unwrap();
        assert!(
            fake.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("photo-not-image")
        );
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(1024 * 1024 + 10, 0);
        let res = send("big.png", big).await.unwrap();
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("photo-too-large")
        );
        assert_eq!(
            app.get(&format!("/people/{helene}/photo")).await.status(),
            404
        );
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[0u8; 64]);
        let res = send("me.png", png.clone()).await.unwrap();
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("photo-saved")
        );
        let res = app.get(&format!("/people/{helene}/photo")).await;
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.bytes().await.unwrap().to_vec(), png);
        let page = body(&app, "/directory?q=helene+dupre").await;
        assert!(page.contains(&format!("src=\"/people/{helene}/photo\"")));
        // Visitors never get it.
        let visitor = crate::support::new_client();
        let res = visitor
            .get(app.url(&format!("/people/{helene}/photo")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn broad_searches_are_kept_up_to_a_cap_in_name_order() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        fixture(&app).await;
        use amicale::people::search::{Criteria, Scope, collect};
        let c = Criteria {
            q: "dup".into(),
            ..Default::default()
        };
        let found = |cap| collect(&app.state.db, &c, Scope::Crm, cap);
        let all = found(10).await.unwrap();
        assert_eq!((all.matches.len(), all.capped), (2, false));
        // Sorted by name whatever order the database found them in.
        let mut sorted = all.matches.clone();
        sorted.sort();
        assert_eq!(all.matches, sorted);
        assert_eq!(all.page(1, 5).len(), 1);
        let two = found(2).await.unwrap();
        assert_eq!((two.matches.len(), two.capped), (2, false));
        let one = found(1).await.unwrap();
        assert_eq!((one.matches.len(), one.capped), (1, true));

        // A one-letter prefix beside a longer word is checked on the rows
        // the longer word finds: "m" is Marc's and not Hélène's.
        let search = |q: &str| {
            let c = Criteria {
                q: q.into(),
                ..Default::default()
            };
            let app = &app;
            async move { collect(&app.state.db, &c, Scope::Crm, 10).await.unwrap() }
        };
        let ids = |f: amicale::people::search::Found| f.page(0, 10);
        let marc = ids(search("dup m").await);
        assert_eq!(marc.len(), 1);
        assert_eq!(ids(search("M dup").await), marc);
        assert_eq!(ids(search("dup h").await).len(), 1);
        assert_ne!(ids(search("dup h").await), marc);
        assert!(search("dup z").await.matches.is_empty());
        if b == crate::support::Backend::Postgres {
            // Whichever terms PostgreSQL's index serves and whichever are
            // checked on the rows it finds, the same persons match.
            use amicale::people::pg_plan::split_matches;
            use amicale::people::search::{Term, pg_persons_in};
            let terms = [("dup", true), ("m", true)].map(|(w, prefix)| Term {
                word: w.into(),
                prefix,
            });
            for split in [[true, true], [true, false], [false, true]] {
                let found: Vec<i64> = persons::Entity::find()
                    .select_only()
                    .column(persons::Column::Id)
                    .filter(pg_persons_in(split_matches(&terms, &split)))
                    .into_tuple()
                    .all(&app.state.db)
                    .await
                    .unwrap();
                assert_eq!(found, marc, "{split:?}");
            }
        }
        // One letter alone still goes to the index; the directory leaves
        // out the deactivated Hélène Martin.
        assert!(!search("m").await.matches.is_empty());
        assert_eq!(search("helene").await.matches.len(), 2);
        let directory = collect(
            &app.state.db,
            &Criteria {
                q: "helene".into(),
                ..Default::default()
            },
            Scope::Directory,
            10,
        )
        .await
        .unwrap();
        assert_eq!(directory.matches.len(), 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_crm_selection_goes_to_a_saved_list_and_to_a_campaign() {
    use crate::support::{beneficiary, campaign_template, id_in, location};
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let a = beneficiary(&app, "Inès", "Roux", "ines.roux@example.org").await;
        let b2 = beneficiary(&app, "Karim", "Benali", "karim.benali@example.org").await;
        let c = beneficiary(&app, "Sophie", "Laurent", "sophie.laurent@example.org").await;
        let bulk = |ids: Vec<i64>, extra: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let mut form: Vec<(String, String)> = ids
                    .iter()
                    .map(|i| ("id".to_owned(), i.to_string()))
                    .collect();
                form.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
                let token = app.csrf("/admin/people").await;
                form.push(("csrf_token".into(), token));
                app.client
                    .post(app.url("/admin/people/bulk"))
                    .header("origin", &app.base)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let members = |list: i64| {
            let db = app.state.db.clone();
            async move {
                use amicale_store::entities::saved_list_members as m;
                let mut ids: Vec<i64> = m::Entity::find()
                    .filter(m::Column::ListId.eq(list))
                    .all(&db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.person_id)
                    .collect();
                ids.sort();
                ids
            }
        };
        let res = bulk(
            vec![a, b2],
            vec![
                ("action", "add_to_list".into()),
                ("list_name", "Suivi renforcé".into()),
            ],
        )
        .await;
        assert!(
            location(&res).ends_with("done=changed&n=2"),
            "{}",
            location(&res)
        );
        // The list says how many persons the action reached.
        assert!(
            body(&app, &location(&res))
                .await
                .contains("Applied to 2 persons.")
        );
        let list = amicale_store::entities::saved_lists::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (list.name.as_str(), list.dynamic),
            ("Suivi renforcé", false)
        );
        assert_eq!(members(list.id).await, vec![a, b2]);
        // Adding again keeps one row per person; an unknown list changes nothing.
        let res = bulk(
            vec![b2, c],
            vec![
                ("action", "add_to_list".into()),
                ("list", list.id.to_string()),
            ],
        )
        .await;
        assert!(location(&res).ends_with("done=changed&n=2"));
        assert_eq!(members(list.id).await, vec![a, b2, c]);
        let res = bulk(
            vec![a],
            vec![("action", "add_to_list".into()), ("list", "999999".into())],
        )
        .await;
        assert!(location(&res).ends_with("done=bad-list"));

        // "Send a mailing": the selection becomes a list and a campaign to it.
        let res = bulk(vec![a, c], vec![("action", "send_mailing".into())]).await;
        let next = location(&res);
        assert!(
            next.starts_with("/admin/campaigns/new?list=")
                && next.ends_with("recipient_type=beneficiary"),
            "{next}"
        );
        let selection = id_in(&next, "/admin/campaigns/new?list=");
        assert_eq!(members(selection).await, vec![a, c]);
        let t = campaign_template(&app, "Relance").await.to_string();
        let page = app.get(&next).await.text().await.unwrap();
        assert!(page.contains("Mailing selection"), "{page}");
        let res = app
            .post_form(
                &next,
                "/admin/campaigns/new",
                &[
                    ("name", "Relance"),
                    ("recipient_type", "beneficiary"),
                    ("channel", "email"),
                    ("template", &t),
                    ("list", &selection.to_string()),
                ],
            )
            .await;
        let campaign = location(&res);
        let html = body(&app, &campaign).await;
        assert!(
            html.contains("2 matching") && html.contains("2 selected"),
            "{html}"
        );

        // An advisor may change their persons but not send campaigns.
        let (advisor, advisor_id) = staff(&app, "advisor@example.org", "advisor", None).await;
        crate::support::assign_referent(&app, a, advisor_id).await;
        assert!(
            !app.text_as(&advisor, "/admin/people")
                .await
                .contains("send_mailing")
        );
        let a = a.to_string();
        let res = app
            .post_form_as(
                &advisor,
                "/admin/people",
                "/admin/people/bulk",
                &[("id", &a), ("action", "send_mailing")],
            )
            .await;
        assert_eq!(res.status(), 403);
        app.stop().await;
    })
    .await;
}
