//! Serving the router to a hostile network: hyper's HTTP/1.1 connection
//! driven by our own accept loop, with limits on everything a client could
//! otherwise hold open or pile up.
//!
//! - Connections: at most [`Limits::max_connections`] at once; one more is
//!   closed as soon as it is accepted (a phone retries). Each has
//!   [`Limits::header_timeout`] to send a request's headers — the first
//!   request's and every keep-alive request's after — or it is closed
//!   (slowloris, and idle keep-alive connections holding descriptors).
//!   After [`Limits::max_requests_per_connection`] a connection is closed
//!   once its answer is sent.
//! - Requests: at most [`Limits::max_in_flight`] handled at once; beyond
//!   that, 503 `overloaded` with `Retry-After` at once (shedding, which the
//!   handset's backoff honours). A body must arrive whole within
//!   [`Limits::body_timeout`] (a body dripped byte by byte is cut off, 408).
//! - hyper answers what it cannot parse (a bad request line, too many or
//!   conflicting headers) itself, with an empty body; [`ErrorBodies`] gives
//!   those answers an `ApiError` body like every other error.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use super::error::ApiFailure;

/// What one server lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub max_in_flight: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_requests_per_connection: usize,
    /// What a shed request is told to wait.
    pub retry_after: Duration,
    /// Requests one officer (a token's subject) may make in a second;
    /// beyond it, 429 with `Retry-After`.
    pub per_officer_per_s: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Well under the usual descriptor limit, which the database,
            // the log and the listener share.
            max_connections: fd_budget().min(4_096),
            max_in_flight: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_requests_per_connection: 1_000,
            retry_after: Duration::from_secs(2),
            // Above a handset draining a week's backlog one request at a
            // time even over loopback (the tests and the simulator do, at
            // ~500 a second); the in-flight cap guards the total, this one
            // keeps a single stolen or runaway token from taking all of it.
            per_officer_per_s: 1_000,
        }
    }
}

/// Half the process's descriptor limit, or a conservative guess.
fn fd_budget() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct we own and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            return usize::try_from(lim.rlim_cur / 2).unwrap_or(usize::MAX).max(64);
        }
    }
    512
}

/// The router with the request limits around it.
pub(crate) fn limited(app: Router, limits: Limits) -> Router {
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    app.layer(axum::middleware::from_fn_with_state((in_flight, limits), guard))
}

/// Sheds a request beyond the in-flight limit, and puts a deadline on the
/// body of the rest.
async fn guard(State((in_flight, limits)): State<(Arc<Semaphore>, Limits)>, req: Request, next: Next) -> Response {
    let Ok(_permit) = in_flight.try_acquire_owned() else {
        let mut resp = ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is busy; try again shortly",
        )
        .into_response();
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(limits.retry_after.as_secs().max(1)),
        );
        return resp;
    };
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let req = req.map(|body| Body::new(Deadline::new(body, deadline)));
    next.run(req).await
}

/// A request body that fails once its deadline passes.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    fn new(inner: Body, deadline: tokio::time::Instant) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

/// The body did not arrive in time (answered 408 by `read_body`).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub(crate) struct BodyTimedOut;

impl http_body::Body for Deadline {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Pin::new(&mut self.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// connections finish what they are answering.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let app = limited(app, limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or a client gone before accept):
                    // not a reason to stop serving the others.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            app: app.clone(),
            served: Arc::new(AtomicUsize::new(0)),
            max: limits.max_requests_per_connection,
        };
        let mut closed = closed.clone();
        tasks.spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let io = TokioIo::new(ErrorBodies::new(stream));
            let served = builder.serve_connection(io, conn);
            let mut served = std::pin::pin!(served);
            tokio::select! {
                _ = served.as_mut() => {}
                _ = closed.changed() => {
                    served.as_mut().graceful_shutdown();
                    let _ = served.await;
                }
            }
        });
    }
    let _ = closing.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// One connection's service: the router, and a count of requests so the
/// connection can be closed after its last.
#[derive(Clone)]
struct Connection {
    app: Router,
    served: Arc<AtomicUsize>,
    max: usize,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Connection {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let last = n >= self.max;
        let app = self.app.clone();
        Box::pin(async move {
            let mut resp = app.oneshot(req.map(Body::new)).await?;
            if last {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(resp)
        })
    }
}

/// The socket, with hyper's own empty error answers given an `ApiError`
/// body on the way out. The router's answers always carry a content type,
/// so a 4xx/5xx head with none and an empty body can only be hyper's.
pub(crate) struct ErrorBodies<S> {
    inner: S,
    pending: Vec<u8>,
    at: usize,
}

impl<S> ErrorBodies<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            at: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> ErrorBodies<S> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.at < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.at += n;
        }
        self.pending.clear();
        self.at = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ErrorBodies<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(answer) = with_error_body(buf) {
            self.pending = answer;
            self.at = 0;
            // Taken whole: written out by this drain or the next flush.
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // One head per write, so a head can be recognised whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// hyper's bare error answer, rewritten with an `ApiError` body; `None`
/// for anything else (left untouched).
fn with_error_body(buf: &[u8]) -> Option<Vec<u8>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if code < 400 {
        return None;
    }
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let has = |name: &str| {
        headers.iter().any(|h| {
            h.len() > name.len() && h[..name.len()].eq_ignore_ascii_case(name) && h.as_bytes()[name.len()] == b':'
        })
    };
    let empty = headers.iter().any(|h| {
        h.split_once(':')
            .is_some_and(|(n, v)| n.eq_ignore_ascii_case("content-length") && v.trim() == "0")
    });
    if has("content-type") || !empty {
        return None;
    }
    let (slug, reason) = match code {
        408 => ("timeout", "the request did not arrive in time"),
        413 => ("too-large", "the request is too large"),
        414 => ("uri-too-long", "the request's address is too long"),
        431 => ("headers-too-large", "the request's headers are too large or too many"),
        501 => (
            "not-implemented",
            "the request uses something this server does not implement",
        ),
        505 => ("http-version", "the HTTP version is not supported"),
        400..=499 => ("bad-request", "the request is not valid HTTP"),
        _ => ("internal", "the server failed; try again later"),
    };
    let body = serde_json::to_vec(&guardian_protocol::wire::ApiError {
        error: slug.into(),
        reason: reason.into(),
        fields: Vec::new(),
    })
    .ok()?;
    let mut out = format!("{status_line}\r\n").into_bytes();
    for h in headers.iter().filter(|h| {
        !h.split_once(':')
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    }) {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_error_answers_get_an_api_error_body() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 09:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(with_error_body(bare).expect("rewritten")).expect("utf8");
        let (head, body) = out.split_once("\r\n\r\n").expect("head");
        assert!(head.starts_with("HTTP/1.1 431 "));
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("date: "));
        let e: guardian_protocol::wire::ApiError = serde_json::from_str(body).expect("ApiError");
        assert_eq!(e.error, "headers-too-large");
    }

    #[test]
    fn the_routers_own_answers_are_left_alone() {
        for untouched in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nextra",
            b"not http at all",
        ] {
            assert_eq!(
                with_error_body(untouched),
                None,
                "{:?}",
                String::from_utf8_lossy(untouched)
            );
        }
    }
}
