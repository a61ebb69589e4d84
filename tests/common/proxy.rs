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

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum CutMode {
    Drop,
    HoldUntil { release_on: String },
}

struct State {
    trigger: Vec<u8>,
    remaining: usize,
    cuts: usize,
    connections: usize,
    mode: CutMode,
    /// The held packet, the old server connection and its number.
    held: Option<(Vec<u8>, TcpStream, usize)>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
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
        }));
        let target = (target.0.to_string(), target.1);
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect((target.0.as_str(), target.1)) else {
                    continue;
                };
                let number = {
                    let mut state = shared.lock().unwrap();
                    state.connections += 1;
                    state.connections
                };
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(Shutdown::Both);
                });
                let state = shared.clone();
                std::thread::spawn(move || client_to_server(client, server, number, state));
            }
        });
        Proxy { port, state }
    }

    /// How many connections were cut so far.
    pub fn cuts(&self) -> usize {
        self.state.lock().unwrap().cuts
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn client_to_server(
    mut client: TcpStream,
    mut server: TcpStream,
    number: usize,
    state: Arc<Mutex<State>>,
) {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &buf[..n];
        let mut st = state.lock().unwrap();
        if st.remaining > 0 && contains(data, &st.trigger) {
            st.remaining -= 1;
            st.cuts += 1;
            match st.mode.clone() {
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
            let (packet, mut old, _) = st.held.take().unwrap();
            drop(st);
            if server.write_all(data).is_err() {
                break;
            }
            // Its answer goes back first; then the dropped statement reaches the server and finishes
            // before anything else this connection sends.
            std::thread::sleep(Duration::from_millis(200));
            let _ = old.write_all(&packet);
            std::thread::sleep(Duration::from_millis(700));
            continue;
        }
        drop(st);
        if server.write_all(data).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}
