//! The HTTP/1 server loop. `axum::serve` has no header-read or idle timeout
//! and no connection cap: a thousand silent sockets made the server
//! unreachable. Here every connection holds one of `max_connections`
//! permits (further ones wait in the kernel's accept queue until one frees),
//! must send its request head within `header_read_timeout_secs` (hyper's
//! timer, which also runs while a kept-alive connection waits for its next
//! request), and is dropped when nothing moves on it for
//! `idle_timeout_secs` while no handler is running (a client that stops
//! reading its answer). Handlers run at most `max_concurrent_requests` at
//! once. Shutdown stops accepting and lets requests in flight finish.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::app::Shutdown;
use amicale_delivery::config::Config;

/// Serves until `shutdown` fires, then waits for the open connections to
/// finish the requests they carry.
pub async fn run(listener: TcpListener, router: Router, config: &Config, mut shutdown: Shutdown) {
    let connections = Arc::new(Semaphore::new(config.max_connections));
    let requests = Arc::new(Semaphore::new(config.max_concurrent_requests));
    let idle = Duration::from_secs(config.idle_timeout_secs);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(config.header_read_timeout_secs))
        .keep_alive(true);
    let per_client = (!config.behind_proxy).then_some(config.max_connections_per_client);
    let open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> =
        Default::default();
    let queue_timeout = Duration::from_secs(config.request_queue_timeout_secs);
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        // At the cap, stop accepting: new clients wait in the accept queue
        // (not refused) while idle connections time out.
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.wait() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: the condition
                    // lasts, so give closing connections a moment instead of
                    // spinning on it.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => break,
        };
        // One client may not hold every connection: over its share, the new
        // one is closed at once.
        let Some(held) = ClientConnection::open(&open, peer.ip().to_canonical(), per_client) else {
            tracing::debug!(%peer, "connection refused: the client holds its share");
            drop(stream);
            continue;
        };
        // Small answers go out at once rather than after a delayed ACK.
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection(
            builder.clone(),
            stream,
            peer,
            router.clone(),
            requests.clone(),
            idle,
            queue_timeout,
            shutdown.clone(),
            (permit, held),
        ));
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    builder: http1::Builder,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    requests: Arc<Semaphore>,
    idle: Duration,
    queue_timeout: Duration,
    mut shutdown: Shutdown,
    _held: (OwnedSemaphorePermit, ClientConnection),
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let in_handler = activity.clone();
    let service = hyper::service::service_fn(move |req: axum::http::Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        // `web::client` reads the peer address from here.
        req.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        let requests = requests.clone();
        let activity = in_handler.clone();
        async move {
            let _running = activity.handler_started();
            // A request that cannot get a slot soon is told so, rather than
            // waiting behind slow ones without end.
            let Ok(_slot) = tokio::time::timeout(queue_timeout, requests.acquire_owned()).await
            else {
                return Ok(axum::response::IntoResponse::into_response(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ));
            };
            router.oneshot(req).await
        }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                break;
            }
            _ = shutdown.wait(), if !stopping => {
                // Finishes the request in flight, closes an idle connection.
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = activity.idle_for(idle) => {
                tracing::debug!(%peer, "idle connection closed");
                break;
            }
        }
    }
}

/// One open connection of a client address, counted while it lives.
struct ClientConnection {
    open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl ClientConnection {
    /// Counts a connection of `ip`; `None` when it already holds `cap`.
    fn open(
        open: &Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
        ip: std::net::IpAddr,
        cap: Option<usize>,
    ) -> Option<Self> {
        let mut map = open.lock().ok()?;
        let n = map.entry(ip).or_default();
        if cap.is_some_and(|c| *n >= c) {
            return None;
        }
        *n += 1;
        Some(Self {
            open: open.clone(),
            ip,
        })
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        if let Ok(mut map) = self.open.lock()
            && let Some(n) = map.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// When bytes last moved on a connection, and how many of its requests are
/// being handled (a handler may think for a while without any I/O; the
/// request timeout bounds that).
struct Activity {
    start: Instant,
    last_millis: AtomicU64,
    handlers: AtomicUsize,
}

struct HandlerRunning(Arc<Activity>);

impl Drop for HandlerRunning {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handlers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
            handlers: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_millis.store(now, Ordering::Relaxed);
    }

    fn handler_started(self: &Arc<Self>) -> HandlerRunning {
        self.handlers.fetch_add(1, Ordering::Relaxed);
        HandlerRunning(self.clone())
    }

    /// Resolves once nothing has moved for `idle` with no handler running.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
            let deadline = self.start + last + idle;
            if Instant::now() >= deadline && self.handlers.load(Ordering::Relaxed) == 0 {
                return;
            }
            tokio::time::sleep_until(deadline.max(Instant::now() + Duration::from_millis(10)))
                .await;
            if self.handlers.load(Ordering::Relaxed) > 0 {
                // Count the idle time from the handler's end.
                self.touch();
            }
        }
    }
}

/// A socket that notes when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        res
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Each connection is a file descriptor, and the usual soft limit (1,024)
/// is far below what the connection cap allows: raise it to the hard limit.
pub fn raise_fd_limit() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => tracing::debug!(limit = ?limit.maximum, "file descriptor limit raised"),
                Err(e) => tracing::warn!(error = %e, "cannot raise the file descriptor limit"),
            }
        }
    }
}
