#include "common/urls.h"

namespace Swamp {

QString redactedUrl(const QUrl &url)
{
    if (!url.isValid())
        return Tr::tr("<invalid url>");
    return url.adjusted(QUrl::RemoveUserInfo | QUrl::RemoveQuery | QUrl::RemoveFragment)
        .toString();
}

QString redactedUrl(const QString &text)
{
    return redactedUrl(QUrl(text, QUrl::StrictMode));
}

Result<QUrl> parseOrchestratorUrl(const QString &text)
{
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || (scheme != u"ws" && scheme != u"wss") || url.host().isEmpty()) {
        return fail(QStringLiteral("invalid_url"),
                    Tr::tr("orchestrator URL must start with ws:// or wss://"),
                    Tr::tr("pass the URL that 'swamp serve' printed, for example ws://orchestrator:9090"));
    }
    return url.adjusted(QUrl::RemoveQuery | QUrl::RemoveFragment);
}

QUrl endpointUrl(const QUrl &base, const QString &endpointPath)
{
    QUrl url = base.adjusted(QUrl::RemoveQuery | QUrl::RemoveFragment | QUrl::RemoveUserInfo);
    QString path = url.path();
    while (path.endsWith(u'/'))
        path.chop(1);
    if (!path.endsWith(endpointPath))
        path += endpointPath;
    url.setPath(path);
    return url;
}

Result<std::pair<QString, quint16>> parseListenAddress(const QString &text)
{
    const auto invalid = [&] {
        return fail(QStringLiteral("invalid_listen"),
                    Tr::tr("invalid listen address \"%1\"").arg(text),
                    Tr::tr("use host:port, for example 127.0.0.1:9090 or 0.0.0.0:9090 (port 0 picks a free one)"));
    };
    const qsizetype colon = text.lastIndexOf(u':');
    if (colon < 0)
        return invalid();
    QString host = text.left(colon);
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    if (host.isEmpty())
        host = QStringLiteral("127.0.0.1");
    bool ok = false;
    const uint port = text.mid(colon + 1).toUInt(&ok);
    if (!ok || port > 65535)
        return invalid();
    return std::pair{host, static_cast<quint16>(port)};
}

} // namespace Swamp
