//! Events, participants, automatic rules, sends from the event page and
//! the person page, eligibility, unsubscribing, calendars.

use amicale::db::entities::{outbox, rule_deliveries};
use amicale::events::rules;
use amicale::schedule::{Scheduler, tasks};
use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Backend, TestApp, on_each_backend, spawn_app};

const ADMIN: &str = "admin@example.org";
const PASSWORD: &str = "admin passphrase";

async fn admin_app(b: Backend) -> (TestApp, crate::support::SmtpSink, crate::support::TestDb) {
    let (app, sink, db) = spawn_app(b).await;
    app.create_user(ADMIN, PASSWORD, true).await;
    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), 303);
    (app, sink, db)
}

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
    let loc = res.headers()["location"].to_str().unwrap();
    loc.trim_start_matches(prefix)
        .split(['?', '/'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no id in {loc}"))
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
        assert!(body(&app, &page).await.contains("3(0)/10"));

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
