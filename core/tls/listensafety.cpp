#include "tls/listensafety.h"

#include <QNetworkInterface>
#include <QRegularExpression>
#include <QUrl>

namespace Swamp {

namespace {
bool isLocalhostName(const QString &host)
{
    return host.compare(u"localhost", Qt::CaseInsensitive) == 0;
}

bool isWildcardHost(const QString &host)
{
    return host == u"0.0.0.0" || host == u"::";
}

QString urlFor(const QString &scheme, const QString &host, quint16 port)
{
    QUrl url;
    url.setScheme(scheme);
    url.setHost(host);
    url.setPort(port);
    return url.toString();
}

Error invalidAdvertiseUrl(const QString &why)
{
    return makeError(QStringLiteral("invalid_advertise_url"), Tr::tr("--advertise-url: %1").arg(why),
                     Tr::tr("pass the URL workers on other machines dial, for example "
                            "--advertise-url wss://swamp.example.com:9090"));
}
} // namespace

Result<QString> parseAdvertiseUrl(const QString &text)
{
    if (text.size() > 2048)
        return fail(invalidAdvertiseUrl(Tr::tr("longer than 2048 characters")));
    static const QRegularExpression unprintable(QStringLiteral("[\\x00-\\x20\\x7f]"));
    if (text.contains(unprintable))
        return fail(invalidAdvertiseUrl(Tr::tr("must not contain spaces or control characters")));
    const QUrl url(text, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || (scheme != u"ws" && scheme != u"wss") || url.host().isEmpty())
        return fail(invalidAdvertiseUrl(Tr::tr("must be a ws:// or wss:// URL with a host")));
    if (!url.userInfo().isEmpty() || text.section(u'/', 2, 2).contains(u'@'))
        return fail(invalidAdvertiseUrl(Tr::tr("must not contain a user name or password (workers "
                                               "authenticate with their token)")));
    if (url.hasQuery() || url.hasFragment())
        return fail(invalidAdvertiseUrl(Tr::tr("must not have a query (?...) or fragment (#...)")));
    QString normalised = url.toString();
    while (normalised.endsWith(u'/'))
        normalised.chop(1);
    return normalised;
}

QStringList workerUrlsFor(const QString &scheme, const QString &listenHost, quint16 port,
                          const QString &advertised, const QList<QHostAddress> &addresses,
                          const QString &hostName)
{
    if (!advertised.isEmpty())
        return {advertised};
    if (!isWildcardHost(listenHost))
        return {urlFor(scheme, isLocalhostName(listenHost) ? QStringLiteral("127.0.0.1") : listenHost, port)};
    QStringList urls;
    static const QRegularExpression hostNameShape(QStringLiteral("^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$"));
    if (hostNameShape.match(hostName).hasMatch() && !isLocalhostName(hostName))
        urls << urlFor(scheme, hostName, port);
    const auto protocol = listenHost == u"::" ? QAbstractSocket::IPv6Protocol : QAbstractSocket::IPv4Protocol;
    for (const QHostAddress &address : addresses) {
        if (address.protocol() != protocol || address.isLoopback() || address.isLinkLocal())
            continue;
        const QString url = urlFor(scheme, address.toString(), port);
        if (!urls.contains(url))
            urls << url;
    }
    return urls;
}

QList<QHostAddress> interfaceAddresses()
{
    return QNetworkInterface::allAddresses();
}

QString workerUrlWarning(const QString &listenHost, const QString &advertised, const QStringList &workerUrls,
                         const QString &localUrl)
{
    if (!advertised.isEmpty() || !isWildcardHost(listenHost) || !workerUrls.isEmpty())
        return {};
    return Tr::tr("listening on %1, but this machine has no address or host name other machines can "
                  "use: the only URL is %2, on which a worker elsewhere would dial itself; pass "
                  "--advertise-url with the URL workers should dial")
        .arg(listenHost, localUrl);
}

QString loopbackOnlyNote(const QString &listenHost, const QString &advertised, quint16 port)
{
    if (!advertised.isEmpty() || !isLoopbackHost(listenHost))
        return {};
    return Tr::tr("listening on %1 only: workers on other machines cannot reach it; to serve them, "
                  "pass --listen 0.0.0.0:%2 (with --tls-cert and --tls-key) or --advertise-url")
        .arg(listenHost)
        .arg(port);
}

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
