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
    let saved = amicale_store::entities::template_versions::Entity::find()
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

/// The UI part of the automatic-rule acceptance scenario: the rule is set
/// up through its form in Chromium, the list shows it, and the test page
/// lists two recipients and one exclusion with its reason.
#[tokio::test]
async fn automatic_rule_set_up_and_tested_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = spawn_app(Backend::Sqlite).await;
    app.create_user("erin@example.org", "erin's passphrase", true)
        .await;
    assert_eq!(
        app.login("erin@example.org", "erin's passphrase")
            .await
            .status(),
        303
    );
    // Seed through the forms with a plain client: a template, a workshop in
    // two days, three participants (one refusing e-mails).
    let res = app
        .post_form(
            "/admin/templates/new?kind=email",
            "/admin/templates/new",
            &[
                ("kind", "email"),
                ("name", "Rappel réunion J-2"),
                ("active", "1"),
                ("recipient_types", "member"),
                ("sending_modes", "automatic"),
                ("subject_fr", "Rappel : {{ event.title }}"),
                ("body_fr", "<p>Bonjour {{ participant.first_name }}, le {{ event.start | date(\"l j F Y\") }}.</p>"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let today = chrono::Utc::now().with_timezone(&app.state.tz).date_naive();
    let day = today + chrono::Duration::days(2);
    let res = app
        .post_form(
            "/admin/events/new",
            "/admin/events/new",
            &[
                ("title", "Atelier Cartes en main"),
                ("nature", "collective"),
                ("event_type", "Atelier"),
                ("mode", "onsite"),
                ("date", &day.to_string()),
                ("start", "23:00"),
                ("end", "23:30"),
            ],
        )
        .await;
    let event = res.headers()["location"].to_str().unwrap().to_owned();
    for (first, email, accepts) in [
        ("Hélène", "helene@example.org", true),
        ("Karim", "karim@example.org", true),
        ("Sophie", "sophie@example.org", false),
    ] {
        let mut f = vec![
            ("first_name", first),
            ("last_name", "Test"),
            ("email0", email),
            ("status", "active"),
        ];
        if accepts {
            f.push(("email0_accepts", "1"));
        }
        let res = app
            .post_form("/admin/people/new", "/admin/people/new", &f)
            .await;
        let id = res.headers()["location"].to_str().unwrap()["/admin/people/".len()..]
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        app.post_form(&event, &format!("{event}/participants"), &[("person", &id)])
            .await;
    }

    let c = &browser.client;
    log_in(c, &app, "erin@example.org", "erin's passphrase").await;
    c.goto(&app.url("/admin/rules/new")).await.unwrap();
    c.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("Rappel ateliers J-2")
        .await
        .unwrap();
    for css in [
        "select[name=nature] option[value=collective]",
        "select[name=channel] option[value=email]",
    ] {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    c.find(Locator::XPath(
        "//select[@name='template']/option[normalize-space(.)='Rappel réunion J-2']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.find(Locator::Css("input[name=event_type]"))
        .await
        .unwrap()
        .send_keys("Atelier")
        .await
        .unwrap();
    let offset = c.find(Locator::Css("input[name=offset]")).await.unwrap();
    offset.clear().await.unwrap();
    offset.send_keys("-2").await.unwrap();
    c.find(Locator::Css("form.stack button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the list: the rule with its offset written as JUNGO2 does.
    c.wait()
        .for_element(Locator::XPath("//td[normalize-space(.)='J-2']"))
        .await
        .unwrap();
    c.find(Locator::Css("a.button[href^='/admin/rules/test?rule=']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let count = c
        .wait()
        .for_element(Locator::Id("dry-run-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Today is the default day: the workshop is in two days, J-2.
    assert_eq!(count, "3 lines");
    let excluded = c
        .find_all(Locator::Css("table.dry-run tr.excluded"))
        .await
        .unwrap();
    assert_eq!(excluded.len(), 1);
    assert!(
        excluded[0]
            .text()
            .await
            .unwrap()
            .contains("e-mail not accepted")
    );
    assert_eq!(
        c.find_all(Locator::Css("table.dry-run tr.included"))
            .await
            .unwrap()
            .len(),
        2
    );
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("rule-test.png"), c.screenshot().await.unwrap()).unwrap();
    browser.close().await;
    app.stop().await;
}

/// The pages whose address holds a secret send no referrer, so Chromium
/// posts their forms with `Origin: null`: the registration link is
/// confirmed in a real browser.
#[tokio::test]
async fn a_registration_link_is_confirmed_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = spawn_app(Backend::Sqlite).await;
    let res = app
        .post_form_as(
            &crate::support::new_client(),
            "/register",
            "/register",
            &[
                ("first_name", "Léa"),
                ("last_name", "Martin"),
                ("email", "lea@example.org"),
                ("role", "alumni"),
                ("password", "une longue phrase"),
                ("confirm", "une longue phrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let link = crate::support::mailed_link(&app, "lea@example.org", "/register/confirm/")
        .await
        .expect("link");
    let c = &browser.client;
    c.goto(&app.url(&link)).await.unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("une longue phrase")
        .await
        .unwrap();
    c.find(Locator::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = c
        .wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap();
    assert!(done.text().await.unwrap().contains("confirm"));
    app.stop().await;
}

/// The addresses of a page's menus (top bar and staff sidebar).
fn menu_links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [
        ("<ul class=\"nav\">", "</ul>"),
        ("<nav class=\"sidebar\"", "</nav>"),
    ] {
        let Some(start) = html.find(open) else {
            continue;
        };
        let block = &html[start..];
        let block = &block[..block.find(close).unwrap_or(block.len())];
        for part in block.split("href=\"").skip(1) {
            out.push(part[..part.find('"').unwrap()].to_owned());
        }
    }
    out
}

/// What the page's CSP (no inline script or style) would refuse: style
/// attributes and elements, inline scripts, event-handler attributes. Read
/// from the DOM once loaded, so nothing is missed for having happened
/// before a listener could be attached.
const CSP_REFUSED: &str = "
    const out = [];
    for (const el of document.querySelectorAll('[style]')) out.push(el.tagName.toLowerCase() + '[style]');
    for (const el of document.querySelectorAll('style')) out.push('<style>');
    for (const el of document.querySelectorAll('script:not([src])')) {
        if (!['application/json', 'application/ld+json'].includes(el.type)) out.push('inline <script>');
    }
    for (const el of document.querySelectorAll('*')) {
        for (const a of el.getAttributeNames()) if (a.startsWith('on')) out.push(el.tagName.toLowerCase() + '[' + a + ']');
    }
    return out;";

/// Walks every page the menus of `email`'s account lead to, at a phone's
/// and a desktop's width, in French and English: nothing scrolls sideways,
/// nothing the CSP refuses, and axe finds nothing serious or critical. On
/// the phone the menus fold behind one button that opens them. `audited`
/// holds the (page, language, width) axe has already read in this test:
/// accounts that differ only by their rights share most pages, and axe is
/// the slow part.
async fn walk_every_menu_page(
    browser: &Browser,
    app: &crate::support::TestApp,
    who: &str,
    email: &str,
    password: &str,
    audited: &mut std::collections::HashSet<(String, &'static str, u32)>,
) {
    let c = &browser.client;
    let axe = crate::support::browser::axe_source();
    let mut problems = Vec::new();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    c.set_window_size(1366, 800).await.unwrap();
    log_in(c, app, email, password).await;
    c.goto(&app.url("/")).await.unwrap();
    let links = menu_links(&c.source().await.unwrap());
    assert!(links.len() >= 2, "{who}: {links:?}");
    for lang in ["fr", "en"] {
        c.goto(&app.url("/")).await.unwrap();
        let select = c.find(Locator::Id("lang-select")).await.unwrap();
        if select.prop("value").await.unwrap().as_deref() != Some(lang) {
            select.select_by_value(lang).await.unwrap();
            c.wait()
                .for_element(Locator::Css(&format!("html[lang={lang}] ul.nav")))
                .await
                .unwrap();
        }
        for (width, height) in [(390u32, 844u32), (1366, 800)] {
            c.set_window_size(width, height).await.unwrap();
            for link in &links {
                c.goto(&app.url(link)).await.unwrap();
                let fit = c
                    .execute(
                        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                        vec![],
                    )
                    .await
                    .unwrap();
                // The viewport less any vertical scroll bar: what fits without a
                // sideways scroll.
                let (scroll, inner) = (fit[0].as_u64().unwrap(), fit[1].as_u64().unwrap());
                let name = format!(
                    "{who}-{lang}-{width}{}.png",
                    link.replace('/', "-").trim_end_matches('-')
                );
                if scroll > inner {
                    std::fs::write(shots.join(&name), c.screenshot().await.unwrap()).unwrap();
                    problems.push(format!(
                        "{who}, {lang}, {width} px: {link} is {scroll} px wide (see {name})"
                    ));
                }
                let refused = c.execute(CSP_REFUSED, vec![]).await.unwrap();
                for r in refused.as_array().into_iter().flatten() {
                    problems.push(format!(
                        "{who}, {lang}, {width} px, {link}: CSP refuses {r}"
                    ));
                }
                if audited.insert((link.clone(), lang, width)) {
                    for v in crate::support::browser::axe_violations(c, &axe).await {
                        problems.push(format!("{who}, {lang}, {width} px, {link}: axe {v}"));
                    }
                }
                if link == "/" || link == "/admin/people" || link == "/events" {
                    std::fs::write(shots.join(&name), c.screenshot().await.unwrap()).unwrap();
                }
            }
        }
    }
    // On the phone the menus fold: one button opens them.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&app.url("/")).await.unwrap();
    let toggle = c.find(Locator::Css("button.menu-toggle")).await.unwrap();
    assert!(toggle.is_displayed().await.unwrap(), "{who}: menu button");
    let first = c.find(Locator::Css("ul.nav a")).await.unwrap();
    assert!(!first.is_displayed().await.unwrap(), "{who}: folded");
    toggle.click().await.unwrap();
    assert_eq!(
        toggle.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(first.is_displayed().await.unwrap(), "{who}: unfolded");
    std::fs::write(
        shots.join(format!("{who}-menu-390.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    c.delete_all_cookies().await.unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn every_menu_page_of_an_administrator_fits_a_phone_and_a_desktop() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = crate::support::admin_app(Backend::Sqlite).await;
    walk_every_menu_page(
        &browser,
        &app,
        "admin",
        crate::support::ADMIN,
        crate::support::ADMIN_PASSWORD,
        &mut Default::default(),
    )
    .await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn every_menu_page_of_a_member_fits_a_phone_and_a_desktop() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = crate::support::admin_app(Backend::Sqlite).await;
    app.create_user("member@example.org", "member password 1", false)
        .await;
    walk_every_menu_page(
        &browser,
        &app,
        "member",
        "member@example.org",
        "member password 1",
        &mut Default::default(),
    )
    .await;
    browser.close().await;
    app.stop().await;
}

/// Staff with each shipped permission profile see the pages it admits, and
/// each of those pages passes the same checks.
#[tokio::test]
async fn every_menu_page_of_each_staff_profile_fits_a_phone_and_a_desktop() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = crate::support::admin_app(Backend::Sqlite).await;
    let mut audited = Default::default();
    for (name, _) in amicale_store::migrations::profiles::SHIPPED {
        let email = format!("{name}@example.org");
        crate::support::staff(&app, &email, name, None).await;
        walk_every_menu_page(
            &browser,
            &app,
            name,
            &email,
            "staff passphrase",
            &mut audited,
        )
        .await;
    }
    browser.close().await;
    app.stop().await;
}

/// Typing in the CRM's keyword box narrows the list without a submit (and
/// the address follows, so a reload shows the same); the bulk panel shows
/// only the fields of the chosen action.
#[tokio::test]
async fn the_crm_searches_as_you_type_and_the_bulk_panel_follows_the_action() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _sink, _db) = crate::support::admin_app(Backend::Sqlite).await;
    crate::support::beneficiary(&app, "Hélène", "Dupré", "helene@example.org").await;
    crate::support::beneficiary(&app, "Karim", "Benali", "karim@example.org").await;
    let c = &browser.client;
    log_in(
        c,
        &app,
        crate::support::ADMIN,
        crate::support::ADMIN_PASSWORD,
    )
    .await;
    c.goto(&app.url("/admin/people")).await.unwrap();
    let results = |name: &str| {
        Locator::XPath(Box::leak(
            format!("//div[@id='crm-results']//a[contains(., '{name}')]").into_boxed_str(),
        ))
    };
    c.wait().for_element(results("Dupré")).await.unwrap();
    c.find(Locator::Css("input[name=q]"))
        .await
        .unwrap()
        .send_keys("Benali")
        .await
        .unwrap();
    // The list is swapped in place: wait until Hélène has left it.
    c.wait()
        .for_element(Locator::XPath(
            "//div[@id='crm-results'][not(.//a[contains(., 'Dupré')])]",
        ))
        .await
        .unwrap();
    assert!(c.find(results("Benali")).await.is_ok());
    assert!(c.current_url().await.unwrap().as_str().contains("q=Benali"));

    // The bulk panel: the role fields for "add a role", the deletion
    // confirmation only for "delete".
    let confirm = c
        .find(Locator::Css("label[data-when=delete]"))
        .await
        .unwrap();
    let role = c
        .find(Locator::Css("label[data-when=add_role]"))
        .await
        .unwrap();
    assert!(role.is_displayed().await.unwrap());
    assert!(!confirm.is_displayed().await.unwrap());
    c.find(Locator::Css("select[name=action]"))
        .await
        .unwrap()
        .select_by_value("delete")
        .await
        .unwrap();
    assert!(confirm.is_displayed().await.unwrap());
    assert!(!role.is_displayed().await.unwrap());
    browser.close().await;
    app.stop().await;
}
