//! The outbox: SMTP delivery, the mail catcher, and nothing lost on a crash.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use amicale_store::entities::outbox as row;

use crate::support::{
    Backend, SmtpSink, TestApp, TestDb, free_port, on_each_backend, test_config, wait_for_state,
};

const EMAIL: &str = "bob@example.org";
const PASSWORD: &str = "bob's passphrase";

async fn only_message(db: &sea_orm::DatabaseConnection) -> row::Model {
    let all = row::Entity::find().all(db).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

#[tokio::test]
async fn without_smtp_the_mail_catcher_keeps_and_shows_messages() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = TestApp::start(test_config(&db.url, None)).await;
        app.create_user(EMAIL, PASSWORD, true).await;
        app.post_form("/password/forgot", "/password/forgot", &[("email", EMAIL)])
            .await;
        let msg = only_message(&app.state.db).await;
        let msg = wait_for_state(&app.state.db, msg.id, "caught", 20).await;
        assert!(msg.body_text.contains("/password/reset/"));

        app.login(EMAIL, PASSWORD).await;
        let list = app.get("/admin/outbox").await.text().await.unwrap();
        assert!(list.contains("mail catcher"), "{list}");
        assert!(list.contains("Reset your password"));
        assert!(list.contains("Caught"));
        let detail = app
            .get(&format!("/admin/outbox/{}", msg.id))
            .await
            .text()
            .await
            .unwrap();
        assert!(detail.contains(EMAIL));
        assert!(detail.contains("/password/reset/"), "text part shown");
        assert!(
            detail.contains(&format!("/admin/outbox/{}/body", msg.id)),
            "HTML part framed"
        );
        let body = app.get(&format!("/admin/outbox/{}/body", msg.id)).await;
        let csp = body.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(body.text().await.unwrap().contains("<a href="));
        assert_eq!(app.get("/admin/outbox/999999").await.status(), 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn queued_mail_waits_for_smtp_across_a_restart() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let port = free_port();
        let smtp = format!("smtp://127.0.0.1:{port}");
        let app = TestApp::start(test_config(&db.url, Some(smtp.clone()))).await;
        app.create_user(EMAIL, PASSWORD, false).await;
        app.post_form("/password/forgot", "/password/forgot", &[("email", EMAIL)])
            .await;
        let msg = only_message(&app.state.db).await;
        let deferred = wait_for_state(&app.state.db, msg.id, "deferred", 30).await;
        assert!(
            deferred.last_answer.is_some(),
            "the connection error is recorded"
        );
        app.stop().await;

        let sink = SmtpSink::start_on(port).await;
        let again = TestApp::start(test_config(&db.url, Some(smtp))).await;
        let got = sink.wait_for(1, 30).await;
        let sent = wait_for_state(&again.state.db, msg.id, "sent", 30).await;
        assert!(sent.attempts >= 2);
        assert!(sent.last_answer.unwrap().starts_with("250"));
        assert_eq!(got[0].to, vec![EMAIL.to_owned()]);
        again.stop().await;
        assert_eq!(sink.received().len(), 1, "delivered exactly once");
    })
    .await;
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn amicale(dir: &std::path::Path, env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amicale"));
    cmd.current_dir(dir)
        .env("AMICALE_LOG_LEVEL", "warn")
        .env("AMICALE_OUTBOX_RETRY_BASE_SECS", "1")
        .env("AMICALE_OUTBOX_RETRY_MAX_SECS", "2")
        .env("AMICALE_OUTBOX_POLL_SECS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

async fn start_server(dir: &std::path::Path, env: &[(&str, String)]) -> Server {
    let port = free_port();
    // Owned by `Server` at once: its Drop kills and reaps the process on any path.
    let server = Server {
        child: amicale(dir, env)
            .env("AMICALE_BIND", format!("127.0.0.1:{port}"))
            .arg("serve")
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts"),
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = crate::support::new_client();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status() == 200
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server never answered /healthz");
}

/// The real binary, killed with SIGKILL while a reset e-mail waits for an SMTP
/// server that is down: after a restart with SMTP back, it arrives once.
#[tokio::test]
async fn kill_9_with_smtp_down_loses_nothing() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let env = vec![
            ("AMICALE_DATABASE_URL", db.url.clone()),
            ("AMICALE_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        ];
        let mut create = amicale(dir.path(), &env)
            .args(["admin", "create", "--email", EMAIL, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        create
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(create.wait().unwrap().success());

        let mut server = start_server(dir.path(), &env).await;
        let health: serde_json::Value = crate::support::new_client()
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let expected = if b == Backend::Postgres {
            "postgres"
        } else {
            "sqlite"
        };
        assert_eq!(health["database"], expected);

        let client = crate::support::new_client();
        let page = client
            .get(format!("{}/password/forgot", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = crate::support::extract_csrf(&page).unwrap();
        let res = client
            .post(format!("{}/password/forgot", server.base))
            .form(&[("email", EMAIL), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        let conn = amicale_store::connect(&db.url).await.unwrap();
        let msg = row::Entity::find()
            .filter(row::Column::Recipient.eq(EMAIL))
            .one(&conn)
            .await
            .unwrap()
            .expect("the reset e-mail is in the outbox");
        wait_for_state(&conn, msg.id, "deferred", 30).await;
        server.child.kill().unwrap(); // SIGKILL: no shutdown code runs
        server.child.wait().unwrap();

        let sink = SmtpSink::start_on(port).await;
        let server = start_server(dir.path(), &env).await;
        sink.wait_for(1, 60).await;
        let sent = wait_for_state(&conn, msg.id, "sent", 30).await;
        assert_eq!(sent.recipient, EMAIL);
        drop(server);
        assert_eq!(sink.received().len(), 1, "delivered exactly once");
        conn.close().await.ok();
    })
    .await;
}
