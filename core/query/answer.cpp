// The client's side of data.query's rows form (query/answer.h): the orchestrator writes a step
// or lease as the values of its attributes; the record around them is rebuilt here, as
// QueryService writes it in the records form (name, id and times are the attributes').
#include "query/answer.h"

#include "common/duration.h"

#include <QJsonArray>

#include <vector>

namespace Swamp::Query {

namespace {

struct Table
{
    QString modelType;
    QString name;            // the attribute that names the record
    QStringList attributes;  // in the order of a row's values
    std::vector<bool> times; // per attribute: a time, written as milliseconds

    // A record's attributes with every key and null values, and for each of its keys in the
    // object's order (sorted) the attribute's place in a row: a row's values are set in place.
    // Inserting keys one by one was half of printing 95,000 records; setting them, a third of it.
    QJsonObject blank;
    std::vector<qsizetype> rowIndexOfKey;
    QJsonObject blankRecord; // modelType set, the rest null
};

std::unexpected<Error> malformed(const QString &what)
{
    return fail(QStringLiteral("malformed_answer"),
                Tr::tr("the orchestrator's data.query answer is malformed: %1").arg(what),
                Tr::tr("run the same swamp version on both sides; if they are the same, report this with the "
                       "orchestrator's version (swamp version)"));
}

Result<std::vector<Table>> tablesOf(const QJsonValue &value)
{
    if (!value.isArray())
        return malformed(Tr::tr("\"tables\" is not an array"));
    std::vector<Table> tables;
    for (const QJsonValue &entry : value.toArray()) {
        const QJsonObject object = entry.toObject();
        Table table{object.value(QStringLiteral("modelType")).toString(), object.value(QStringLiteral("name")).toString(), {}, {}};
        const QJsonValue attributes = object.value(QStringLiteral("attributes"));
        if (table.modelType.isEmpty() || !attributes.isArray())
            return malformed(Tr::tr("table %1 has no model type or no attributes").arg(tables.size()));
        for (const QJsonValue &name : attributes.toArray()) {
            if (!name.isString() || name.toString().isEmpty() || table.attributes.contains(name.toString()))
                return malformed(Tr::tr("table %1 has an attribute that is no name, or one twice").arg(tables.size()));
            table.attributes << name.toString();
        }
        table.times.assign(size_t(table.attributes.size()), false);
        for (const QJsonValue &time : object.value(QStringLiteral("times")).toArray()) {
            const qsizetype at = table.attributes.indexOf(time.toString());
            if (at < 0)
                return malformed(Tr::tr("table %1 names a time that is no attribute").arg(tables.size()));
            table.times[size_t(at)] = true;
        }
        for (const QString &needed : {table.name, QStringLiteral("id"), QStringLiteral("createdAt"), QStringLiteral("updatedAt")}) {
            if (!table.attributes.contains(needed))
                return malformed(Tr::tr("table %1 has no attribute \"%2\"").arg(tables.size()).arg(needed));
        }
        for (const QString &attribute : std::as_const(table.attributes))
            table.blank.insert(attribute, QJsonValue::Null);
        for (auto it = table.blank.constBegin(); it != table.blank.constEnd(); ++it)
            table.rowIndexOfKey.push_back(table.attributes.indexOf(it.key()));
        table.blankRecord = QJsonObject{{QStringLiteral("modelType"), table.modelType},
                                        {QStringLiteral("name"), QJsonValue::Null},
                                        {QStringLiteral("id"), QJsonValue::Null},
                                        {QStringLiteral("createdAt"), QJsonValue::Null},
                                        {QStringLiteral("updatedAt"), QJsonValue::Null},
                                        {QStringLiteral("attributes"), QJsonValue::Null}};
        tables.push_back(std::move(table));
    }
    return tables;
}

Result<QJsonObject> recordOf(const std::vector<Table> &tables, const QJsonArray &row, qsizetype index)
{
    const QJsonValue which = row.at(0);
    const qint64 t = which.isDouble() ? which.toInteger(-1) : -1;
    if (t < 0 || size_t(t) >= tables.size())
        return malformed(Tr::tr("result %1 names no table").arg(index));
    const Table &table = tables[size_t(t)];
    if (row.size() != table.attributes.size() + 1)
        return malformed(Tr::tr("result %1 has %2 values where its table has %3")
                             .arg(index)
                             .arg(row.size() - 1)
                             .arg(table.attributes.size()));
    QJsonObject attributes = table.blank;
    auto key = attributes.begin();
    for (const qsizetype i : table.rowIndexOfKey) {
        QJsonValue value = row.at(i + 1);
        if (table.times[size_t(i)] && !value.isNull()) {
            // Whole milliseconds (Qt reads an integer JSON number exactly, to 64 bits); else no time.
            const qint64 ms = value.toInteger(0);
            if (ms != value.toInteger(1))
                return malformed(Tr::tr("result %1 has a time that is no whole number of milliseconds").arg(index));
            value = isoUtcMs(ms);
        }
        key.value() = value;
        ++key;
    }
    QJsonObject record = table.blankRecord;
    record[QStringLiteral("name")] = attributes.value(table.name);
    record[QStringLiteral("id")] = attributes.value(QStringLiteral("id"));
    record[QStringLiteral("createdAt")] = attributes.value(QStringLiteral("createdAt"));
    record[QStringLiteral("updatedAt")] = attributes.value(QStringLiteral("updatedAt"));
    record[QStringLiteral("attributes")] = attributes;
    return record;
}

} // namespace

Result<QJsonObject> answerWithRecords(QJsonObject answer)
{
    const auto tablesValue = answer.constFind(QStringLiteral("tables"));
    if (tablesValue == answer.constEnd())
        return answer;
    auto tables = tablesOf(*tablesValue);
    if (!tables)
        return fail(tables.error());
    const QJsonArray results = answer.value(QStringLiteral("results")).toArray();
    QJsonArray records;
    for (qsizetype i = 0; i < results.size(); ++i) {
        const QJsonValue result = results.at(i);
        if (result.isObject()) { // a record written whole (a model without rows, an open step)
            records.append(result);
            continue;
        }
        if (!result.isArray() || result.toArray().isEmpty())
            return malformed(Tr::tr("result %1 is neither a record nor a row").arg(i));
        auto record = recordOf(*tables, result.toArray(), i);
        if (!record)
            return fail(record.error());
        records.append(*record);
    }
    answer.remove(QStringLiteral("tables"));
    answer.insert(QStringLiteral("results"), records);
    return answer;
}

} // namespace Swamp::Query
