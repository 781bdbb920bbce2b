#pragma once

// An orchestrator of the integration harness on a new database of a test PostgreSQL server
// (tests/support/pgserver.h), shared by the suites that run `swamp serve --database postgresql://`.

#include "integration/swampharness.h"
#include "support/pgserver.h"

namespace SwampTest {

// The harness's clean environment without any PG* variable of the developer's.
inline QProcessEnvironment environmentWithoutPg()
{
    QProcessEnvironment env = Harness::baseEnvironment();
    const QStringList keys = env.keys();
    for (const QString &key : keys) {
        if (key.startsWith(u"PG"))
            env.remove(key);
    }
    return env;
}

// Starts `h`'s orchestrator on a new database of `postgres`, its password in PGPASSWORD; the
// database's URL, or empty (with a warning) when the database or the orchestrator did not start.
inline QString startOnNewDatabase(Harness &h, PostgresServer &postgres)
{
    const QString url = postgres.createDatabase();
    if (url.isEmpty()) {
        qWarning("%s", qPrintable(postgres.errorString()));
        return {};
    }
    QProcessEnvironment env = environmentWithoutPg();
    env.insert(u"PGPASSWORD"_s, postgres.password());
    h.setOrchestratorEnvironment(env);
    return h.startOrchestrator(0, {u"--database"_s, url}) ? url : QString();
}

} // namespace SwampTest
