// PostgreSQL gone and back (Store::isAway()): the connection's loss noticed once, the open batch
// kept in memory, a new session, and what the batch had written replayed and checked.
#include "store/store.h"
#include "store/postgresconnection_p.h"

#include "common/logging.h"

#include <QSqlDriver>
#include <QSqlError>

#include <libpq-fe.h>

namespace Swamp {

namespace {
bool startsWith(const QString &sql, const char *word)
{
    return sql.startsWith(QLatin1String(word), Qt::CaseInsensitive);
}
} // namespace

std::unexpected<Error> Store::awayError() const
{
    // Seen by those whose request it refuses (a worker enrolling, an admin command): what they
    // asked was not done, unlike the changes the orchestrator holds in its batch meanwhile.
    return fail(QStringLiteral("database_away"),
                Tr::tr("PostgreSQL is unavailable to the orchestrator, so nothing was done; it "
                       "reconnects by itself"),
                Tr::tr("try again once it is back (a worker retries by itself); check that "
                       "PostgreSQL runs and that the orchestrator's host reaches it"));
}

bool Store::noteConnectionLost(const QSqlError &error)
{
    if (m_dialect != Dialect::Postgres || m_away)
        return m_away;
    // The server ended the session (a restart, a failover, pg_terminate_backend, the idle-in-
    // transaction timeout: 57P01-57P03, 25P03), the connection failed (class 08), or libpq found
    // it broken. A session that cannot write (25006: a standby not promoted yet, a server made
    // read-only) is no primary: reconnecting finds the one that is. Any other failed statement
    // (a constraint, a lock timeout) is that statement's.
    const QString state = error.nativeErrorCode();
    bool lost = state.startsWith(u"08") || state.startsWith(u"57P0") || state == u"25P03" || state == u"25006";
    const QSqlDatabase db = database();
    if (!lost && !db.isOpen())
        lost = true;
    if (!lost) {
        const QVariant handle = db.driver()->handle();
        if (handle.isValid() && qstrcmp(handle.typeName(), "PGconn*") == 0) {
            PGconn *connection = *static_cast<PGconn *const *>(handle.constData());
            lost = !connection || PQstatus(connection) == CONNECTION_BAD;
        }
    }
    if (!lost)
        return false;
    m_away = true;
    m_awayClock.start();
    m_uncommittedEventIds.clear(); // staged in the transaction the server dropped
    // Also when no batch is open (a heartbeat found it): the commit pipeline is what reconnects.
    if (m_scheduleCommit)
        m_scheduleCommit();
    qCWarning(lcDb).noquote() << Tr::tr("the connection to PostgreSQL is lost (%1); holding this orchestrator's "
                                        "changes and reconnecting")
                                     .arg(driverMessage(error));
    return true;
}

void Store::logForReplay(const QString &sql, const QSqlQuery &query, bool locking)
{
    if (!m_batchOpen || m_finalFlush || m_replaying)
        return;
    const bool notify = startsWith(sql, "SELECT pg_notify");
    const bool read = startsWith(sql, "SELECT") || startsWith(sql, "DECLARE") || startsWith(sql, "FETCH")
                      || startsWith(sql, "CLOSE");
    if (read && !locking && !notify)
        return; // nothing to do again: a read's rows were used already
    Logged logged{sql, -1, locking, startsWith(sql, "INSERT INTO swamp_staged_events")};
    if (locking)
        logged.rows = query.size();
    else if (!notify)
        logged.rows = query.numRowsAffected();
    m_replayLog << logged;
}

std::unexpected<Error> Store::keepForReplay(PendingRows rows)
{
    m_batchRows.merge(rows);
    return awayError();
}

Result<void> Store::setUpSession()
{
    QSqlDatabase db = database();
    QStringList statements{QStringLiteral("SET client_min_messages = warning")};
    if (m_idleInTransactionMs > 0) {
        statements << QStringLiteral("SET idle_in_transaction_session_timeout = %1").arg(m_idleInTransactionMs)
                   << QStringLiteral("SET lock_timeout = %1").arg(m_lockMs);
    }
    statements << stagingStatements();
    for (const QString &sql : std::as_const(statements)) {
        QSqlQuery query(db);
        countRoundTrip();
        if (!query.exec(sql))
            return databaseError(Tr::tr("setting up the session"), query.lastError().text());
    }
    return {};
}

Result<void> Store::reconnect()
{
    if (!m_away)
        return {};
    QSqlDatabase db = database();
    db.close();
    if (!db.open())
        return databaseError(Tr::tr("reconnecting"), driverMessage(db.lastError()));
    m_away = false;
    if (auto ready = setUpSession(); !ready) {
        m_away = true; // gone again already: the next attempt starts over
        return ready;
    }
    // The fleet's LISTEN connection went with the server too: the fleet's next heartbeat opens it
    // again and catches up with what it missed.
    if (!m_listenerName.isEmpty())
        QSqlDatabase::database(m_listenerName, false).close();
    if (auto settled = settleUnansweredCommit(); !settled)
        return settled;
    if (m_batchOpen) {
        if (auto replayed = replay(); !replayed)
            return replayed;
    }
    m_backClock.start();
    qCWarning(lcDb).noquote() << Tr::tr("the connection to PostgreSQL is back after %1 ms")
                                     .arg(m_awayClock.elapsed());
    return {};
}

Result<void> Store::settleUnansweredCommit()
{
    if (!m_unanswered)
        return {};
    QSqlQuery query(database());
    countRoundTrip();
    if (!query.exec(QStringLiteral("SELECT last_batch FROM orchestrators WHERE id = '%1'")
                        .arg(QString(m_batchMarkerId).replace(u'\'', QStringLiteral("''"))))
        || !query.next()) {
        if (noteConnectionLost(query.lastError()))
            return awayError();
        return databaseError(Tr::tr("checking the batch whose commit was not answered"), query.lastError().text());
    }
    const UnansweredCommit unanswered = *std::exchange(m_unanswered, std::nullopt);
    if (query.value(0).toLongLong() == unanswered.seq) {
        // Applied: what it wrote is stored; only what changed after it is still to write.
        qCWarning(lcDb).noquote() << Tr::tr("the commit whose answer was lost with the connection was applied; "
                                            "going on from it");
        m_replayLog.clear();
        return {};
    }
    // Not applied: its rows are written again, under what changed after them.
    PendingRows rows = unanswered.rows;
    rows.merge(m_batchRows);
    m_batchRows = std::move(rows);
    return {};
}

Result<void> Store::replay()
{
    QSqlDatabase db = database();
    countRoundTrip();
    if (!db.transaction()) {
        if (noteConnectionLost(db.lastError()))
            return awayError();
        return databaseError(Tr::tr("starting a transaction"), db.lastError().text());
    }
    m_replaying = true;
    for (const Logged &logged : std::as_const(m_replayLog)) {
        QSqlQuery query(db);
        query.setForwardOnly(!logged.locking);
        countRoundTrip();
        if (!query.exec(logged.sql)) {
            m_replaying = false;
            if (noteConnectionLost(query.lastError()))
                return awayError();
            m_batchBroken = databaseError(Tr::tr("replaying after a reconnect"), query.lastError().text()).error();
            return fail(*m_batchBroken);
        }
        const qint64 rows = logged.locking ? query.size() : logged.rows < 0 ? -1 : query.numRowsAffected();
        if (rows != logged.rows) {
            m_replaying = false;
            m_batchBroken = Error{QStringLiteral("database"),
                                  Tr::tr("the database changed while the connection was lost: a change this "
                                         "orchestrator made before (%1...) now touches %2 row(s), not %3; its "
                                         "held changes are not kept")
                                      .arg(logged.sql.left(60))
                                      .arg(rows)
                                      .arg(logged.rows),
                                  Tr::tr("nothing to do: it stops, and started again it goes on from what is stored")};
            return fail(*m_batchBroken);
        }
        if (logged.stagesEvents) {
            while (query.next())
                m_uncommittedEventIds.insert(query.value(0).toLongLong());
        }
    }
    m_replaying = false;
    return {};
}

} // namespace Swamp
