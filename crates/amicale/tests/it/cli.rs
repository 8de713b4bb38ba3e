//! The command line: help, configuration errors, administrator accounts, demo.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sea_orm::{EntityTrait, PaginatorTrait};

use crate::support::{Backend, TestApp, TestDb, web_only_config};

fn amicale(dir: &std::path::Path, db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicale"));
    cmd.current_dir(dir)
        .env("AMICALE_DATABASE_URL", db_url)
        .env("AMICALE_LOG_LEVEL", "warn");
    cmd
}

fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_explains_every_role_and_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_amicale"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in ["serve", "worker", "migrate", "admin", "demo"] {
        assert!(text.contains(sub), "--help lists {sub}: {text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_amicale"))
        .args(["admin", "create", "--help"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for opt in ["--email", "--password-stdin", "--name", "--locale"] {
        assert!(text.contains(opt), "{opt}: {text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_amicale"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("--demo"));
}

#[test]
fn unknown_configuration_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amicale"))
        .current_dir(dir.path())
        .env("AMICALE_SMTP_ULR", "smtp://x")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("smtp_ulr"), "{err}");
    assert!(
        !dir.path().join("amicale.db").exists(),
        "nothing was created"
    );

    std::fs::write(
        dir.path().join("amicale.toml"),
        "bind = \"127.0.0.1:1\"\ntime_zone = \"Mars/Olympus\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amicale"))
        .current_dir(dir.path())
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus"));
}

#[tokio::test]
async fn admin_create_and_reset_password() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = amicale(dir.path(), &db.url);
    cmd.args([
        "admin",
        "create",
        "--email",
        "Root@Example.org",
        "--password-stdin",
    ]);
    let out = run_with_stdin(cmd, "the first passphrase\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut cmd = amicale(dir.path(), &db.url);
    cmd.args([
        "admin",
        "create",
        "--email",
        "root@example.org",
        "--password-stdin",
    ]);
    let dup = run_with_stdin(cmd, "another passphrase\n");
    assert!(
        !dup.status.success(),
        "a second account with the same e-mail is refused"
    );

    let mut cmd = amicale(dir.path(), &db.url);
    cmd.args([
        "admin",
        "create",
        "--email",
        "weak@example.org",
        "--password-stdin",
    ]);
    let weak = run_with_stdin(cmd, "short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10"));

    let app = TestApp::start(web_only_config(&db.url)).await;
    assert_eq!(
        app.login("root@example.org", "the first passphrase")
            .await
            .status(),
        303
    );
    assert_eq!(
        app.get("/admin").await.status(),
        200,
        "created as administrator"
    );

    let out = amicale(dir.path(), &db.url)
        .args(["admin", "reset-password", "--email", "root@example.org"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let generated = text
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("generated password printed")
        .to_owned();
    assert_eq!(
        app.get("/").await.status(),
        303,
        "sessions closed by the reset"
    );
    let fresh = TestApp::start(web_only_config(&db.url)).await;
    assert_eq!(
        fresh
            .login("root@example.org", "the first passphrase")
            .await
            .status(),
        422
    );
    assert_eq!(
        fresh.login("root@example.org", &generated).await.status(),
        303
    );
    fresh.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn demo_fills_a_network_once_and_prints_a_working_login() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let first = amicale(dir.path(), &db.url).arg("demo").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = amicale(dir.path(), &db.url).arg("demo").output().unwrap();
    assert!(second.status.success());
    let out = stdout(&second);
    // The logins are printed in a frame: "│   administrator password:  … │".
    let framed = |label: &str| {
        out.lines()
            .find_map(|l| {
                l.trim_matches(|c: char| c.is_whitespace() || c == '│')
                    .strip_prefix(label)
                    .map(|v| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("{label} printed: {out}"))
    };
    let password = framed("administrator password:");
    let member_email = framed("member e-mail:");
    let member_password = framed("member password:");

    let app = TestApp::start(web_only_config(&db.url)).await;
    let persons = amicale_store::entities::persons::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        persons as usize,
        amicale::demo::DEFAULT_PEOPLE,
        "filled once, not twice"
    );
    let orgs = amicale_store::entities::organisations::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(orgs.iter().any(|o| o.name == "Airbus"));
    assert_eq!(
        app.login(amicale::demo::ADMIN_EMAIL, &password)
            .await
            .status(),
        303
    );
    let home = app.get("/").await.text().await.unwrap();
    assert!(
        home.contains(&amicale_kernel::Locale::Fr.number(amicale::demo::DEFAULT_PEOPLE as i64)),
        "home shows the real count, grouped as French writes it: {home}"
    );
    // The member's login opens the member's side: the directory, no CRM.
    let member = crate::support::new_client();
    assert_eq!(
        app.login_with(&member, &member_email, &member_password)
            .await,
        303
    );
    let get = |path: &'static str| member.get(app.url(path)).send();
    assert_eq!(get("/directory").await.unwrap().status(), 200);
    // Their home shows their events and how complete their profile is.
    let home = get("/").await.unwrap().text().await.unwrap();
    assert!(
        home.contains("Prochains événements")
            && home.contains("Votre profil")
            && home.contains("\u{a0}%"),
        "{home}"
    );
    assert_eq!(get("/admin/people").await.unwrap().status(), 403);
    // Accompanied persons come with their follow-up.
    use sea_orm::{ColumnTrait, QueryFilter};
    let beneficiary = amicale_store::entities::persons::Entity::find()
        .filter(amicale_store::entities::persons::Column::RecipientType.eq("beneficiary"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("demo beneficiaries");
    let page = app
        .get(&format!("/admin/people/{}/followup", beneficiary.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Activ&#39;Créa 2026") || page.contains("Activ'Créa 2026"),
        "{page}"
    );
    app.stop().await;
}

fn offline(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicale"));
    // Offline commands need no configuration: a broken one must not stop them.
    cmd.env("AMICALE_NOT_A_KEY", "x").args(args);
    match stdin {
        Some(input) => run_with_stdin(cmd, input),
        None => cmd.output().unwrap(),
    }
}

#[test]
fn sms_info_prints_encoding_and_segments() {
    let out = offline(&["sms", "info", "Bonjour, RDV demain 9h"], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"encoding": "gsm7", "characters": 22, "segments": 1})
    );
    let out = offline(&["sms", "info", &"ç".repeat(71)], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"encoding": "ucs2", "characters": 71, "segments": 2})
    );
}

#[test]
fn jungo2_guide_example_converts_and_renders() {
    let guide = "Bonjour ${tab.action_beneficiaire_personne/personne_civilite} ${tab.action_beneficiaire_personne/personne_prenom} ${tab.action_beneficiaire_personne/personne_nom},\nVotre prochain rendez-vous téléphonique est programmé le ${action_date# l j F Y à H:i}\navec ${action_animateur_intervenant/personne_prenom} ${action_animateur_intervenant/personne_nom}.";
    let out = offline(&["template", "convert-jungo2"], Some(guide));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let converted = stdout(&out);
    assert!(converted.contains("participant.first_name"), "{converted}");

    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("rappel.txt");
    std::fs::write(&tpl, &converted).unwrap();
    let data = dir.path().join("data.json");
    std::fs::write(
        &data,
        serde_json::json!({
            "participant": {"civility": "Mme", "first_name": "Hélène", "last_name": "Dupré"},
            "event": {"start": "2026-03-12 14:30", "facilitator_first_name": "Paul", "facilitator_last_name": "Martin"}
        })
        .to_string(),
    )
    .unwrap();
    let (t, d) = (tpl.to_str().unwrap(), data.to_str().unwrap());
    let out = offline(
        &[
            "template", "render", "--file", t, "--data", d, "--kind", "sms",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out),
        "Bonjour Mme Hélène Dupré,\nVotre prochain rendez-vous téléphonique est programmé le jeudi 12 mars 2026 à 14:30\navec Paul Martin."
    );
    let out = offline(
        &[
            "template",
            "check",
            "--file",
            t,
            "--kind",
            "sms",
            "--trigger",
            "event",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = offline(
        &[
            "template",
            "check",
            "--file",
            t,
            "--kind",
            "sms",
            "--trigger",
            "person",
        ],
        None,
    );
    assert!(
        !out.status.success(),
        "event fields refused in a person-triggered template"
    );
}

#[test]
fn template_errors_give_line_and_column_and_fail() {
    let out = offline(
        &["template", "convert-jungo2"],
        Some("Bonjour\n  ${personne/personne_pointure}"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("personne/personne_pointure") && err.contains("line 2"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let tpl = dir.path().join("t.html");
    std::fs::write(&tpl, "<p>Bonjour</p>\n<p>{{ person.frist_name }}</p>").unwrap();
    let data = dir.path().join("d.json");
    std::fs::write(&data, "{\"person\": {\"first_name\": \"Léa\"}}").unwrap();
    let (t, d) = (tpl.to_str().unwrap(), data.to_str().unwrap());
    let out = offline(&["template", "check", "--file", t], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2") && err.contains("frist_name"),
        "{err}"
    );
    let out = offline(&["template", "render", "--file", t, "--data", d], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("frist_name"));
}
