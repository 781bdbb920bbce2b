#pragma once

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace Swamp::Query {

// A record as a predicate reads it: one field at a time, and only the fields it names. A store can
// hand out its rows so (their columns read when asked) instead of building each as a JSON object
// that the predicate then mostly ignores (issue 20: 20 µs a step, most of a scan of 100,000).
// Predicate::matches() takes either; they must agree with the JSON shape of docs/query.md.
//
// Values are QVariants holding: std::nullptr_t (null), bool, qint64, double, QString, QDateTime
// (a timestamp; invalid: null), QStringList, QJsonObject, QJsonArray, QJsonValue or a
// stringMapValue(). A timestamp
// may also come as its ISO-8601 text, a duration as its text ("90s"), as in JSON records.
// A map of strings (a step's labels) as a Record's value, converted once for the query: a store
// whose rows share a few distinct maps hands out the same QVariant for each row, and a predicate
// reads its keys without converting the map again (as it would a QJsonObject, row after row).
QVariant stringMapValue(const QMap<QString, QString> &map);

// The attributes of the built-in schema numbered 0, 1, ... in name order; -1 for any other name.
// How a predicate names an attribute to Record::scalar() without hashing its name on every row.
int attributeId(QStringView name);
// The names attributeId() numbers, in its order.
const QStringList &attributeIdNames();

// An attribute as its column holds it, for the tests a scan runs on every row (== "eu",
// .endsWith("-7"), > 1) without a QVariant or a query value: null, an integer, UTF-8 text or a
// string the record holds already (a map's entry). Unknown: the record does not read that
// attribute so; the predicate asks attribute().
struct Scalar
{
    enum class Kind : quint8 { Unknown, Null, Int, Text, String };
    Kind kind = Kind::Unknown;
    qint64 integer = 0;
    QByteArray utf8; // Text; may share the row's memory: valid while the row is
    QString string;  // String

    static Scalar null() { return {Kind::Null, 0, {}, {}}; }
    static Scalar fromInt(qint64 value) { return {Kind::Int, value, {}, {}}; }
    static Scalar fromUtf8(QByteArray utf8) { return {Kind::Text, 0, std::move(utf8), {}}; }
    static Scalar fromString(QString string) { return {Kind::String, 0, {}, std::move(string)}; }
};

class Record
{
public:
    virtual ~Record() = default;

    // A top-level field other than `attributes`: modelType, name, id, createdAt, updatedAt. An
    // invalid QVariant when the record has no such field.
    virtual QVariant field(const QString &name) const = 0;
    // One of its attributes; an invalid QVariant when it has none of that name.
    virtual QVariant attribute(const QString &name) const = 0;
    // The names of all its attributes (for `attributes` read whole: in, size(), a macro, ==).
    virtual QStringList attributeNames() const = 0;
    // The attribute numbered `id` (attributeId()) as a scalar: what attribute() of its name would
    // answer (a QString as its UTF-8, a qint64, null), or Unknown. Unknown by default.
    virtual Scalar scalar(int id) const;
    // The entry `key` of the map attribute numbered `id` as a string, as `attributes.<map>.<key>`
    // reads it; Unknown when it has none (the predicate then asks attribute() and reports it).
    // Unknown by default.
    virtual Scalar scalarEntry(int id, const QString &key) const;
};

} // namespace Swamp::Query
