#pragma once

#include "common/result.h"

#include <QHostAddress>
#include <QString>

namespace Swamp {

// The address to bind for a --listen/--metrics-listen host: an IP address, or "localhost"
// (127.0.0.1). Error "invalid_listen" for anything else (host names are not resolved).
Result<QHostAddress> bindAddress(const QString &host);

// True for 127.0.0.0/8, ::1 and "localhost"; false for the wildcard addresses 0.0.0.0 and ::,
// which accept connections from the network, and for every other address.
bool isLoopbackHost(const QString &host);

// SPEC §2: the warning `swamp serve` prints when it serves plain ws:// on a non-loopback
// address; empty with TLS or on loopback.
QString plaintextListenWarning(const QString &listenHost, bool tls);

// The warning `swamp serve` prints when /metrics and /healthz (plain HTTP, no authentication)
// are served on a non-loopback address; empty on loopback.
QString metricsListenWarning(const QString &metricsHost);

} // namespace Swamp
