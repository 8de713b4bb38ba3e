//! A PostgreSQL database per test, dropped afterwards.

use sea_orm::{ConnectionTrait, Database};

pub fn admin_url() -> Option<String> {
    std::env::var("AMICALE_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

pub struct PgDb {
    pub url: String,
    name: String,
    admin: String,
}

fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("AMICALE_TEST_POSTGRES_URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

impl PgDb {
    pub async fn create() -> PgDb {
        let admin = admin_url().expect("AMICALE_TEST_POSTGRES_URL");
        let name = format!(
            "amicale_test_{}",
            amicale_kernel::crypto::random_token(9)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let conn = Database::connect(&admin)
            .await
            .expect("connect to PostgreSQL");
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        conn.close().await.ok();
        PgDb {
            url: with_database(&admin, &name),
            name,
            admin,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a separate thread with its own
        // runtime can block on the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(conn) = Database::connect(&admin).await {
                    let _ = conn
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}
