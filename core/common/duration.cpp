#include "common/duration.h"

#include <QRegularExpression>

#include <limits>

namespace Swamp {

Result<qint64> parseDurationMs(const QString &text)
{
    static const QRegularExpression pattern(QStringLiteral("^([0-9]{1,9})(ms|s|m|h|d|w)$"));
    const auto invalid = [&] {
        return fail(QStringLiteral("invalid_duration"),
                    Tr::tr("invalid duration \"%1\"").arg(text),
                    Tr::tr("use a number and a unit: 45s, 30m, 24h, 7d, 2w"));
    };
    const QRegularExpressionMatch match = pattern.match(text.trimmed());
    if (!match.hasMatch())
        return invalid();
    const qint64 amount = match.captured(1).toLongLong();
    if (amount <= 0)
        return invalid();
    const QString unit = match.captured(2);
    qint64 factor = 1;
    if (unit == u"s")
        factor = 1000;
    else if (unit == u"m")
        factor = 60 * 1000;
    else if (unit == u"h")
        factor = 3600 * 1000;
    else if (unit == u"d")
        factor = 24LL * 3600 * 1000;
    else if (unit == u"w")
        factor = 7LL * 24 * 3600 * 1000;
    return amount * factor;
}

Result<qint64> parseDurationOrZeroMs(const QString &text)
{
    static const QRegularExpression zero(QStringLiteral("^0{1,9}(ms|s|m|h|d|w)?$"));
    if (zero.match(text.trimmed()).hasMatch())
        return 0;
    return parseDurationMs(text);
}

QString formatDurationMs(qint64 ms)
{
    struct Unit { qint64 factor; const char16_t *suffix; };
    static constexpr Unit units[] = {{7LL * 24 * 3600 * 1000, u"w"}, {24LL * 3600 * 1000, u"d"},
                                     {3600 * 1000, u"h"},             {60 * 1000, u"m"},
                                     {1000, u"s"}};
    if (ms > 0) {
        for (const Unit &unit : units) {
            if (ms % unit.factor == 0)
                return QString::number(ms / unit.factor) + QString::fromUtf16(unit.suffix);
        }
    }
    return QString::number(ms) + u"ms";
}

static QString roughly(qint64 seconds)
{
    if (seconds < 60)
        return Tr::tr("%1s").arg(seconds);
    if (seconds < 3600)
        return Tr::tr("%1m").arg(seconds / 60);
    if (seconds < 48 * 3600)
        return Tr::tr("%1h").arg(seconds / 3600);
    return Tr::tr("%1d").arg(seconds / 86400);
}

QString formatRelative(const QDateTime &when, const QDateTime &now)
{
    if (!when.isValid())
        return QStringLiteral("-");
    const qint64 seconds = when.secsTo(now);
    if (seconds >= 0 && seconds < 1)
        return Tr::tr("just now");
    if (seconds >= 0)
        return Tr::tr("%1 ago").arg(roughly(seconds));
    return Tr::tr("in %1").arg(roughly(-seconds));
}

QString isoUtc(const QDateTime &when)
{
    if (!when.isValid())
        return {};
    return when.toUTC().toString(Qt::ISODateWithMs);
}

QJsonValue isoUtcOrNull(const QDateTime &when)
{
    return when.isValid() ? QJsonValue(isoUtc(when)) : QJsonValue(QJsonValue::Null);
}

QDateTime parseIsoUtc(const QString &text)
{
    if (text.isEmpty())
        return {};
    QDateTime parsed = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!parsed.isValid())
        parsed = QDateTime::fromString(text, Qt::ISODate);
    return parsed.toUTC();
}

} // namespace Swamp
