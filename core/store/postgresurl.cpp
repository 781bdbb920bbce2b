// postgresql:// URLs as libpq reads them, with one host or several (failover), and their
// redaction for messages.
#include "store/postgresconnection_p.h"

#include "common/error.h"

#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace Swamp {

namespace {
constexpr int DefaultPort = 5432;

std::unexpected<Error> urlError(const QString &spec, const QString &problem)
{
    return fail(QStringLiteral("database"),
                Tr::tr("invalid PostgreSQL URL %1: %2").arg(redactedDatabaseUrl(spec), problem),
                Tr::tr("use postgresql://user@host[:port][,host[:port]...]/database and give the "
                       "password in PGPASSWORD or ~/.pgpass"));
}

QString schemeOf(const QString &spec)
{
    for (const QString &scheme : {QStringLiteral("postgresql://"), QStringLiteral("postgres://")}) {
        if (spec.startsWith(scheme))
            return scheme;
    }
    return {};
}

QString decoded(const QString &text)
{
    return QUrl::fromPercentEncoding(text.toUtf8());
}

// One entry of the host list: "name", "name:port", "[v6]" or "[v6]:port". An empty name is
// localhost when it is the only entry, and a mistake in a list.
Result<PostgresUrl::Host> parseHost(const QString &spec, const QString &item, bool only)
{
    QString name = item;
    QString port;
    bool portGiven = false;
    if (item.startsWith(u'[')) {
        const qsizetype close = item.indexOf(u']');
        if (close < 0)
            return urlError(spec, Tr::tr("an IPv6 address misses its closing ']'"));
        const QString after = item.mid(close + 1);
        if (!after.isEmpty() && !after.startsWith(u':'))
            return urlError(spec, Tr::tr("only ':port' may follow an IPv6 address in brackets"));
        name = item.mid(1, close - 1);
        portGiven = !after.isEmpty();
        port = after.mid(1);
    } else if (item.count(u':') > 1) {
        return urlError(spec, Tr::tr("an IPv6 address must be written in brackets, as [::1]:5432"));
    } else if (const qsizetype colon = item.indexOf(u':'); colon >= 0) {
        name = item.left(colon);
        portGiven = true;
        port = item.mid(colon + 1);
    }
    name = decoded(name);
    if (name.isEmpty() && !only)
        return urlError(
            spec, Tr::tr("the host list has an empty entry (look for ',,' or a ',' at an end)"));
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9._:%-]*$"));
    if (!valid.match(name).hasMatch())
        return urlError(spec, Tr::tr("host '%1' has characters no host name has").arg(name));
    PostgresUrl::Host host{name.isEmpty() ? QStringLiteral("localhost") : name, DefaultPort};
    if (portGiven) {
        bool ok = false;
        host.port = port.toInt(&ok);
        if (!ok || host.port < 1 || host.port > 65535 || port.startsWith(u'+'))
            return urlError(
                spec,
                Tr::tr("the port of host '%1' is not a number from 1 to 65535").arg(host.name));
    }
    return host;
}

// libpq options from the query; the driver joins them into its conninfo string, so values are
// kept to characters that need no quoting there.
Result<QStringList> parseOptions(const QString &spec, const QString &query, qsizetype hostCount)
{
    static const QRegularExpression key(QStringLiteral("^[a-z_]+$"));
    static const QRegularExpression value(QStringLiteral("^[A-Za-z0-9_./:@,+-]*$"));
    static const QStringList inHostList{QStringLiteral("host"), QStringLiteral("hostaddr"),
                                        QStringLiteral("port")};
    QStringList options;
    bool timeoutGiven = false;
    bool targetGiven = false;
    for (const auto &[name, text] : QUrlQuery(query).queryItems(QUrl::FullyDecoded)) {
        if (name == u"password")
            return urlError(spec, Tr::tr("a password in the query is not supported"));
        if (inHostList.contains(name))
            return urlError(
                spec,
                Tr::tr("give hosts and ports in the host list (h1:5432,h2:5433), not as '%1='")
                    .arg(name));
        if (!key.match(name).hasMatch() || !value.match(text).hasMatch())
            return urlError(
                spec, Tr::tr("option '%1' has characters swamp cannot pass to libpq").arg(name));
        options << name + u'=' + text;
        timeoutGiven = timeoutGiven || name == u"connect_timeout";
        targetGiven = targetGiven || name == u"target_session_attrs";
    }
    if (!timeoutGiven)
        options << QStringLiteral("connect_timeout=10");
    if (!targetGiven && hostCount > 1)
        options << QStringLiteral("target_session_attrs=read-write");
    return options;
}
} // namespace

QString PostgresUrl::where() const
{
    QStringList list;
    for (const Host &host : hosts) {
        const QString name = host.name.contains(u':') ? u'[' + host.name + u']' : host.name;
        list << QStringLiteral("%1:%2").arg(name).arg(host.port);
    }
    return list.join(QStringLiteral(", "));
}

QStringList PostgresUrl::hostOptions() const
{
    QStringList names;
    QStringList ports;
    for (const Host &host : hosts) {
        names << host.name;
        ports << QString::number(host.port);
    }
    return {u"host=" + names.join(u','), u"port=" + ports.join(u',')};
}

Result<PostgresUrl> parsePostgresUrl(const QString &spec)
{
    const QString scheme = schemeOf(spec);
    if (scheme.isEmpty())
        return urlError(spec, Tr::tr("it does not start with postgresql:// or postgres://"));
    QString rest = spec.mid(scheme.size());
    const qsizetype queryAt = rest.indexOf(u'?');
    const QString query = queryAt < 0 ? QString() : rest.mid(queryAt + 1);
    if (query.contains(u'@'))
        return urlError(
            spec,
            Tr::tr("'@' after '?': percent-encode '@', '?' and '/' in a password (%40, %3F, %2F)"));
    if (queryAt >= 0)
        rest.truncate(queryAt);

    PostgresUrl url;
    if (const qsizetype at = rest.lastIndexOf(u'@'); at >= 0) {
        const QString userInfo = rest.left(at);
        const qsizetype colon = userInfo.indexOf(u':');
        url.user = decoded(userInfo.left(colon));
        url.password = colon < 0 ? QString() : decoded(userInfo.mid(colon + 1));
        rest = rest.mid(at + 1);
    }
    const qsizetype slash = rest.indexOf(u'/');
    url.database = slash < 0 ? QString() : decoded(rest.mid(slash + 1));
    if (url.database.isEmpty() || url.database.contains(u'/'))
        return urlError(spec, Tr::tr("it names no database (the path after the host)"));
    const QStringList items = rest.left(slash).split(u',');
    for (const QString &item : items) {
        auto host = parseHost(spec, item, items.size() == 1);
        if (!host)
            return fail(host.error());
        url.hosts << *host;
    }
    auto options = parseOptions(spec, query, url.hosts.size());
    if (!options)
        return fail(options.error());
    url.options = *options;
    return url;
}

QString redactedDatabaseUrl(const QString &spec)
{
    const qsizetype schemeEnd = spec.indexOf(QStringLiteral("://"));
    const qsizetype start = schemeEnd < 0 ? 0 : schemeEnd + 3;
    QString rest = spec.mid(start);
    // From the user info's first ':' to the last '@' anywhere: a password may hold any character,
    // so where the URL is ambiguous this hides more, never less.
    if (const qsizetype at = rest.lastIndexOf(u'@'); at >= 0) {
        const qsizetype colon = rest.indexOf(u':');
        if (colon >= 0 && colon < at)
            rest = rest.left(colon) + rest.mid(at);
    }
    if (const qsizetype queryAt = rest.indexOf(u'?'); queryAt >= 0) {
        QStringList kept;
        for (const QString &item : rest.mid(queryAt + 1).split(u'&', Qt::SkipEmptyParts)) {
            if (decoded(item.section(u'=', 0, 0))
                    .trimmed()
                    .compare(u"password", Qt::CaseInsensitive) != 0)
                kept << item;
        }
        rest = rest.left(queryAt) + (kept.isEmpty() ? QString() : u'?' + kept.join(u'&'));
    }
    return spec.left(start) + rest;
}

} // namespace Swamp
