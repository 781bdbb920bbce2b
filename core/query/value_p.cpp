#include "query/value_p.h"

#include <QJsonArray>

#include <cmath>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

QString kindName(Kind kind)
{
    switch (kind) {
    case Kind::Null:
        return u"null"_s;
    case Kind::Bool:
        return u"bool"_s;
    case Kind::Int:
        return u"int"_s;
    case Kind::Double:
        return u"double"_s;
    case Kind::String:
        return u"string"_s;
    case Kind::Timestamp:
        return u"timestamp"_s;
    case Kind::Duration:
        return u"duration"_s;
    case Kind::List:
        return u"list"_s;
    case Kind::Map:
        return u"map"_s;
    case Kind::Dyn:
        return u"dyn"_s;
    }
    return {};
}

Kind kindOf(FieldType type)
{
    switch (type) {
    case FieldType::Any:
        return Kind::Dyn;
    case FieldType::String:
        return Kind::String;
    case FieldType::Int:
        return Kind::Int;
    case FieldType::Double:
        return Kind::Double;
    case FieldType::Bool:
        return Kind::Bool;
    case FieldType::Timestamp:
        return Kind::Timestamp;
    case FieldType::Duration:
        return Kind::Duration;
    case FieldType::Map:
        return Kind::Map;
    case FieldType::List:
        return Kind::List;
    }
    return Kind::Dyn;
}

Kind Value::kind() const
{
    static constexpr Kind kinds[] = {Kind::Null,   Kind::Bool,      Kind::Int,      Kind::Double,
                                     Kind::String, Kind::Timestamp, Kind::Duration, Kind::List,
                                     Kind::Map,    Kind::Map,       Kind::Map};
    return kinds[data.index()];
}

qsizetype mapSize(const Value &map)
{
    if (const auto *object = std::get_if<QJsonObject>(&map.data))
        return object->size();
    if (const auto *attributes = std::get_if<RecordAttributes>(&map.data))
        return attributes->record->attributeNames().size();
    return std::get<Value::Map>(map.data)->size();
}

QStringList mapKeys(const Value &map)
{
    if (const auto *object = std::get_if<QJsonObject>(&map.data))
        return object->keys();
    if (const auto *attributes = std::get_if<RecordAttributes>(&map.data)) {
        QStringList names = attributes->record->attributeNames();
        names.sort(); // as a JSON object's keys
        return names;
    }
    return std::get<Value::Map>(map.data)->keys();
}

bool mapContains(const Value &map, const QString &key)
{
    if (const auto *object = std::get_if<QJsonObject>(&map.data))
        return object->contains(key);
    if (const auto *attributes = std::get_if<RecordAttributes>(&map.data))
        return attributes->record->attribute(key).isValid();
    return std::get<Value::Map>(map.data)->contains(key);
}

std::optional<Result<Value>> mapValue(const Value &map, const QString &key, FieldType type)
{
    if (const auto *attributes = std::get_if<RecordAttributes>(&map.data)) {
        const QVariant value = attributes->record->attribute(key);
        if (!value.isValid())
            return std::nullopt;
        return fromVariant(value, type);
    }
    if (const auto *object = std::get_if<QJsonObject>(&map.data)) {
        const auto it = object->constFind(key);
        if (it == object->constEnd())
            return std::nullopt;
        return fromJson(*it, type);
    }
    const ValueMap &native = *std::get<Value::Map>(map.data);
    const auto it = native.constFind(key);
    if (it == native.constEnd())
        return std::nullopt;
    return Result<Value>(it.value());
}

// A string field: a timestamp or a duration when the schema says so.
static Result<Value> fromText(QString text, FieldType type)
{
    if (type == FieldType::Timestamp) {
        if (const auto ms = parseTimestamp(text))
            return Value::fromTimestamp(*ms);
        return fail(u"query_runtime"_s, Tr::tr("\"%1\" is not a valid timestamp").arg(text));
    }
    if (type == FieldType::Duration) {
        if (const auto ms = parseDuration(text))
            return Value::fromDuration(*ms);
        return fail(u"query_runtime"_s, Tr::tr("\"%1\" is not a valid duration").arg(text));
    }
    return Value::fromString(std::move(text));
}

// Works on QJsonValue and on QJsonValueConstRef, which reads a record in place without first
// copying each value out (the hot path: one lookup per field per record).
template <typename Json> static Result<Value> convert(const Json &json, FieldType type)
{
    switch (json.type()) {
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        return Value::null();
    case QJsonValue::Bool:
        return Value::fromBool(json.toBool());
    case QJsonValue::Double: {
        const double number = json.toDouble();
        if (type == FieldType::Double)
            return Value::fromDouble(number);
        // JSON has one number type: integral values read as int unless the schema says double.
        constexpr qint64 sentinel = std::numeric_limits<qint64>::min();
        const qint64 integer = json.toInteger(sentinel);
        if (integer != sentinel || number == -9223372036854775808.0)
            return Value::fromInt(integer);
        return Value::fromDouble(number);
    }
    case QJsonValue::String:
        return fromText(json.toString(), type);
    case QJsonValue::Array: {
        const QJsonArray array = json.toArray();
        ValueList list;
        list.reserve(array.size());
        for (const QJsonValueConstRef element : array) {
            Result<Value> value = convert(element, FieldType::Any);
            if (!value)
                return value;
            list << std::move(*value);
        }
        return Value::fromList(std::move(list));
    }
    case QJsonValue::Object:
        return Value::fromJsonObject(json.toObject());
    }
    return Value::null();
}

Result<Value> fromJson(const QJsonValue &json, FieldType type)
{
    return convert(json, type);
}

Result<Value> fromJson(QJsonValueConstRef json, FieldType type)
{
    return convert(json, type);
}

// What stringMapValue() holds: the map as the query reads it.
struct PreparedMap
{
    Value::Map map;
};

} // namespace Swamp::Query::Internal

Q_DECLARE_METATYPE(Swamp::Query::Internal::PreparedMap)

namespace Swamp::Query {

QVariant stringMapValue(const QMap<QString, QString> &map)
{
    Internal::ValueMap values;
    for (auto it = map.cbegin(); it != map.cend(); ++it)
        values.insert(it.key(), Internal::Value::fromString(it.value()));
    return QVariant::fromValue(Internal::PreparedMap{std::make_shared<const Internal::ValueMap>(std::move(values))});
}

} // namespace Swamp::Query

namespace Swamp::Query::Internal {

Result<Value> fromVariant(const QVariant &variant, FieldType type)
{
    if (variant.metaType() == QMetaType::fromType<PreparedMap>())
        return Value{static_cast<const PreparedMap *>(variant.constData())->map};
    switch (variant.metaType().id()) {
    case QMetaType::Nullptr:
        return Value::null();
    case QMetaType::Bool:
        return Value::fromBool(variant.toBool());
    case QMetaType::Int:
    case QMetaType::LongLong:
        return type == FieldType::Double ? Value::fromDouble(variant.toDouble()) : Value::fromInt(variant.toLongLong());
    case QMetaType::Double:
        return Value::fromDouble(variant.toDouble());
    case QMetaType::QString:
        return fromText(variant.toString(), type);
    case QMetaType::QDateTime: {
        const QDateTime at = variant.toDateTime();
        return at.isValid() ? Value::fromTimestamp(at.toMSecsSinceEpoch()) : Value::null();
    }
    case QMetaType::QStringList: {
        ValueList list;
        for (const QString &text : variant.toStringList())
            list << Value::fromString(text);
        return Value::fromList(std::move(list));
    }
    case QMetaType::QJsonObject:
        return Value::fromJsonObject(variant.toJsonObject());
    case QMetaType::QJsonArray:
        return convert(QJsonValue(variant.toJsonArray()), type);
    case QMetaType::QJsonValue:
        return convert(variant.toJsonValue(), type);
    default:
        break;
    }
    return fail(u"query_runtime"_s, Tr::tr("a value of type %1 that a record cannot hold").arg(QString::fromLatin1(variant.typeName())));
}

QJsonValue toJson(const Value &value)
{
    switch (value.data.index()) {
    case 0:
        return QJsonValue(QJsonValue::Null);
    case 1:
        return value.boolean();
    case 2:
        return value.integer();
    case 3:
        return value.number();
    case 4:
        return value.string();
    case 5:
        return formatTimestamp(value.timestampMs());
    case 6:
        return formatDuration(value.durationMs());
    case 7: {
        QJsonArray array;
        for (const Value &element : value.list())
            array.append(toJson(element));
        return array;
    }
    case 8:
        return std::get<QJsonObject>(value.data);
    case 9: {
        QJsonObject object;
        const ValueMap &map = *std::get<Value::Map>(value.data);
        for (auto it = map.constBegin(); it != map.constEnd(); ++it)
            object.insert(it.key(), toJson(it.value()));
        return object;
    }
    case 10: {
        QJsonObject object;
        for (const QString &key : mapKeys(value)) {
            const auto element = mapValue(value, key, FieldType::Any);
            object.insert(key, element && *element ? toJson(**element) : QJsonValue(QJsonValue::Null));
        }
        return object;
    }
    }
    return {};
}

bool equals(const Value &left, const Value &right)
{
    const Kind leftKind = left.kind();
    const Kind rightKind = right.kind();
    if (leftKind == Kind::Int && rightKind == Kind::Double)
        return double(left.integer()) == right.number();
    if (leftKind == Kind::Double && rightKind == Kind::Int)
        return left.number() == double(right.integer());
    if (leftKind != rightKind)
        return false;
    switch (leftKind) {
    case Kind::Null:
        return true;
    case Kind::Bool:
        return left.boolean() == right.boolean();
    case Kind::Int:
        return left.integer() == right.integer();
    case Kind::Double:
        return left.number() == right.number();
    case Kind::String:
        return left.string() == right.string();
    case Kind::Timestamp:
        return left.timestampMs() == right.timestampMs();
    case Kind::Duration:
        return left.durationMs() == right.durationMs();
    case Kind::List: {
        const ValueList &a = left.list();
        const ValueList &b = right.list();
        if (a.size() != b.size())
            return false;
        for (qsizetype i = 0; i < a.size(); ++i) {
            if (!equals(a.at(i), b.at(i)))
                return false;
        }
        return true;
    }
    case Kind::Map: {
        if (mapSize(left) != mapSize(right))
            return false;
        for (const QString &key : mapKeys(left)) {
            const auto a = mapValue(left, key, FieldType::Any);
            const auto b = mapValue(right, key, FieldType::Any);
            if (!b || !*a || !*b || !equals(**a, **b))
                return false;
        }
        return true;
    }
    case Kind::Dyn:
        break;
    }
    return false;
}

std::optional<int> compare(const Value &left, const Value &right)
{
    const auto order = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
    const Kind l = left.kind();
    const Kind r = right.kind();
    if (l == Kind::Int && r == Kind::Int)
        return order(left.integer(), right.integer());
    if ((l == Kind::Int || l == Kind::Double) && (r == Kind::Int || r == Kind::Double)) {
        // Compare int with double exactly, without rounding the int.
        if (l == Kind::Double && r == Kind::Double) {
            if (std::isnan(left.number()) || std::isnan(right.number()))
                return std::nullopt;
            return order(left.number(), right.number());
        }
        const bool flipped = l == Kind::Double;
        const qint64 integer = flipped ? right.integer() : left.integer();
        const double number = flipped ? left.number() : right.number();
        int result;
        if (std::isnan(number))
            return std::nullopt;
        if (number >= 9223372036854775808.0)
            result = -1;
        else if (number < -9223372036854775808.0)
            result = 1;
        else {
            const double whole = std::floor(number);
            const qint64 truncated = qint64(whole);
            result =
                integer != truncated ? order(integer, truncated) : (number > whole ? -1 : 0);
        }
        return flipped ? -result : result;
    }
    if (l != r)
        return std::nullopt;
    switch (l) {
    case Kind::String:
        return order(left.string().compare(right.string()), 0);
    case Kind::Bool:
        return order(int(left.boolean()), int(right.boolean()));
    case Kind::Timestamp:
        return order(left.timestampMs(), right.timestampMs());
    case Kind::Duration:
        return order(left.durationMs(), right.durationMs());
    default:
        return std::nullopt;
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
static qint64 daysFromCivil(qint64 year, int month, int day)
{
    year -= month <= 2;
    const qint64 era = (year >= 0 ? year : year - 399) / 400;
    const qint64 yearOfEra = year - era * 400;
    const qint64 dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const qint64 dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    return era * 146097 + dayOfEra - 719468;
}

static bool isLeap(qint64 year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

Civil civilFromMs(qint64 ms)
{
    constexpr qint64 msPerDay = 86400000;
    qint64 days = ms / msPerDay;
    qint64 rest = ms % msPerDay;
    if (rest < 0) {
        rest += msPerDay;
        --days;
    }
    const qint64 z = days + 719468;
    const qint64 era = (z >= 0 ? z : z - 146096) / 146097;
    const qint64 dayOfEra = z - era * 146097;
    const qint64 yearOfEra =
        (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
    const qint64 dayOfYearMar = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    const qint64 mp = (5 * dayOfYearMar + 2) / 153;
    Civil civil{};
    civil.day = int(dayOfYearMar - (153 * mp + 2) / 5 + 1);
    civil.month = int(mp < 10 ? mp + 3 : mp - 9);
    civil.year = yearOfEra + era * 400 + (civil.month <= 2);
    civil.dayOfYear = int(days - daysFromCivil(civil.year, 1, 1));
    civil.dayOfWeek = int(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
    civil.hours = int(rest / 3600000);
    civil.minutes = int(rest / 60000 % 60);
    civil.seconds = int(rest / 1000 % 60);
    civil.milliseconds = int(rest % 1000);
    return civil;
}

static int digitsAt(QStringView text, qsizetype at, int count)
{
    int value = 0;
    for (int i = 0; i < count; ++i) {
        const QChar c = text.at(at + i);
        if (c < u'0' || c > u'9')
            return -1;
        value = value * 10 + (c.unicode() - u'0');
    }
    return value;
}

std::optional<qint64> parseTimestamp(QStringView text)
{
    // YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)
    if (text.size() < 20 || text.at(4) != u'-' || text.at(7) != u'-' ||
        (text.at(10) != u'T' && text.at(10) != u't') || text.at(13) != u':' || text.at(16) != u':')
        return std::nullopt;
    const int year = digitsAt(text, 0, 4);
    const int month = digitsAt(text, 5, 2);
    const int day = digitsAt(text, 8, 2);
    const int hours = digitsAt(text, 11, 2);
    const int minutes = digitsAt(text, 14, 2);
    const int seconds = digitsAt(text, 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || hours < 0 || hours > 23 || minutes < 0 ||
        minutes > 59 || seconds < 0 || seconds > 59)
        return std::nullopt;
    static constexpr int monthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day > monthDays[month - 1] + (month == 2 && isLeap(year) ? 1 : 0))
        return std::nullopt;
    qsizetype at = 19;
    int millis = 0;
    if (at < text.size() && text.at(at) == u'.') {
        ++at;
        int digits = 0;
        while (at < text.size() && text.at(at) >= u'0' && text.at(at) <= u'9') {
            if (digits < 3)
                millis = millis * 10 + (text.at(at).unicode() - u'0');
            ++digits;
            ++at;
        }
        if (digits == 0 || digits > 9)
            return std::nullopt;
        for (int i = digits; i < 3; ++i)
            millis *= 10;
    }
    if (at >= text.size())
        return std::nullopt;
    qint64 offsetMinutes = 0;
    const QChar zone = text.at(at);
    if (zone == u'Z' || zone == u'z') {
        ++at;
    } else if (zone == u'+' || zone == u'-') {
        if (text.size() - at != 6 || text.at(at + 3) != u':')
            return std::nullopt;
        const int offsetHours = digitsAt(text, at + 1, 2);
        const int offsetMins = digitsAt(text, at + 4, 2);
        if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59)
            return std::nullopt;
        offsetMinutes = (offsetHours * 60 + offsetMins) * (zone == u'-' ? -1 : 1);
        at += 6;
    } else {
        return std::nullopt;
    }
    if (at != text.size())
        return std::nullopt;
    const qint64 ms = daysFromCivil(year, month, day) * 86400000 +
                      ((hours * 60 + minutes - offsetMinutes) * 60 + seconds) * 1000LL + millis;
    if (ms < minTimestampMs || ms > maxTimestampMs)
        return std::nullopt;
    return ms;
}

QString formatTimestamp(qint64 ms)
{
    const Civil c = civilFromMs(ms);
    return u"%1-%2-%3T%4:%5:%6.%7Z"_s.arg(c.year, 4, 10, QChar(u'0'))
        .arg(c.month, 2, 10, QChar(u'0'))
        .arg(c.day, 2, 10, QChar(u'0'))
        .arg(c.hours, 2, 10, QChar(u'0'))
        .arg(c.minutes, 2, 10, QChar(u'0'))
        .arg(c.seconds, 2, 10, QChar(u'0'))
        .arg(c.milliseconds, 3, 10, QChar(u'0'));
}

std::optional<qint64> parseDuration(QStringView text)
{
    qsizetype at = 0;
    bool negative = false;
    if (at < text.size() && (text.at(at) == u'-' || text.at(at) == u'+')) {
        negative = text.at(at) == u'-';
        ++at;
    }
    if (text.mid(at) == u"0")
        return 0;
    if (at == text.size())
        return std::nullopt;
    __int128 totalNs = 0;
    constexpr __int128 limitNs = __int128(maxDurationMs) * 1000000;
    while (at < text.size()) {
        __int128 whole = 0;
        __int128 fraction = 0;
        __int128 scale = 1;
        qsizetype digits = 0;
        while (at < text.size() && text.at(at).isDigit() && text.at(at).unicode() < 128) {
            whole = whole * 10 + (text.at(at).unicode() - u'0');
            if (whole > limitNs)
                return std::nullopt;
            ++at;
            ++digits;
        }
        if (at < text.size() && text.at(at) == u'.') {
            ++at;
            while (at < text.size() && text.at(at).unicode() >= u'0' &&
                   text.at(at).unicode() <= u'9') {
                if (scale < 1000000000000000000LL) {
                    fraction = fraction * 10 + (text.at(at).unicode() - u'0');
                    scale *= 10;
                }
                ++at;
                ++digits;
            }
        }
        if (digits == 0)
            return std::nullopt;
        const qsizetype unitStart = at;
        while (at < text.size() && text.at(at).isLetter())
            ++at;
        const QStringView unit = text.mid(unitStart, at - unitStart);
        __int128 unitNs = 0;
        if (unit == u"ns")
            unitNs = 1;
        else if (unit == u"us" || unit == u"µs" || unit == u"μs")
            unitNs = 1000;
        else if (unit == u"ms")
            unitNs = 1000000;
        else if (unit == u"s")
            unitNs = 1000000000LL;
        else if (unit == u"m")
            unitNs = 60 * 1000000000LL;
        else if (unit == u"h")
            unitNs = 3600 * 1000000000LL;
        else if (unit == u"d")
            unitNs = 86400 * 1000000000LL;
        else if (unit == u"w")
            unitNs = 7 * 86400 * 1000000000LL;
        else
            return std::nullopt;
        totalNs += whole * unitNs + fraction * unitNs / scale;
        if (totalNs > limitNs)
            return std::nullopt;
    }
    const qint64 ms = qint64(totalNs / 1000000);
    return negative ? -ms : ms;
}

QString formatDuration(qint64 ms)
{
    // CEL's spelling: seconds with the fraction only when there is one ("90s", "1.5s").
    const bool negative = ms < 0;
    const quint64 magnitude = negative ? 0 - quint64(ms) : quint64(ms);
    QString text = negative ? u"-"_s : QString();
    text += QString::number(magnitude / 1000);
    if (const quint64 millis = magnitude % 1000) {
        QString fraction = u"%1"_s.arg(millis, 3, 10, QChar(u'0'));
        while (fraction.endsWith(u'0'))
            fraction.chop(1);
        text += u'.' + fraction;
    }
    return text + u's';
}

} // namespace Swamp::Query::Internal
