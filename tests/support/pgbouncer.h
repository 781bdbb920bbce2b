#pragma once

// A private PgBouncer in front of a PostgresServer (pgserver.h), started the way an operator
// would: its own pgbouncer.ini and userlist in a directory inside the server's temporary
// directory, listening only on 127.0.0.1 at a free port, SCRAM for the `swamp` role both from
// the client and to the server, every database forwarded to the server.
//
// PgBouncer refuses to run as root: it then runs as the account that runs the server (through
// `setpriv`, like the server). It runs in the foreground as a child of the test, with a parent-
// death signal, so a test killed before its destructor leaves none behind. The binary is
// Debian's `pgbouncer` (/usr/sbin/pgbouncer; $SWAMP_PGBOUNCER overrides).
//
//     PostgresServer server;
//     SWAMP_START_POSTGRES(server);
//     PgBouncer bouncer(server);
//     SWAMP_START_PGBOUNCER(bouncer, u"session"_s, 5);
//     const QString url = bouncer.url(u"swamp_test"_s); // PGPASSWORD: server.password()

#include "support/pgserver.h"

#include <QProcess>
#include <QString>

#include <memory>

namespace SwampTest {

class PgBouncer final
{
    Q_DISABLE_COPY_MOVE(PgBouncer)

public:
    explicit PgBouncer(PostgresServer &server);
    ~PgBouncer();

    // The pgbouncer binary, or empty when it is not installed.
    static QString binary();
    static bool isAvailable() { return !binary().isEmpty(); }
    static QString unavailableReason();

    // Writes the ini (pool_mode = `poolMode`, default_pool_size = `poolSize`) and starts
    // pgbouncer on a free port; returns once it accepts connections. False with errorString().
    bool start(const QString &poolMode, int poolSize);
    // Stops it at once (SIGTERM: every client and server connection is cut, as when its host
    // restarts it) and starts it again on the same port, with the same settings or another
    // pool_mode. False with errorString().
    bool restart(const QString &poolMode = {});
    void stop();
    bool isRunning() const;

    int port() const { return m_port; }
    // postgresql://swamp@127.0.0.1:PORT/<database>: the server's role, no password in it.
    QString url(const QString &database) const;
    QString errorString() const { return m_error; }
    // pgbouncer's log so far, for failure messages.
    QString log() const;

private:
    bool writeConfig(const QString &poolMode, int poolSize);
    bool launch();

    PostgresServer &m_server;
    std::unique_ptr<QProcess> m_process;
    QString m_dir;
    QString m_error;
    QString m_poolMode;
    int m_poolSize = 0;
    int m_port = 0;
};

} // namespace SwampTest

// Starts `bouncer` or ends the test function: QSKIP when pgbouncer is not installed (QFAIL
// instead under SWAMP_REQUIRE_POSTGRES=1), QFAIL with its error when it does not start.
#define SWAMP_START_PGBOUNCER(bouncer, poolMode, poolSize)                                         \
    do {                                                                                           \
        if (!SwampTest::PgBouncer::isAvailable()) {                                                \
            if (SwampTest::PostgresServer::isRequired())                                           \
                QFAIL(qPrintable(SwampTest::PgBouncer::unavailableReason() +                       \
                                 QStringLiteral(" (SWAMP_REQUIRE_POSTGRES=1 is set)")));           \
            QSKIP(qPrintable(SwampTest::PgBouncer::unavailableReason()));                          \
        }                                                                                          \
        if (!(bouncer).start((poolMode), (poolSize)))                                              \
            QFAIL(qPrintable((bouncer).errorString()));                                            \
    } while (false)
