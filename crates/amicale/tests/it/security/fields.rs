//! Values that only our own pages fill — page numbers, a choice among
//! options, a link's date — are read or refused (400), never replaced by a
//! default that would show or do something else than what was asked.

use crate::support::{admin_app, on_each_backend};

#[tokio::test]
async fn unreadable_query_values_are_refused_not_defaulted() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        for (url, ok) in [
            ("/admin/people?page=2", true),
            ("/admin/people?page=", true),
            ("/admin/people?page=two", false),
            ("/directory?page=-1", false),
            ("/admin/events?page=x", false),
            ("/admin/agenda?date=", true),
            ("/admin/agenda?date=31/02/2027", false),
            ("/admin/reports?from=2026-01-01", true),
            ("/admin/reports?from=yesterday", false),
            ("/admin/campaigns/new?recipient_type=martian", false),
            ("/admin/campaigns/new?channel=pigeon", false),
        ] {
            let status = app.get(url).await.status();
            if ok {
                assert_eq!(status, 200, "{url}");
            } else {
                assert_eq!(status, 400, "{url}");
            }
        }
        app.stop().await;
    })
    .await;
}

/// A person's status and recipient type come from lists: anything else is
/// an error on its field, not "active member".
#[tokio::test]
async fn a_person_form_with_an_unknown_status_is_refused_on_its_field() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let res = app
            .post_form(
                "/admin/people/new",
                "/admin/people/new",
                &[
                    ("first_name", "Nora"),
                    ("last_name", "Unlisted"),
                    ("email0", "nora@example.org"),
                    ("status", "emperor"),
                    ("recipient_type", "beneficiary"),
                ],
            )
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("aria-invalid"));
        let list = app.get("/admin/people").await.text().await.unwrap();
        assert!(!list.contains("Unlisted"), "nothing was created");
        app.stop().await;
    })
    .await;
}
