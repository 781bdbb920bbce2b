#pragma once

#include "common/result.h"

#include <QSqlError>
#include <QString>

namespace Swamp {

// Opens the QPSQL connection `connectionName` from a postgresql:// URL:
//   postgresql://user[:password]@host[:port]/database[?libpq-option=value&...]
// The password comes from PGPASSWORD, ~/.pgpass (PGPASSFILE) or, discouraged, the URL; it is
// never part of an error. Query items are passed to libpq (sslmode, sslrootcert,
// connect_timeout, ...); connect_timeout defaults to 10 s so an unreachable host fails quickly.
// Errors name the host, port, database and role, and what to fix.
Result<void> openPostgresConnection(const QString &connectionName, const QString &spec);

// The URL without its password, for messages and logs.
QString redactedDatabaseUrl(const QString &spec);

// libpq's message of `error` on one line ("connection to server at ... failed: FATAL: ...").
QString driverMessage(const QSqlError &error);

} // namespace Swamp
