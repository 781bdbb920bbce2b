#pragma once

#include "common/error.h"

#include <QList>
#include <QSslError>
#include <QUrl>

namespace Swamp {

// Turns the certificate errors of a failed TLS handshake with the orchestrator into one Error
// (code "tls") that names what failed and how to fix it, shared by the worker, the CLI and the
// console:
//   the orchestrator's certificate is for "foo.example", not "127.0.0.1" — connect with a name
//       the certificate lists (DNS:foo.example), or reissue it for "127.0.0.1"
//   the orchestrator's certificate is signed by "CN=Evil CA", which is not trusted — pass
//       --ca-cert with that CA's PEM file
//   the orchestrator's certificate "CN=..." expired on 2020-01-02T00:00:00Z — renew it ...
// Several problems are joined with "; ". `host`: the host name the client connected to.
Error describeTlsErrors(const QList<QSslError> &errors, const QString &host);

// True when `peer` is exactly the certificate `pinnedPem` and every error is one that pinning
// answers (an untrusted issuer, a self-signed certificate, a host name it does not list); an
// expired or otherwise invalid certificate is never accepted this way.
bool isPinnedPeer(const QList<QSslError> &errors, const QSslCertificate &peer,
                  const QByteArray &pinnedPem);

// The TLS handshake failed without a certificate error (`reason`: the socket's error text),
// typically because the orchestrator does not serve TLS on that port.
Error describeTlsHandshakeFailure(const QString &reason);

// The connection closed before the WebSocket handshake completed (`reason`: the socket's error
// text). Usually the URL's scheme does not match the orchestrator: wss:// to a plain listener or
// ws:// to a TLS one; the fix says which to check for `url`'s scheme.
Error describeClosedDuringHandshake(const QUrl &url, const QString &reason);

} // namespace Swamp
