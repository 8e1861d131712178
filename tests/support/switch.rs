//! A port a test holds for as long as it runs, in front of a service that may come and go: it forwards
//! each connection to the service, or refuses it (a TCP reset, as a stopped service's port would answer).
//! A test never frees a port and hopes to bind it again, and a service can be stopped and started again
//! behind the same endpoint without killing anything another test might be using.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Where the switch sends connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// To the service at this address.
    Forward(SocketAddr),
    /// Nowhere: each connection is reset at once, as a port nobody listens on refuses it.
    Refuse,
}

pub struct PortSwitch {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl PortSwitch {
    /// Holds a port the system picks (so no other test can be handed it) until the switch is dropped.
    ///
    /// The switch runs on a thread of its own, so it keeps forwarding while the test's runtime is blocked
    /// (a `TestEnv` checks its table from `Drop`, waiting for a thread that may talk through the switch).
    pub async fn new(mode: Mode) -> PortSwitch {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let address = listener.local_addr().expect("a bound address");
        let (sender, receiver) = watch::channel(mode);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                tokio::select! {
                    _ = accept(listener, receiver) => {}
                    _ = stopped => {}
                }
            });
        });
        PortSwitch { address, mode: sender, stop: Some(stop) }
    }

    /// A switch in front of the service at `endpoint` (`http://host:port`).
    pub async fn forwarding_to(endpoint: &str) -> PortSwitch {
        PortSwitch::new(Mode::Forward(socket_address(endpoint))).await
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Switches: new connections go the new way, and connections being forwarded are cut (a stopped service
    /// drops its connections too).
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for PortSwitch {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The address of an `http://host:port` endpoint.
pub fn socket_address(endpoint: &str) -> SocketAddr {
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    authority.parse().unwrap_or_else(|e| panic!("{endpoint}: not http://ip:port: {e}"))
}

async fn accept(listener: TcpListener, mode: watch::Receiver<Mode>) {
    while let Ok((client, _)) = listener.accept().await {
        let mut mode = mode.clone();
        let current = *mode.borrow_and_update();
        tokio::spawn(async move {
            let Mode::Forward(target) = current else { return reset(client) };
            let Ok(mut service) = TcpStream::connect(target).await else { return reset(client) };
            let mut client = client;
            let switched = tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut service) => false,
                _ = mode.changed() => true,
            };
            if switched {
                reset(client);
            }
        });
    }
}

/// Closes `connection` with a reset rather than an orderly close: the client sees its request refused.
fn reset(connection: TcpStream) {
    let _ = connection.set_zero_linger();
}
