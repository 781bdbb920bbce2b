// PostgreSQL gone and back (Store::isAway()): the connection's loss noticed once, the open batch
// kept in memory, a new session, and what the batch had written replayed and checked.
#include "store/store.h"
#include "store/postgresconnection_p.h"

#include "common/logging.h"

#include <QScopedValueRollback>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlQuery>
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
    if (m_contended) {
        return fail(QStringLiteral("database_away"),
                    Tr::tr("the orchestrator is writing its changes again after they waited too long "
                           "for a row lock another PostgreSQL session held, so nothing was done"),
                    Tr::tr("try again in a moment (a worker retries by itself); if it lasts, look in "
                           "pg_stat_activity for a session that holds locks on swamp's tables"));
    }
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
    // Writing the open batch's rows or committing it, a statement waited lock_timeout for a row
    // lock (55P03: another orchestrator's batch, one frozen with its transaction open until the
    // server ends it, or any other session): the batch's transaction is aborted, not the session.
    // Failing the batch would stop a healthy orchestrator for another's pause; it is held as if
    // the connection were lost, and written again (replay()) in a new transaction. (A body that
    // waits too long fails alone, as any failed statement of a body: its savepoint is undone.)
    const bool contended = !lost && state == u"55P03" && m_batchOpen && m_writingBatch && !m_replaying;
    if (!lost && !contended)
        return false;
    m_away = true;
    m_contended = contended;
    m_awayClock.start();
    m_claimedAhead.clear(); // their locks went with the session, or with its transaction
    m_uncommittedEventIds.clear(); // staged in the transaction the server dropped
    // Also when no batch is open (a heartbeat found it): the commit pipeline is what reconnects.
    if (m_scheduleCommit)
        m_scheduleCommit();
    if (contended) {
        // Said once a minute: a lock held for long (a forgotten psql transaction) fails every
        // attempt to write the batch again.
        constexpr qint64 TellEveryMs = 60'000;
        if (!m_contentionTold.isValid() || m_contentionTold.hasExpired(TellEveryMs)) {
            m_contentionTold.start();
            qCWarning(lcDb).noquote()
                << Tr::tr("a statement waited more than %1 ms for a row lock another PostgreSQL session holds "
                          "(lock_timeout); holding this orchestrator's changes and writing them again")
                       .arg(m_lockMs);
        }
    } else {
        qCWarning(lcDb).noquote() << Tr::tr("the connection to PostgreSQL is lost (%1); holding this orchestrator's "
                                            "changes and reconnecting")
                                         .arg(driverMessage(error));
    }
    return true;
}

void Store::logForReplay(const QString &sql, const QSqlQuery &query, bool locking)
{
    if (!m_batchOpen || m_finalFlush || m_replaying || m_notLogged)
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

std::unexpected<Error> Store::pooledError()
{
    return fail(
        QStringLiteral("database_pooled"),
        Tr::tr("the connection to PostgreSQL does not keep its session between transactions (a "
               "pooler in transaction or statement mode, such as PgBouncer pool_mode=transaction, "
               "is in front of it): swamp keeps a temporary table, LISTEN and settings in its "
               "session"),
        Tr::tr("use pool_mode=session for swamp's database in pgbouncer.ini, or connect to "
               "PostgreSQL directly"));
}

// Session pooling gives each client connection one server session for as long as it stays
// connected. Transaction pooling gives the server session back to the pool at every commit and
// the client's next transaction gets whichever is free (PgBouncer first the one freed last), so
// this session's temporary table, settings and LISTEN would be another client's, or gone.
// The check: the work connection asks for its backend's pid; a second connection, inside a
// transaction so that it holds what it gets, asks for its own; the work connection asks again.
// Own sessions: two pids, the work connection's unchanged. Pooled transactions: the second
// connection got the backend the work connection had just freed, or the work connection now
// has another one. Statement pooling refuses the second connection's BEGIN.
Result<void> Store::checkSessionKept()
{
    const QString name = m_connectionName + QStringLiteral("-probe");
    Result<void> verdict;
    {
        QSqlDatabase probe = QSqlDatabase::cloneDatabase(m_connectionName, name);
        verdict = compareBackends(probe);
        if (probe.isOpen()) {
            probe.rollback();
            probe.close();
        }
    }
    QSqlDatabase::removeDatabase(name);
    return verdict;
}

Result<void> Store::compareBackends(QSqlDatabase &probe)
{
    const auto failed = [this](const QString &reason) -> std::unexpected<Error> {
        // PgBouncer: "transaction blocks not allowed in statement pooling mode"
        if (reason.contains(u"pooling mode"))
            return pooledError();
        // PgBouncer ends a client that waited query_wait_timeout for a free session; the driver,
        // which was setting the connection up, then has no message to give.
        if (reason.contains(u"query_wait_timeout") || reason.isEmpty()) {
            return fail(
                QStringLiteral("database"),
                Tr::tr("a connection to PostgreSQL ended while it was set up%1: a pooler in "
                       "front of it had no free session for it (PgBouncer: none became free within "
                       "query_wait_timeout); each orchestrator holds two sessions")
                    .arg(reason.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(reason)),
                Tr::tr("give swamp's database a pool_size of at least 2 per orchestrator in "
                       "pgbouncer.ini, plus the sessions of whatever else uses it"));
        }
        return databaseError(Tr::tr("checking that the connection keeps its session"), reason);
    };
    const auto pidOf = [](const QSqlDatabase &connection) -> Result<qint64> {
        QSqlQuery query(connection);
        if (query.exec(QStringLiteral("SELECT pg_backend_pid()")) && query.next())
            return query.value(0).toLongLong();
        return fail(QStringLiteral("database"), driverMessage(query.lastError()), {});
    };
    countRoundTrip();
    const auto first = pidOf(database());
    if (!first)
        return failed(first.error().message);
    if (!probe.open() || !probe.transaction())
        return failed(driverMessage(probe.lastError()));
    const auto held = pidOf(probe);
    if (!held)
        return failed(held.error().message);
    if (*held == *first)
        return pooledError();
    countRoundTrip();
    const auto again = pidOf(database());
    if (!again)
        return failed(again.error().message);
    return *again == *first ? Result<void>{} : pooledError();
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
    if (std::exchange(m_contended, false)) {
        countRoundTrip();
        if (db.rollback())
            return writeHeldAgain();
        qCWarning(lcDb).noquote() << Tr::tr("the connection to PostgreSQL is lost (%1); reconnecting")
                                         .arg(driverMessage(db.lastError()));
    }
    db.close();
    // The fleet's LISTEN connection went with the server too: the fleet's next heartbeat opens it
    // again and catches up with what it missed. Closed first, so that the session check's second
    // connection takes its place in the pooler's pool.
    if (!m_listenerName.isEmpty())
        QSqlDatabase::database(m_listenerName, false).close();
    if (!db.open())
        return databaseError(Tr::tr("reconnecting"), driverMessage(db.lastError()));
    // A pooler restarted in transaction mode: the store stays away (nothing is written through
    // it, also not at exit) and the commit pipeline stops on this error instead of retrying.
    if (auto kept = checkSessionKept(); !kept) {
        if (kept.error().code == u"database_pooled")
            db.close();
        return kept;
    }
    m_away = false;
    if (auto ready = setUpSession(); !ready) {
        m_away = true; // gone again already: the next attempt starts over
        return ready;
    }
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

Result<void> Store::writeHeldAgain()
{
    // The session is the one the lock timeout left (its transaction rolled back): no reconnect,
    // no new settings; the held batch is written again in a new transaction, and held again if
    // the lock is still taken.
    m_away = false;
    if (auto settled = settleUnansweredCommit(); !settled)
        return settled;
    if (m_batchOpen) {
        if (auto replayed = replay(); !replayed)
            return replayed;
    }
    qCDebug(lcDb).noquote() << Tr::tr("writing the changes held for a row lock again, %1 ms later")
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
        QSqlQuery query(db); // every row read at exec(), as in run()
        countRoundTrip();
        if (!query.exec(logged.sql)) {
            m_replaying = false;
            // A row lock it waited for past lock_timeout (the one that held the batch, still
            // taken) holds the batch again, as in its first writing.
            const QScopedValueRollback writing(m_writingBatch, true);
            if (noteConnectionLost(query.lastError()))
                return awayError();
            m_batchBroken = databaseError(Tr::tr("replaying after a reconnect"), query.lastError().text()).error();
            return fail(*m_batchBroken);
        }
        const qint64 rows = logged.locking ? query.size() : logged.rows < 0 ? -1 : query.numRowsAffected();
        if (rows != logged.rows) {
            m_replaying = false;
            m_batchBroken = Error{QStringLiteral("database"),
                                  Tr::tr("the database changed while this orchestrator held its changes (the "
                                         "connection was lost, or a row lock waited for): a change it made "
                                         "before (%1...) now touches %2 row(s), not %3; its held changes are "
                                         "not kept")
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
