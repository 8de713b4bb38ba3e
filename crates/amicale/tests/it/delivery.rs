//! The delivery engine: SMTP answers, suppression, pause and resume, several
//! nodes on one outbox, `amicale send`, live progress.

use std::collections::HashMap;

use amicale::comms::templates::store::{self as tstore, TemplateInput};
use amicale_delivery::outbox::{NewMail, Origin, enqueue};
use amicale_delivery::sends::{self, Recipient};
use amicale_delivery::templates::model::{RecipientType, SendingMode, TemplateKind, Variant};
use amicale_store::entities::{outbox, suppressions};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{
    Backend, SmtpSink, TestApp, TestDb, free_port, on_each_backend, test_config, wait_for_state,
};

async fn system_mail(app: &TestApp, to: &str) -> i64 {
    let id = enqueue(
        &app.state.db,
        NewMail {
            recipient: to.into(),
            subject: "Hello".into(),
            text: "Hello".into(),
            html: None,
            origin: Origin::System,
            origin_id: None,
        },
        "amicale.test",
    )
    .await
    .unwrap();
    app.state.outbox_wakeup.notify_one();
    id
}

#[tokio::test]
async fn smtp_answers_decide_each_messages_fate() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let port = free_port();
        let sink = SmtpSink::start_with(
            port,
            vec![
                ("temp@", "450 4.2.1 mailbox busy, try later"),
                ("gone@", "550 5.1.1 <gone@example.org>: user unknown"),
                ("policy@", "554 5.7.1 rejected by policy"),
                ("close@", "421 4.3.2 service shutting down"),
            ],
        )
        .await;
        let app = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
        let ok = system_mail(&app, "ok@example.org").await;
        let temp = system_mail(&app, "temp@example.org").await;
        let gone = system_mail(&app, "gone@example.org").await;
        let policy = system_mail(&app, "policy@example.org").await;
        let close = system_mail(&app, "close@example.org").await;
        let after = system_mail(&app, "after@example.org").await;

        wait_for_state(&app.state.db, ok, "sent", 30).await;
        wait_for_state(&app.state.db, after, "sent", 30).await;
        let t = wait_for_state(&app.state.db, temp, "deferred", 30).await;
        assert!(t.last_answer.unwrap().contains("450"));
        let c = wait_for_state(&app.state.db, close, "deferred", 30).await;
        assert!(c.last_answer.unwrap().contains("421"));
        let g = wait_for_state(&app.state.db, gone, "failed", 30).await;
        assert!(g.last_answer.unwrap().contains("5.1.1"));
        let p = wait_for_state(&app.state.db, policy, "failed", 30).await;
        assert!(p.last_answer.unwrap().contains("5.7.1"));

        // Only the 5.1.1 address is suppressed; later mail to it is not attempted.
        let list = suppressions::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(
            list.iter().map(|s| s.address.as_str()).collect::<Vec<_>>(),
            vec!["gone@example.org"]
        );
        let again = system_mail(&app, "Gone@Example.org").await;
        let s = wait_for_state(&app.state.db, again, "suppressed", 30).await;
        assert!(s.last_answer.unwrap().contains("hard_bounce"));
        let received: Vec<String> = sink.received().iter().flat_map(|r| r.to.clone()).collect();
        assert_eq!(received.iter().filter(|r| r.contains("ok@")).count(), 1);
        assert!(!received.iter().any(|r| r.contains("gone@")));
        app.stop().await;
    })
    .await;
}

async fn template(app: &TestApp) -> i64 {
    let body = "<p>Bonjour {{ person.first_name }}</p>";
    let input = TemplateInput {
        name: "Envoi".into(),
        active: true,
        recipient_types: vec![RecipientType::Member],
        modes: vec![SendingMode::Campaign],
        fr: Variant {
            subject: "Pour {{ person.first_name }}".into(),
            body: body.into(),
            text: "Bonjour {{ person.first_name }}".into(),
        },
        en: None,
        text_edited: true,
    };
    let id = tstore::create(&app.state.db, TemplateKind::Email, &input, None)
        .await
        .unwrap();
    tstore::get(&app.state.db, id).await.unwrap().1.id
}

fn recipients(n: usize) -> Vec<Recipient> {
    (0..n)
        .map(|i| Recipient {
            address: format!("r{i}@example.org"),
            merge_data: serde_json::json!({"person": {"first_name": format!("N{i}")}}),
            locale: "fr",
            person_id: None,
            event_id: None,
            segments: None,
        })
        .collect()
}

/// Waits until every message of the send has its outcome recorded (the sink
/// sees a message before the worker records it).
async fn finished(app: &TestApp, send: i64, secs: u64) -> sends::Progress {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let p = sends::progress(&app.state.db, send, Utc::now())
            .await
            .unwrap();
        if p.finished {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "send {send} never finished: {p:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn assert_each_once(sink: &SmtpSink, n: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in sink.received() {
        for to in r.to {
            *seen.entry(to).or_default() += 1;
        }
    }
    let dup: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dup.is_empty(),
        "{} duplicates, e.g. {:?}",
        dup.len(),
        dup.first()
    );
    assert_eq!(seen.len(), n, "every recipient received it");
}

#[tokio::test]
async fn a_paused_send_resumes_where_it_stopped() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let sink = SmtpSink::start().await;
        let app = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
        let version = template(&app).await;
        let n = 300;
        let send = sends::create(
            &app.state.db,
            "Pause",
            Origin::Batch,
            None,
            version,
            recipients(n),
            None,
            "x.test",
        )
        .await
        .unwrap();
        assert!(sends::pause(&app.state.db, send).await.unwrap());
        // What was taken before the pause finishes; then nothing moves.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while sends::progress(&app.state.db, send, Utc::now())
            .await
            .unwrap()
            .sending
            > 0
        {
            assert!(std::time::Instant::now() < deadline);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let probe = amicale_delivery::outbox::claim(
            &app.state.db,
            amicale_delivery::outbox::Channel::Email,
            "probe",
            Utc::now(),
            chrono::Duration::seconds(60),
            10_000,
        )
        .await
        .unwrap();
        assert!(
            probe.is_empty(),
            "a paused send's messages cannot be claimed"
        );
        let before = sends::progress(&app.state.db, send, Utc::now())
            .await
            .unwrap();
        assert!(
            before.queued > 0,
            "the pause came before the end: {before:?}"
        );

        assert!(sends::resume(&app.state.db, send).await.unwrap());
        app.state.outbox_wakeup.notify_one();
        sink.wait_for(n, 120).await;
        let done = finished(&app, send, 60).await;
        assert_eq!(done.sent, n as i64);
        assert_each_once(&sink, n);
        let first = sink
            .received()
            .into_iter()
            .find(|r| r.to == vec!["r7@example.org".to_owned()])
            .unwrap();
        assert_eq!(
            first.subject(),
            "Pour N7",
            "rendered at delivery from the merge data"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn stop_cancels_what_waits() {
    let db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::start(crate::support::web_only_config(&db.url)).await;
    let version = template(&app).await;
    let send = sends::create(
        &app.state.db,
        "Stop",
        Origin::Batch,
        None,
        version,
        recipients(50),
        None,
        "x.test",
    )
    .await
    .unwrap();
    assert_eq!(sends::stop(&app.state.db, send).await.unwrap(), 50);
    let p = sends::progress(&app.state.db, send, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (p.cancelled, p.queued, p.state.as_str()),
        (50, 0, "stopped")
    );
    assert!(
        !sends::resume(&app.state.db, send).await.unwrap(),
        "a stopped send stays stopped"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_outbox_without_duplicates() {
    on_each_backend(|b| async move {
        // PostgreSQL is the multi-node backend: the full 20,000 there.
        let n = if b == Backend::Postgres {
            20_000
        } else {
            2_000
        };
        let db = TestDb::new(b).await;
        let sink = SmtpSink::start().await;
        let a = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
        let b_node = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
        let version = template(&a).await;
        let send = sends::create(
            &a.state.db,
            "Deux nœuds",
            Origin::Batch,
            None,
            version,
            recipients(n),
            None,
            "x.test",
        )
        .await
        .unwrap();
        a.state.outbox_wakeup.notify_one();
        b_node.state.outbox_wakeup.notify_one();
        sink.wait_for(n, 600).await;
        finished(&a, send, 60).await;
        assert_each_once(&sink, n);
        let sent = outbox::Entity::find()
            .filter(outbox::Column::SendId.eq(send))
            .filter(outbox::Column::State.eq("sent"))
            .count(&a.state.db)
            .await
            .unwrap();
        assert_eq!(sent as usize, n);
        b_node.stop().await;
        a.stop().await;
    })
    .await;
}

#[tokio::test]
async fn send_command_queues_a_csv_and_progress_streams() {
    let db = TestDb::new(Backend::Sqlite).await;
    let sink = SmtpSink::start().await;
    let app = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
    app.create_user("admin@example.org", "admin passphrase", true)
        .await;
    let version = template(&app).await;
    let template_id = amicale_store::entities::template_versions::Entity::find_by_id(version)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .template_id;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("list.csv");
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_amicale"))
            .current_dir(dir.path())
            .env("AMICALE_DATABASE_URL", &db.url)
            .env("AMICALE_LOG_LEVEL", "warn")
            .env("AMICALE_WORKERS", "0")
            .args([
                "send",
                "--template",
                &template_id.to_string(),
                "--to",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    std::fs::write(
        &csv,
        "email;first_name\nnot-an-address;X\nb@example.org;Bea\n",
    )
    .unwrap();
    let refused = run(&csv);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("line 2"));
    assert_eq!(
        outbox::Entity::find().count(&app.state.db).await.unwrap(),
        0,
        "nothing queued"
    );

    std::fs::write(&csv, "email;first_name;city\na@example.org;Ana;Lyon\nb@example.org;Bea;Lille\nc@example.org;Cyr;Nice\n").unwrap();
    let out = run(&csv);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("3 recipients queued"), "{text}");
    app.state.outbox_wakeup.notify_one();
    sink.wait_for(3, 30).await;
    assert_each_once(&sink, 3);
    let send_id: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("send "))
        .expect("the send's id")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    finished(&app, send_id, 30).await;
    app.login("admin@example.org", "admin passphrase").await;
    let page = app
        .get(&format!("/admin/sends/{send_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Envoi"));
    // All three delivered: the send reads as done, with nothing to pause
    // (its switch is still "running"), and so does the list of sends.
    assert!(
        page.contains("Finished") && !page.contains("Running"),
        "{page}"
    );
    assert!(
        !page.contains("/pause") && !page.contains("/stop"),
        "{page}"
    );
    let list = app.get("/admin/sends").await.text().await.unwrap();
    assert!(
        list.contains("Finished") && !list.contains("Running"),
        "{list}"
    );
    let events = app.get(&format!("/admin/sends/{send_id}/events")).await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let body = events.text().await.unwrap();
    assert!(body.contains("event: progress"), "{body}");
    assert!(
        body.contains("\"finished\":true"),
        "the stream ends when the send is done"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_smtp_server_that_never_answers_defers() {
    // A listener that accepts and says nothing: the timeout, not a hang.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let db = TestDb::new(Backend::Sqlite).await;
    let mut config = test_config(&db.url, Some(format!("smtp://127.0.0.1:{port}")));
    config.smtp_timeout_secs = 1;
    let app = TestApp::start(config).await;
    let id = system_mail(&app, "x@example.org").await;
    let m = wait_for_state(&app.state.db, id, "deferred", 30).await;
    assert!(m.last_answer.is_some());
    app.stop().await;
}

#[tokio::test]
async fn outgoing_mail_is_dkim_signed_with_a_generated_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("dkim.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amicale"))
        .args([
            "dkim",
            "generate",
            "--algorithm",
            "ed25519",
            "--domain",
            "example.org",
            "--selector",
            "sel1",
            "--out",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        record.starts_with("sel1._domainkey.example.org IN TXT \"v=DKIM1; k=ed25519; p="),
        "{record}"
    );

    let db = TestDb::new(Backend::Sqlite).await;
    let sink = SmtpSink::start().await;
    let mut config = test_config(&db.url, Some(sink.url()));
    config.dkim_domain = Some("example.org".into());
    config.dkim_selector = Some("sel1".into());
    config.dkim_key_file = Some(key);
    let app = TestApp::start(config).await;
    system_mail(&app, "signed@example.org").await;
    let got = sink.wait_for(1, 30).await;
    let data = &got[0].data;
    assert!(
        data.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
        "{}",
        &data[..200.min(data.len())]
    );
    assert!(data.contains("d=example.org") && data.contains("s=sel1"));
    app.stop().await;
}

fn dsn_for(message_id: &str, address: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: bounces@amicale.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; {address}\r\nOriginal-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown\r\n\r\n\
--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nSubject: Hello\r\n\r\n--B--\r\n"
    )
}

#[tokio::test]
async fn bounces_from_a_webhook_suppress_and_mark_the_message() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let sink = SmtpSink::start().await;
        let mut config = test_config(&db.url, Some(sink.url()));
        config.bounce_webhook_token = Some("hook-token-123".into());
        let app = TestApp::start(config).await;
        let id = system_mail(&app, "later-gone@example.org").await;
        let sent = wait_for_state(&app.state.db, id, "sent", 30).await;
        let dsn = dsn_for(&sent.message_id, "later-gone@example.org");

        let post = |token: &'static str, body: String| {
            crate::support::new_client()
                .post(app.url("/hooks/bounces"))
                .header("authorization", format!("Bearer {token}"))
                .body(body)
                .send()
        };
        assert_eq!(post("wrong", dsn.clone()).await.unwrap().status(), 401);
        assert_eq!(
            post("hook-token-123", "hello".into())
                .await
                .unwrap()
                .status(),
            422
        );
        let res = post("hook-token-123", dsn).await.unwrap();
        assert_eq!(res.status(), 200);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (v["suppressed"].as_u64(), v["matched"].as_u64()),
            (Some(1), Some(1)),
            "{v}"
        );
        assert_hard_bounced(&app, id).await;
        let again = system_mail(&app, "later-gone@example.org").await;
        wait_for_state(&app.state.db, again, "suppressed", 30).await;
        app.stop().await;
    })
    .await;
    // Without a configured token the endpoint does not exist.
    let db = TestDb::new(Backend::Sqlite).await;
    let app = TestApp::start(crate::support::web_only_config(&db.url)).await;
    let res = crate::support::new_client()
        .post(app.url("/hooks/bounces"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn bounces_from_the_imap_mailbox_suppress_once_and_leave_other_mail() {
    on_each_backend(|b| {
        async move {
            // A fresh mailbox per backend.
            let Some(imap) = crate::support::imap::ImapServer::start().await else {
                assert!(
                    !crate::support::strict(),
                    "dovecot (Debian dovecot-imapd) is missing and AMICALE_TEST_STRICT=1"
                );
                eprintln!("dovecot not found: bounce mailbox test skipped");
                return;
            };
            let db = TestDb::new(b).await;
            let sink = SmtpSink::start().await;
            // Polled by the test itself: the node's own poller (started when
            // `bounce_imap_url` is set) would race it.
            let app = TestApp::start(test_config(&db.url, Some(sink.url()))).await;
            let mailbox: amicale_delivery::bounce_mailbox::MailboxUrl = imap.url().parse().unwrap();
            let id = system_mail(&app, "gone-later@example.org").await;
            let sent = wait_for_state(&app.state.db, id, "sent", 30).await;

            // The mailbox holds a bounce and a human's reply.
            let mut s = imap.session().await;
            s.append(
                "INBOX",
                None,
                None,
                dsn_for(&sent.message_id, "gone-later@example.org"),
            )
            .await
            .unwrap();
            s.append(
                "INBOX",
                None,
                None,
                "From: someone@example.org\r\nTo: bounces@amicale.test\r\nSubject: Re: hello\r\n\r\nThanks!\r\n",
            )
            .await
            .unwrap();

            let polled = amicale_delivery::bounce_mailbox::poll(&app.state, &mailbox)
                .await
                .unwrap();
            assert_eq!(
                (polled.read, polled.bounces, polled.suppressed),
                (2, 1, 1),
                "{polled:?}"
            );
            assert_hard_bounced(&app, id).await;
            assert_eq!(
                suppressions::Entity::find()
                    .filter(suppressions::Column::Address.eq("gone-later@example.org"))
                    .count(&app.state.db)
                    .await
                    .unwrap(),
                1
            );

            // The bounce is gone, the reply stays, read; nothing is read twice.
            s.select("INBOX").await.unwrap();
            let all = s.uid_search("ALL").await.unwrap();
            let unseen = s.uid_search("UNSEEN").await.unwrap();
            assert_eq!((all.len(), unseen.len()), (1, 0));
            let again = amicale_delivery::bounce_mailbox::poll(&app.state, &mailbox)
                .await
                .unwrap();
            assert_eq!(again.read, 0);
            let _ = s.logout().await;

            // Later mail to the address is suppressed.
            let next = system_mail(&app, "gone-later@example.org").await;
            wait_for_state(&app.state.db, next, "suppressed", 30).await;
            app.stop().await;
        }
    })
    .await;
}

/// The message failed with the bounce's status (5.1.1) as its answer.
async fn assert_hard_bounced(app: &TestApp, id: i64) {
    let m = outbox::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.state.as_str(), "failed");
    assert!(m.last_answer.unwrap().contains("5.1.1"));
}
