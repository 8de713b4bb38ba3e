//! Security tests: transport (issue 20, items 5, 6, 13, 18 and 20): what
//! reaches the server before anyone is authenticated — bodies, idle or slow
//! connections — and the headers and endpoints around them.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{
    TestApp, TestDb, admin_app, beneficiary, campaign_template, new_client, on_each_backend,
    spawn_app, test_config,
};

/// Longer than any answer these tests wait for, far shorter than the
/// server's 30 s request timeout: a server that waits for a body that never
/// ends fails the test instead of answering 408 at last.
const PATIENCE: Duration = Duration::from_secs(10);

/// The host and port of `app`, for raw sockets.
fn authority(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// A valid CSRF cookie, as a first visit to `/login` sets it.
async fn csrf_cookie(app: &TestApp) -> String {
    let res = new_client().get(app.url("/login")).send().await.unwrap();
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("amicale_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned()
}

/// Everything the server sends until it closes or `PATIENCE` runs out
/// (`None`).
async fn read_until_close(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(out)
}

/// The status line of the first answer on `stream`, without waiting for the
/// connection to close (the server may keep reading a body).
async fn status_line(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    timeout(PATIENCE, async {
        let mut buf = [0u8; 1024];
        while !out.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("an answer while the body is still being sent");
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Item 5: an anonymous multipart POST announcing 20 MB whose first part is
/// not the token is refused from the first bytes, while the client has sent
/// only a little of it and sends no more: the body is never read into
/// memory. Before, the CSRF layer read up to 25 MB of it first.
#[tokio::test]
async fn an_anonymous_multipart_body_is_refused_before_it_is_read() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let cookie = csrf_cookie(&app).await;
        let host = authority(&app);
        // The first part is a file (never ends within what is sent), then a
        // first part that is complete but is not the token.
        let firsts: [&[u8]; 2] = [
            b"--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.bin\"\r\n\r\n",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nx@example.org\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n",
        ];
        for first in firsts {
            let mut s = TcpStream::connect(&host).await.unwrap();
            let head = format!(
                "POST /login HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nCookie: {cookie}\r\n\
                 Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
                20 * 1024 * 1024
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(first).await.unwrap();
            s.write_all(&vec![b'a'; 64 * 1024]).await.unwrap();
            // ...and nothing more: a server reading the whole body waits.
            let status = status_line(&mut s).await;
            assert!(status.starts_with("HTTP/1.1 403"), "{status}");
        }
        app.stop().await;
    })
    .await;
}

/// Item 5, the other side: a multipart form whose first part is the token
/// still reaches its handler whole (a signed-in photo upload), and the
/// token can still come in the header instead.
#[tokio::test]
async fn multipart_forms_with_the_token_first_still_work() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let id = beneficiary(&app, "Hélène", "Dupré", "helene@example.org").await;
        let path = format!("/admin/people/{id}");
        let token = app.csrf(&path).await;
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        // Larger than one read of the socket: the rest is streamed after the
        // token part.
        png.resize(900 * 1024, 7);
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .part(
                "photo",
                reqwest::multipart::Part::bytes(png.clone()).file_name("me.png"),
            );
        let res = app
            .client
            .post(app.url(&format!("{path}/photo")))
            .header("origin", &app.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("photo-saved")
        );
        let saved = app.get(&format!("/people/{id}/photo")).await;
        assert_eq!(saved.bytes().await.unwrap().to_vec(), png);
        // The token in the header, the file first.
        let form = reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(b"GIF89a....".to_vec()).file_name("me.gif"),
        );
        let res = app
            .client
            .post(app.url(&format!("{path}/photo")))
            .header("origin", &app.base)
            .header("x-csrf-token", &token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("photo-saved")
        );
        app.stop().await;
    })
    .await;
}

/// Item 18: a truncated multipart body is a 400, a photo over the route's
/// limit a 413, each with a page that says so — not a 500.
#[tokio::test]
async fn truncated_or_oversized_uploads_are_client_errors() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = admin_app(b).await;
        let id = beneficiary(&app, "Hélène", "Dupré", "helene@example.org").await;
        let path = format!("/admin/people/{id}");
        let token = app.csrf(&path).await;

        let mut cut = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\n"
        )
        .into_bytes();
        cut.extend_from_slice(b"\x89PNG\r\n\x1a\nand then the body stops");
        let res = app
            .client
            .post(app.url(&format!("{path}/photo")))
            .header("origin", &app.base)
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(cut)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert!(
            res.text().await.unwrap().contains("did not arrive whole"),
            "a page that says what went wrong"
        );

        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(1200 * 1024, 0);
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .part(
                "photo",
                reqwest::multipart::Part::bytes(big).file_name("big.png"),
            );
        let res = app
            .client
            .post(app.url(&format!("{path}/photo")))
            .header("origin", &app.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        assert!(res.text().await.unwrap().contains("File too large"));

        // A template attachment of the 2 MB it may weigh is accepted (the
        // default body limit used to refuse it with a 500).
        let tpl = campaign_template(&app, "Avec pièce jointe").await;
        let token = app.csrf(&format!("/admin/templates/{tpl}")).await;
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.resize(2 * 1024 * 1024, b' ');
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf).file_name("programme.pdf"),
            );
        let res = app
            .client
            .post(app.url(&format!("/admin/templates/{tpl}/attachments")))
            .header("origin", &app.base)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        app.stop().await;
    })
    .await;
}

async fn start_with(
    db: &TestDb,
    change: impl FnOnce(&mut amicale_delivery::config::Config),
) -> TestApp {
    let mut config = test_config(&db.url, None);
    change(&mut config);
    TestApp::start(config).await
}

/// Item 6: a client that connects and sends half a request head is cut off
/// after the header-read timeout (before, the socket stayed open for ever).
#[tokio::test]
async fn a_silent_or_slow_client_is_disconnected() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = start_with(&db, |c| c.header_read_timeout_secs = 1).await;
        let host = authority(&app);
        let mut silent = TcpStream::connect(&host).await.unwrap();
        let mut slow = TcpStream::connect(&host).await.unwrap();
        slow.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n").as_bytes())
            .await
            .unwrap();
        for s in [&mut silent, &mut slow] {
            let got = read_until_close(s).await;
            assert!(got.is_some(), "the server closes the connection");
        }
        // A kept-alive connection waiting for its next request is closed too.
        let mut kept = TcpStream::connect(&host).await.unwrap();
        kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let got = read_until_close(&mut kept)
            .await
            .expect("closed after the answer");
        assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
        app.stop().await;
    })
    .await;
}

/// Item 6: with more idle sockets open than `max_connections`, a new client
/// is still answered (it waits until idle ones time out) rather than never.
#[tokio::test]
async fn idle_sockets_beyond_the_cap_do_not_lock_clients_out() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = start_with(&db, |c| {
            c.max_connections = 4;
            c.header_read_timeout_secs = 1;
        })
        .await;
        let host = authority(&app);
        let mut idle = Vec::new();
        for _ in 0..12 {
            idle.push(TcpStream::connect(&host).await.unwrap());
        }
        let res = timeout(PATIENCE, new_client().get(app.url("/healthz")).send())
            .await
            .expect("answered while idle sockets are open")
            .unwrap();
        assert_eq!(res.status(), 200);
        drop(idle);
        app.stop().await;
    })
    .await;
}

/// Item 6: stopping lets a request in flight finish: a POST whose body is
/// still arriving when the stop comes is answered.
#[tokio::test]
async fn stopping_finishes_the_request_in_flight() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let cookie = csrf_cookie(&app).await;
        let token = cookie.trim_start_matches("amicale_csrf=").to_owned();
        let host = authority(&app);
        let body = format!("email=a%40example.org&password=wrong&csrf_token={token}");
        let mut s = TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        // "100 Continue" comes when a handler starts reading the body: the
        // request is in flight.
        assert_eq!(status_line(&mut s).await, "HTTP/1.1 100 Continue");
        let stopping = tokio::spawn(app.stop());
        s.write_all(body.as_bytes()).await.unwrap();
        let got = read_until_close(&mut s)
            .await
            .expect("answered, then closed");
        let text = String::from_utf8_lossy(&got);
        let answer = text.trim_start_matches("\r\n");
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 4"),
            "{text}"
        );
        timeout(PATIENCE, stopping).await.unwrap().unwrap();
    })
    .await;
}

/// Item 13: made-up HTTP methods share one label in the metrics.
#[tokio::test]
async fn unknown_methods_share_one_metrics_label() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        let brew = reqwest::Method::from_bytes(b"BREWCOFFEE").unwrap();
        app.client
            .request(brew, app.url("/healthz"))
            .send()
            .await
            .unwrap();
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(!text.contains("BREWCOFFEE"), "{text}");
        assert!(text.contains("method=\"other\""), "{text}");
        app.stop().await;
    })
    .await;
}

/// Item 13: `/metrics` needs the configured bearer token; without one, it
/// answers only clients on this host that came straight to us.
#[tokio::test]
async fn metrics_need_a_token_or_a_local_client() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = start_with(&db, |c| c.metrics_token = Some("m3trics-t0ken".into())).await;
        let get = |auth: Option<&'static str>| {
            let mut req = new_client().get(app.url("/metrics"));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            req.send()
        };
        assert_eq!(get(None).await.unwrap().status(), 401);
        assert_eq!(get(Some("Bearer wrong")).await.unwrap().status(), 401);
        let ok = get(Some("Bearer m3trics-t0ken")).await.unwrap();
        assert_eq!(ok.status(), 200);
        assert!(
            ok.text()
                .await
                .unwrap()
                .contains("amicale_http_requests_total")
        );
        app.stop().await;

        // No token: a local client is answered, one relayed by a proxy is not.
        let app = start_with(&db, |c| c.bind = "0.0.0.0:0".into()).await;
        let port = app.state.config.bind.clone();
        let local = new_client().get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(local.status(), 200);
        let relayed = new_client()
            .get(app.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(relayed.status(), 404);
        // A client from another address (this host's own non-loopback
        // address, where there is one) is not answered either.
        if let Some(ip) = own_address() {
            let port = app.base.rsplit(':').next().unwrap().to_owned();
            let remote = new_client()
                .get(format!("http://{ip}:{port}/metrics"))
                .send()
                .await
                .unwrap();
            assert_eq!(remote.status(), 404);
            let health = new_client()
                .get(format!("http://{ip}:{port}/healthz"))
                .send()
                .await
                .unwrap();
            assert_eq!(health.status(), 200, "the address itself works");
        } else {
            eprintln!("no non-loopback address: remote /metrics not tried ({port})");
        }
        app.stop().await;
    })
    .await;
}

/// This host's address on its default route, if it has one.
fn own_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing; it only picks the source address.
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Item 20: the reset and invitation pages keep their own `no-referrer`
/// (their address holds a secret); other pages get `same-origin`.
#[tokio::test]
async fn pages_with_a_secret_in_their_address_send_no_referrer() {
    on_each_backend(|b| async move {
        let (app, _sink, _db) = spawn_app(b).await;
        for path in ["/password/reset/some-token", "/invitation/some-token"] {
            let res = app.get(path).await;
            assert_eq!(res.headers()["referrer-policy"], "no-referrer", "{path}");
        }
        let res = app.get("/login").await;
        assert_eq!(res.headers()["referrer-policy"], "same-origin");
        assert!(res.headers().get("strict-transport-security").is_none());
        app.stop().await;
    })
    .await;
}

/// Item 20: with an https base URL, every answer asks browsers to keep to
/// https (HSTS).
#[tokio::test]
async fn an_https_site_sends_hsts() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = start_with(&db, |c| {
            c.base_url = Some("https://amicale.example".into());
        })
        .await;
        for path in ["/login", "/healthz", "/no-such-page"] {
            let res = new_client().get(app.url(path)).send().await.unwrap();
            assert_eq!(
                res.headers()["strict-transport-security"],
                "max-age=63072000; includeSubDomains",
                "{path}"
            );
        }
        app.stop().await;
    })
    .await;
}

/// Review of item 6: one client cannot hold every connection; over its
/// share a new connection is closed at once, and freed ones count again.
#[tokio::test]
async fn one_client_holds_only_its_share_of_connections() {
    on_each_backend(|b| async move {
        let db = TestDb::new(b).await;
        let app = start_with(&db, |c| {
            c.max_connections_per_client = 3;
            c.header_read_timeout_secs = 60;
        })
        .await;
        let host = authority(&app);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(TcpStream::connect(&host).await.unwrap());
        }
        let mut extra = TcpStream::connect(&host).await.unwrap();
        let mut buf = [0u8; 16];
        // Closed by the server long before the minute of header timeout.
        let n = timeout(PATIENCE, extra.read(&mut buf))
            .await
            .expect("closed at once")
            .unwrap_or(0);
        assert_eq!(n, 0);
        drop(held);
        // The server counts a connection free once it has read its close;
        // until then a new one may still be refused.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match new_client().get(app.url("/healthz")).send().await {
                Ok(res) => {
                    assert_eq!(res.status(), 200);
                    break;
                }
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "never answered once the held connections closed: {e}"
                ),
            }
            tokio::task::yield_now().await;
        }
        app.stop().await;
    })
    .await;
}
