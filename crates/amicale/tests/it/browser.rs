//! The login flow in a real Chromium.

use fantoccini::Locator;

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
