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
    let password = stdout(&second)
        .lines()
        .find_map(|l| l.trim().strip_prefix("administrator password:"))
        .map(|p| p.trim().to_owned())
        .expect("password printed");

    let app = TestApp::start(web_only_config(&db.url)).await;
    let persons = amicale::db::entities::persons::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        persons as usize,
        amicale::demo::MEMBERS,
        "filled once, not twice"
    );
    let orgs = amicale::db::entities::organisations::Entity::find()
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
        home.contains(&amicale::demo::MEMBERS.to_string()),
        "home shows the real count"
    );
    app.stop().await;
}
