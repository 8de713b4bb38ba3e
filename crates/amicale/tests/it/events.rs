//! Events, participants, automatic rules, sends from the event page and
//! the person page, eligibility, unsubscribing, calendars.

use amicale::events::rules;
use amicale::schedule::{Scheduler, tasks};
use amicale_store::entities::{outbox, rule_deliveries};
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Backend, TestApp, on_each_backend};

const ADMIN: &str = "admin@example.org";

use crate::support::admin_app;

async fn body(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(
        res.status(),
        200,
        "{path} → {:?}",
        res.headers().get("location")
    );
    res.text().await.unwrap()
}

fn id_after(res: &reqwest::Response, prefix: &str) -> i64 {
    crate::support::id_in(&crate::support::location(res), prefix)
}

/// A person created through the CRM form; `accepts` is the reference
/// e-mail's consent.
async fn person(app: &TestApp, first: &str, last: &str, email: &str, accepts: bool) -> i64 {
    let mut f = vec![
        ("civility", "Mme"),
        ("first_name", first),
        ("last_name", last),
        ("email0", email),
        ("status", "active"),
        ("recipient_type", "beneficiary"),
    ];
    if accepts {
        f.push(("email0_accepts", "1"));
    }
    let res = app
        .post_form("/admin/people/new", "/admin/people/new", &f)
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_after(&res, "/admin/people/")
}

/// The next 19:00 batch slot (network zone) after now, and its day.
fn next_batch(app: &TestApp) -> (chrono::DateTime<Utc>, NaiveDate) {
    let tz = app.state.tz;
    let now = Utc::now().with_timezone(&tz);
    let mut day = now.date_naive();
    if now.time() >= NaiveTime::from_hms_opt(19, 0, 0).unwrap() {
        day += Duration::days(1);
    }
    let slot = tz
        .from_local_datetime(&day.and_hms_opt(19, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    (slot, day)
}

/// The acceptance scenario, on both backends.
#[tokio::test]
async fn acceptance_automatic_rule_reminder() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let (slot, day) = next_batch(&app);
        let event_day = day + Duration::days(2);

        // The template, with participant merge fields and a French date.
        let res = app
            .post_form(
                "/admin/templates/new?kind=email",
                "/admin/templates/new",
                &[
                    ("kind", "email"),
                    ("name", "Rappel réunion J-2"),
                    ("active", "1"),
                    ("recipient_types", "beneficiary"),
                    ("sending_modes", "automatic"),
                    ("subject_fr", "Rappel : {{ event.title }}"),
                    (
                        "body_fr",
                        "<p>Bonjour {{ participant.civility }} {{ participant.first_name }} {{ participant.last_name }},</p>\
                         <p>Nous vous rappelons l'atelier {{ event.title }} le {{ event.start | date(\"l j F Y à H:i\") }} ({{ event.city }}).</p>",
                    ),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let template = id_after(&res, "/admin/templates/");

        // A collective workshop in two days, three participants; one does
        // not accept e-mails.
        let res = app
            .post_form(
                "/admin/events/new",
                "/admin/events/new",
                &[
                    ("title", "Atelier Cartes en main"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("mode", "onsite"),
                    ("site", "Maison des entreprises"),
                    ("city", "Lyon"),
                    ("date", &event_day.format("%d/%m/%Y").to_string()),
                    ("start", "09:30"),
                    ("end", "11:00"),
                    ("capacity", "10"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let event = id_after(&res, "/admin/events/");
        let page = format!("/admin/events/{event}");
        let ids = [
            person(&app, "Hélène", "Dupré", "helene.dupre@example.org", true).await,
            person(&app, "Karim", "Benali", "karim.benali@example.org", true).await,
            person(&app, "Sophie", "Laurent", "sophie.laurent@example.org", false).await,
        ];
        for id in ids {
            let res = app
                .post_form(&page, &format!("{page}/participants"), &[("person", &id.to_string())])
                .await;
            assert_eq!(res.status(), 303);
        }
        assert!(body(&app, &page).await.contains("3 of 10 places taken"));

        // The rule: collective workshops, e-mail, J-2.
        let res = app
            .post_form(
                "/admin/rules/new",
                "/admin/rules/new",
                &[
                    ("name", "Rappel ateliers"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("channel", "email"),
                    ("template", &template.to_string()),
                    ("offset", "-2"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        assert!(body(&app, "/admin/rules").await.contains("J-2"));

        // The dry run: two recipients and one exclusion with its reason.
        let (planned, skipped) = rules::dry_run(&app.state, day, Utc::now(), None).await.unwrap();
        assert!(skipped.is_empty());
        assert_eq!(planned.len(), 3, "{planned:?}");
        assert_eq!(planned.iter().filter(|p| p.excluded.is_none()).count(), 2);
        let excluded: Vec<_> = planned.iter().filter_map(|p| p.excluded.map(|e| (p.recipient.clone(), e))).collect();
        assert_eq!(excluded, vec![("Sophie Laurent".to_owned(), "email_not_accepted")]);
        let test_page = body(&app, &format!("/admin/rules/test?date={day}")).await;
        assert!(test_page.contains("3 lines"), "{test_page}");
        assert!(test_page.contains("e-mail not accepted"));
        assert!(test_page.contains("Rappel : Atelier Cartes en main"));
        assert_eq!(
            outbox::Entity::find().filter(outbox::Column::Origin.eq("rule")).count(&app.state.db).await.unwrap(),
            0,
            "a dry run sends nothing"
        );

        // The nightly task at 19:00 sends exactly two messages.
        // Only the rules: session clean-up at a future instant would log us out.
        let rules_task: Vec<_> = tasks::all(app.state.clone())
            .into_iter()
            .filter(|t| t.name == "automatic-rules")
            .collect();
        let scheduler = Scheduler::new(app.state.db.clone(), app.state.tz, rules_task);
        scheduler.register(slot - Duration::minutes(30)).await.unwrap();
        let ran = scheduler.tick(slot + Duration::seconds(5)).await.unwrap();
        assert!(
            ran.iter().any(|r| r.task == "automatic-rules" && r.outcome == "ok"),
            "{ran:?}"
        );
        let got = sink.wait_for(2, 20).await;
        let mut names: Vec<String> = got.iter().map(|m| m.to.join(",")).collect();
        names.sort();
        assert_eq!(names, vec!["helene.dupre@example.org", "karim.benali@example.org"]);
        let weekday = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
            [chrono::Datelike::weekday(&event_day).num_days_from_monday() as usize];
        let month = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
            [chrono::Datelike::month0(&event_day) as usize];
        let date = format!("{weekday} {} {month} {} à 09:30", chrono::Datelike::day(&event_day), chrono::Datelike::year(&event_day));
        for m in &got {
            assert_eq!(m.subject(), "Rappel : Atelier Cartes en main");
            let text = m.text();
            assert!(text.contains(&date), "French date `{date}` in {text}");
            let who = if m.to[0].starts_with("helene") { "Mme Hélène Dupré" } else { "Mme Karim Benali" };
            assert!(text.contains(who), "{who} in {text}");
            assert!(!text.contains("Sophie"));
        }

        // Running the task again sends nothing: the slot is taken, and the
        // rule itself finds every participation already served.
        assert!(scheduler.tick(slot + Duration::seconds(30)).await.unwrap().is_empty());
        let again = rules::run_day(&app.state, day, Utc::now()).await.unwrap();
        assert_eq!((again.queued, again.already), (0, 3), "{again:?}");
        assert_eq!(
            rule_deliveries::Entity::find().count(&app.state.db).await.unwrap(),
            3,
            "one claim per participation, the exclusion included"
        );
        assert_eq!(
            outbox::Entity::find().filter(outbox::Column::Origin.eq("rule")).count(&app.state.db).await.unwrap(),
            2
        );
        assert_eq!(sink.received().len(), 2);

        // Each participant's history shows the message, origin "automatic".
        let history = body(&app, &format!("/admin/people/{}/messages", ids[0])).await;
        assert!(history.contains("Rappel réunion J-2") && history.contains("automatic"), "{history}");
        let history = body(&app, &format!("/admin/people/{}/messages", ids[2])).await;
        assert!(history.contains("No message yet"));
        // And the event's own history lists both.
        let ev = body(&app, &page).await;
        assert_eq!(ev.matches("Rappel réunion J-2").count(), 2, "{ev}");
        app.stop().await;
    })
    .await;
}

async fn template(app: &TestApp, name: &str, modes: &[&str], subject: &str, body: &str) -> i64 {
    let mut f = vec![
        ("kind", "email"),
        ("name", name),
        ("active", "1"),
        ("recipient_types", "beneficiary"),
        ("recipient_types", "member"),
        ("subject_fr", subject),
        ("body_fr", body),
    ];
    for m in modes {
        f.push(("sending_modes", m));
    }
    let res = app
        .post_form(
            "/admin/templates/new?kind=email",
            "/admin/templates/new",
            &f,
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_after(&res, "/admin/templates/")
}

async fn new_event(app: &TestApp, title: &str, day: NaiveDate, capacity: &str) -> i64 {
    let res = app
        .post_form(
            "/admin/events/new",
            "/admin/events/new",
            &[
                ("title", title),
                ("nature", "collective"),
                ("event_type", "Atelier"),
                ("mode", "onsite"),
                ("city", "Lyon"),
                ("date", &day.format("%Y-%m-%d").to_string()),
                ("start", "14:00"),
                ("end", "16:00"),
                ("capacity", capacity),
                ("open_registration", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    id_after(&res, "/admin/events/")
}

#[tokio::test]
async fn events_waiting_list_attendance_and_sends_from_the_event_page() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let day = Utc::now().date_naive() + Duration::days(5);

        // Bad input: told on its field, kept, nothing created.
        let res = app
            .post_form(
                "/admin/events/new",
                "/admin/events/new",
                &[
                    ("title", "Atelier CV"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("mode", "onsite"),
                    ("date", &day.to_string()),
                    ("start", "16:00"),
                    ("end", "14:00"),
                    ("capacity", "zero"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("The end must come after the start."));
        assert!(page.contains("Enter a whole number of places"));
        assert!(page.contains("value=\"Atelier CV\""), "typed values kept");
        assert_eq!(
            amicale_store::entities::events::Entity::find().count(&app.state.db).await.unwrap(),
            0
        );

        let event = new_event(&app, "Atelier CV", day, "1").await;
        let page = format!("/admin/events/{event}");
        let a = person(&app, "Hélène", "Dupré", "helene.dupre@example.org", true).await;
        let c = person(&app, "Karim", "Benali", "karim.benali@example.org", false).await;
        for id in [a, c] {
            app.post_form(&page, &format!("{page}/participants"), &[("person", &id.to_string())])
                .await;
        }
        // A second click registers once.
        app.post_form(&page, &format!("{page}/participants"), &[("person", &a.to_string())])
            .await;
        let html = body(&app, &page).await;
        assert!(html.contains("1 of 1 place taken, 1 waiting"), "capacity 1: one registered, one waiting");
        assert!(html.contains("Waiting list"));
        // The search box finds persons to add.
        let found = body(&app, &format!("{page}?find=dupre")).await;
        assert!(found.contains("Hélène Dupré"));

        // Removing the registered one promotes the waiting one.
        let res = app
            .post_form(&page, &format!("{page}/participants/{a}/remove"), &[])
            .await;
        assert_eq!(res.status(), 303);
        assert!(body(&app, &page).await.contains("1 of 1 place taken<"));
        // Hélène comes back: full, so on the waiting list; editing the
        // event to two places moves her up.
        app.post_form(&page, &format!("{page}/participants"), &[("person", &a.to_string())])
            .await;
        assert!(body(&app, &page).await.contains("1 of 1 place taken, 1 waiting"));
        let res = app
            .post_form(
                &format!("{page}/edit"),
                &format!("{page}/edit"),
                &[
                    ("title", "Atelier CV"),
                    ("nature", "collective"),
                    ("event_type", "Atelier"),
                    ("mode", "onsite"),
                    ("city", "Lyon"),
                    ("date", &day.to_string()),
                    ("start", "14:00"),
                    ("end", "16:00"),
                    ("capacity", "2"),
                    ("open_registration", "1"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert!(body(&app, &page).await.contains("2 of 2 places taken"));

        // Attendance and confirmation are saved.
        let parts = amicale::events::store::participants(&app.state.db, event).await.unwrap();
        let karim = parts.iter().find(|p| p.person.id == c).unwrap().participation.id;
        let res = app
            .post_form(
                &page,
                &format!("{page}/attendance"),
                &[
                    ("row", &karim.to_string()),
                    (&format!("confirmed_{karim}"), "1"),
                    (&format!("presence_{karim}"), "excused"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let parts = amicale::events::store::participants(&app.state.db, event).await.unwrap();
        let k = parts.iter().find(|p| p.person.id == c).unwrap();
        assert!(k.participation.confirmed);
        assert_eq!(k.participation.presence, "excused");
        let sheet = body(&app, &format!("{page}/sheet")).await;
        assert!(sheet.contains("BENALI Karim") && sheet.contains("Signature"));
        // The page's CSP allows no inline style: its borders and signature
        // boxes come from a stylesheet of ours, which is served.
        assert!(!sheet.contains("<style") && !sheet.contains(" style="), "{sheet}");
        let css = sheet
            .split("rel=\"stylesheet\" href=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a stylesheet link");
        let css = body(&app, css).await;
        assert!(css.contains("td.sign") && css.contains("border"), "{css}");
        assert!(sheet.contains("<main>"), "a landmark for assistive technology");

        // Sending from the event page: the one who refuses e-mails is told
        // apart before sending, and excluded from the send.
        let t = template(
            &app,
            "Convocation",
            &["event_page"],
            "Convocation : {{ event.title }}",
            "<p>Bonjour {{ participant.first_name }}, rendez-vous le {{ event.start | date(\"j F Y\") }}.</p>",
        )
        .await;
        let html = body(&app, &page).await;
        assert!(html.contains("1 of 2 will receive it"), "{html}");
        assert!(html.contains("Karim Benali — e-mail not accepted"));
        let res = app
            .post_form(
                &page,
                &format!("{page}/send"),
                &[("channel", "email"), ("audience", "all"), ("template", &t.to_string())],
            )
            .await;
        assert_eq!(res.headers()["location"], format!("{page}?notice=sent:1").as_str());
        let got = sink.wait_for(1, 20).await;
        assert_eq!(got[0].to, vec!["helene.dupre@example.org"]);
        assert_eq!(got[0].subject(), "Convocation : Atelier CV");
        let exclusions = amicale_store::entities::send_exclusions::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(exclusions.len(), 1);
        assert_eq!((exclusions[0].person_id, exclusions[0].reason.as_str()), (c, "email_not_accepted"));
        let html = body(&app, &page).await;
        assert!(html.contains("Convocation") && html.contains("event page"));

        // The calendar file of the event.
        let res = app.get(&format!("/events/{event}.ics")).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let ics = res.text().await.unwrap();
        assert!(ics.contains("BEGIN:VEVENT") && ics.contains("SUMMARY:Atelier CV"));
        assert!(ics.contains("\r\n"));
        // The agenda: not among "my events" (no facilitator was chosen),
        // under its day among everyone's.
        let mine = body(&app, &format!("/admin/agenda?view=week&date={day}")).await;
        assert!(!mine.contains("Atelier CV"));
        let all = body(&app, &format!("/admin/agenda?view=day&date={day}&all=1")).await;
        assert!(all.contains("Atelier CV"), "{all}");
        app.stop().await;
    })
    .await;
}

/// The campaign form opens on a recipient type that has a template, not on
/// "no active template" when the only one is for partner contacts.
#[tokio::test]
async fn a_new_campaign_starts_from_a_recipient_type_with_templates() {
    let (app, _sink, _db) = admin_app(crate::support::Backend::Sqlite).await;
    let res = app
        .post_form(
            "/admin/templates/new?kind=email",
            "/admin/templates/new",
            &[
                ("kind", "email"),
                ("name", "Lettre aux partenaires"),
                ("active", "1"),
                ("recipient_types", "partner_contact"),
                ("sending_modes", "campaign"),
                ("subject_fr", "Nouvelles"),
                ("body_fr", "<p>Bonjour.</p>"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = body(&app, "/admin/campaigns/new").await;
    assert!(html.contains("Lettre aux partenaires"), "{html}");
    assert!(
        html.contains("value=\"partner_contact\" selected"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn campaigns_reach_the_selection_once_and_respect_unsubscribing() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = template(
            &app,
            "Lettre de novembre",
            &["campaign"],
            "Nouvelles pour {{ person.first_name }}",
            "<p>Bonjour {{ person.first_name }}.</p><p><a href=\"{{ unsubscribe_url }}\">Se désinscrire</a></p>",
        )
        .await;
        let a = person(&app, "Hélène", "Dupré", "helene.dupre@example.org", true).await;
        let b2 = person(&app, "Karim", "Benali", "karim.benali@example.org", true).await;
        let _c = person(&app, "Sophie", "Laurent", "sophie.laurent@example.org", true).await;

        // Sophie unsubscribes from campaigns through her signed link, one
        // click, without an account or a cookie (RFC 8058).
        let url = amicale::comms::context::unsubscribe_url(
            &app.state,
            "sophie.laurent@example.org",
            amicale::comms::eligibility::Category::Campaigns,
        );
        let anon = reqwest::Client::new();
        let page = anon.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let done = anon.post(&url).send().await.unwrap();
        assert_eq!(done.status(), 200);
        assert!(anon.post(&url).send().await.unwrap().status().is_success(), "twice is harmless");
        // Karim's address with Sophie's signature is not a link.
        let karim = amicale::comms::context::unsubscribe_url(
            &app.state,
            "karim.benali@example.org",
            amicale::comms::eligibility::Category::Campaigns,
        );
        let forged = format!(
            "{}.{}",
            karim.rsplit_once('.').unwrap().0,
            url.rsplit_once('.').unwrap().1
        );
        assert_eq!(anon.post(&forged).send().await.unwrap().status(), 404);

        let res = app
            .post_form(
                "/admin/campaigns/new?recipient_type=beneficiary&channel=email",
                "/admin/campaigns/new",
                &[
                    ("name", "Nouvelles de novembre"),
                    ("recipient_type", "beneficiary"),
                    ("channel", "email"),
                    ("template", &t.to_string()),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let id = id_after(&res, "/admin/campaigns/");
        let page = format!("/admin/campaigns/{id}");
        // A new campaign goes to everyone matching its filters: three
        // beneficiaries, all selected. Unselected, scheduling is refused.
        let html = body(&app, &page).await;
        assert!(html.contains("3 matching") && html.contains("3 selected"), "{html}");
        app.post_form(&page, &format!("{page}/select"), &[("action", "none")]).await;
        assert!(body(&app, &page).await.contains("0 selected"));
        let res = app
            .post_form(&page, &format!("{page}/schedule"), &[("when", "now")])
            .await;
        assert!(res.headers()["location"].to_str().unwrap().ends_with("notice=empty"));
        // A bad filter is told on its field, shown as typed, and not saved
        // (read as "no filter", it would widen the campaign); "Clear"
        // empties everything.
        let res = app
            .post_form(&page, &format!("{page}/filters"), &[("action", "filter"), ("born_from", "31/02/1990"), ("city", "Lyon")])
            .await;
        assert_eq!(res.status(), 422);
        let refused = res.text().await.unwrap();
        assert!(refused.contains("aria-invalid=\"true\"") && refused.contains("value=\"31/02/1990\"") && refused.contains("value=\"Lyon\""), "{refused}");
        let saved = body(&app, &page).await;
        assert!(!saved.contains("aria-invalid") && !saved.contains("value=\"Lyon\""), "{saved}");
        // Relative event dates: Hélène takes part in a workshop in three
        // days; "from today to J+7" finds her, "last week" nobody.
        let today = Utc::now().with_timezone(&app.state.tz).date_naive();
        let ev = new_event(&app, "Atelier", today + Duration::days(3), "").await;
        let evp = format!("/admin/events/{ev}");
        app.post_form(&evp, &format!("{evp}/participants"), &[("person", &a.to_string())])
            .await;
        for (from, to, n) in [("0", "7", "1 matching"), ("-7", "-1", "0 matching"), ("J+3", "J+3", "1 matching")] {
            app.post_form(
                &page,
                &format!("{page}/filters"),
                &[("action", "filter"), ("event_days_from", from), ("event_days_to", to)],
            )
            .await;
            let html = body(&app, &page).await;
            assert!(html.contains(n), "{from}..{to}: {html}");
        }
        app.post_form(&page, &format!("{page}/filters"), &[("action", "clear")]).await;
        let html = body(&app, &page).await;
        assert!(html.contains("3 matching") && html.contains("3 selected"), "{html}");

        // Select all across pages: three targeted, two will receive it.
        app.post_form(&page, &format!("{page}/select"), &[("action", "all")]).await;
        let html = body(&app, &page).await;
        assert!(html.contains("2 of 3 will receive it"), "{html}");
        assert!(html.contains("unsubscribed from this kind of message"));
        let res = app
            .post_form(&page, &format!("{page}/schedule"), &[("when", "now")])
            .await;
        assert!(res.headers()["location"].to_str().unwrap().ends_with("notice=launched"));
        let got = sink.wait_for(2, 20).await;
        let mut to: Vec<String> = got.iter().map(|m| m.to.join(",")).collect();
        to.sort();
        assert_eq!(to, vec!["helene.dupre@example.org", "karim.benali@example.org"]);
        assert!(got.iter().all(|m| m.text().contains("/unsubscribe/")));

        // Sent: read-only, and launching again reaches nobody twice.
        let res = app
            .post_form(&page, &format!("{page}/schedule"), &[("when", "now")])
            .await;
        assert!(res.headers()["location"].to_str().unwrap().ends_with("notice=locked"));
        let c = amicale::comms::campaigns::get(&app.state.db, id).await.unwrap();
        assert_eq!(c.state, "sent");
        amicale::comms::campaigns::resume(&app.state, &c).await.unwrap();
        assert_eq!(
            outbox::Entity::find().filter(outbox::Column::Origin.eq("campaign")).count(&app.state.db).await.unwrap(),
            2
        );
        let history = body(&app, "/admin/campaigns").await;
        assert!(history.contains("Nouvelles de novembre") && history.contains("sent"));
        let mine = body(&app, &format!("/admin/people/{a}/messages")).await;
        assert!(mine.contains("Lettre de novembre") && mine.contains("campaign"));
        let _ = b2;
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rules_are_checked_skip_inactive_templates_and_never_remind_late() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = template(
            &app,
            "Rappel",
            &["automatic"],
            "Rappel : {{ event.title }}",
            "<p>Bonjour {{ participant.first_name }}.</p>",
        )
        .await;
        // SMS needs a provider: refused with the reason, input kept.
        let res = app
            .post_form(
                "/admin/rules/new",
                "/admin/rules/new",
                &[
                    ("name", "SMS J-1"),
                    ("channel", "sms"),
                    ("template", &t.to_string()),
                    ("offset", "-1"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("SMS sending needs an SMS provider")
                && html.contains("value=\"SMS J-1\"")
        );
        let res = app
            .post_form(
                "/admin/rules/new",
                "/admin/rules/new",
                &[
                    ("name", "Trop tard"),
                    ("channel", "email"),
                    ("template", &t.to_string()),
                    ("offset", "-45"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);

        let today = Utc::now().with_timezone(&app.state.tz).date_naive();
        let past = new_event(&app, "Passé", today - Duration::days(1), "").await;
        let p = person(&app, "Hélène", "Dupré", "helene.dupre@example.org", true).await;
        let page = format!("/admin/events/{past}");
        app.post_form(
            &page,
            &format!("{page}/participants"),
            &[("person", &p.to_string())],
        )
        .await;
        for (name, offset) in [("Avant", "-2"), ("Après", "1")] {
            let res = app
                .post_form(
                    "/admin/rules/new",
                    "/admin/rules/new",
                    &[
                        ("name", name),
                        ("channel", "email"),
                        ("template", &t.to_string()),
                        ("offset", offset),
                    ],
                )
                .await;
            assert_eq!(res.status(), 303);
        }
        // Catching up the day three days ago: the J-2 reminder of an event
        // now past is not sent late; the J+1 follow-up of yesterday's event
        // is due today and goes.
        let missed = rules::run_day(&app.state, today - Duration::days(3), Utc::now())
            .await
            .unwrap();
        assert_eq!(missed.queued, 0, "{missed:?}");
        let due = rules::run_day(&app.state, today, Utc::now()).await.unwrap();
        assert_eq!(due.queued, 1, "{due:?}");
        assert_eq!(sink.wait_for(1, 20).await.len(), 1);

        // "Send the test to me" goes to the administrator only.
        let test_page = body(&app, &format!("/admin/rules/test?date={today}")).await;
        assert!(
            test_page.contains("already sent by an earlier run"),
            "{test_page}"
        );
        let rule = rules::load_all(&app.state.db, false)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.rule.name == "Après")
            .unwrap()
            .rule
            .id;
        let participation = amicale_store::entities::participations::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let res = app
            .post_form(
                &format!("/admin/rules/test?date={today}"),
                "/admin/rules/test/me",
                &[
                    ("date", &today.to_string()),
                    ("rule", &rule.to_string()),
                    ("participation", &participation.to_string()),
                ],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("notice=sent")
        );
        let got = sink.wait_for(2, 20).await;
        let test = got
            .iter()
            .find(|m| m.to == vec![ADMIN.to_owned()])
            .expect("test to me");
        assert_eq!(test.subject(), "[TEST] Rappel : Passé");
        assert_eq!(got.len(), 2, "no participant mailed by the test");

        // An inactive template: the rule shows in red and is skipped.
        amicale::comms::templates::store::set_active(&app.state.db, t, false, None)
            .await
            .unwrap();
        let list = body(&app, "/admin/rules").await;
        assert!(list.contains("class=\"problem\"") && list.contains("template inactive"));
        let s = rules::run_day(&app.state, today + Duration::days(1), Utc::now())
            .await
            .unwrap();
        assert_eq!((s.rules, s.skipped_rules), (0, 2));
        // A template held by a rule cannot be deleted.
        assert!(
            !amicale::comms::templates::store::deletable(&app.state.db, t)
                .await
                .unwrap()
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn members_register_themselves_and_get_their_calendar() {
    let (app, _sink, _db) = admin_app(Backend::Sqlite).await;
    let day = Utc::now().date_naive() + Duration::days(3);
    let event = new_event(&app, "Afterwork alumni", day, "1").await;
    let closed = {
        let res = app
            .post_form(
                "/admin/events/new",
                "/admin/events/new",
                &[
                    ("title", "Comité interne"),
                    ("nature", "collective"),
                    ("event_type", "Réunion"),
                    ("mode", "remote"),
                    ("date", &day.to_string()),
                    ("start", "10:00"),
                    ("end", "11:00"),
                ],
            )
            .await;
        id_after(&res, "/admin/events/")
    };
    // A member with a person record linked to their account.
    let member = "zoe@example.org";
    app.create_user(member, "member passphrase", false).await;
    let pid = person(&app, "Zoé", "Roux", member, true).await;
    let uid = amicale_store::entities::users::Entity::find()
        .filter(amicale_store::entities::users::Column::Email.eq(member))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    amicale_store::entities::persons::Entity::update_many()
        .col_expr(
            amicale_store::entities::persons::Column::UserId,
            sea_orm::sea_query::Expr::value(uid),
        )
        .filter(amicale_store::entities::persons::Column::Id.eq(pid))
        .exec(&app.state.db)
        .await
        .unwrap();
    let other = person(&app, "Léo", "Martin", "leo@example.org", true).await;
    let page = format!("/admin/events/{event}");
    app.post_form(
        &page,
        &format!("{page}/participants"),
        &[("person", &other.to_string())],
    )
    .await;

    let m = crate::support::new_client();
    assert_eq!(app.login_with(&m, member, "member passphrase").await, 303);
    let page_as = |path: &str| {
        let (app, m, path) = (&app, &m, path.to_owned());
        async move {
            let res = m.get(app.url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            res.text().await.unwrap()
        }
    };
    let post_as = |action: String| {
        let (app, m) = (&app, &m);
        async move {
            let html = m
                .get(app.url("/events"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let token = crate::support::extract_csrf(&html).unwrap();
            m.post(app.url(&action))
                .header("origin", &app.base)
                .form(&[("csrf_token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let list = page_as("/events").await;
    assert!(list.contains("Afterwork alumni") && !list.contains("Comité interne"));
    // Full: the member goes on the waiting list.
    let res = post_as(format!("/events/{event}/register")).await;
    assert_eq!(res.status(), 303);
    assert!(
        page_as("/events")
            .await
            .contains("You are on the waiting list.")
    );
    // A closed event cannot be joined by posting to it.
    let res = post_as(format!("/events/{closed}/register")).await;
    assert_eq!(res.status(), 403);
    // Staff pages stay closed to members.
    for path in [
        "/admin/events",
        "/admin/rules",
        "/admin/campaigns",
        "/admin/agenda",
    ] {
        assert_eq!(
            m.get(app.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }
    let ics = m
        .get(app.url(&format!("/events/{closed}.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(ics.status(), 404);
    // Léo leaves: Zoé takes the place, and her private feed lists the event.
    app.post_form(&page, &format!("{page}/participants/{other}/remove"), &[])
        .await;
    let list = page_as("/events").await;
    assert!(list.contains("You are registered."));
    let feed = list
        .split("readonly value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let anon = reqwest::Client::new();
    let ics = anon.get(&feed).send().await.unwrap();
    assert_eq!(ics.status(), 200);
    let ics = ics.text().await.unwrap();
    assert!(ics.contains("SUMMARY:Afterwork alumni") && !ics.contains("Comité"));
    let tampered = feed.replacen(
        &format!("/calendar/{uid}."),
        &format!("/calendar/{}.", uid + 1),
        1,
    );
    assert_eq!(anon.get(&tampered).send().await.unwrap().status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn the_person_page_sends_tonight_or_now_and_shows_the_history() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = template(
            &app,
            "Suivi",
            &["person_page"],
            "Votre suivi, {{ person.first_name }}",
            "<p>Bonjour {{ person.civility }} {{ person.last_name }}.</p>",
        )
        .await;
        let t2 = template(
            &app,
            "Relance",
            &["person_page"],
            "Relance",
            "<p>Relance.</p>",
        )
        .await;
        let p = person(&app, "Hélène", "Dupré", "helene.dupre@example.org", true).await;
        let q = person(&app, "Karim", "Benali", "karim.benali@example.org", false).await;
        let page = format!("/admin/people/{p}/messages");
        let html = body(&app, &page).await;
        assert!(html.contains("1 of 1 will receive it") && html.contains("Suivi"));
        // Two templates, for tonight: two messages waiting for the batch.
        let res = app
            .post_form(
                &page,
                &page,
                &[
                    ("channel", "email"),
                    ("template", &t.to_string()),
                    ("template", &t2.to_string()),
                    ("when", "tonight"),
                ],
            )
            .await;
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("notice=sent:2")
        );
        let rows = outbox::Entity::find()
            .filter(outbox::Column::PersonId.eq(p))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let batch = amicale::comms::direct::next_batch(&app.state, Utc::now());
        assert!(
            rows.iter()
                .all(|r| r.next_attempt_at == batch && r.origin.as_str() == "person_page"),
            "{batch} {rows:?}"
        );
        // Now: delivered at once.
        app.post_form(
            &page,
            &page,
            &[
                ("channel", "email"),
                ("template", &t.to_string()),
                ("when", "now"),
            ],
        )
        .await;
        let got = sink.wait_for(1, 20).await;
        assert_eq!(got[0].subject(), "Votre suivi, Hélène");
        assert!(got[0].text().contains("Bonjour Mme Dupré."));
        let html = body(&app, &page).await;
        assert_eq!(html.matches("person page").count(), 3, "{html}");
        // Karim refuses e-mails: told, nothing queued.
        let kpage = format!("/admin/people/{q}/messages");
        let res = app
            .post_form(
                &kpage,
                &kpage,
                &[
                    ("channel", "email"),
                    ("template", &t.to_string()),
                    ("when", "now"),
                ],
            )
            .await;
        let loc = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(loc.ends_with("notice=excluded:email_not_accepted"), "{loc}");
        assert!(
            body(&app, &loc)
                .await
                .contains("Not sent: e-mail not accepted.")
        );
        assert_eq!(
            outbox::Entity::find()
                .filter(outbox::Column::PersonId.eq(q))
                .count(&app.state.db)
                .await
                .unwrap(),
            0
        );
        app.stop().await;
    })
    .await;
}

/// `amicale rules dry-run` and `amicale schedule list|run` against the
/// database of a running server.
#[tokio::test]
async fn rules_dry_run_and_schedule_commands() {
    let (app, _sink, db) = admin_app(Backend::Sqlite).await;
    let t = template(
        &app,
        "Rappel J-1",
        &["automatic"],
        "Rappel",
        "<p>Bonjour {{ participant.first_name }}.</p>",
    )
    .await;
    let today = Utc::now().with_timezone(&app.state.tz).date_naive();
    let day = today + Duration::days(3);
    let event = new_event(&app, "Atelier", day + Duration::days(1), "").await;
    let page = format!("/admin/events/{event}");
    for (f, l, e, ok) in [
        ("Hélène", "Dupré", "helene@example.org", true),
        ("Karim", "Benali", "karim@example.org", false),
    ] {
        let id = person(&app, f, l, e, ok).await;
        app.post_form(
            &page,
            &format!("{page}/participants"),
            &[("person", &id.to_string())],
        )
        .await;
    }
    let res = app
        .post_form(
            "/admin/rules/new",
            "/admin/rules/new",
            &[
                ("name", "Veille"),
                ("channel", "email"),
                ("template", &t.to_string()),
                ("offset", "-1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_amicale"))
            .args(args)
            .env("AMICALE_DATABASE_URL", &db.url)
            .env("AMICALE_LOG_LEVEL", "warn")
            .env(
                "AMICALE_SECRET_KEY",
                "test-secret-key-that-is-long-enough-0123456789",
            )
            .output()
            .unwrap()
    };
    let out = run(&["rules", "dry-run", "--date", &day.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = v.as_array().unwrap();
    assert_eq!(lines.len(), 2, "{v}");
    for l in lines {
        assert_eq!(l["rule"], "Veille");
        assert_eq!(l["template"], "Rappel J-1");
        assert_eq!(l["channel"], "email");
    }
    let excluded: Vec<_> = lines
        .iter()
        .map(|l| (l["recipient"].as_str().unwrap(), l["excluded"].clone()))
        .collect();
    assert!(excluded.contains(&("Hélène Dupré", serde_json::Value::Null)));
    assert!(excluded.contains(&("Karim Benali", serde_json::json!("email_not_accepted"))));
    // Nothing was sent by the dry run.
    assert_eq!(
        outbox::Entity::find().count(&app.state.db).await.unwrap(),
        0
    );
    let out = run(&["rules", "dry-run", "--date", "22/11/2026"]);
    assert!(!out.status.success());

    let out = run(&["schedule", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    for n in [
        "automatic-rules",
        "campaigns",
        "invitation-reminders",
        "outbox-housekeeping",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    let rules_row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "automatic-rules")
        .unwrap();
    assert_eq!(rules_row["cron"], "0 19 * * *");
    assert!(rules_row["next"].as_str().unwrap().contains("T19:00:00"));
    // One slot now (the latest 19:00), then the same slot again: it does
    // not run twice.
    let first = run(&["schedule", "run", "automatic-rules"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["outcome"], "ok", "{first}");
    let second = run(&["schedule", "run", "automatic-rules"]);
    let second: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(second["slot"], first["slot"]);
    assert_eq!(second["outcome"], "already ran");
    assert!(!run(&["schedule", "run", "no-such-task"]).status.success());
    app.stop().await;
}

#[tokio::test]
async fn reports_count_targeted_excluded_and_delivered_per_send_and_rule() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = template(
            &app,
            "Rappel",
            &["automatic", "event_page"],
            "Rappel : {{ event.title }}",
            "<p>Bonjour {{ participant.first_name }}.</p>",
        )
        .await;
        let today = Utc::now().with_timezone(&app.state.tz).date_naive();
        let event = new_event(&app, "Atelier réseau", today + Duration::days(2), "").await;
        let page = format!("/admin/events/{event}");
        for (f, l, e, ok) in [
            ("Hélène", "Dupré", "helene@example.org", true),
            ("Karim", "Benali", "karim@example.org", true),
            ("Sophie", "Laurent", "sophie@example.org", false),
        ] {
            let id = person(&app, f, l, e, ok).await;
            app.post_form(
                &page,
                &format!("{page}/participants"),
                &[("person", &id.to_string())],
            )
            .await;
        }
        let res = app
            .post_form(
                "/admin/rules/new",
                "/admin/rules/new",
                &[
                    ("name", "Rappel J-2"),
                    ("channel", "email"),
                    ("template", &t.to_string()),
                    ("offset", "-2"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        rules::run_day(&app.state, today, Utc::now()).await.unwrap();
        app.post_form(
            &page,
            &format!("{page}/send"),
            &[
                ("channel", "email"),
                ("audience", "all"),
                ("template", &t.to_string()),
            ],
        )
        .await;
        sink.wait_for(4, 20).await;
        // Every message reached its final state before the report is read.
        for _ in 0..200 {
            let waiting = outbox::Entity::find()
                .filter(outbox::Column::State.is_in(["queued", "sending"]))
                .count(&app.state.db)
                .await
                .unwrap();
            if waiting == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let lines = amicale::comms::reports::lines(&app.state, &Default::default())
            .await
            .unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        for l in &lines {
            assert_eq!(
                (l.targeted, l.excluded, l.sent, l.failed),
                (3, 1, 2, 0),
                "{l:?}"
            );
            assert_eq!(l.excluded_by, vec![("email_not_accepted".to_owned(), 1)]);
            assert_eq!(l.delivered_pct(), Some(100.0));
        }
        assert!(
            lines
                .iter()
                .any(|l| l.origin == "rule" && l.name == "Rappel J-2")
        );
        assert!(lines.iter().any(|l| l.origin == "event_page"));
        let html = body(&app, "/admin/reports").await;
        assert!(
            html.contains("Rappel J-2") && html.contains("e-mail not accepted: 1"),
            "{html}"
        );
        assert!(html.contains("average 100.0 %"));
        let csv = app.get("/admin/reports?format=csv").await;
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let csv = csv.text().await.unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(csv.starts_with("origin,name,date,targeted,excluded"));
        assert!(csv.contains("rule,Rappel J-2,"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn event_scopes_follow_the_permission_profile() {
    use amicale_kernel::permissions::{Matrix, Module, Scope};
    use amicale_store::entities::{event_facilitators, permission_profiles};
    use sea_orm::ActiveValue::Set;
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let day = Utc::now().date_naive() + Duration::days(3);
        let theirs = new_event(&app, "Atelier CV", day, "10").await;
        let other = new_event(&app, "Atelier pitch", day, "10").await;
        // Advisors see only the events they facilitate.
        let profile = permission_profiles::Entity::find()
            .filter(permission_profiles::Column::Name.eq("advisor"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut m: Matrix = serde_json::from_str(&profile.matrix).unwrap();
        let mut right = m.get(Module::Events);
        right.scope = Scope::Assigned;
        m.0.insert(Module::Events, right);
        permission_profiles::Entity::update(permission_profiles::ActiveModel {
            id: Set(profile.id),
            matrix: Set(serde_json::to_string(&m).unwrap()),
            ..Default::default()
        })
        .exec(&app.state.db)
        .await
        .unwrap();
        let (advisor, advisor_id) =
            crate::support::staff(&app, "advisor@example.org", "advisor", None).await;
        event_facilitators::Entity::insert(event_facilitators::ActiveModel {
            event_id: Set(theirs),
            user_id: Set(advisor_id),
        })
        .exec(&app.state.db)
        .await
        .unwrap();

        let list = app.text_as(&advisor, "/admin/events").await;
        assert!(
            list.contains("Atelier CV") && !list.contains("Atelier pitch"),
            "{list}"
        );
        let week = format!("/admin/agenda?all=1&date={}", day.format("%Y-%m-%d"));
        let agenda = app.text_as(&advisor, &week).await;
        assert!(
            agenda.contains("Atelier CV") && !agenda.contains("Atelier pitch"),
            "{agenda}"
        );
        let get = |path: String| {
            let c = advisor.clone();
            let url = app.url(&path);
            async move { c.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(get(format!("/admin/events/{theirs}")).await, 200);
        for path in [
            format!("/admin/events/{other}"),
            format!("/admin/events/{other}/edit"),
            format!("/admin/events/{other}/sheet"),
        ] {
            assert_eq!(get(path.clone()).await, 404, "{path}");
        }
        let mine = format!("/admin/events/{theirs}");
        for action in [
            format!("/admin/events/{other}/participants"),
            format!("/admin/events/{other}/send"),
            format!("/admin/events/{other}/delete"),
        ] {
            let res = app.post_form_as(&advisor, &mine, &action, &[]).await;
            assert_eq!(res.status(), 404, "{action}");
        }
        assert_eq!(
            amicale_store::entities::events::Entity::find()
                .count(&app.state.db)
                .await
                .unwrap(),
            2,
            "nothing deleted"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_last_places_go_to_exactly_as_many_as_there_are() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let day = Utc::now().date_naive() + Duration::days(4);
        let id = new_event(&app, "Atelier réseau", day, "3").await;
        let event = amicale::events::store::get(&app.state.db, id)
            .await
            .unwrap();
        let mut people = Vec::new();
        for i in 0..8 {
            people.push(
                crate::support::beneficiary(
                    &app,
                    "Camille",
                    &format!("Martin{i}"),
                    &format!("camille{i}@example.org"),
                )
                .await,
            );
        }
        // Eight registrations at once for three places.
        let tasks: Vec<_> = people
            .iter()
            .map(|p| {
                let (db, event, p) = (app.state.db.clone(), event.clone(), *p);
                tokio::spawn(async move {
                    amicale::events::store::register(&db, &event, p, None)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut registered = 0;
        for t in tasks {
            if t.await.unwrap() == amicale::events::store::Registered::Registered {
                registered += 1;
            }
        }
        assert_eq!(registered, 3);
        assert_eq!(
            amicale::events::store::fill(&app.state.db, id)
                .await
                .unwrap(),
            (3, 5)
        );
        // Two leave at once: the first two of the waiting list move up.
        let leaving: Vec<_> = people.iter().take(8).copied().collect();
        let mut left = Vec::new();
        for p in leaving {
            let row = amicale_store::entities::participations::Entity::find()
                .filter(amicale_store::entities::participations::Column::PersonId.eq(p))
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
            if !row.waiting && left.len() < 2 {
                left.push(p);
            }
        }
        let tasks: Vec<_> = left
            .iter()
            .map(|p| {
                let (db, event, p) = (app.state.db.clone(), event.clone(), *p);
                tokio::spawn(async move {
                    amicale::events::store::unregister(&db, &event, p)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(
            amicale::events::store::fill(&app.state.db, id)
                .await
                .unwrap(),
            (3, 3)
        );
        app.stop().await;
    })
    .await;
}
