#include "query/functions_p.h"

#include <QLocale>

#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

const QList<Overload> &overloads()
{
    static const QList<Overload> table = [] {
        using enum Kind;
        QList<Overload> list;
        for (Kind kind : {String, List, Map}) {
            list << Overload{u"size"_s, false, {kind}, Int};
            list << Overload{u"size"_s, true, {kind}, Int};
        }
        for (const QString &name : {u"contains"_s, u"startsWith"_s, u"endsWith"_s, u"matches"_s})
            list << Overload{name, true, {String, String}, Bool};
        list << Overload{u"matches"_s, false, {String, String}, Bool};
        for (Kind kind : {Int, Double, String, Bool, Timestamp, Duration})
            list << Overload{u"string"_s, false, {kind}, String};
        for (Kind kind : {Int, Double, String, Timestamp})
            list << Overload{u"int"_s, false, {kind}, Int};
        for (Kind kind : {Int, Double, String})
            list << Overload{u"double"_s, false, {kind}, Double};
        for (Kind kind : {Bool, String})
            list << Overload{u"bool"_s, false, {kind}, Bool};
        for (Kind kind : {String, Timestamp, Int})
            list << Overload{u"timestamp"_s, false, {kind}, Timestamp};
        for (Kind kind : {String, Duration})
            list << Overload{u"duration"_s, false, {kind}, Duration};
        for (const QString &name : {u"getFullYear"_s, u"getMonth"_s, u"getDate"_s,
                                    u"getDayOfMonth"_s, u"getDayOfWeek"_s, u"getDayOfYear"_s})
            list << Overload{name, true, {Timestamp}, Int};
        for (const QString &name :
             {u"getHours"_s, u"getMinutes"_s, u"getSeconds"_s, u"getMilliseconds"_s}) {
            list << Overload{name, true, {Timestamp}, Int};
            list << Overload{name, true, {Duration}, Int};
        }
        list << Overload{u"lowerAscii"_s, true, {String}, String};
        list << Overload{u"upperAscii"_s, true, {String}, String};
        return list;
    }();
    return table;
}

QStringList functionNames()
{
    QStringList names;
    for (const Overload &overload : overloads())
        names << overload.name;
    names << u"has"_s << u"exists"_s << u"all"_s << u"exists_one"_s << u"map"_s << u"filter"_s;
    names.removeDuplicates();
    return names;
}

QString callDescription(const QString &name, bool isMethod, const QList<Kind> &kinds)
{
    QStringList names;
    for (qsizetype i = isMethod ? 1 : 0; i < kinds.size(); ++i)
        names << kindName(kinds.at(i));
    const QString call = u"%1(%2)"_s.arg(name, names.join(u", "));
    if (isMethod)
        return Tr::tr("%1 on %2").arg(call, kindName(kinds.value(0, Kind::Dyn)));
    return call;
}

Result<QRegularExpression> compilePattern(const QString &pattern)
{
    QRegularExpression regex(pattern);
    if (!regex.isValid())
        return fail(u"query_syntax"_s,
                    Tr::tr("invalid regular expression \"%1\": %2 at offset %3")
                        .arg(pattern, regex.errorString())
                        .arg(regex.patternErrorOffset()),
                    Tr::tr("matches() takes an RE2-style pattern, e.g. \"^ci-[0-9]+$\""));
    regex.optimize();
    return regex;
}

static std::unexpected<Error> conversionError(const QString &what)
{
    return fail(u"query_runtime"_s, what);
}

static QString doubleToString(double value)
{
    if (std::isnan(value))
        return u"NaN"_s;
    if (std::isinf(value))
        return value > 0 ? u"+Inf"_s : u"-Inf"_s;
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

static qsizetype codePoints(const QString &text)
{
    qsizetype count = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (!(text.at(i).isLowSurrogate() && i > 0 && text.at(i - 1).isHighSurrogate()))
            ++count;
    }
    return count;
}

static Result<Value> toInt(const Value &value)
{
    switch (value.kind()) {
    case Kind::Int:
        return value;
    case Kind::Double: {
        const double number = value.number();
        // Both bounds exclusive: 2^63 itself is out of range and so is anything below -2^63.
        if (!std::isfinite(number) || number >= 9223372036854775808.0 ||
            number < -9223372036854775808.0)
            return conversionError(Tr::tr("int(%1) is out of range").arg(doubleToString(number)));
        return Value::fromInt(qint64(std::trunc(number)));
    }
    case Kind::String: {
        bool ok = false;
        const qint64 number = value.string().toLongLong(&ok, 10);
        if (!ok || value.string().trimmed() != value.string())
            return conversionError(Tr::tr("cannot convert \"%1\" to int").arg(value.string()));
        return Value::fromInt(number);
    }
    case Kind::Timestamp: {
        const qint64 ms = value.timestampMs();
        return Value::fromInt(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    }
    default:
        break;
    }
    return conversionError({});
}

static Result<Value> toDouble(const Value &value)
{
    switch (value.kind()) {
    case Kind::Int:
        return Value::fromDouble(double(value.integer()));
    case Kind::Double:
        return value;
    case Kind::String: {
        bool ok = false;
        const double number = value.string().toDouble(&ok);
        if (!ok)
            return conversionError(Tr::tr("cannot convert \"%1\" to double").arg(value.string()));
        return Value::fromDouble(number);
    }
    default:
        break;
    }
    return conversionError({});
}

static QString asciiCase(const QString &text, bool upper)
{
    QString result = text;
    for (QChar &c : result) {
        if (upper && c >= u'a' && c <= u'z')
            c = QChar(c.unicode() - 32);
        else if (!upper && c >= u'A' && c <= u'Z')
            c = QChar(c.unicode() + 32);
    }
    return result;
}

static std::unexpected<Error> noImplementation(const QString &name)
{
    return conversionError(Tr::tr("internal error: no implementation of %1()").arg(name));
}

static Value sizeOf(const Value &value)
{
    switch (value.kind()) {
    case Kind::String:
        return Value::fromInt(codePoints(value.string()));
    case Kind::List:
        return Value::fromInt(value.list().size());
    default:
        return Value::fromInt(mapSize(value));
    }
}

// `regex` is the literal pattern the checker compiled; any other is compiled per call, and an
// invalid one is an error of the run, not of the query's syntax.
static Result<Value> matches(const Value &text, const Value &pattern,
                             const QRegularExpression *regex)
{
    if (regex)
        return Value::fromBool(regex->match(text.string()).hasMatch());
    Result<QRegularExpression> compiled = compilePattern(pattern.string());
    if (!compiled) {
        compiled.error().code = u"query_runtime"_s;
        return std::unexpected(compiled.error());
    }
    return Value::fromBool(compiled->match(text.string()).hasMatch());
}

static Result<Value> toStringValue(const Value &value)
{
    switch (value.kind()) {
    case Kind::Int:
        return Value::fromString(QString::number(value.integer()));
    case Kind::Double:
        return Value::fromString(doubleToString(value.number()));
    case Kind::String:
        return value;
    case Kind::Bool:
        return Value::fromString(value.boolean() ? u"true"_s : u"false"_s);
    case Kind::Timestamp:
        return Value::fromString(formatTimestamp(value.timestampMs()));
    case Kind::Duration:
        return Value::fromString(formatDuration(value.durationMs()));
    default:
        break;
    }
    return noImplementation(u"string"_s);
}

static Result<Value> toBool(const Value &value)
{
    if (value.kind() == Kind::Bool)
        return value;
    static const QStringList truths{u"true"_s, u"True"_s, u"TRUE"_s, u"t"_s, u"1"_s};
    static const QStringList lies{u"false"_s, u"False"_s, u"FALSE"_s, u"f"_s, u"0"_s};
    if (truths.contains(value.string()))
        return Value::fromBool(true);
    if (lies.contains(value.string()))
        return Value::fromBool(false);
    return conversionError(Tr::tr("cannot convert \"%1\" to bool").arg(value.string()));
}

static Result<Value> toTimestamp(const Value &value)
{
    if (value.kind() == Kind::Timestamp)
        return value;
    if (value.kind() == Kind::Int) {
        const qint64 seconds = value.integer();
        if (seconds < minTimestampMs / 1000 || seconds > maxTimestampMs / 1000)
            return conversionError(Tr::tr("timestamp(%1) is out of range").arg(seconds));
        return Value::fromTimestamp(seconds * 1000);
    }
    if (const auto ms = parseTimestamp(value.string()))
        return Value::fromTimestamp(*ms);
    return conversionError(Tr::tr("\"%1\" is not a valid timestamp").arg(value.string()));
}

static Result<Value> toDuration(const Value &value)
{
    if (value.kind() == Kind::Duration)
        return value;
    if (const auto ms = parseDuration(value.string()))
        return Value::fromDuration(*ms);
    return conversionError(Tr::tr("\"%1\" is not a valid duration").arg(value.string()));
}

// A duration's getters count the whole duration in their unit, not a clock field.
static Result<Value> durationPart(const QString &name, qint64 ms)
{
    if (name == "getHours"_L1)
        return Value::fromInt(ms / 3600000);
    if (name == "getMinutes"_L1)
        return Value::fromInt(ms / 60000);
    if (name == "getSeconds"_L1)
        return Value::fromInt(ms / 1000);
    if (name == "getMilliseconds"_L1)
        return Value::fromInt(ms);
    return noImplementation(name);
}

static Result<Value> timestampPart(const QString &name, qint64 ms)
{
    const Civil civil = civilFromMs(ms);
    if (name == "getFullYear"_L1)
        return Value::fromInt(civil.year);
    if (name == "getMonth"_L1)
        return Value::fromInt(civil.month - 1);
    if (name == "getDate"_L1)
        return Value::fromInt(civil.day);
    if (name == "getDayOfMonth"_L1)
        return Value::fromInt(civil.day - 1);
    if (name == "getDayOfWeek"_L1)
        return Value::fromInt(civil.dayOfWeek);
    if (name == "getDayOfYear"_L1)
        return Value::fromInt(civil.dayOfYear);
    if (name == "getHours"_L1)
        return Value::fromInt(civil.hours);
    if (name == "getMinutes"_L1)
        return Value::fromInt(civil.minutes);
    if (name == "getSeconds"_L1)
        return Value::fromInt(civil.seconds);
    if (name == "getMilliseconds"_L1)
        return Value::fromInt(civil.milliseconds);
    return noImplementation(name);
}

Result<Value> callFunction(const QString &name, bool isMethod, std::span<const Value> arguments,
                           const QRegularExpression *regex)
{
    const Value &first = arguments[0];
    if (name == "size"_L1)
        return sizeOf(first);
    if (name == "contains"_L1)
        return Value::fromBool(first.string().contains(arguments[1].string()));
    if (name == "startsWith"_L1)
        return Value::fromBool(first.string().startsWith(arguments[1].string()));
    if (name == "endsWith"_L1)
        return Value::fromBool(first.string().endsWith(arguments[1].string()));
    if (name == "matches"_L1)
        return matches(first, arguments[1], regex);
    if (name == "lowerAscii"_L1 || name == "upperAscii"_L1)
        return Value::fromString(asciiCase(first.string(), name == "upperAscii"_L1));
    if (name == "string"_L1)
        return toStringValue(first);
    if (name == "int"_L1)
        return toInt(first);
    if (name == "double"_L1)
        return toDouble(first);
    if (name == "bool"_L1)
        return toBool(first);
    if (name == "timestamp"_L1)
        return toTimestamp(first);
    if (name == "duration"_L1)
        return toDuration(first);
    if (first.kind() == Kind::Duration)
        return durationPart(name, first.durationMs());
    if (first.kind() == Kind::Timestamp)
        return timestampPart(name, first.timestampMs());
    Q_UNUSED(isMethod);
    return noImplementation(name);
}

} // namespace Swamp::Query::Internal
