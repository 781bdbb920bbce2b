#include "store/postgresconnection_p.h"

#include "common/error.h"

#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QUrl>
#include <QUrlQuery>

namespace Swamp {

namespace {
constexpr int DefaultPort = 5432;

std::unexpected<Error> urlError(const QString &spec, const QString &problem)
{
    return fail(QStringLiteral("database"),
                Tr::tr("invalid PostgreSQL URL %1: %2").arg(redactedDatabaseUrl(spec), problem),
                Tr::tr("use postgresql://user@host[:port]/database and give the password in "
                       "PGPASSWORD or ~/.pgpass"));
}

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

QString redactedDatabaseUrl(const QString &spec)
{
    QUrl url(spec, QUrl::StrictMode);
    if (!url.isValid())
        return QStringLiteral("(unparsable URL)");
    QUrlQuery query(url);
    query.removeAllQueryItems(QStringLiteral("password"));
    url.setQuery(query);
    return url.adjusted(QUrl::RemovePassword).toString();
}

Result<void> openPostgresConnection(const QString &connectionName, const QString &spec)
{
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL"))) {
        return fail(QStringLiteral("database"), Tr::tr("the PostgreSQL driver (QPSQL) is not installed"),
                    Tr::tr("install it with 'apt-get install libqt6sql6-psql'"));
    }
    const QUrl url(spec, QUrl::StrictMode);
    if (!url.isValid())
        return urlError(spec, url.errorString());
    const QString database = url.path(QUrl::FullyDecoded).mid(1);
    if (database.isEmpty() || database.contains(u'/'))
        return urlError(spec, Tr::tr("it names no database (the path after the host)"));
    const QString host = url.host().isEmpty() ? QStringLiteral("localhost") : url.host();
    const int port = url.port(DefaultPort);
    const QString user = url.userName(QUrl::FullyDecoded);

    // libpq options from the query; the driver joins them into its conninfo string, so values
    // are kept to characters that need no quoting there.
    static const QRegularExpression key(QStringLiteral("^[a-z_]+$"));
    static const QRegularExpression value(QStringLiteral("^[A-Za-z0-9_./:@,+-]*$"));
    QStringList options;
    bool timeoutGiven = false;
    for (const auto &[name, text] : QUrlQuery(url).queryItems(QUrl::FullyDecoded)) {
        if (name == u"password")
            return urlError(spec, Tr::tr("a password in the query is not supported"));
        if (!key.match(name).hasMatch() || !value.match(text).hasMatch())
            return urlError(spec, Tr::tr("option '%1' has characters swamp cannot pass to libpq").arg(name));
        options << name + u'=' + text;
        timeoutGiven = timeoutGiven || name == u"connect_timeout";
    }
    if (!timeoutGiven)
        options << QStringLiteral("connect_timeout=10");

    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connectionName);
    db.setHostName(host);
    db.setPort(port);
    db.setDatabaseName(database);
    if (!user.isEmpty())
        db.setUserName(user);
    const QString password = url.password(QUrl::FullyDecoded);
    if (!password.isEmpty())
        db.setPassword(password);
    db.setConnectOptions(options.join(u';'));
    if (db.open())
        return {};

    const QSqlError error = db.lastError();
    const QString reason = driverMessage(error);
    const QString role = user.isEmpty() ? Tr::tr("(the login name)") : user;
    const QString where = QStringLiteral("%1:%2").arg(host).arg(port);
    QString fix;
    if (reason.contains(u"password authentication failed") || reason.contains(u"no password supplied")) {
        fix = Tr::tr("give the password of role %1: set PGPASSWORD, or add the line "
                     "'%2:%3:%4:%1:<password>' to ~/.pgpass (mode 0600) of the user running swamp")
                  .arg(role, host)
                  .arg(port)
                  .arg(database);
    } else if (reason.contains(u"database \"") && reason.contains(u"does not exist")) {
        fix = Tr::tr("create it as a PostgreSQL administrator: createdb -h %1 -p %2 -O %3 %4")
                  .arg(host)
                  .arg(port)
                  .arg(role, database);
    } else if (reason.contains(u"pg_hba.conf")) {
        fix = Tr::tr("allow this host to connect as %1 in the server's pg_hba.conf and reload it").arg(role);
    } else {
        fix = Tr::tr("check that PostgreSQL runs on %1 and accepts TCP connections from this machine "
                     "(listen_addresses in postgresql.conf, pg_hba.conf)")
                  .arg(where);
    }
    return fail(QStringLiteral("database"),
                Tr::tr("cannot connect to PostgreSQL at %1 (database %2, role %3): %4")
                    .arg(where, database, role, reason),
                fix);
}

} // namespace Swamp
