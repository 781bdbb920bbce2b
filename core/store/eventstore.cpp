// Operator events (table events).
#include "store/store.h"

#include "common/logging.h"

#include <QJsonDocument>
#include <QSqlError>

namespace Swamp {

static QString storedEventData(const Event &e)
{
    return e.dataJson.isEmpty() ? QStringLiteral("{}") : QString::fromUtf8(e.dataJson);
}

Store::Statement Store::eventsInsertStatement(const QList<const Event *> &events)
{
    Statement statement{QStringLiteral("INSERT INTO events (id, at, kind, subject, message, data) VALUES "), {}};
    statement.values.reserve(events.size() * 6);
    for (qsizetype i = 0; i < events.size(); ++i) {
        const Event &e = *events.at(i);
        statement.sql += i == 0 ? QStringLiteral("(?, ?, ?, ?, ?, ?)") : QStringLiteral(", (?, ?, ?, ?, ?, ?)");
        statement.values << e.id << toMs(e.at) << e.kind << (e.subject.isNull() ? QStringLiteral("") : e.subject)
                         << e.message << storedEventData(e);
    }
    return statement;
}

Result<qint64> Store::insertEvent(const Event &e)
{
    if (deferring()) {
        Event kept = e;
        kept.id = ++m_lastEventId;
        if (auto r = defer(PendingRow{{}, true, {}, kept}); !r)
            return fail(r.error());
        return kept.id;
    }
    const QString data = storedEventData(e);
    const QString sql = m_dialect == Dialect::Postgres
                            ? QStringLiteral("INSERT INTO events (at, kind, subject, message, data) "
                                             "VALUES (?, ?, ?, ?, ?) RETURNING id")
                            : QStringLiteral("INSERT INTO events (at, kind, subject, message, data) "
                                             "VALUES (?, ?, ?, ?, ?)");
    const QVariantList values{toMs(e.at), e.kind, e.subject.isNull() ? QStringLiteral("") : e.subject, e.message, data};
    if (m_dialect == Dialect::Postgres) {
        auto query = exec(sql, values);
        if (!query)
            return fail(query.error());
        if (!query->next())
            return databaseError(Tr::tr("recording an event"), Tr::tr("no id was returned"));
        return query->value(0).toLongLong();
    }
    auto written = write(sql, values);
    if (!written)
        return fail(written.error());
    return written->lastInsertId.toLongLong();
}

static QList<Event> eventsFromQuery(QSqlQuery &query)
{
    QList<Event> events;
    while (query.next()) {
        Event event{query.value(0).toLongLong(), Store::fromMs(query.value(1)), query.value(2).toString(),
                    query.value(3).toString(), query.value(4).toString(), {}};
        // The text goes into event frames as it is: only a JSON object may (a row changed by hand
        // could hold anything), compacted (PostgreSQL returns what it was given).
        event.setData(QJsonDocument::fromJson(query.value(5).toString().toUtf8()).object());
        events << event;
    }
    return events;
}

Result<QList<Event>> Store::eventsAfter(qint64 afterId, int limit)
{
    auto query = exec(QStringLiteral("SELECT id, at, kind, subject, message, data FROM events "
                                     "WHERE id > ? ORDER BY id LIMIT ?"),
                      {afterId, limit});
    if (!query)
        return fail(query.error());
    return eventsFromQuery(*query);
}

Result<QList<Event>> Store::eventsWithIds(const QList<qint64> &ids)
{
    // A fixed number of placeholders (the missing ones repeat the first id), so that one
    // statement text serves every call.
    constexpr qsizetype PerQuery = 64;
    QString sql = QStringLiteral("SELECT id, at, kind, subject, message, data FROM events WHERE id IN (?");
    for (qsizetype i = 1; i < PerQuery; ++i)
        sql += QStringLiteral(", ?");
    sql += QStringLiteral(") ORDER BY id");
    QList<Event> events;
    for (qsizetype from = 0; from < ids.size(); from += PerQuery) {
        QVariantList bindings;
        for (qsizetype i = 0; i < PerQuery; ++i)
            bindings << ids.at(from + i < ids.size() ? from + i : from);
        auto query = exec(sql, bindings);
        if (!query)
            return fail(query.error());
        events << eventsFromQuery(*query);
    }
    std::sort(events.begin(), events.end(), [](const Event &a, const Event &b) { return a.id < b.id; });
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
