#pragma once

#include "common/result.h"

#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <memory>

namespace SwampTest {
class PostgresServer;
}

namespace SwampBench {

// Where the orchestrators of a scenario keep their state:
// - SQLite (default): each orchestrator's data dir holds its own embedded store;
// - PostgreSQL on a server the bench starts for the run (--postgres): tests/support's
//   PostgresServer (initdb into a temporary directory as an unprivileged user, 127.0.0.1 at a free
//   port, stopped and removed at the end, also when the bench dies);
// - PostgreSQL on an existing server (--database URL): its role needs CREATEDB; the password comes
//   from PGPASSWORD or ~/.pgpass as for swamp serve.
// With PostgreSQL every scenario gets a database of its own (createDatabase()), so runs never see
// each other's steps.
class BenchDatabase final
{
    Q_DISABLE_COPY_MOVE(BenchDatabase)

public:
    BenchDatabase(); // SQLite
    ~BenchDatabase();

    // Starts a server of the bench's own. `settings` (name=value) are applied with ALTER SYSTEM
    // and a reload, and checked.
    Swamp::Result<void> startOwnServer(const QStringList &settings);
    // Uses an existing server; checks that the URL connects.
    Swamp::Result<void> useExisting(const QString &url);

    bool isPostgres() const { return m_kind != Kind::Sqlite; }
    // The bench started the server (--postgres): it may restart it.
    bool ownsServer() const { return m_kind == Kind::OwnServer; }
    // "SQLite", "PostgreSQL 15 (started by the bench)", "PostgreSQL (postgresql://...)".
    QString description() const;

    // A new empty database for one scenario: its URL (never with a password).
    Swamp::Result<QString> createDatabase();
    // Drops a database of createDatabase() (its orchestrators must be stopped).
    void dropDatabase(const QString &url);
    // The bench's own server restarted as an operator does (`pg_ctl restart -m fast`): every session
    // ends, the server is back on its port when this returns. An error on an existing server.
    Swamp::Result<void> restartOwnServer();
    // What swamp serve needs on top of the bench's environment (PGPASSWORD of the own server).
    QProcessEnvironment environment() const;

    // Whether PostgreSQL's binaries are installed (for --postgres), and why not.
    static bool isAvailable();
    static QString unavailableReason();
    // SWAMP_REQUIRE_POSTGRES=1 (scripts/test.sh): a missing PostgreSQL fails instead of skipping.
    static bool isRequired();

private:
    enum class Kind { Sqlite, OwnServer, Existing };
    Swamp::Result<void> sql(const QString &statement);
    Swamp::Result<QString> setting(const QString &name);

    Kind m_kind = Kind::Sqlite;
    std::unique_ptr<SwampTest::PostgresServer> m_server;
    QString m_url;        // existing server: the URL given; own server: its template database
    QString m_connection; // QSqlDatabase connection name (a connection to m_url)
    int m_created = 0;
};

} // namespace SwampBench
