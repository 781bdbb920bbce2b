#include "store/postgresconnection_p.h"

#include "common/error.h"

#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>

namespace Swamp {

namespace {
// libpq's message on one line: "connection to server at ... failed: FATAL:  password ..."
QString oneLine(QString text)
{
    static const QRegularExpression space(QStringLiteral("\\s+"));
    return text.replace(space, QStringLiteral(" ")).trimmed();
}
} // namespace

QString driverMessage(const QSqlError &error)
{
    return oneLine(error.databaseText().isEmpty() ? error.text() : error.databaseText());
}

namespace {
// What to do when no host accepted the connection, from libpq's `reason`.
QString connectionFix(const PostgresUrl &url, const QString &reason, const QString &role)
{
    const PostgresUrl::Host &first = url.hosts.first();
    if (reason.contains(u"password authentication failed") || reason.contains(u"no password supplied")) {
        QStringList lines;
        for (const PostgresUrl::Host &host : url.hosts)
            lines << QStringLiteral("'%1:%2:%3:%4:<password>'").arg(host.name).arg(host.port).arg(url.database, role);
        return Tr::tr("give the password of role %1: set PGPASSWORD, or add the line %2 to ~/.pgpass "
                      "(mode 0600) of the user running swamp")
            .arg(role, lines.join(Tr::tr(" and the line ")));
    }
    if (reason.contains(u"database \"") && reason.contains(u"does not exist")) {
        if (url.hosts.size() > 1) {
            return Tr::tr("create it on the primary (one of %1) as a PostgreSQL administrator: "
                          "createdb -h <host> -p <port> -O %2 %3")
                .arg(url.where(), role, url.database);
        }
        return Tr::tr("create it as a PostgreSQL administrator: createdb -h %1 -p %2 -O %3 %4")
            .arg(first.name)
            .arg(first.port)
            .arg(role, url.database);
    }
    if (reason.contains(u"pg_hba.conf"))
        return Tr::tr("allow this host to connect as %1 in the server's pg_hba.conf and reload it").arg(role);
    if (reason.contains(u"session is read-only") || reason.contains(u"hot standby")) {
        return Tr::tr("none of %1 accepts writes now (a standby that is not promoted yet): promote "
                      "the standby (pg_ctl promote) or add the primary to the URL; swamp never "
                      "writes to a standby")
            .arg(url.where());
    }
    return Tr::tr("check that PostgreSQL runs on %1 and accepts TCP connections from this machine "
                  "(listen_addresses in postgresql.conf, pg_hba.conf)")
        .arg(url.where());
}
} // namespace

Result<void> openPostgresConnection(const QString &connectionName, const QString &spec)
{
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL"))) {
        return fail(QStringLiteral("database"), Tr::tr("the PostgreSQL driver (QPSQL) is not installed"),
                    Tr::tr("install it with 'apt-get install libqt6sql6-psql'"));
    }
    const auto url = parsePostgresUrl(spec);
    if (!url)
        return fail(url.error());
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connectionName);
    // Hosts and ports go to libpq as its own lists (host=h1,h2 port=p1,p2): it tries them in
    // order, also when the driver reopens the connection after a failover.
    db.setDatabaseName(url->database);
    if (!url->user.isEmpty())
        db.setUserName(url->user);
    if (!url->password.isEmpty())
        db.setPassword(url->password);
    db.setConnectOptions((url->hostOptions() + url->options).join(u';'));
    if (db.open())
        return {};

    const QString reason = driverMessage(db.lastError());
    const QString role = url->user.isEmpty() ? Tr::tr("(the login name)") : url->user;
    return fail(QStringLiteral("database"),
                Tr::tr("cannot connect to PostgreSQL at %1 (database %2, role %3): %4")
                    .arg(url->where(), url->database, role, reason),
                connectionFix(*url, reason, role));
}

} // namespace Swamp
