// Operator events (table events).
#include "store/store.h"

#include "common/logging.h"

#include <QJsonDocument>
#include <QSqlError>

#include <algorithm>

namespace Swamp {

static QString storedEventData(const Event &e)
{
    return e.dataJson.isEmpty() ? QStringLiteral("{}") : QString::fromUtf8(e.dataJson);
}

Store::Statement Store::eventsInsertStatement(const QList<const Event *> &events, bool withIds)
{
    // PostgreSQL: staged, numbered at commit (migration 007); the first row wakes the trigger.
    Statement statement{withIds ? QStringLiteral("INSERT INTO events (id, at, kind, subject, message, data) VALUES ")
                                : QStringLiteral("INSERT INTO swamp_staged_events (seq, at, kind, subject, message, "
                                                 "data, first) VALUES "),
                        {}};
    statement.values.reserve(events.size() * 6);
    for (qsizetype i = 0; i < events.size(); ++i) {
        const Event &e = *events.at(i);
        const QString row = withIds ? QStringLiteral("(?, ?, ?, ?, ?, ?)")
                                    : QStringLiteral("(nextval('events_pending_id'), ?, ?, ?, ?, ?, %1)")
                                          .arg(i == 0 ? QStringLiteral("true") : QStringLiteral("false"));
        statement.sql += i == 0 ? row : QStringLiteral(", ") + row;
        if (withIds)
            statement.values << e.id;
        statement.values << toMs(e.at) << e.kind << (e.subject.isNull() ? QStringLiteral("") : e.subject)
                         << e.message << storedEventData(e);
    }
    return statement;
}

Result<qint64> Store::insertEvent(const Event &e)
{
    if (deferring()) {
        Event kept = e;
        // PostgreSQL: the id is handed out at commit (eventIdsAtCommit()).
        kept.id = m_dialect == Dialect::Postgres ? 0 : ++m_lastEventId;
        if (auto r = defer(PendingRow{{}, true, {}, kept}); !r)
            return fail(r.error());
        return kept.id;
    }
    if (m_dialect == Dialect::Postgres) {
        // Outside a transaction the statement commits at once; inside one, with it.
        if (auto r = insertEventsNumbered({&e}); !r)
            return fail(r.error());
        if (!m_batchOpen && m_transactionDepth == 0)
            eventsCommitted(true);
        return 0;
    }
    const QString data = storedEventData(e);
    const QString sql = QStringLiteral("INSERT INTO events (at, kind, subject, message, data) VALUES (?, ?, ?, ?, ?)");
    const QVariantList values{toMs(e.at), e.kind, e.subject.isNull() ? QStringLiteral("") : e.subject, e.message, data};
    auto written = write(sql, values);
    if (!written)
        return fail(written.error());
    return written->lastInsertId.toLongLong();
}

static QList<Event> eventsFromQuery(QSqlQuery &query, QList<qint64> *pendingIds)
{
    QList<Event> events;
    while (query.next()) {
        if (pendingIds)
            *pendingIds << query.value(6).toLongLong();
        Event event{query.value(0).toLongLong(), Store::fromMs(query.value(1)), query.value(2).toString(),
                    query.value(3).toString(), query.value(4).toString(), {}};
        // The text goes into event frames as it is: only a JSON object may (a row changed by hand
        // could hold anything), compacted (PostgreSQL returns what it was given).
        event.setData(QJsonDocument::fromJson(query.value(5).toString().toUtf8()).object());
        events << event;
    }
    return events;
}

static QString eventColumns(Store::Dialect dialect)
{
    return dialect == Store::Dialect::Postgres ? QStringLiteral("SELECT id, at, kind, subject, message, data, pending_id FROM events ")
                                               : QStringLiteral("SELECT id, at, kind, subject, message, data, 0 FROM events ");
}

Result<QList<Event>> Store::eventsAfter(qint64 afterId, int limit, QList<qint64> *pendingIds)
{
    auto query = exec(eventColumns(m_dialect) + QStringLiteral("WHERE id > ? ORDER BY id LIMIT ?"), {afterId, limit});
    if (!query)
        return fail(query.error());
    return eventsFromQuery(*query, pendingIds);
}

Result<QList<Event>> Store::recentEventsAbout(const QString &subject, int limit)
{
    auto query = exec(eventColumns(m_dialect) + QStringLiteral("WHERE subject = ? ORDER BY id DESC LIMIT ?"),
                      {subject, limit});
    if (!query)
        return fail(query.error());
    QList<Event> events = eventsFromQuery(*query, nullptr);
    std::reverse(events.begin(), events.end());
    return events;
}

Result<QList<Event>> Store::eventsWithIds(const QList<qint64> &ids, QList<qint64> *pendingIds)
{
    // A fixed number of placeholders (the missing ones repeat the first id), so that one
    // statement text serves every call.
    constexpr qsizetype PerQuery = 64;
    QString sql = eventColumns(m_dialect) + QStringLiteral("WHERE id IN (?");
    for (qsizetype i = 1; i < PerQuery; ++i)
        sql += QStringLiteral(", ?");
    sql += QStringLiteral(") ORDER BY id");
    // In id order across the statements too (and `pendingIds` beside them).
    QList<qint64> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    QList<Event> events;
    for (qsizetype from = 0; from < sorted.size(); from += PerQuery) {
        QVariantList bindings;
        for (qsizetype i = 0; i < PerQuery; ++i)
            bindings << sorted.at(from + i < sorted.size() ? from + i : from);
        auto query = exec(sql, bindings);
        if (!query)
            return fail(query.error());
        events << eventsFromQuery(*query, pendingIds);
    }
    return events;
}

Result<qint64> Store::lastEventId()
{
    auto query = exec(QStringLiteral("SELECT COALESCE(MAX(id), 0) FROM events"));
    if (!query)
        return fail(query.error());
    return query->next() ? query->value(0).toLongLong() : 0;
}

} // namespace Swamp
