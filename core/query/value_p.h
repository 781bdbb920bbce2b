#pragma once

#include "common/result.h"
#include "query/record.h"
#include "query/schema.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QMap>
#include <QString>

#include <memory>
#include <optional>
#include <variant>

namespace Swamp::Query::Internal {

// Runtime kinds, and (with Dyn) the static types the checker infers.
enum class Kind { Null, Bool, Int, Double, String, Timestamp, Duration, List, Map, Dyn };
QString kindName(Kind kind);
Kind kindOf(FieldType type);

// Milliseconds since the epoch (UTC), within 0001-01-01 .. 9999-12-31.
struct Timestamp
{
    qint64 ms = 0;
};
// Milliseconds, signed.
struct Duration
{
    qint64 ms = 0;
};

constexpr qint64 minTimestampMs = -62135596800000LL; // 0001-01-01T00:00:00Z
constexpr qint64 maxTimestampMs = 253402300799999LL; // 9999-12-31T23:59:59.999Z
constexpr qint64 maxDurationMs = 315576000000000LL;  // 10,000 years, as CEL

struct Value;
using ValueList = QList<Value>;
using ValueMap = QMap<QString, Value>;

// The attributes of a Record (record.h), read one at a time when the query asks: a map. Valid for
// one evaluation, while its record is.
struct RecordAttributes
{
    const Record *record = nullptr;
};

// One query value. Maps read from records stay QJsonObject (cheap to copy, converted on access)
// or, for a Record's attributes, RecordAttributes; maps built by the query are ValueMap. Map keys
// are strings.
struct Value
{
    using List = std::shared_ptr<const ValueList>;
    using Map = std::shared_ptr<const ValueMap>;
    std::variant<std::monostate, bool, qint64, double, QString, Timestamp, Duration, List,
                 QJsonObject, Map, RecordAttributes>
        data;

    Kind kind() const;
    bool isNull() const { return data.index() == 0; }
    bool boolean() const { return std::get<bool>(data); }
    qint64 integer() const { return std::get<qint64>(data); }
    double number() const { return std::get<double>(data); }
    const QString &string() const { return std::get<QString>(data); }
    qint64 timestampMs() const { return std::get<Timestamp>(data).ms; }
    qint64 durationMs() const { return std::get<Duration>(data).ms; }
    const ValueList &list() const { return *std::get<List>(data); }

    static Value null() { return {}; }
    static Value fromBool(bool value) { return {value}; }
    static Value fromInt(qint64 value) { return {value}; }
    static Value fromDouble(double value) { return {value}; }
    static Value fromString(QString value) { return {std::move(value)}; }
    static Value fromTimestamp(qint64 ms) { return {Timestamp{ms}}; }
    static Value fromDuration(qint64 ms) { return {Duration{ms}}; }
    static Value fromList(ValueList list)
    {
        return {std::make_shared<const ValueList>(std::move(list))};
    }
    static Value fromMap(ValueMap map)
    {
        return {std::make_shared<const ValueMap>(std::move(map))};
    }
    static Value fromJsonObject(QJsonObject object) { return {std::move(object)}; }
    static Value fromAttributesOf(const Record &record) { return {RecordAttributes{&record}}; }
};

// Map helpers over both representations.
qsizetype mapSize(const Value &map);
QStringList mapKeys(const Value &map);
bool mapContains(const Value &map, const QString &key);
// nullopt when the key is missing; an error when a timestamp/duration field does not parse.
std::optional<Result<Value>> mapValue(const Value &map, const QString &key, FieldType type);

// JSON → value, reading strings as timestamps/durations when the schema says so.
Result<Value> fromJson(const QJsonValue &json, FieldType type = FieldType::Any);
Result<Value> fromJson(QJsonValueConstRef json, FieldType type = FieldType::Any);
// A Record's field (record.h) → value, the same way; `variant` must be valid.
Result<Value> fromVariant(const QVariant &variant, FieldType type = FieldType::Any);
// Value → JSON: timestamps as ISO strings, durations as "90s".
QJsonValue toJson(const Value &value);

// CEL equality: heterogeneous (different kinds are unequal, int and double compare
// numerically), deep for lists and maps.
bool equals(const Value &left, const Value &right);
// CEL ordering for < <= > >=: -1, 0 or 1; nullopt when the two kinds have no order (or a NaN).
// Int and double compare exactly, without rounding the int.
std::optional<int> compare(const Value &left, const Value &right);

// Fixed RFC 3339: 2026-11-24T10:00:00Z, optional fraction, Z or ±hh:mm.
std::optional<qint64> parseTimestamp(QStringView text);
QString formatTimestamp(qint64 ms);
// CEL durations: "90s", "1h30m", "1.5h", "-5m", "250ms"; also "7d" and "2w" like swamp's.
std::optional<qint64> parseDuration(QStringView text);
QString formatDuration(qint64 ms);

// Calendar parts of a timestamp (UTC).
struct Civil
{
    qint64 year;
    int month;     // 1..12
    int day;       // 1..31
    int dayOfYear; // 0-based
    int dayOfWeek; // 0 = Sunday
    int hours, minutes, seconds, milliseconds;
};
Civil civilFromMs(qint64 ms);

} // namespace Swamp::Query::Internal
