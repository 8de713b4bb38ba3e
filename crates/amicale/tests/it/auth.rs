//! Login, logout, CSRF, lockout, password reset and change.

use amicale_store::entities::{login_throttle, outbox as outbox_row};
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Backend, TestApp, on_each_backend, spawn_app, web_only_config};

const EMAIL: &str = "alice@example.org";
const PASSWORD: &str = "a long passphrase";

#[tokio::test]
async fn login_logout_and_remember_me() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        app.create_user(EMAIL, PASSWORD, false).await;

        let bad = app.login(EMAIL, "wrong password!").await;
        assert_eq!(bad.status(), 422);
        let body = bad.text().await.unwrap();
        assert!(
            body.contains("Incorrect e-mail address or password"),
            "{body}"
        );
        assert!(
            body.contains(&format!("value=\"{EMAIL}\"")),
            "typed e-mail kept"
        );

        let ok = app
            .post_form(
                "/login",
                "/login",
                &[("email", "  Alice@Example.org "), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(ok.status(), 303);
        let session_cookie = ok
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("amicale_session="))
            .expect("session cookie");
        assert!(session_cookie.contains("HttpOnly"));
        assert!(session_cookie.contains("SameSite=Lax"));
        assert!(
            !session_cookie.contains("Max-Age"),
            "without remember me it ends with the browser"
        );
        assert!(
            app.get("/")
                .await
                .text()
                .await
                .unwrap()
                .contains("Hello Test User")
        );

        let out = app.post_form("/", "/logout", &[]).await;
        assert_eq!(out.headers()["location"], "/login?done=logout");
        assert_eq!(app.get("/").await.status(), 303);

        let remembered = app
            .post_form(
                "/login",
                "/login",
                &[("email", EMAIL), ("password", PASSWORD), ("remember", "1")],
            )
            .await;
        let cookie = remembered
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("amicale_session="))
            .unwrap();
        assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        app.create_user(EMAIL, PASSWORD, false).await;
        let token = app.csrf("/password/forgot").await;

        // No token at all.
        let res = app
            .client
            .post(app.url("/password/forgot"))
            .form(&[("email", EMAIL)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("Form refused"));

        // A token that is not the cookie's.
        let res = app
            .client
            .post(app.url("/password/forgot"))
            .form(&[("email", EMAIL), ("csrf_token", "forged.token")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // The right token from another site.
        let res = app
            .client
            .post(app.url("/password/forgot"))
            .header("origin", "https://evil.example")
            .form(&[("email", EMAIL), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = app
            .client
            .post(app.url("/password/forgot"))
            .header("sec-fetch-site", "cross-site")
            .form(&[("email", EMAIL), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // A token without its cookie (another browser).
        let res = crate::support::new_client()
            .post(app.url("/password/forgot"))
            .form(&[("email", EMAIL), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // None of the refused requests changed anything.
        let queued = outbox_row::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(queued, 0);

        // The genuine form goes through.
        let res = app
            .client
            .post(app.url("/password/forgot"))
            .header("origin", &app.base)
            .form(&[("email", EMAIL), ("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            outbox_row::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            1
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_in_the_database() {
    on_each_backend(|b| async move {
        let (app, _sink, db) = spawn_app(b).await;
        app.create_user(EMAIL, PASSWORD, false).await;
        for i in 1..5 {
            let res = app.login(EMAIL, "not the password").await;
            assert_eq!(res.status(), 422, "failure {i}");
        }
        let fifth = app.login(EMAIL, "not the password").await;
        assert_eq!(fifth.status(), 429);
        assert!(fifth.text().await.unwrap().contains("locked until"));
        // Even the right password is refused while locked.
        let right = app.login(EMAIL, PASSWORD).await;
        assert_eq!(right.status(), 429);
        app.stop().await;

        // The lock survives a restart: it is in the database, not in memory.
        let again = TestApp::start(web_only_config(&db.url)).await;
        assert_eq!(again.login(EMAIL, PASSWORD).await.status(), 429);
        // Once the lock has passed, the right password works and clears the count.
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(Some(Utc::now() - Duration::seconds(1))),
            )
            .exec(&again.state.db)
            .await
            .unwrap();
        assert_eq!(again.login(EMAIL, PASSWORD).await.status(), 303);
        // The account's count is gone; the client's own count stays.
        assert_eq!(
            login_throttle::Entity::find()
                .filter(login_throttle::Column::Key.starts_with(EMAIL))
                .count(&again.state.db)
                .await
                .unwrap(),
            0
        );
        again.stop().await;
    })
    .await;
}

fn reset_link(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.contains("/password/reset/"))
        .expect("reset link in the mail")
        .to_owned()
}

#[tokio::test]
async fn reset_link_works_once_and_ends_sessions() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = spawn_app(b).await;
        app.create_user(EMAIL, PASSWORD, false).await;
        // A browser already logged in elsewhere.
        let elsewhere = TestApp::start(web_only_config(&app.state.config.database_url)).await;
        assert_eq!(elsewhere.login(EMAIL, PASSWORD).await.status(), 303);

        let res = app
            .post_form("/password/forgot", "/password/forgot", &[("email", EMAIL)])
            .await;
        assert_eq!(res.status(), 200);
        let mails = sink.wait_for(1, 20).await;
        assert_eq!(mails[0].to, vec![EMAIL.to_owned()]);
        assert!(
            mails[0].from.contains("no-reply@amicale.localhost"),
            "{}",
            mails[0].from
        );
        assert_eq!(mails[0].subject(), "Reset your password");
        let link = reset_link(&mails[0].text());
        assert!(link.starts_with(&app.base), "{link}");
        let path = link.trim_start_matches(&app.base).to_owned();

        assert_eq!(app.get(&path).await.status(), 200);
        let short = app
            .post_form(&path, &path, &[("password", "short"), ("confirm", "short")])
            .await;
        assert_eq!(short.status(), 422);
        assert!(
            short
                .text()
                .await
                .unwrap()
                .contains("at least 10 characters")
        );

        let new_pw = "a brand new passphrase";
        let done = app
            .post_form(&path, &path, &[("password", new_pw), ("confirm", new_pw)])
            .await;
        assert_eq!(done.status(), 303);
        assert_eq!(done.headers()["location"], "/login?done=reset");

        // Single use.
        let again = app.get(&path).await;
        assert_eq!(again.status(), 410);
        assert!(again.text().await.unwrap().contains("no longer valid"));

        assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 422);
        assert_eq!(app.login(EMAIL, new_pw).await.status(), 303);
        // The other browser's session ended with the reset.
        assert_eq!(elsewhere.get("/").await.status(), 303);
        elsewhere.stop().await;
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn reset_link_expires_after_an_hour() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        app.create_user(EMAIL, PASSWORD, false).await;
        let user = amicale::auth::store::find_by_email(
            &app.state.db,
            &amicale_kernel::Login::parse(EMAIL).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let old = amicale::auth::store::create_reset(
            &app.state.db,
            user.id,
            Utc::now() - Duration::minutes(61),
        )
        .await
        .unwrap();
        let fresh = amicale::auth::store::create_reset(
            &app.state.db,
            user.id,
            Utc::now() - Duration::minutes(59),
        )
        .await
        .unwrap();
        let path = format!("/password/reset/{old}");
        assert_eq!(app.get(&path).await.status(), 410);
        let pw = "another passphrase";
        let res = app
            .post_form(
                "/password/forgot",
                &path,
                &[("password", pw), ("confirm", pw)],
            )
            .await;
        assert_eq!(res.status(), 410);
        assert_eq!(
            app.login(EMAIL, pw).await.status(),
            422,
            "expired link changed nothing"
        );
        assert_eq!(
            app.get(&format!("/password/reset/{fresh}")).await.status(),
            200
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_address_gets_the_same_answer_and_no_mail() {
    let (app, _sink, _db) = spawn_app(Backend::Sqlite).await;
    let res = app
        .post_form(
            "/password/forgot",
            "/password/forgot",
            &[("email", "nobody@example.org")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("If an account exists"));
    assert_eq!(
        outbox_row::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );
    let bad = app
        .post_form(
            "/password/forgot",
            "/password/forgot",
            &[("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("not valid") && body.contains("value=\"not an address\""));
    app.stop().await;
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_ends_other_sessions() {
    let (app, _sink, db) = spawn_app(Backend::Sqlite).await;
    app.create_user(EMAIL, PASSWORD, false).await;
    let other = TestApp::start(web_only_config(&db.url)).await;
    other.login(EMAIL, PASSWORD).await;
    app.login(EMAIL, PASSWORD).await;

    let wrong = app
        .post_form(
            "/account/password",
            "/account/password",
            &[
                ("current", "nope nope nope"),
                ("password", "new passphrase"),
                ("confirm", "new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("current password is incorrect")
    );
    let mismatch = app
        .post_form(
            "/account/password",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "new passphrase"),
                ("confirm", "new passphrase?"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("differ"));
    let ok = app
        .post_form(
            "/account/password",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "new passphrase"),
                ("confirm", "new passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("Your password was changed")
    );
    assert_eq!(app.get("/").await.status(), 200, "this session stays open");
    assert_eq!(
        other.get("/").await.status(),
        303,
        "the other one is closed"
    );
    other.stop().await;
    app.stop().await;
}
