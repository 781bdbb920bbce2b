// Transactions, group commit (one batch per event-loop turn, committed on the committer thread
// when it can) and write-behind (rows kept in memory until their batch commits).
#include "store/store.h"
#include "store/sqlitecommitter.h"
#include "store/walcheckpointer.h"

#include "common/logging.h"

#include <QScopedValueRollback>
#include <QSqlDriver>
#include <QSqlError>

#include <algorithm>

namespace Swamp {

namespace {
struct Depth
{
    int &depth;
    explicit Depth(int &d) : depth(d) { ++depth; }
    ~Depth() { --depth; }
};
} // namespace

void Store::setGroupCommit(std::function<void()> scheduleCommit)
{
    m_scheduleCommit = std::move(scheduleCommit);
}

Result<void> Store::openBatch()
{
    if (m_batchOpen || !m_scheduleCommit || m_transactionDepth > 0)
        return {};
    if (m_away) {
        // No server transaction until the database is back: the batch's rows wait in memory.
        m_batchOpen = true;
        m_batchClock.start();
        m_scheduleCommit();
        return {};
    }
    QSqlDatabase db = database();
    countRoundTrip();
    if (!db.transaction()) {
        if (noteConnectionLost(db.lastError()))
            return openBatch(); // held in memory until the database is back
        return databaseError(Tr::tr("starting a transaction"), db.lastError().text());
    }
    m_batchOpen = true;
    m_batchClock.start();
    m_mainWrote = false;
    m_scheduleCommit();
    return {};
}

Result<void> Store::limitSession(qint64 idleInTransactionMs, qint64 lockMs)
{
    if (m_dialect != Dialect::Postgres)
        return {};
    m_idleInTransactionMs = idleInTransactionMs;
    m_lockMs = lockMs;
    if (auto r = execute(QStringLiteral("SET idle_in_transaction_session_timeout = %1").arg(idleInTransactionMs)); !r)
        return r;
    return execute(QStringLiteral("SET lock_timeout = %1").arg(lockMs));
}

void Store::checkpointInBackground()
{
    if (m_dialect != Dialect::Sqlite || m_checkpointer)
        return;
    // A safety net only: 16384 pages (64 MiB at 4 KiB) is far more than the log grows between
    // two background checkpoints.
    constexpr int IntervalMs = 200;
    if (auto raised = exec(QStringLiteral("PRAGMA wal_autocheckpoint=16384")); !raised) {
        qCWarning(lcDb) << raised.error().message;
        return;
    }
    m_checkpointer = std::make_unique<WalCheckpointer>(database().databaseName(), IntervalMs);
    m_checkpointer->start(QThread::LowPriority);
}

void Store::commitBatchAsync(QObject *context, std::function<void(const Result<void> &)> done)
{
    if (!m_committer || m_mainWrote || m_batchBroken || (!m_batchOpen && m_commitsInFlight == 0)) {
        done(commitBatch());
        return;
    }
    // Only kept rows (or nothing, behind commits still in flight): this connection's transaction
    // at most read, and the rows go to the committer, in order after the batches before them.
    if (m_batchOpen) {
        m_batchOpen = false;
        database().commit();
    }
    auto rows = std::make_shared<std::vector<PendingRow>>(std::exchange(m_batchRows, {}).rows);
    m_batchRows.rows.reserve(rows->size()); // the next batch is likely as large
    ++m_commitsInFlight;
    m_committer->submit(
        [rows](SqliteWriter &writer) -> std::expected<void, QString> {
            for (const Statement &statement : statementsFor(*rows)) {
                if (auto written = writer.write(statement.sql, statement.values); !written)
                    return std::unexpected(written.error());
            }
            return {};
        },
        context,
        [this, done = std::move(done)](const std::optional<QString> &error) {
            --m_commitsInFlight;
            if (error)
                done(databaseError(Tr::tr("committing"), *error));
            else
                done({});
        });
}

Result<void> Store::commitBatch()
{
    if (m_committer) {
        if (auto failed = m_committer->waitIdle(); failed && !m_batchBroken)
            m_batchBroken = databaseError(Tr::tr("committing"), *failed).error();
    }
    if (m_away && !m_batchBroken)
        return awayError(); // held until reconnect() replays it (also no batch: reconnect first)
    if (!m_batchOpen) {
        if (m_batchBroken)
            return fail(*std::exchange(m_batchBroken, std::nullopt));
        return {};
    }
    if (auto flushed = flushPending(m_batchRows, true); !flushed && m_away && !m_batchBroken) {
        return awayError(); // the rows went back to m_batchRows
    } else if (!flushed || m_batchBroken) {
        const Error error = m_batchBroken ? *m_batchBroken : flushed.error();
        m_batchBroken.reset();
        m_batchOpen = false;
        m_claimedAhead.clear();
        m_replayLog.clear();
        m_finalRows.clear();
        eventsCommitted(false);
        countRoundTrip();
        database().rollback();
        return fail(error);
    }
    QSqlDatabase db = database();
    if (auto committed = commitMarked(db); !committed) {
        if (m_away) {
            if (m_batchMarkerId.isEmpty())
                return keepForReplay(std::move(m_finalRows));
            // Applied or not: the marker says once the database is back (settleUnansweredCommit()).
            m_unanswered = UnansweredCommit{m_batchSeq, std::exchange(m_finalRows, {})};
            return awayError();
        }
        m_batchOpen = false;
        m_claimedAhead.clear();
        m_replayLog.clear();
        m_finalRows.clear();
        eventsCommitted(false);
        db.rollback();
        return committed;
    }
    m_batchOpen = false;
    m_claimedAhead.clear();
    m_finalRows.clear();
    m_replayLog.clear();
    eventsCommitted(true);
    return {};
}

Result<void> Store::commitMarked(QSqlDatabase &db)
{
    countRoundTrip();
    if (m_batchMarkerId.isEmpty() || m_dialect != Dialect::Postgres) {
        if (db.commit())
            return {};
        const QSqlError error = db.lastError();
        noteConnectionLost(error);
        return databaseError(Tr::tr("committing"), error.text());
    }
    // One round trip: the marker is written in the batch's own transaction, then COMMIT. QPSQL's
    // exec() answers for the first statement only (the UPDATE): the COMMIT's own result is the
    // next result set, and only it says whether the batch is stored (a server shut down or a
    // failover during the commit fails the COMMIT after the UPDATE succeeded).
    QSqlQuery query(db);
    query.setForwardOnly(false); // every result set read at exec(), none left on the connection
    const QString sql = QStringLiteral("UPDATE orchestrators SET last_batch = %1 WHERE id = '%2'; COMMIT")
                            .arg(++m_batchSeq)
                            .arg(QString(m_batchMarkerId).replace(u'\'', QStringLiteral("''")));
    if (query.exec(sql) && query.nextResult())
        return {};
    const QSqlError error = query.lastError();
    {
        const QScopedValueRollback writing(m_writingBatch, true); // the marker's UPDATE may have waited for a lock
        noteConnectionLost(error);
    }
    return databaseError(Tr::tr("committing"), error.text());
}

Result<void> Store::transaction(const std::function<Result<void>()> &body)
{
    if (m_transactionDepth > 0)
        return body();
    if (auto opened = openBatch(); !opened)
        return opened;
    if (m_batchOpen && m_writeBehind) {
        // The savepoint is opened by the body's first statement (beforeStatement()): a body that
        // only changes rows kept for write-behind needs none, its rows wait in m_bodyRows.
        m_inBody = true;
        Result<void> result;
        {
            Depth depth(m_transactionDepth);
            result = body();
        }
        m_inBody = false;
        const bool opened = std::exchange(m_bodySavepoint, false);
        if (result && opened)
            result = savepoint(QStringLiteral("RELEASE SAVEPOINT swamp_change"));
        if (!result) {
            m_bodyRows.clear();
            if (opened)
                undoBody([this](const QString &sql) { return savepoint(sql); });
            return result;
        }
        m_batchRows.merge(m_bodyRows);
        return {};
    }
    if (m_batchOpen) {
        // One savepoint per body: a failing body leaves the rest of the batch intact.
        if (auto r = write(QStringLiteral("SAVEPOINT swamp_change")); !r)
            return fail(r.error());
        Result<void> result;
        {
            Depth depth(m_transactionDepth);
            result = body();
        }
        if (!result) {
            undoBody([this](const QString &sql) -> Result<void> {
                if (auto written = write(sql); !written)
                    return fail(written.error());
                return {};
            });
            return result;
        }
        if (auto released = write(QStringLiteral("RELEASE SAVEPOINT swamp_change")); !released)
            return fail(released.error());
        return {};
    }
    QSqlDatabase db = database();
    countRoundTrip();
    if (!db.transaction())
        return databaseError(Tr::tr("starting a transaction"), db.lastError().text());
    Result<void> result;
    {
        Depth depth(m_transactionDepth);
        result = body();
    }
    countRoundTrip();
    if (!result) {
        eventsCommitted(false);
        db.rollback();
        return result;
    }
    if (!db.commit()) {
        const QString text = db.lastError().text();
        eventsCommitted(false);
        db.rollback();
        return databaseError(Tr::tr("committing"), text);
    }
    eventsCommitted(true);
    return {};
}

Result<void> Store::asOneBatch(const std::function<Result<void>()> &body)
{
    if (m_dialect != Dialect::Postgres || m_writeBehind || m_scheduleCommit || m_batchOpen)
        return body();
    m_scheduleCommit = [] {}; // committed below
    m_writeBehind = true;
    Result<void> result = body();
    // A body that failed took its own rows back (transaction()): the commit ends the batch.
    if (auto committed = commitBatch(); result && !committed)
        result = committed;
    m_writeBehind = false;
    m_scheduleCommit = {};
    return result;
}

Result<void> Store::enableWriteBehind()
{
    if (m_writeBehind || !m_scheduleCommit)
        return {};
    if (m_dialect == Dialect::Postgres) {
        // Several orchestrators may write: event ids come from the database's sequence at commit.
        m_writeBehind = true;
        return {};
    }
    // Ids continue after the largest ever handed out (AUTOINCREMENT's counter), as SQLite would.
    qint64 last = 0;
    auto read = select(QStringLiteral("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
                                      "COALESCE((SELECT MAX(id) FROM events), 0))"),
                       {}, [&](const QSqlQuery &q) { last = q.value(0).toLongLong(); });
    if (!read)
        return read;
    m_lastEventId = last;
    const QString path = database().databaseName();
    if (!path.isEmpty() && path != u":memory:") {
        auto committer = std::make_unique<SqliteCommitter>(path);
        if (auto started = committer->start(m_checkpointer ? 16384 : 1000); !started)
            return databaseError(Tr::tr("opening the commit connection"), started.error());
        m_committer = std::move(committer);
    }
    m_writeBehind = true;
    return {};
}

void Store::PendingRows::put(PendingRow row)
{
    static constexpr size_t LinearSearchRows = 16;
    if (!row.id.isEmpty()) {
        const size_t kind = row.row.index();
        std::optional<size_t> found;
        if (index.isEmpty()) {
            for (size_t i = 0; i < rows.size() && !found; ++i) {
                if (rows[i].row.index() == kind && rows[i].id == row.id)
                    found = i;
            }
            if (!found && rows.size() >= LinearSearchRows) {
                index.reserve(qsizetype(rows.size() * 2));
                for (size_t i = 0; i < rows.size(); ++i) {
                    if (!rows[i].id.isEmpty())
                        index.insert({rows[i].row.index(), rows[i].id}, i);
                }
            }
        } else if (const auto it = index.constFind({kind, row.id}); it != index.cend()) {
            found = *it;
        }
        if (found) {
            PendingRow &kept = rows[*found];
            kept.row = std::move(row.row); // the newest version; inserted or not as first seen
            kept.heldBy = std::move(row.heldBy);
            return;
        }
        if (!index.isEmpty())
            index.insert({kind, row.id}, rows.size());
    }
    rows.push_back(std::move(row));
}

void Store::PendingRows::clear()
{
    rows.clear();
    index.clear();
    heldLeases.clear();
    runsToRefresh.clear();
    notifications.clear();
}

void Store::PendingRows::merge(PendingRows &other)
{
    for (PendingRow &row : other.rows)
        put(std::move(row));
    heldLeases.unite(other.heldLeases);
    runsToRefresh.unite(other.runsToRefresh);
    for (const QString &payload : std::as_const(other.notifications)) {
        if (!notifications.contains(payload))
            notifications << payload;
    }
    other.clear();
}

const Store::PendingRow *Store::PendingRows::find(size_t kind, const QString &id) const
{
    if (!index.isEmpty()) {
        const auto it = index.constFind({kind, id});
        return it == index.cend() ? nullptr : &rows[*it];
    }
    for (const PendingRow &row : rows) {
        if (row.row.index() == kind && row.id == id)
            return &row;
    }
    return nullptr;
}

const Store::PendingRow *Store::pendingRow(size_t kind, const QString &id) const
{
    if (const PendingRow *row = m_bodyRows.find(kind, id))
        return row;
    return m_batchRows.find(kind, id);
}

Result<void> Store::defer(PendingRow row)
{
    if (auto opened = openBatch(); !opened)
        return opened;
    pendingRows().put(std::move(row));
    return {};
}

Result<void> Store::flushPending(PendingRows &pending, bool final)
{
    if (pending.isEmpty())
        return {};
    PendingRows rows = std::exchange(pending, {});
    if (m_dialect == Dialect::Postgres && !final) {
        // A statement in the middle of the batch sees every row; events, notifications and the
        // runs' states wait for the commit (nothing reads them back within a batch).
        std::erase_if(rows.rows, [&](PendingRow &row) {
            if (!std::holds_alternative<Event>(row.row))
                return false;
            pending.rows.push_back(std::move(row));
            return true;
        });
        pending.runsToRefresh = std::exchange(rows.runsToRefresh, {});
        pending.notifications = std::exchange(rows.notifications, {});
        rows.index.clear();
    }
    m_flushing = true;
    Result<void> result;
    if (m_dialect == Dialect::Postgres) {
        // The final flush is not logged for a replay: its rows are kept instead, and written
        // again as rows.
        m_finalFlush = final;
        {
            const QScopedValueRollback writing(m_writingBatch, &pending == &m_batchRows);
            result = flushPendingPostgres(rows);
        }
        m_finalFlush = false;
        if (!result && m_away && &pending == &m_batchRows) {
            pending.merge(rows); // nothing is lost: the batch waits for the database with them
            m_flushing = false;
            return result;
        }
        if (final && &pending == &m_batchRows)
            m_finalRows = std::move(rows);
    } else {
        for (const Statement &statement : statementsFor(rows.rows)) {
            if (result = execute(statement); !result)
                break;
        }
    }
    m_flushing = false;
    // Part of the rows may be written: whatever the caller does next, this batch must not commit.
    if (!result && &pending == &m_batchRows && !m_batchBroken)
        m_batchBroken = result.error();
    return result;
}

Store::Statement Store::statementFor(const PendingRow &pending)
{
    return std::visit([&](const auto &row) -> Statement {
        using Row = std::decay_t<decltype(row)>;
        if constexpr (std::is_same_v<Row, RunRecord>)
            return pending.insert ? runInsertStatement(row) : runUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, StepRecord>)
            return pending.insert ? stepInsertStatement(row) : stepUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, LeaseRecord>)
            return pending.insert ? leaseInsertStatement(row) : leaseUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, WorkerRecord>)
            return workerStateStatement(row, pending.heldBy);
        else
            return eventsInsertStatement({&row});
    }, pending.row);
}

QList<Store::Statement> Store::statementsFor(const std::vector<PendingRow> &rows)
{
    constexpr qsizetype EventsPerStatement = 32;
    QList<Statement> statements;
    QList<const Event *> events;
    for (const PendingRow &row : rows) {
        if (const Event *event = std::get_if<Event>(&row.row))
            events << event;
        else
            statements << statementFor(row);
    }
    for (qsizetype first = 0; first < events.size(); first += EventsPerStatement)
        statements << eventsInsertStatement(events.mid(first, EventsPerStatement));
    return statements;
}

} // namespace Swamp
