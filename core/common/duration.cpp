#include "common/duration.h"

#include <QRegularExpression>

#include <cstring>
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
    char text[IsoUtcLength];
    if (!formatIsoUtc(when, text))
        return when.toUTC().toString(Qt::ISODateWithMs);
    return QString::fromLatin1(text, sizeof text);
}

QString isoUtcMs(qint64 ms)
{
    char text[IsoUtcLength];
    if (formatIsoUtcMs(ms, text))
        return QString::fromLatin1(text, sizeof text);
    return isoUtc(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC));
}

bool formatIsoUtc(const QDateTime &when, char *text)
{
    // Every record and event carries several timestamps: QDateTime::toString() (locale-free
    // but general) was a noticeable share of the orchestrator's time per step. Years 1970-9999
    // are formatted here (civil-from-days, H. Hinnant), anything else by Qt.
    return when.isValid() && formatIsoUtcMs(when.toMSecsSinceEpoch(), text);
}

bool formatIsoUtcMs(qint64 ms, char *text)
{
    constexpr qint64 MsPerDay = 86400000;
    constexpr qint64 Year10000 = 253402300800000; // 10000-01-01T00:00:00Z
    if (ms < 0 || ms >= Year10000)
        return false;
    const auto put = [text](int at, int value, int digits) {
        for (int i = digits - 1; i >= 0; --i, value /= 10)
            text[at + i] = char('0' + value % 10);
    };
    // YYYY-MM-DD: the date of the last call on this thread is kept, for the times an answer
    // writes together (a record's four, a scan's rows) are mostly of one day.
    thread_local qint64 lastDays = -1;
    thread_local char lastDate[10];
    const qint64 days = ms / MsPerDay;
    if (days != lastDays) {
        const qint64 z = days + 719468;
        const qint64 era = z / 146097;
        const qint64 doe = z - era * 146097;
        const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const qint64 mp = (5 * doy + 2) / 153;
        const qint64 day = doy - (153 * mp + 2) / 5 + 1;
        const qint64 month = mp < 10 ? mp + 3 : mp - 9;
        const qint64 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        put(0, int(year), 4);
        text[4] = '-';
        put(5, int(month), 2);
        text[7] = '-';
        put(8, int(day), 2);
        std::memcpy(lastDate, text, sizeof lastDate);
        lastDays = days;
    } else {
        std::memcpy(text, lastDate, sizeof lastDate);
    }
    // THH:MM:SS.mmmZ
    const int rest = int(ms % MsPerDay);
    text[10] = 'T';
    put(11, rest / 3600000, 2);
    text[13] = ':';
    put(14, rest / 60000 % 60, 2);
    text[16] = ':';
    put(17, rest / 1000 % 60, 2);
    text[19] = '.';
    put(20, rest % 1000, 3);
    text[23] = 'Z';
    return true;
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
