//! The login flow in a real Chromium.

use fantoccini::Locator;
use sea_orm::EntityTrait;

use crate::support::browser::Browser;
use crate::support::{Backend, spawn_app};

#[tokio::test]
async fn login_flow_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = spawn_app(Backend::Sqlite).await;
    app.create_user("carol@example.org", "carol's passphrase", true)
        .await;
    let c = &browser.client;

    c.goto(&app.url("/events")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/login", "visitor sent to login");

    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("login.png"), c.screenshot().await.unwrap()).unwrap();

    // Wrong password: message, e-mail kept.
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("carol@example.org")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("wrong one!")
        .await
        .unwrap();
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = c.wait().for_element(Locator::Css("p.alert")).await.unwrap();
    assert!(!alert.text().await.unwrap().is_empty());
    let kept = c
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("carol@example.org"));

    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("carol's passphrase")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=remember]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The main navigation exists only for signed-in users: waiting for it
    // waits for the page after login, not the login page still on screen.
    c.wait().for_element(Locator::Css("ul.nav")).await.unwrap();
    let h1 = c.find(Locator::Css("main h1")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/events", "back where the visitor wanted to go");
    assert!(!h1.text().await.unwrap().is_empty());
    assert!(
        c.find(Locator::Css("a[href='/admin']")).await.is_ok(),
        "administrator sees Administration"
    );

    // The language selector submits itself (app.js) and the choice sticks.
    c.find(Locator::Css("#lang-select option[value=fr]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::XPath("//html[@lang='fr']"))
        .await
        .unwrap();
    c.goto(&app.url("/")).await.unwrap();
    let welcome = c.wait().for_element(Locator::Css("main h1")).await.unwrap();
    assert!(
        welcome.text().await.unwrap().starts_with("Bonjour"),
        "French kept for this user"
    );

    let png = c.screenshot().await.unwrap();
    std::fs::write(shots.join("home-after-login.png"), &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // Logout from the header.
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
    c.goto(&app.url("/")).await.unwrap();
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/login",
        "session ended"
    );

    browser.close().await;
    app.stop().await;
}

/// Logs in through the form, as a person would, and waits for the signed-in page.
async fn log_in(
    c: &fantoccini::Client,
    app: &crate::support::TestApp,
    email: &str,
    password: &str,
) {
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("ul.nav")).await.unwrap();
}

#[tokio::test]
async fn template_editor_and_sms_counter_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = spawn_app(Backend::Sqlite).await;
    app.create_user("dan@example.org", "dan's passphrase", true)
        .await;
    let c = &browser.client;
    log_in(c, &app, "dan@example.org", "dan's passphrase").await;

    c.goto(&app.url("/admin/templates/new?kind=email"))
        .await
        .unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Essai éditeur")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=sending_modes][value=campaign]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("subject_fr"))
        .await
        .unwrap()
        .send_keys("Bonjour")
        .await
        .unwrap();
    // The editor replaced the textarea: type, then make a word bold from the toolbar.
    let area = c
        .wait()
        .for_element(Locator::Css(".editor-area"))
        .await
        .unwrap();
    area.click().await.unwrap();
    area.send_keys("Bonjour ").await.unwrap();
    c.find(Locator::Css(".editor-bar button[aria-label='Bold']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    area.send_keys("tout le monde").await.unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(
        shots.join("template-editor.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.find(Locator::Css("form.wide button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap();
    let saved = amicale::db::entities::template_versions::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(saved.len(), 1);
    let body = &saved[0].body_fr;
    assert!(
        body.contains("<b>tout le monde</b>") || body.contains("<strong>tout le monde</strong>"),
        "{body}"
    );
    assert!(
        saved[0].text_fr.contains("Bonjour tout le monde"),
        "{}",
        saved[0].text_fr
    );

    // SMS: the counter follows the typing, and says when an accent forces UCS-2.
    c.goto(&app.url("/admin/templates/new?kind=sms"))
        .await
        .unwrap();
    let sms = c.find(Locator::Id("body_fr")).await.unwrap();
    sms.send_keys("Rendez-vous demain").await.unwrap();
    c.wait()
        .for_element(Locator::XPath(
            "//p[@id='count_fr' and contains(., 'GSM7')]",
        ))
        .await
        .unwrap();
    sms.send_keys(", ça marche ?").await.unwrap();
    c.wait()
        .for_element(Locator::XPath(
            "//p[@id='count_fr' and contains(., 'UCS2')]",
        ))
        .await
        .unwrap();
    browser.close().await;
    app.stop().await;
}
