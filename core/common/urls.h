#pragma once

#include "common/result.h"

#include <QUrl>

namespace Swamp {

// For printing: scheme, host, port and path only (no userinfo, query or fragment).
QString redactedUrl(const QUrl &url);
QString redactedUrl(const QString &text);

// An orchestrator URL as given on the command line: must be ws:// or wss:// with a host.
// Error code "invalid_url": "orchestrator URL must start with ws:// or wss://".
Result<QUrl> parseOrchestratorUrl(const QString &text);

// The endpoint URL (`/v1/worker` or `/v1/admin`) under a base orchestrator URL.
QUrl endpointUrl(const QUrl &base, const QString &endpointPath);

// "127.0.0.1:9090", ":9090", "[::1]:0", "0.0.0.0:9090" → host and port. Error "invalid_listen".
Result<std::pair<QString, quint16>> parseListenAddress(const QString &text);

} // namespace Swamp
