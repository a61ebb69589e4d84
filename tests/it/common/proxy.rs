//! A TCP proxy between eidb and the test server that drops a connection at an exact moment: when the
//! client sends a packet containing a given text (a statement, a query). Unlike `KILL`, which the server
//! acts on at its next check, this is a network drop: the server side learns nothing at once.
//!
//! - [`CutMode::Drop`]: both sides are closed at once and the packet is never delivered.
//! - [`CutMode::HoldUntil`]: the client side is closed and the packet held back; when a newer connection
//!   sends a packet containing `release_on` (eidb checking what the dropped statement did), that packet
//!   goes through, then the held one is delivered on the old server connection, and the newer connection
//!   is held up for a moment so that the old statement finishes first. That is the server finishing a
//!   dropped connection's statement right after eidb looked, deterministically.
//! - [`CutMode::Freeze`]: the server freezes (a stopped process, a virtual IP that went half dead): from
//!   that packet on nothing is forwarded either way on any connection, new connections are accepted and
//!   never answered, and every socket stays open.
//!
//! [`Silent`] is a server that accepts connections and never says anything.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum CutMode {
    Drop,
    HoldUntil { release_on: String },
    Freeze,
}

struct State {
    trigger: Vec<u8>,
    remaining: usize,
    cuts: usize,
    connections: usize,
    mode: CutMode,
    /// The held packet, the old server connection and its number.
    held: Option<(Vec<u8>, TcpStream, usize)>,
    /// [`CutMode::Freeze`]: the sockets kept open, unanswered.
    kept: Vec<TcpStream>,
    /// Per connection number, how many reads came back from the server (answers, or parts of them).
    answers: std::collections::HashMap<usize, usize>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    frozen: Arc<AtomicBool>,
}

impl Proxy {
    /// Forward 127.0.0.1:<port> to `target`; cut the first `times` connections that send `trigger`.
    pub fn start(target: (&str, u16), trigger: &str, times: usize, mode: CutMode) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            trigger: trigger.as_bytes().to_vec(),
            remaining: times,
            cuts: 0,
            connections: 0,
            mode,
            held: None,
            kept: Vec::new(),
            answers: std::collections::HashMap::new(),
        }));
        let frozen = Arc::new(AtomicBool::new(false));
        let target = (target.0.to_string(), target.1);
        let shared = state.clone();
        let frozen_flag = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if frozen_flag.load(Ordering::SeqCst) {
                    shared.lock().unwrap().kept.push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else {
                    continue;
                };
                let number = {
                    let mut state = shared.lock().unwrap();
                    state.connections += 1;
                    state.connections
                };
                let (from_server, to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                let (frozen, answers) = (frozen_flag.clone(), shared.clone());
                std::thread::spawn(move || {
                    server_to_client(from_server, to_client, number, answers, frozen)
                });
                let (state, frozen) = (shared.clone(), frozen_flag.clone());
                std::thread::spawn(move || client_to_server(client, server, number, state, frozen));
            }
        });
        Proxy {
            port,
            state,
            frozen,
        }
    }

    /// Whether a [`CutMode::Freeze`] proxy has frozen.
    pub fn frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    /// Wait until the proxy froze, at most `limit`; panics saying so when it did not.
    pub fn wait_frozen(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        while !self.frozen() {
            assert!(
                std::time::Instant::now() < deadline,
                "the proxy did not freeze within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> usize {
        self.state.lock().unwrap().cuts
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn answers(state: &State, number: usize) -> usize {
    state.answers.get(&number).copied().unwrap_or(0)
}

/// Wait until connection `number` has had an answer from the server after the `seen` it had (at most
/// 30 s: a statement that never ends is the test's to find, not the proxy's).
fn wait_for_answer(state: &Arc<Mutex<State>>, number: usize, seen: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while answers(&state.lock().unwrap(), number) <= seen && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Server to client, until either side closes; after a freeze nothing more goes through (the sockets
/// stay open).
fn server_to_client(
    mut server: TcpStream,
    mut client: TcpStream,
    number: usize,
    state: Arc<Mutex<State>>,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        *state.lock().unwrap().answers.entry(number).or_default() += 1;
        if frozen.load(Ordering::SeqCst) {
            // Hold on to both ends, unanswered, until the test ends.
            loop {
                std::thread::park();
            }
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn client_to_server(
    mut client: TcpStream,
    mut server: TcpStream,
    number: usize,
    state: Arc<Mutex<State>>,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &buf[..n];
        let mut st = state.lock().unwrap();
        if frozen.load(Ordering::SeqCst) {
            st.kept.push(client);
            st.kept.push(server);
            return;
        }
        if st.remaining > 0 && contains(data, &st.trigger) {
            st.remaining -= 1;
            st.cuts += 1;
            match st.mode.clone() {
                CutMode::Freeze => {
                    frozen.store(true, Ordering::SeqCst);
                    st.kept.push(client);
                    st.kept.push(server);
                    return;
                }
                CutMode::Drop => {
                    drop(st);
                    let _ = server.shutdown(Shutdown::Both);
                }
                CutMode::HoldUntil { .. } => {
                    // The server side stays open, as after a network drop.
                    st.held = Some((data.to_vec(), server.try_clone().unwrap(), number));
                    drop(st);
                }
            }
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let release = match (&st.mode, &st.held) {
            (CutMode::HoldUntil { release_on }, Some((_, _, held_by))) => {
                number > *held_by && contains(data, release_on.as_bytes())
            }
            _ => false,
        };
        if release {
            let (packet, mut old, held_by) = st.held.take().unwrap();
            let answered = answers(&st, number);
            drop(st);
            if server.write_all(data).is_err() {
                break;
            }
            // Its answer goes back first; then the dropped statement reaches the server and finishes
            // (its answer comes back on the old connection) before anything else this connection
            // sends. Waited for, not slept on.
            wait_for_answer(&state, number, answered);
            let old_answered = answers(&state.lock().unwrap(), held_by);
            let _ = old.write_all(&packet);
            wait_for_answer(&state, held_by, old_answered);
            continue;
        }
        drop(st);
        if server.write_all(data).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}

/// A server that accepts every connection and never says anything (not even the greeting a MySQL
/// server sends first): a frozen server, a virtual IP whose address answers and whose service does not.
pub struct Silent {
    pub port: u16,
    accepted: Arc<Mutex<Vec<TcpStream>>>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let kept = accepted.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                kept.lock().unwrap().push(client);
            }
        });
        Silent { port, accepted }
    }

    /// How many connections it accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}
