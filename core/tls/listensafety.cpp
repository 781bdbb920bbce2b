#include "tls/listensafety.h"

namespace Swamp {

namespace {
bool isLocalhostName(const QString &host)
{
    return host.compare(u"localhost", Qt::CaseInsensitive) == 0;
}
} // namespace

Result<QHostAddress> bindAddress(const QString &host)
{
    if (isLocalhostName(host))
        return QHostAddress(QHostAddress::LocalHost);
    const QHostAddress address(host);
    if (address.isNull()) {
        return fail(
            QStringLiteral("invalid_listen"),
            Tr::tr("cannot listen on \"%1\": not an IP address").arg(host),
            Tr::tr("use an address of this machine, 0.0.0.0 (all), 127.0.0.1 or localhost"));
    }
    return address;
}

bool isLoopbackHost(const QString &host)
{
    return isLocalhostName(host) || QHostAddress(host).isLoopback();
}

QString plaintextListenWarning(const QString &listenHost, bool tls)
{
    if (tls || isLoopbackHost(listenHost))
        return {};
    return Tr::tr("serving without TLS on a non-loopback address — tokens cross the network in "
                  "clear; pass --tls-cert and --tls-key");
}

QString metricsListenWarning(const QString &metricsHost)
{
    if (isLoopbackHost(metricsHost))
        return {};
    return Tr::tr("serving metrics on the non-loopback address %1 — /metrics and /healthz are "
                  "plain HTTP without authentication; bind them to 127.0.0.1 or restrict access "
                  "with a firewall")
        .arg(metricsHost);
}

} // namespace Swamp
