//! TLS client configuration (rustls with the `ring` provider).
//!
//! `ring` rather than `aws-lc-rs`: it builds with only a C compiler (no cmake, no nasm), in
//! a fraction of the time, on every target rustls supports, and its AES-GCM and ChaCha20
//! assembly is fast enough that TLS is not the bottleneck of an HTTP client.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::config::{HttpVersionPref, RootStore, TlsOptions};
use crate::error::{Error, ErrorKind, Result};

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots, read once per process (reading /etc/ssl/certs takes milliseconds).
static SYSTEM_ROOTS: std::sync::LazyLock<Vec<CertificateDer<'static>>> =
    std::sync::LazyLock::new(|| rustls_native_certs::load_native_certs().certs);

/// Builds a client's TLS configuration; done on its first https connection.
pub(crate) fn client_config(
    tls: &TlsOptions,
    version: HttpVersionPref,
) -> Result<Arc<ClientConfig>> {
    let provider = provider();
    let versions: &[&rustls::SupportedProtocolVersion] = if tls.min_version >= 13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?;
    let builder = if !tls.pinned_keys.is_empty() {
        let inner: Arc<dyn ServerCertVerifier> = if tls.danger_accept_invalid_certs {
            Arc::new(AcceptAnyCertificate(provider))
        } else {
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(tls)),
                provider,
            )
            .build()
            .map_err(|e| Error::new(ErrorKind::Tls, format!("TLS setup: {e}")))?
        };
        let pinned = Pinned {
            inner,
            keys: tls.pinned_keys.clone(),
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(pinned))
    } else if tls.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots(tls))
    };
    let mut config = match &tls.client_cert {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| Error::new(ErrorKind::Tls, format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match version {
        HttpVersionPref::Negotiate => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        HttpVersionPref::Http1Only => vec![b"http/1.1".to_vec()],
        HttpVersionPref::Http2Only => vec![b"h2".to_vec()],
    };
    if tls.key_log_from_env && std::env::var_os("SSLKEYLOGFILE").is_some() {
        // Opens (appends to) the file now; a file it cannot open logs nothing.
        config.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(Arc::new(config))
}

fn roots(tls: &TlsOptions) -> RootCertStore {
    let mut store = RootCertStore::empty();
    match tls.roots {
        // Unparsable entries are skipped: one bad file must not disable every root.
        RootStore::System => {
            store.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
        }
        RootStore::Bundled => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        RootStore::None => {}
    }
    store.add_parsable_certificates(tls.extra_roots.iter().cloned());
    store
}

pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidUrl,
            format!("{host:?} is not a valid TLS server name"),
        )
    })
}

/// Turns a handshake failure into a certificate error (with the verifier's reason) or a
/// general TLS error.
pub(crate) fn handshake_error(e: std::io::Error, host: &str) -> Error {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return match tls {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(why)) => Error::new(
                ErrorKind::TlsCertificate,
                format!("certificate for {host} rejected: {why}"),
            ),
            rustls::Error::InvalidCertificate(reason) => Error::new(
                ErrorKind::TlsCertificate,
                format!("certificate for {host} rejected: {reason:?}"),
            ),
            other => Error::new(
                ErrorKind::Tls,
                format!("TLS handshake with {host} failed: {other}"),
            ),
        };
    }
    Error::new(
        ErrorKind::Tls,
        format!("TLS handshake with {host} failed: {e}"),
    )
}

/// Public-key pinning over another verifier: the chain is verified as usual (or not, with
/// `danger_accept_invalid_certs`), then the end entity's key must be one of the pins.
#[derive(Debug)]
struct Pinned {
    inner: Arc<dyn ServerCertVerifier>,
    keys: Vec<[u8; 32]>,
}

/// The SHA-256 digest of a certificate's SubjectPublicKeyInfo (what curl pins).
fn spki_sha256(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert.as_ref()).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
    digest.as_ref().try_into().ok()
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use base64::Engine as _;
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        match spki_sha256(end_entity) {
            Some(key) if self.keys.contains(&key) => Ok(verified),
            key => {
                let seen = key.map_or("unreadable".to_string(), |k| {
                    format!(
                        "sha256//{}",
                        base64::engine::general_purpose::STANDARD.encode(k)
                    )
                });
                let why = format!("its public key ({seen}) matches no pinned key");
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(rustls::OtherError(Arc::new(
                        std::io::Error::other(why),
                    ))),
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The verifier behind `danger_accept_invalid_certs`: checks signatures, trusts any chain.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
