#pragma once

#include "common/result.h"
#include "scheduling/steps.h"
#include "store/records.h"
#include "tokens/tokens.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>
#include <QVariantList>

#include <memory>
#include <unordered_map>
#include <optional>

namespace Swamp {

// The orchestrator's one database: SQLite (WAL) by default, PostgreSQL when given a
// postgresql:// URL. Holds the connection *name*, never a QSqlDatabase member. Every call
// checks its statement and returns the driver's error text in the Error ("database" code).
// Not thread-safe: the orchestrator uses it from its one thread.
class Store final
{
    Q_DISABLE_COPY_MOVE(Store)

public:
    enum class Dialect { Sqlite, Postgres };

    // `spec`: a path to a SQLite file, or postgresql://user[:password]@host[:port]/database.
    // Opens, configures (WAL, foreign keys, busy timeout) and migrates forward; a database whose
    // schema is newer than this binary knows is refused untouched ("schema_too_new").
    static Result<std::unique_ptr<Store>> open(const QString &spec);
    ~Store();

    Dialect dialect() const { return m_dialect; }
    QSqlDatabase database() const;
    int schemaVersion() const { return m_schemaVersion; }
    static int knownSchemaVersion();

    // Runs `body` in one transaction: committed when it succeeds, rolled back when it fails.
    // Nested calls join the outermost transaction. In group-commit mode the body runs in a
    // savepoint of the open batch: rolled back alone when it fails, committed with the batch.
    Result<void> transaction(const std::function<Result<void>()> &body);

    // Group commit: every statement joins one open batch transaction; the first one opens it and
    // calls `scheduleCommit`, which must arrange for commitBatch() to run soon (the orchestrator:
    // on its next event-loop turn). Nothing that depends on a change may be sent before the
    // batch holding it is committed (inBatch() tells). Off (nullptr) by default.
    void setGroupCommit(std::function<void()> scheduleCommit);
    bool inBatch() const { return m_batchOpen; }
    // Commits the open batch (nothing to do without one). On failure the batch is rolled back.
    Result<void> commitBatch();

    // One statement with positional `?` bindings; the query is positioned before its first row.
    // On PostgreSQL read its rows before running the next statement (one statement at a time
    // per connection); forEachRow() lets a visitor query the store meanwhile.
    Result<QSqlQuery> exec(const QString &sql, const QVariantList &bindings = {});
    Result<void> execute(const QString &sql, const QVariantList &bindings = {});

    // Tokens
    // Streams the rows of a SELECT to `row`, which may use the store meanwhile.
    Result<void> forEachRow(const QString &sql, const QVariantList &bindings,
                            const std::function<void(const QSqlQuery &)> &row);

    Result<void> insertToken(const TokenRecord &token);
    // Newest first. Without `withBindings` the tokens' `bindings` are left empty: loading every
    // binding of a token with thousands of enrollments on each enrollment made enrolling O(n).
    Result<QList<TokenRecord>> tokensNamed(const QString &name, bool withBindings = true);
    Result<std::optional<TokenBinding>> binding(const QString &tokenId, const QString &machineId);
    Result<qint64> bindingCount(const QString &tokenId);
    Result<QList<TokenRecord>> allTokens();                      // oldest first
    Result<void> revokeToken(const QString &tokenId, const QDateTime &at, const QString &reason);
    Result<void> insertBinding(const QString &tokenId, const TokenBinding &binding);

    // Workers
    Result<std::optional<WorkerRecord>> workerByMachine(const QString &machineId,
                                                        const QString &tokenName);
    Result<void> upsertWorker(const WorkerRecord &worker);
    Result<QList<WorkerRecord>> allWorkers();
    // Every worker that is not `disconnected` or `lost` becomes `disconnected`; returns how many.
    Result<int> reconcileWorkersOnBoot(const QDateTime &now);

    // Runs, steps, leases, output (stepstore.cpp)
    Result<void> insertRun(const RunRecord &run);
    Result<void> updateRun(const RunRecord &run);
    Result<std::optional<RunRecord>> run(const QString &id);
    Result<QList<RunRecord>> runs(int limit = -1);
    Result<void> insertStep(const StepRecord &step);
    Result<void> updateStep(const StepRecord &step);
    Result<std::optional<StepRecord>> step(const QString &id);
    Result<QList<StepRecord>> steps(const QString &whereSql = {}, const QVariantList &bindings = {});
    // Streams the rows without building a list (large stores): `visit` sees each in turn.
    Result<void> forEachStep(const QString &whereSql, const QVariantList &bindings,
                             const std::function<void(const StepRecord &)> &visit);
    Result<void> insertLease(const LeaseRecord &lease);
    Result<void> updateLease(const LeaseRecord &lease);
    Result<std::optional<LeaseRecord>> lease(const QString &id);
    Result<QList<LeaseRecord>> leases(const QString &whereSql = {}, const QVariantList &bindings = {});
    Result<void> forEachLease(const QString &whereSql, const QVariantList &bindings,
                              const std::function<void(const LeaseRecord &)> &visit);
    Result<void> appendOutput(const QString &stepId, int chunk, const QString &leaseId, int attempt,
                              const QString &stream, const QString &data, const QDateTime &at);
    struct OutputChunk
    {
        int chunk = 0;
        int attempt = 0;
        QString stream;
        QString data;
        QDateTime at;
    };
    Result<QList<OutputChunk>> output(const QString &stepId, int afterChunk, int limit = 10000);

    // Operator events
    Result<qint64> insertEvent(const Event &event);
    Result<QList<Event>> eventsAfter(qint64 afterId, int limit);
    Result<qint64> lastEventId();

    static qint64 toMs(const QDateTime &when) { return when.isValid() ? when.toMSecsSinceEpoch() : 0; }
    static QVariant toMsOrNull(const QDateTime &when);
    static QDateTime fromMs(const QVariant &value);

private:
    Store(QString connectionName, Dialect dialect);
    Result<void> configure();
    Result<void> openBatch();
    Result<void> migrate(const QString &spec);
    Result<QSqlQuery> run(const QString &sql, const QVariantList &bindings, bool forwardOnly);
    Result<QString> inlineBindings(const QString &sql, const QVariantList &bindings) const;
    Result<QList<TokenRecord>> loadTokens(QSqlQuery &query, bool withBindings = true);
    std::unexpected<Error> databaseError(const QString &what, const QString &driverText) const;

    QString m_connectionName;
    Dialect m_dialect;
    int m_schemaVersion = 0;
    int m_transactionDepth = 0;
    std::function<void()> m_scheduleCommit;
    bool m_batchOpen = false;
    std::unordered_map<QString, std::unique_ptr<QSqlQuery>> m_writeStatements; // prepared once (SQLite), see execute()
    int m_cursors = 0;
};

} // namespace Swamp
