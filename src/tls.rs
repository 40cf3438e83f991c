//! The one trust store of promoter's HTTPS, shared by git and the SCM API: the platform's
//! certificates (or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, as OpenSSL, git and curl read
//! them), plus `scm.caFile`. Loaded on first use by an `https://` URL and at most once per
//! [`Trust`], so a run against `http://` or a local path never reads a CA bundle. Also owns the
//! wording of certificate errors, so git and the API say the same thing. Does not open
//! connections: `scm::http` and `git::http` do, through ureq.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The hint every certificate failure carries.
pub(crate) const CERTIFICATE_HINT: &str = "if the server uses a private or company CA, set scm.caFile in \
     promotion.yaml to that CA's PEM file, or SSL_CERT_FILE to a bundle that includes it; \
     see docs/troubleshooting.md";

/// The roots HTTPS connections of one run trust; cheap to create, loaded lazily.
#[derive(Debug, Default)]
pub struct Trust {
    /// `scm.caFile`, already resolved against the configuration file's directory.
    ca_file: Option<PathBuf>,
    roots: OnceLock<Result<RootCerts, String>>,
    /// The first certificate refused under these roots: it fails the whole run, not one request.
    refused: Mutex<Option<String>>,
}

/// A server certificate the trust store refused; carries [`certificate_problem`]'s sentence.
/// The top level shows [`CERTIFICATE_HINT`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Untrusted(pub String);

impl Trust {
    /// The platform's roots plus the PEM certificates in `ca_file`, when given.
    pub fn new(ca_file: Option<PathBuf>) -> Arc<Self> {
        Arc::new(Self {
            ca_file,
            roots: OnceLock::new(),
            refused: Mutex::new(None),
        })
    }

    /// Remembers that a server's certificate was refused (the first one is kept).
    pub fn record_refusal(&self, problem: &str) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.get_or_insert_with(|| problem.to_owned());
    }

    /// The first refused certificate, as an error for the whole run.
    pub fn refusal(&self) -> Option<Untrusted> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.clone().map(Untrusted)
    }

    /// Whether the roots were loaded (an `https://` URL was used).
    pub fn is_loaded(&self) -> bool {
        self.roots.get().is_some()
    }

    /// The TLS settings for a connection to `url`: the trusted roots for `https://`, ureq's
    /// defaults (nothing loaded) for anything else.
    pub fn tls_config_for(&self, url: &str) -> Result<TlsConfig, String> {
        if !is_https(url) {
            return Ok(TlsConfig::default());
        }
        let roots = self.roots.get_or_init(|| load(self.ca_file.as_deref()));
        Ok(TlsConfig::builder().root_certs(roots.clone()?).build())
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

fn load(ca_file: Option<&Path>) -> Result<RootCerts, String> {
    // Errors for single unreadable files in a bundle directory are skipped, as OpenSSL does;
    // what loaded is what is trusted. Nothing loaded and an error (SSL_CERT_FILE naming a missing
    // file, say) is reported rather than replaced by the built-in roots below.
    let platform = rustls_native_certs::load_native_certs();
    if platform.certs.is_empty()
        && let Some(error) = platform.errors.first()
    {
        return Err(format!(
            "no CA certificates could be read ({error}); check SSL_CERT_FILE and SSL_CERT_DIR"
        ));
    }
    let mut roots: Vec<Certificate<'static>> = platform
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_file {
        let extra = read_ca_file(path)?;
        roots.extend(extra);
    } else if roots.is_empty() {
        // No CA bundle on this machine (a scratch or distroless image): Mozilla's roots, built
        // into the binary, are better than trusting nothing.
        return Ok(RootCerts::WebPki);
    }
    Ok(RootCerts::from(roots))
}

fn read_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("reading scm.caFile {shown}: {e}"))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(format!("reading scm.caFile {shown}: {e}")),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "scm.caFile {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Ok(certs)
}

/// When `error` (or what caused it) is a refused server certificate: one sentence naming the
/// host and rustls' reason, followed by [`CERTIFICATE_HINT`] on a `hint:` line.
pub(crate) fn certificate_problem(error: &ureq::Error, host: &str) -> Option<String> {
    let reason = match error {
        ureq::Error::Rustls(rustls::Error::InvalidCertificate(reason)) => reason,
        ureq::Error::Io(io) => match io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::InvalidCertificate(reason)) => reason,
            _ => return None,
        },
        _ => return None,
    };
    Some(format!(
        "the TLS certificate of {host} is not trusted ({})",
        describe(reason)
    ))
}

fn describe(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match reason {
        E::UnknownIssuer => "UnknownIssuer: it is not signed by a trusted CA".to_owned(),
        E::Expired | E::ExpiredContext { .. } => "Expired".to_owned(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "NotValidForName: it is issued for another host name".to_owned()
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_and_local_paths_load_no_roots() {
        let trust = Trust::new(None);
        for url in [
            "http://127.0.0.1:8080/acme/deploy.git",
            "/srv/git/deploy.git",
        ] {
            trust.tls_config_for(url).unwrap();
        }
        assert!(!trust.is_loaded());
    }

    #[test]
    fn https_loads_the_roots_once() {
        let trust = Trust::new(None);
        trust.tls_config_for("HTTPS://example.com/a.git").unwrap();
        assert!(trust.is_loaded());
    }

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let trust = Trust::new(Some(path));

        let error = trust.tls_config_for("https://example.com").unwrap_err();

        assert!(error.contains("scm.caFile"), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn a_missing_ca_file_is_an_error_naming_the_path() {
        let trust = Trust::new(Some(PathBuf::from("/nonexistent/ca.pem")));

        let error = trust.tls_config_for("https://example.com").unwrap_err();

        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }
}
