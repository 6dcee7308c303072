//! A fault-injecting HTTP/1.1 proxy on loopback, between the handset's sync
//! client and the backend. Each request, a seeded generator picks what goes
//! wrong: the connection dropped, a stall past the client's timeout, a 500 or
//! a 503 with Retry-After, a truncated reply, a reply lost after the server
//! committed, the request replayed to the server twice, or garbage.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    None,
    /// Close the client's connection before forwarding anything.
    Drop,
    /// Hold the request longer than the client waits, then close.
    Stall,
    /// Answer 500 without forwarding.
    InternalError,
    /// Answer 503 with `Retry-After: 1` without forwarding.
    Unavailable,
    /// Forward, then send the client only half of the reply.
    Truncate,
    /// Forward (the server commits), then close without replying.
    LoseResponse,
    /// Forward the request twice; the client sees the first reply.
    Replay,
    /// Answer 200 with a body that is not JSON.
    GarbageBody,
    /// Answer 200 with JSON of the wrong shape.
    WrongTypes,
    /// Answer 200 with a 20 MB body.
    HugeBody,
}

#[derive(Debug, Clone)]
pub enum Plan {
    /// Every request passes untouched.
    Clean,
    /// Each request suffers one of `faults` with probability `rate`.
    Random { seed: u64, rate: f64, faults: Vec<Fault> },
    /// Every request suffers this fault.
    Always(Fault),
}

impl Plan {
    pub fn chaos(seed: u64) -> Plan {
        Plan::Random {
            seed,
            rate: 0.35,
            faults: vec![
                Fault::Drop,
                Fault::Stall,
                Fault::InternalError,
                Fault::Unavailable,
                Fault::Truncate,
                Fault::LoseResponse,
                Fault::Replay,
            ],
        }
    }
}

struct Shared {
    target: Mutex<SocketAddr>,
    plan: Mutex<(Plan, fastrand::Rng)>,
    counts: Mutex<BTreeMap<Fault, usize>>,
    forwarded: AtomicUsize,
    stall: Duration,
    stopped: AtomicBool,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl FaultProxy {
    /// `stall` should exceed the client's request timeout.
    pub fn start(target: SocketAddr, plan: Plan, stall: Duration) -> FaultProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let seed = match &plan {
            Plan::Random { seed, .. } => *seed,
            _ => 0,
        };
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            plan: Mutex::new((plan, fastrand::Rng::with_seed(seed))),
            counts: Mutex::new(BTreeMap::new()),
            forwarded: AtomicUsize::new(0),
            stall,
            stopped: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let _ = serve(conn, s).await;
                });
            }
        });
        FaultProxy {
            addr,
            shared,
            rt: Some(rt),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_target(&self, target: SocketAddr) {
        *self.shared.target.lock().expect("lock") = target;
    }

    pub fn set_plan(&self, plan: Plan) {
        self.shared.plan.lock().expect("lock").0 = plan;
    }

    /// How often each fault was injected.
    pub fn counts(&self) -> BTreeMap<Fault, usize> {
        self.shared.counts.lock().expect("lock").clone()
    }

    /// Requests that reached the backend (a replay counts twice).
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }
}

fn next_fault(shared: &Shared) -> Fault {
    let mut guard = shared.plan.lock().expect("lock");
    let (plan, rng) = &mut *guard;
    let fault = match plan {
        Plan::Clean => Fault::None,
        Plan::Always(f) => *f,
        Plan::Random { rate, faults, .. } => {
            if rng.f64() < *rate && !faults.is_empty() {
                faults[rng.usize(..faults.len())]
            } else {
                Fault::None
            }
        }
    };
    *shared.counts.lock().expect("lock").entry(fault).or_insert(0) += 1;
    fault
}

/// Reads one request: head and a Content-Length body. `None` at a clean EOF.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut byte).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut byte).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&byte[..n]);
    }
    buf.truncate(head_end + len);
    Ok(Some(with_connection_close(&buf, head_end)))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request per backend connection, so the reply ends at EOF.
fn with_connection_close(req: &[u8], head_end: usize) -> Vec<u8> {
    let head = String::from_utf8_lossy(&req[..head_end - 4]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req[head_end..]);
    bytes
}

async fn forward(shared: &Shared, req: &[u8]) -> std::io::Result<Vec<u8>> {
    let target = *shared.target.lock().expect("lock");
    let mut up = TcpStream::connect(target).await?;
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    up.write_all(req).await?;
    let mut reply = Vec::new();
    up.read_to_end(&mut reply).await?;
    Ok(reply)
}

fn canned(status: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

async fn serve(mut conn: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut conn).await? else {
        return Ok(());
    };
    if shared.stopped.load(Ordering::SeqCst) {
        return Ok(());
    }
    let reply = match next_fault(&shared) {
        Fault::Drop => return Ok(()),
        Fault::Stall => {
            tokio::time::sleep(shared.stall).await;
            return Ok(());
        }
        Fault::InternalError => canned(
            "500 Internal Server Error",
            "",
            br#"{"error":"internal","reason":"injected"}"#,
        ),
        Fault::Unavailable => canned(
            "503 Service Unavailable",
            "retry-after: 1\r\n",
            br#"{"error":"unavailable","reason":"injected"}"#,
        ),
        Fault::GarbageBody => canned("200 OK", "", b"<html>this is not json</html>"),
        Fault::WrongTypes => canned("200 OK", "", br#"{"id": 42, "status": ["stored"], "cursor": 7}"#),
        Fault::HugeBody => canned("200 OK", "", &vec![b' '; 20 * 1024 * 1024]),
        Fault::LoseResponse => {
            let _ = forward(&shared, &req).await?;
            return Ok(());
        }
        Fault::Truncate => {
            let reply = forward(&shared, &req).await?;
            conn.write_all(&reply[..reply.len() / 2]).await?;
            return Ok(());
        }
        Fault::Replay => {
            let first = forward(&shared, &req).await?;
            let _ = forward(&shared, &req).await?;
            first
        }
        Fault::None => forward(&shared, &req).await?,
    };
    conn.write_all(&reply).await?;
    conn.shutdown().await
}
