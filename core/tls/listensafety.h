#pragma once

#include "common/result.h"

#include <QHostAddress>
#include <QList>
#include <QString>
#include <QStringList>

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

// `swamp serve --advertise-url URL`: the URL workers on other machines dial (a load balancer, a
// DNS name, a reverse proxy). ws:// or wss:// with a host; no user name or password, query,
// fragment, whitespace or control characters; at most 2048 characters. Returns it normalised
// (no trailing slash). Error "invalid_advertise_url", which never quotes the text (it may hold a
// password).
Result<QString> parseAdvertiseUrl(const QString &text);

// The URLs workers on other machines can dial for a listener on `listenHost`:`port`, best first:
// - `advertised` (--advertise-url) when given: only that;
// - a wildcard (0.0.0.0: the IPv4 addresses, "::": the IPv6 ones): `hostName` (unless empty or
//   localhost), then every address of `addresses` that is neither loopback nor link-local;
// - any other host: the listen address itself (loopback included).
// Empty when a wildcard listener has no such address and no host name (see workerUrlWarning()).
QStringList workerUrlsFor(const QString &scheme, const QString &listenHost, quint16 port,
                          const QString &advertised, const QList<QHostAddress> &addresses,
                          const QString &hostName);

// This machine's interface addresses (QNetworkInterface::allAddresses()).
QList<QHostAddress> interfaceAddresses();

// What `swamp serve` says on stderr about how workers reach it, or empty:
// - a wildcard listener with no URL for other machines (workerUrls empty): a warning;
// - a loopback listener without --advertise-url: workers on other machines cannot reach it.
// `localUrl` is the URL the listener has on this machine.
QString workerUrlWarning(const QString &listenHost, const QString &advertised, const QStringList &workerUrls,
                         const QString &localUrl);
QString loopbackOnlyNote(const QString &listenHost, const QString &advertised, quint16 port);

} // namespace Swamp
