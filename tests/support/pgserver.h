#pragma once

// A real, throw-away PostgreSQL server for tests, started the way an operator would: `initdb`
// into a temporary directory, `pg_ctl -w start` listening only on 127.0.0.1 at a free port, a
// login role `swamp` with a generated password (SCRAM-SHA-256 over TCP) that owns the test
// databases, `pg_ctl -m fast stop` on destruction.
//
// PostgreSQL refuses to run as root: when the tests run as root the server runs as an
// unprivileged account (`nobody`, or $SWAMP_TEST_POSTGRES_USER) through `setpriv`, and owns its
// temporary directory. The binaries come from Debian's `postgresql` package
// (/usr/lib/postgresql/<version>/bin, the newest version wins; $SWAMP_POSTGRES_BINDIR overrides).
//
// The password never appears in url(): pass it to swamp as PGPASSWORD (environment()).
//
//     PostgresServer server;
//     SWAMP_START_POSTGRES(server); // QSKIP without the binaries, QFAIL when it cannot start
//     const QString url = server.createDatabase();

#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <optional>

namespace SwampTest {

// A port that was free a moment ago on 127.0.0.1 (0 when none): a server started on it retries
// with another when some other process took it meanwhile.
int freePort();

class PostgresServer final
{
    Q_DISABLE_COPY_MOVE(PostgresServer)

public:
    PostgresServer();
    ~PostgresServer(); // stops the server (fast shutdown) and removes its directory

    // The directory holding initdb, pg_ctl and postgres; empty when PostgreSQL is not installed.
    static QString binDir();
    static bool isAvailable() { return !binDir().isEmpty(); }
    // Why the tests skip without PostgreSQL, naming the package to install.
    static QString unavailableReason();
    // SWAMP_REQUIRE_POSTGRES=1 (set by scripts/test.sh): a missing PostgreSQL fails, never skips.
    static bool isRequired();

    // initdb + pg_ctl start + the `swamp` role. False with errorString() when it fails.
    bool start();
    bool isRunning() const { return m_running; }
    // pg_ctl restart -m fast, as an operator restarts it: every session is ended, the server is
    // back on the same port when this returns. False with errorString() when it fails.
    bool restart();
    // A managed database's maintenance window: shutDown() stops the server (fast shutdown: every
    // session is cut), startAgain() starts it on the same port. False with errorString().
    bool shutDown();
    bool startAgain();
    QString errorString() const { return m_error; }

    // A new empty database owned by the test role; its URL, or empty with errorString().
    // Without a name one is generated (swamp_test_<n>).
    QString createDatabase(const QString &name = {});
    // Runs SQL as the superuser over the server's private Unix socket; false with errorString().
    bool adminSql(const QString &sql, const QString &database = QStringLiteral("postgres"));
    // The first column of the first row `sql` returns, as the superuser; empty with errorString()
    // when psql fails.
    std::optional<QString> adminValue(const QString &sql, const QString &database = QStringLiteral("postgres"));
    // The same on the server listening on `port` (the primary's or the standby's); the rows
    // printed unaligned, or std::nullopt with errorString().
    std::optional<QString> adminQuery(int port, const QString &sql,
                                      const QString &database = QStringLiteral("postgres"));

    // A streaming standby of this server (pg_basebackup -R -X stream), on a port of its own on
    // 127.0.0.1, started once it streams. `synchronous`: the primary waits for the standby to
    // flush every commit (synchronous_standby_names = '*', synchronous_commit = on) before it
    // acknowledges it. False with errorString() when it fails.
    enum class Replication { Asynchronous, Synchronous };
    bool startStandby(Replication replication);
    int standbyPort() const { return m_standbyPort; }
    // SIGKILL to the primary's postmaster and every process it started, all at once, as when
    // its machine dies: no shutdown checkpoint, no last word to any client. Returns once they
    // are gone.
    bool killPrimary();
    // pg_ctl promote on the standby; returns once it accepts writes (it is then the primary).
    bool promoteStandby();
    // postgresql://swamp@127.0.0.1:PRIMARY,127.0.0.1:STANDBY/<database>: both hosts, no password.
    QString failoverUrl(const QString &database) const;

    QString host() const { return QStringLiteral("127.0.0.1"); }
    int port() const { return m_port; }
    QString role() const { return QStringLiteral("swamp"); }
    QString password() const { return m_password; }
    // postgresql://swamp@127.0.0.1:PORT/<database>: no password in it.
    QString url(const QString &database) const;
    // The URL of the database that start() created (swamp_test).
    QString url() const { return url(QStringLiteral("swamp_test")); }
    // The system environment plus PGPASSWORD for the test role, without any other PG* variable
    // that could point swamp elsewhere.
    QProcessEnvironment environment() const;
    // The server's log so far, for failure messages.
    QString log() const;
    // The temporary directory holding the data directory, socket and log.
    QString directory() const { return m_dir ? m_dir->path() : QString(); }

private:
    struct Result
    {
        bool ok = false;
        QString output;
    };
    Result run(const QString &tool, const QStringList &arguments, const QByteArray &input = {},
               int timeoutMs = 120000) const;
    QStringList asServerUser(const QStringList &command) const;
    bool resolveAccount();
    bool prepareDirectory();
    bool startWatchdog();
    Result psql(int port, const QString &database, const QString &sql) const;
    bool startOnFreePort(const QString &data, const QString &logFile, int *port);
    bool stop(); // the standby, the primary and the watchdog, whichever runs
    bool stopStandby();
    bool waitForSql(int port, const QString &sql, const QString &expected, const QString &what);
    QString standbyData() const { return m_dir->filePath(QStringLiteral("standby")); }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<QProcess> m_watchdog;
    std::optional<uint> m_runAsUid;
    std::optional<uint> m_runAsGid;
    QString m_bin;
    QString m_password;
    QString m_error;
    int m_port = 0;
    int m_databases = 0;
    int m_standbyPort = 0;
    bool m_running = false;
    bool m_down = false; // shutDown() and not started again: m_running stays, the directory is kept
    bool m_standbyRunning = false;
};

} // namespace SwampTest

// Starts `server` or ends the test function: QSKIP when PostgreSQL is not installed (QFAIL
// instead under SWAMP_REQUIRE_POSTGRES=1), QFAIL with the server's error when it does not start.
#define SWAMP_START_POSTGRES(server)                                                                \
    do {                                                                                           \
        if (!SwampTest::PostgresServer::isAvailable()) {                                           \
            if (SwampTest::PostgresServer::isRequired())                                           \
                QFAIL(qPrintable(SwampTest::PostgresServer::unavailableReason()                    \
                                 + QStringLiteral(" (SWAMP_REQUIRE_POSTGRES=1 is set)")));         \
            QSKIP(qPrintable(SwampTest::PostgresServer::unavailableReason()));                     \
        }                                                                                          \
        if (!(server).isRunning() && !(server).start())                                            \
            QFAIL(qPrintable((server).errorString()));                                             \
    } while (false)
