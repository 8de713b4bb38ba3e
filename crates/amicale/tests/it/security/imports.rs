//! Security tests: imports and exports of persons (issue 20, items 4, 7, 11
//! and 20): spreadsheet bombs, the People scope, formula injection, and the
//! previews kept in the jobs table.

use crate::support::{admin_app, beneficiary, on_each_backend};

/// Item 11: a person named like a formula is exported as text, so the
/// reader's spreadsheet does not run it; the neutralised file imports back
/// to the same values.
#[tokio::test]
async fn the_people_export_neutralises_formulas() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let evil = "=HYPERLINK(\"http://evil.example/\",\"x\")";
        beneficiary(&app, evil, "@Dupont", "formula@example.org").await;
        let res = app.get("/admin/people/export?format=csv").await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let mut seen = false;
        for rec in r.records() {
            let rec = rec.unwrap();
            for cell in rec.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a cell would run as a formula: {cell:?} in {text}"
                );
            }
            seen |=
                rec.iter().any(|c| c == format!("'{evil}")) && rec.iter().any(|c| c == "'@Dupont");
        }
        assert!(seen, "the names are kept, quoted: {text}");
        app.stop().await;
    })
    .await;
}

use std::io::Write;

use amicale_kernel::permissions::{Level, Matrix, Module, Scope};
use amicale_store::entities::{jobs, permission_profiles, persons};
use reqwest::multipart::{Form, Part};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::support::{TestApp, TestDb, assign_referent, extract_csrf, test_config};

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOC_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// An XLSX file written part by part, as an attacker would: one sheet
/// (`sheet`), and the shared strings when given. Parts are deflated.
fn xlsx(sheet: &[u8], shared_strings: Option<&[u8]>) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(sheet.len() > u32::MAX as usize / 2);
    let mut part = |name: &str, body: &[u8]| {
        z.start_file(name, opts).unwrap();
        z.write_all(body).unwrap();
    };
    part(
        "[Content_Types].xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
</Types>",
    );
    part(
        "_rels/.rels",
        format!(
            "<Relationships xmlns=\"{REL_NS}\"><Relationship Id=\"rId1\" \
             Type=\"{DOC_REL}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
        )
        .as_bytes(),
    );
    part(
        "xl/workbook.xml",
        format!(
            "<workbook xmlns=\"{MAIN_NS}\" xmlns:r=\"{DOC_REL}\"><sheets>\
             <sheet name=\"P\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
        )
        .as_bytes(),
    );
    part(
        "xl/_rels/workbook.xml.rels",
        format!(
            "<Relationships xmlns=\"{REL_NS}\"><Relationship Id=\"rId1\" \
             Type=\"{DOC_REL}/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"
        )
        .as_bytes(),
    );
    part("xl/worksheets/sheet1.xml", sheet);
    if let Some(s) = shared_strings {
        part("xl/sharedStrings.xml", s);
    }
    z.finish().unwrap().into_inner()
}

/// A sheet: `head` goes before the cells (a `<dimension>`, deep XML…).
fn sheet(head: &str, rows: &str) -> Vec<u8> {
    format!("<worksheet xmlns=\"{MAIN_NS}\">{head}<sheetData>{rows}</sheetData></worksheet>")
        .into_bytes()
}

/// An inline-string cell.
fn c(at: &str, text: &str) -> String {
    format!("<c r=\"{at}\" t=\"inlineStr\"><is><t>{text}</t></is></c>")
}

/// The header and one valid person, then whatever `more` adds.
fn rows(more: &str) -> String {
    format!(
        "<row r=\"1\">{}{}{}</row><row r=\"2\">{}{}{}</row>{more}",
        c("A1", "first_name"),
        c("B1", "last_name"),
        c("C1", "email"),
        c("A2", "Anne"),
        c("B2", "Petit"),
        c("C2", "anne@example.org"),
    )
}

/// 1.6 KB that named 16,384 × 1,048,576 cells: the first and the last.
fn sparse_corners(with_dimension: bool) -> Vec<u8> {
    let dim = if with_dimension {
        "<dimension ref=\"A1:XFD1048576\"/>"
    } else {
        ""
    };
    xlsx(
        &sheet(
            dim,
            &rows("<row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row>"),
        ),
        None,
    )
}

/// Posts `file` to the import preview as `client`; the status and page.
async fn preview(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    file: Vec<u8>,
    mode: &str,
) -> (u16, String) {
    let page = app.text_as(client, "/admin/people/import").await;
    let token = extract_csrf(&page).expect("CSRF token on the import page");
    let form = Form::new()
        .text("csrf_token", token)
        .text("mode", mode.to_owned())
        .part("file", Part::bytes(file).file_name(name.to_owned()));
    let res = client
        .post(app.url("/admin/people/import"))
        .header("origin", &app.base)
        .multipart(form)
        .send()
        .await
        .expect("POST the import");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The preview of `file`, with `/healthz` polled while it is parsed: the
/// server keeps answering.
async fn preview_while_healthy(app: &TestApp, name: &str, file: Vec<u8>) -> (u16, String) {
    let done = std::sync::atomic::AtomicBool::new(false);
    let upload = async {
        let r = preview(app, &app.client, name, file, "all").await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    let health = async {
        let mut answers = 0;
        loop {
            let res = crate::support::new_client()
                .get(app.url("/healthz"))
                .timeout(std::time::Duration::from_secs(5))
                .send()
                .await
                .expect("/healthz answers");
            assert_eq!(res.status(), 200, "/healthz");
            answers += 1;
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return answers;
            }
        }
    };
    let (r, answers) = tokio::join!(upload, health);
    assert!(answers >= 1);
    r
}

/// Item 4: spreadsheets that name or promise more than the host can hold
/// are refused with a message saying which limit, before anything that
/// size is allocated; a deep but small one is read.
#[tokio::test]
async fn xlsx_bombs_are_refused_with_a_clear_message() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = crate::support::admin_app(b).await;

        // A crafted file within the limits reads (the reader is not just
        // refusing everything).
        let (status, page) = preview_while_healthy(&app, "ok.xlsx", xlsx(&sheet("", &rows("")), None)).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<strong>1</strong> to create"), "{page}");

        for with_dimension in [true, false] {
            let bomb = sparse_corners(with_dimension);
            assert!(bomb.len() < 4096, "a small file: {}", bomb.len());
            let (status, page) = preview_while_healthy(&app, "bomb.xlsx", bomb).await;
            assert_eq!(status, 422, "{page}");
            assert!(page.contains("more than 100000 rows"), "{page}");
        }

        // A cell far to the right only.
        let wide = xlsx(&sheet("", &rows("<row r=\"3\"><c r=\"XFD3\"><v>1</v></c></row>")), None);
        let (status, page) = preview_while_healthy(&app, "wide.xlsx", wide).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("more than 200 columns"), "{page}");

        // A shared-string table promising four billion strings, which the
        // reader would reserve room for up front.
        let sst = format!(
            "<sst xmlns=\"{MAIN_NS}\" count=\"4000000000\" \n uniqueCount = '4000000000'><si><t>x</t></si></sst>"
        );
        let file = xlsx(&sheet("", &rows("")), Some(sst.as_bytes()));
        let (status, page) = preview_while_healthy(&app, "strings.xlsx", file).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("more than 2000000 cells"), "{page}");

        // Deep XML around the cells: small, read without trouble.
        let depth = 100_000;
        let deep = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
        let (status, page) = preview_while_healthy(
            &app,
            "deep.xlsx",
            xlsx(&sheet(&format!("<sheetPr>{deep}</sheetPr>"), &rows("")), None),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<strong>1</strong> to create"), "{page}");

        // A CSV of separators: one record of two million fields.
        let (status, page) = preview_while_healthy(&app, "commas.csv", vec![b','; 2_000_000]).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("more than 200 columns"), "{page}");
        app.stop().await;
    })
    .await;
}

/// Item 4: a zip part that uncompresses beyond the byte budget (which the
/// zip's declared sizes need not tell) is refused; the budget is
/// configuration.
#[tokio::test]
async fn a_zip_bomb_is_refused_within_the_byte_budget() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = TestApp::start(amicale_delivery::config::Config {
            import_max_unzipped_bytes: 1024 * 1024,
            ..test_config(&db.url, None)
        })
        .await;
        app.create_user(crate::support::ADMIN, crate::support::ADMIN_PASSWORD, true)
            .await;
        assert_eq!(
            app.login(crate::support::ADMIN, crate::support::ADMIN_PASSWORD)
                .await
                .status(),
            303
        );
        // Two megabytes of spaces before the cells: a few kilobytes zipped.
        let padding = " ".repeat(2 * 1024 * 1024);
        let bomb = xlsx(&sheet(&padding, &rows("")), None);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let (status, page) = preview_while_healthy(&app, "zip.xlsx", bomb).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("exceeds 1 MB"), "{page}");
        app.stop().await;
    })
    .await;
}

/// Item 4, under a memory limit: the command-line import of the 1.6 KB
/// sparse-corner file, in a process allowed 1.5 GB of address space,
/// ends with the clear error instead of being killed.
#[tokio::test]
async fn the_cli_refuses_the_bomb_under_a_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bomb.xlsx");
    std::fs::write(&file, sparse_corners(false)).unwrap();
    let db = dir.path().join("amicale.db");
    let out = std::process::Command::new("prlimit")
        .arg(format!("--as={}", 1536u64 * 1024 * 1024))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_amicale"))
        .args(["import", "people"])
        .arg(&file)
        .env("AMICALE_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("AMICALE_LOG_LEVEL", "warn")
        .output()
        .expect("prlimit (util-linux) runs the CLI");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some(),
        "killed by a signal (out of memory?): {:?} {stderr}",
        out.status
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("more than 100000 rows"), "{stderr}");
}

/// Gives the advisor profile the right to create persons (and so to
/// import), keeping its People scope "assigned to me".
async fn advisor_who_imports(app: &TestApp) -> (reqwest::Client, i64) {
    let profile = permission_profiles::Entity::find()
        .filter(permission_profiles::Column::Name.eq("advisor"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut m: Matrix = serde_json::from_str(&profile.matrix).unwrap();
    let mut right = m.get(Module::People);
    right.level = Level::Create;
    right.scope = Scope::Assigned;
    m.0.insert(Module::People, right);
    permission_profiles::Entity::update(permission_profiles::ActiveModel {
        id: Set(profile.id),
        matrix: Set(serde_json::to_string(&m).unwrap()),
        ..Default::default()
    })
    .exec(&app.state.db)
    .await
    .unwrap();
    crate::support::staff(app, "advisor@example.org", "advisor", None).await
}

/// The id of the confirm button's job on a preview page.
fn job_of(page: &str) -> Option<i64> {
    page.split("action=\"/admin/people/import/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
}

/// Item 7: a user whose People scope is "assigned to me" imports a file
/// naming a person they cannot see: that row is rejected with a neutral
/// error (nothing about the person, nor that the address is known), and
/// the person is left as they were; their own persons are updated.
#[tokio::test]
async fn the_import_keeps_to_the_people_scope() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = crate::support::admin_app(b).await;
        let hidden = beneficiary(&app, "Hélène", "Secrète", "helene@example.org").await;
        let mine = beneficiary(&app, "Marc", "Visible", "marc@example.org").await;
        let (advisor, advisor_id) = advisor_who_imports(&app).await;
        assign_referent(&app, mine, advisor_id).await;
        let before = persons::Entity::find_by_id(hidden)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();

        let file = "email,first_name,last_name,city\n\
                    helene@example.org,Hacked,Name,Nowhere\n\
                    marc@example.org,Marc,Visible,Lyon\n"
            .as_bytes()
            .to_vec();
        let (status, page) = preview(&app, &advisor, "p.csv", file.clone(), "valid").await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("<strong>1</strong> to update"),
            "only Marc: {page}"
        );
        assert!(
            page.contains("<td>2</td>"),
            "Hélène's row is rejected: {page}"
        );
        assert!(
            page.contains("E-mail: this value cannot be imported"),
            "the neutral error: {page}"
        );
        for leak in ["Secrète", "exists", "belongs", "another person"] {
            assert!(!page.contains(leak), "{leak} in {page}");
        }

        // The confirmed import changes Marc only.
        let job = job_of(&page).expect("confirm button");
        let res = app
            .post_form_as(
                &advisor,
                "/admin/people/import",
                &format!("/admin/people/import/{job}"),
                &[],
            )
            .await;
        assert_eq!(res.status(), 303);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let result = loop {
            let j = jobs::Entity::find_by_id(job)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
            if j.state == "done" || j.state == "failed" {
                break j;
            }
            assert!(std::time::Instant::now() < deadline, "job stuck: {j:?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(result.state, "done", "{result:?}");
        let after = persons::Entity::find_by_id(hidden)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after, before, "the out-of-scope person is unchanged");
        let marc = persons::Entity::find_by_id(mine)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(marc.city, "Lyon");

        // An administrator (scope all) still updates Hélène (Marc is now
        // unchanged): the refusal is the scope, not the file.
        let (_, page) = preview(&app, &app.client, "p.csv", file, "valid").await;
        assert!(
            page.contains("<strong>1</strong> to update")
                && page.contains("<strong>0</strong> with errors"),
            "{page}"
        );
        app.stop().await;
    })
    .await;
}

/// Item 20: an unconfirmed preview holds the whole file; one older than a
/// day is deleted when the next preview is made.
#[tokio::test]
async fn stale_import_previews_are_purged() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = crate::support::admin_app(b).await;
        let file = b"email,first_name,last_name\nanne@example.org,Anne,Petit\n".to_vec();
        let (_, page) = preview(&app, &app.client, "a.csv", file.clone(), "all").await;
        let old = job_of(&page).expect("a preview job");
        let (_, page) = preview(&app, &app.client, "a.csv", file.clone(), "all").await;
        let recent = job_of(&page).expect("a preview job");
        jobs::Entity::update_many()
            .col_expr(
                jobs::Column::CreatedAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::hours(25)),
            )
            .filter(jobs::Column::Id.eq(old))
            .exec(&app.state.db)
            .await
            .unwrap();
        let (_, page) = preview(&app, &app.client, "a.csv", file, "all").await;
        let newest = job_of(&page).expect("a preview job");
        let left: Vec<i64> = jobs::Entity::find()
            .filter(jobs::Column::Kind.eq("people-import"))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert!(!left.contains(&old), "the stale preview is gone: {left:?}");
        assert!(left.contains(&recent) && left.contains(&newest), "{left:?}");
        app.stop().await;
    })
    .await;
}
