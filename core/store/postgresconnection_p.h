#pragma once

#include "common/result.h"

#include <QList>
#include <QSqlError>
#include <QString>
#include <QStringList>

namespace Swamp {

// A postgresql:// (or postgres://) URL as libpq reads it, one host or several:
//   postgresql://user[:password]@host[:port][,host[:port]...]/database[?libpq-option=value&...]
// An IPv6 address is written in brackets ([::1]:5432); user, password, hosts and database may be
// percent-encoded (a password holding '@', '/', '?' or ',' should be: %40, %2F, %3F, %2C).
struct PostgresUrl
{
    struct Host
    {
        QString name; // "localhost" when the URL names none
        int port = 5432;
    };
    QList<Host> hosts;
    QString user;     // empty: libpq's default (the login name)
    QString password; // empty: PGPASSWORD or ~/.pgpass
    QString database;
    // libpq options as name=value, checked to need no quoting in a conninfo string. With more
    // than one host target_session_attrs defaults to read-write (an orchestrator must never
    // write to a standby); connect_timeout defaults to 10 s (per host).
    QStringList options;

    // "h1:5432" or "h1:5432, h2:5433", for messages.
    QString where() const;
    // The libpq options that name the hosts and ports: {"host=h1,h2", "port=5432,5433"}.
    QStringList hostOptions() const;
};

// Parses `spec`; errors ("database") name what is wrong and never show the password.
Result<PostgresUrl> parsePostgresUrl(const QString &spec);

// Opens the QPSQL connection `connectionName` from a postgresql:// URL (see PostgresUrl).
// The password comes from PGPASSWORD, ~/.pgpass (PGPASSFILE) or, discouraged, the URL; it is
// never part of an error. Query items are passed to libpq (sslmode, sslrootcert,
// connect_timeout, target_session_attrs, ...). libpq tries the hosts in order and keeps the
// first that accepts (and, with several, accepts writes). Errors name every host tried, the
// database and the role, and what to fix.
Result<void> openPostgresConnection(const QString &connectionName, const QString &spec);

// The URL without its password (in the user info or the query), for messages and logs. Works
// on any text, also one that does not parse: when in doubt it hides more, never less.
QString redactedDatabaseUrl(const QString &spec);

// libpq's message of `error` on one line ("connection to server at ... failed: FATAL: ...").
QString driverMessage(const QSqlError &error);

} // namespace Swamp
