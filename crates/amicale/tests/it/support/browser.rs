//! Headless Chromium through chromedriver (Debian packages), via fantoccini.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn find(candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| (*p).to_owned())
}

impl Browser {
    /// None (with a message) when chromedriver or Chromium is not installed.
    pub async fn start() -> Option<Browser> {
        let Some(driver_bin) = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
        else {
            eprintln!("chromedriver not found: browser test skipped");
            return None;
        };
        let Some(chrome) = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]) else {
            eprintln!("chromium not found: browser test skipped");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900"
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; retry the session until it does.
        let mut last_err = None;
        for _ in 0..100 {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(caps.clone());
            match builder.connect(&url).await {
                Ok(client) => return Some(Browser { client, driver }),
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver never accepted a session: {last_err:?}");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// axe-core's source, for accessibility checks in the browser. npm installs
/// it under `target/npm` the first time (a test tool, never shipped).
pub fn axe_source() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/npm");
    let file = dir.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args([
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--silent",
                "axe-core@4",
            ])
            .status()
            .expect("npm runs (Debian package npm)");
        assert!(status.success(), "npm install axe-core failed");
    }
    std::fs::read_to_string(&file).expect("axe-core installed")
}

/// The serious and critical accessibility violations axe finds on the
/// current page, one line each: rule and the elements concerned.
pub async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    // Loaded through WebDriver, which the page's CSP does not govern.
    c.execute(&format!("{axe}\nreturn true;"), vec![])
        .await
        .expect("axe loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(
               r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))
             ));",
            vec![],
        )
        .await
        .expect("axe runs");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
