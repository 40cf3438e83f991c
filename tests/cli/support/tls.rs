//! HTTPS in front of the plain-HTTP sandbox forge: a CA made for the test (rcgen), a certificate
//! for 127.0.0.1 signed by it, and a TLS-terminating proxy on 127.0.0.1 that passes the decrypted
//! bytes to the sandbox and back. What promoter sees is a forge behind a private CA.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// How long one poll of either socket waits before looking at the other one.
const POLL: Duration = Duration::from_millis(5);

/// A private CA and the proxy it vouches for; the proxy stops when this is dropped.
pub(crate) struct TlsFront {
    ca_pem: String,
    address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl TlsFront {
    /// Serves `https://127.0.0.1:<port>` for the plain-HTTP server at `backend` (`host:port`).
    pub(crate) fn start(backend: &str) -> TlsFront {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "promoter test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
        let leaf_key = KeyPair::generate().expect("server key");
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&leaf_key, &ca)
            .expect("server certificate");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .expect("server config");
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let backend = backend.to_owned();
        let stopping = Arc::clone(&stop);
        thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let config = Arc::clone(&config);
                        let backend = backend.clone();
                        thread::spawn(move || {
                            // A refused handshake or a closed socket just ends the connection.
                            let _ = relay(client, &backend, config);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
                    Err(_) => return,
                }
            }
        });
        TlsFront {
            ca_pem: ca.pem(),
            address,
            stop,
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// Writes the CA certificate (PEM) to `path`.
    pub(crate) fn write_ca(&self, path: &Path) {
        std::fs::write(path, &self.ca_pem).expect("write CA");
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn would_block(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Moves bytes both ways until either side closes: TLS records from the client are decrypted and
/// written to the backend; what the backend answers is encrypted back.
fn relay(
    mut client: TcpStream,
    backend: &str,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(POLL))?;
    let mut server = TcpStream::connect(backend)?;
    server.set_read_timeout(Some(POLL))?;
    let mut tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if tls.wants_read() {
            match tls.read_tls(&mut client) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    // A client refusing our certificate sends an alert: this fails and we stop.
                    let state = tls.process_new_packets().map_err(io::Error::other)?;
                    if state.peer_has_closed() {
                        return Ok(());
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => server.write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if !tls.is_handshaking() {
            match server.read(&mut buf) {
                Ok(0) => {
                    tls.send_close_notify();
                    while tls.wants_write() {
                        tls.write_tls(&mut client)?;
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Ok(n) => tls.writer().write_all(&buf[..n])?,
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        while tls.wants_write() {
            tls.write_tls(&mut client)?;
        }
    }
}
