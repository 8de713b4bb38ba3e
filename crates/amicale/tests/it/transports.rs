//! Transports and DKIM keys edited in Administration: a profile
//! is checked, tested against a real SMTP server, takes over delivery
//! without a restart, and a key generated here signs the next messages.

use amicale_delivery::outbox::{NewMail, Origin, enqueue};
use amicale_store::entities::{dkim_keys, smtp_profiles};
use sea_orm::EntityTrait;

use crate::support::{SmtpSink, TestApp, admin_app, free_port, on_each_backend};

async fn system_mail(app: &TestApp, to: &str) {
    enqueue(
        &app.state.db,
        NewMail {
            recipient: to.into(),
            subject: "Bonjour".into(),
            text: "Bonjour".into(),
            html: None,
            origin: Origin::System,
            origin_id: None,
        },
        "amicale.localhost",
    )
    .await
    .unwrap();
    app.state.outbox_wakeup.notify_waiters();
}

#[tokio::test]
async fn smtp_profiles_and_dkim_keys_from_administration() {
    on_each_backend(|b| async move {
        let (app, first, _db) = admin_app(b).await;
        let page = app.get("/admin/transports").await.text().await.unwrap();
        assert!(
            page.contains(&format!("127.0.0.1:{}", first.port)),
            "{page}"
        );

        // Refused with reasons, typed values kept, the password never echoed.
        let res = app
            .post_form(
                "/admin/transports",
                "/admin/transports",
                &[
                    ("label", "Relais"),
                    ("host", "smtp.example.org"),
                    ("port", "abc"),
                    ("tls", "ssl"),
                    ("password", "pw-secret"),
                    ("timeout_secs", "30"),
                    ("rate_per_sec", "0"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("A port between 1 and 65535."));
        assert!(html.contains("Choose an encryption."));
        assert!(html.contains("value=\"Relais\"") && !html.contains("pw-secret"));
        assert_eq!(
            smtp_profiles::Entity::find()
                .all(&app.state.db)
                .await
                .unwrap()
                .len(),
            0
        );

        let second = SmtpSink::start().await;
        let port = second.port.to_string();
        let res = app
            .post_form(
                "/admin/transports",
                "/admin/transports",
                &[
                    ("label", "Relais"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", "none"),
                    ("password", "pw-secret"),
                    ("timeout_secs", "5"),
                    ("rate_per_sec", "0"),
                    ("max_connections", "2"),
                    ("per_domain", "1"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let prof = smtp_profiles::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!prof.password.is_empty() && !prof.password.contains("pw-secret"));
        assert_eq!((prof.max_connections, prof.per_domain), (2, 1));

        // The test shows the server's answer.
        let res = app
            .post_form(
                &format!("/admin/transports/{}", prof.id),
                &format!("/admin/transports/{}/test", prof.id),
                &[("to", "test@example.org")],
            )
            .await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("The server accepted the message") && html.contains("250"),
            "{html}"
        );
        let got = second.wait_for(1, 20).await;
        assert!(got[0].subject().contains("SMTP test — Relais"));
        // A profile that reaches nothing says so, with what to check.
        let closed = free_port().to_string();
        app.post_form(
            "/admin/transports",
            "/admin/transports",
            &[
                ("label", "Fermé"),
                ("host", "127.0.0.1"),
                ("port", &closed),
                ("tls", "none"),
                ("timeout_secs", "5"),
                ("rate_per_sec", "0"),
            ],
        )
        .await;
        let dead = smtp_profiles::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.label == "Fermé")
            .unwrap();
        let res = app
            .post_form(
                &format!("/admin/transports/{}", dead.id),
                &format!("/admin/transports/{}/test", dead.id),
                &[],
            )
            .await;
        assert_eq!(res.status(), 502);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("No connection: check the server name and the port."),
            "{html}"
        );

        // Made default: the next message goes through it, no restart.
        let res = app
            .post_form(
                &format!("/admin/transports/{}", prof.id),
                &format!("/admin/transports/{}", prof.id),
                &[
                    ("label", "Relais"),
                    ("host", "127.0.0.1"),
                    ("port", &port),
                    ("tls", "none"),
                    ("timeout_secs", "5"),
                    ("rate_per_sec", "0"),
                    ("is_default", "on"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let kept = smtp_profiles::Entity::find_by_id(prof.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            kept.password, prof.password,
            "a blank password keeps the stored one"
        );
        system_mail(&app, "via-second@example.org").await;
        let got = second.wait_for(2, 20).await;
        assert_eq!(got[1].to, ["via-second@example.org"]);
        assert!(first.received().is_empty());

        // A DKIM key for the platform's domain, generated here.
        let res = app
            .post_form(
                "/admin/dkim",
                "/admin/dkim",
                &[
                    ("domain", "amicale.localhost"),
                    ("selector", "s 1"),
                    ("algorithm", "ed25519"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let res = app
            .post_form(
                "/admin/dkim",
                "/admin/dkim",
                &[
                    ("domain", "amicale.localhost"),
                    ("selector", "s1"),
                    ("algorithm", "ed25519"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let key = dkim_keys::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(!key.private_key.contains("PRIVATE KEY"));
        let page = app.get("/admin/dkim").await.text().await.unwrap();
        assert!(
            page.contains("s1._domainkey.amicale.localhost IN TXT"),
            "{page}"
        );
        // Not active yet: not signed.
        system_mail(&app, "unsigned@example.org").await;
        let got = second.wait_for(3, 20).await;
        assert!(!got[2].data.contains("DKIM-Signature"));
        app.post_form(
            "/admin/dkim",
            &format!("/admin/dkim/{}/activate", key.id),
            &[],
        )
        .await;
        system_mail(&app, "signed@example.org").await;
        let got = second.wait_for(4, 20).await;
        let data = &got[3].data;
        assert!(
            data.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
            "{data}"
        );
        assert!(data.contains("d=amicale.localhost") && data.contains("s=s1"));
        app.stop().await;
    })
    .await;
}
