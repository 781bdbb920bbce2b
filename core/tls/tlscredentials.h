#pragma once

#include "common/result.h"

#include <QList>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QStringList>

namespace Swamp {

// The CA certificates a client (worker, CLI, console) trusts in addition to the system store:
// the PEM file of --ca-cert / SWAMP_CA_CERT. Error "invalid_ca_cert" naming the file when it
// cannot be read or holds no PEM certificate; the CLI treats it as a usage error (exit 2).
Result<QList<QSslCertificate>> loadCaCertificates(const QString &path);

// The TLS configuration of a client: the system CAs plus those of `caCertPath` (when not empty).
Result<QSslConfiguration> clientTlsConfiguration(const QString &caCertPath);

// What `swamp serve --tls-cert --tls-key` serves with.
struct ServerCredentials
{
    QList<QSslCertificate> chain; // leaf first
    QSslKey key;
    QStringList warnings; // e.g. the certificate has expired: clients will refuse it
};

// Loads and checks the certificate chain and its private key (both PEM). Every error has code
// "tls" and names the file(s) at fault: unreadable, no PEM certificate, no private key, an
// encrypted key, a key type TLS here cannot use, or a key that does not belong to the
// certificate (naming both files).
Result<ServerCredentials> loadServerCredentials(const QString &certPath, const QString &keyPath);

// "CN=swamp CA, O=Example" from a certificate's subject or issuer attributes.
QString subjectName(const QSslCertificate &certificate);
QString issuerName(const QSslCertificate &certificate);
// The names a certificate is valid for: "DNS:orchestrator.example", "IP:10.0.0.5", or
// "CN:<common name>" when it has no subject alternative names.
QStringList certificateNames(const QSslCertificate &certificate);

} // namespace Swamp
