// The fleet table and the statements that let several orchestrators share one database:
// heartbeats, compare-and-set death, claims that skip rows another orchestrator has locked, and
// lease writes fenced on the stored state.

#include "store/store.h"

#include "common/error.h"

#include <QJsonDocument>
#include <QSqlDriver>
#include <QSqlError>

namespace Swamp {

QJsonObject Store::OrchestratorRecord::toJson() const
{
    const auto iso = [](const QDateTime &t) {
        return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
    };
    return {{QStringLiteral("id"), id},
            {QStringLiteral("name"), name},
            {QStringLiteral("url"), url},
            {QStringLiteral("version"), version},
            {QStringLiteral("state"), state},
            {QStringLiteral("startedAt"), iso(startedAt)},
            {QStringLiteral("heartbeatAt"), iso(heartbeatAt)},
            {QStringLiteral("endedAt"), iso(endedAt)},
            {QStringLiteral("endedReason"), endedReason.isEmpty() ? QJsonValue() : QJsonValue(endedReason)}};
}

// Heartbeats compare the database's clock with itself, so orchestrators on hosts whose clocks
// disagree never declare each other dead by mistake.
static QString databaseNowMs(Store::Dialect dialect)
{
    return dialect == Store::Dialect::Postgres
               ? QStringLiteral("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)")
               : QStringLiteral("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)");
}

Result<void> Store::registerOrchestrator(const OrchestratorRecord &self)
{
    m_batchMarkerId = m_dialect == Dialect::Postgres ? self.id : QString();
    m_batchSeq = 0;
    return execute(QStringLiteral("INSERT INTO orchestrators (id, name, url, version, state, started_at, "
                                  "heartbeat_at) VALUES (?, ?, ?, ?, 'alive', ?, ?)"),
                   {self.id, self.name, self.url, self.version, toMs(self.startedAt), toMs(self.heartbeatAt)});
}

Result<bool> Store::heartbeatOrchestrator(const QString &id, const QDateTime &now)
{
    Q_UNUSED(now);
    auto q = exec(QStringLiteral("UPDATE orchestrators SET heartbeat_at = %1 WHERE id = ? AND state = 'alive'")
                      .arg(databaseNowMs(m_dialect)),
                  {id});
    if (!q)
        return fail(q.error());
    return q->numRowsAffected() == 1;
}

Result<QList<Store::OrchestratorRecord>> Store::orchestrators()
{
    auto q = exec(QStringLiteral("SELECT id, name, url, version, state, started_at, heartbeat_at, ended_at, "
                                 "ended_reason FROM orchestrators ORDER BY started_at"));
    if (!q)
        return fail(q.error());
    QList<OrchestratorRecord> list;
    while (q->next()) {
        list << OrchestratorRecord{q->value(0).toString(), q->value(1).toString(), q->value(2).toString(),
                                   q->value(3).toString(), q->value(4).toString(), fromMs(q->value(5)),
                                   fromMs(q->value(6)), fromMs(q->value(7)), q->value(8).toString()};
    }
    return list;
}

Result<QStringList> Store::staleOrchestrators(const QString &self, qint64 silentForMs)
{
    auto q = exec(QStringLiteral("SELECT id FROM orchestrators WHERE state = 'alive' AND heartbeat_at < %1 - ? "
                                 "AND id <> ? ORDER BY heartbeat_at")
                      .arg(databaseNowMs(m_dialect)),
                  {silentForMs, self});
    if (!q)
        return fail(q.error());
    QStringList ids;
    while (q->next())
        ids << q->value(0).toString();
    return ids;
}

Result<bool> Store::endOrchestrator(const QString &id, const QString &state, const QString &reason,
                                    const QDateTime &now, qint64 silentForMs)
{
    // The heartbeat condition makes it a compare-and-set: of several survivors racing, one wins,
    // and an orchestrator that heartbeated meanwhile is left alone.
    QString sql = QStringLiteral("UPDATE orchestrators SET state = ?, ended_at = ?, ended_reason = ? "
                                 "WHERE id = ? AND state = 'alive'");
    QVariantList bindings{state, toMs(now), reason, id};
    if (silentForMs > 0) {
        sql += QStringLiteral(" AND heartbeat_at < %1 - ?").arg(databaseNowMs(m_dialect));
        bindings << silentForMs;
    }
    auto q = exec(sql, bindings);
    if (!q)
        return fail(q.error());
    return q->numRowsAffected() == 1;
}

Result<int> Store::disconnectWorkersOf(const QString &orchestratorId, const QDateTime &now)
{
    auto q = exec(QStringLiteral("UPDATE workers SET status = 'disconnected', draining = 0, disconnected_at = ?, "
                                 "updated_at = ? WHERE orchestrator_id = ? AND status NOT IN "
                                 "('disconnected', 'lost')"),
                  {toMs(now), toMs(now), orchestratorId});
    if (!q)
        return fail(q.error());
    return q->numRowsAffected();
}

Result<int> Store::disconnectOrphanedWorkers(const QDateTime &now)
{
    auto q = exec(QStringLiteral("UPDATE workers SET status = 'disconnected', draining = 0, disconnected_at = ?, "
                                 "updated_at = ? WHERE status NOT IN ('disconnected', 'lost') AND "
                                 "orchestrator_id NOT IN (SELECT id FROM orchestrators WHERE state = 'alive')"),
                  {toMs(now), toMs(now)});
    if (!q)
        return fail(q.error());
    return q->numRowsAffected();
}

Result<std::optional<StepRecord>> Store::stepForUpdate(const QString &id)
{
    const QString lock = m_dialect == Dialect::Postgres ? QStringLiteral(" FOR NO KEY UPDATE") : QString();
    auto list = steps(QStringLiteral("WHERE id = ?") + lock, {id});
    if (!list)
        return fail(list.error());
    return list->isEmpty() ? std::optional<StepRecord>() : std::optional<StepRecord>(list->first());
}

Result<bool> Store::updateActiveLease(const LeaseRecord &l)
{
    auto q = write(QStringLiteral("UPDATE step_leases SET state = ?, error = ?, exit_code = ?, started_at = ?, "
                                 "ended_at = ?, updated_at = ? WHERE id = ? AND state = 'active'"),
                  {leaseStateName(l.state), l.error.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(l.error),
                   l.exitCode ? QVariant(*l.exitCode) : QVariant(QMetaType::fromType<int>()),
                   toMsOrNull(l.startedAt), toMsOrNull(l.endedAt), toMs(l.updatedAt), l.id});
    if (!q)
        return fail(q.error());
    return q->rowsAffected == 1;
}

Result<QString> Store::orchestratorStateOnListener(const QString &id)
{
    QSqlDatabase listener = m_listenerName.isEmpty() ? QSqlDatabase() : QSqlDatabase::database(m_listenerName, false);
    if (!listener.isOpen())
        return databaseError(Tr::tr("reading this orchestrator's state"), Tr::tr("no fleet connection"));
    auto sql = inlineBindings(QStringLiteral("SELECT state FROM orchestrators WHERE id = ?"), {id});
    if (!sql)
        return fail(sql.error());
    QSqlQuery query(listener);
    if (!query.exec(*sql))
        return databaseError(Tr::tr("reading this orchestrator's state"), query.lastError().text());
    return query.next() ? query.value(0).toString() : QString();
}

QString Store::lostChangesText(const QString &what)
{
    return Tr::tr("%1 is not in the database although this orchestrator committed it: the database lost "
                  "committed changes (a failover to a standby that had not received them, or a restore "
                  "from a backup), and this orchestrator's changes since are not kept")
        .arg(what);
}

QString Store::lostChangesFix()
{
    return Tr::tr("nothing to do now: it stops, a supervisor (systemd Restart=on-failure) starts it again and "
                  "steps whose changes were lost run again by their retry policy; to lose no committed change "
                  "in a failover, replicate synchronously (docs/operations.md, PostgreSQL failover)");
}

Result<QSqlDriver *> Store::openFleetListener()
{
    if (m_dialect != Dialect::Postgres)
        return fail(QStringLiteral("database"), Tr::tr("only PostgreSQL can share a database between orchestrators"),
                    Tr::tr("pass --database postgresql://..."));
    if (m_listenerName.isEmpty())
        m_listenerName = m_connectionName + QStringLiteral("-listen");
    QSqlDatabase listener = QSqlDatabase::database(m_listenerName, false);
    if (!listener.isValid())
        listener = QSqlDatabase::cloneDatabase(m_connectionName, m_listenerName);
    if (!listener.isOpen() && !listener.open())
        return databaseError(Tr::tr("opening the fleet notification connection"), listener.lastError().text());
    QSqlDriver *driver = listener.driver();
    if (!driver->subscribedToNotifications().contains(fleetChannel())
        && !driver->subscribeToNotification(fleetChannel()))
        return databaseError(Tr::tr("listening for fleet notifications"), driver->lastError().text());
    return driver;
}

} // namespace Swamp
