// Durations as operators type them (SPEC §3): parsing with the exact error message, the
// shortest spelling, and relative times for tables.
#include "testsupport.h"

#include "common/duration.h"

#include <QRegularExpression>
#include <QRandomGenerator>
#include <QTest>
#include <QTimeZone>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Durations : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void parseValid_data();
    void parseValid();
    void parseInvalid_data();
    void parseInvalid();
    void parseOrZero_data();
    void parseOrZero();
    void format_data();
    void format();
    void formatParsesBack_data();
    void formatParsesBack();
    void relative_data();
    void relative();
    void isoUtcRoundTrip();
    void isoUtcInvalid();
    void isoUtcMatchesQt();
};

void tst_Durations::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Durations::parseValid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("ms");
    QTest::addRow("45s") << u"45s"_s << qint64(45000);
    QTest::addRow("30m") << u"30m"_s << qint64(30 * 60000);
    QTest::addRow("24h") << u"24h"_s << qint64(24LL * 3600000);
    QTest::addRow("7d") << u"7d"_s << qint64(7LL * 86400000);
    QTest::addRow("2w") << u"2w"_s << qint64(14LL * 86400000);
    QTest::addRow("1s") << u"1s"_s << qint64(1000);
    QTest::addRow("500ms") << u"500ms"_s << qint64(500);
    QTest::addRow("200ms") << u"200ms"_s << qint64(200);
    QTest::addRow("365d") << u"365d"_s << qint64(365LL * 86400000);
    QTest::addRow("leading-zero") << u"05s"_s << qint64(5000);
    QTest::addRow("surrounding-spaces-trimmed") << u"  45s "_s << qint64(45000);
}

void tst_Durations::parseValid()
{
    QFETCH(QString, text);
    QFETCH(qint64, ms);
    auto parsed = parseDurationMs(text);
    QVERIFY_RESULT(parsed);
    QCOMPARE(*parsed, ms);
}

void tst_Durations::parseInvalid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addRow("zero-seconds") << u"0s"_s;
    QTest::addRow("zero-milliseconds") << u"0ms"_s;
    QTest::addRow("negative") << u"-1s"_s;
    QTest::addRow("fraction") << u"1.5h"_s;
    QTest::addRow("empty") << QString();
    QTest::addRow("only-spaces") << u"   "_s;
    QTest::addRow("no-unit") << u"45"_s;
    QTest::addRow("no-number") << u"s"_s;
    QTest::addRow("space-between-number-and-unit") << u"45 s"_s;
    QTest::addRow("unknown-unit") << u"3y"_s;
    QTest::addRow("word-unit") << u"45sec"_s;
    QTest::addRow("uppercase-unit") << u"45S"_s;
    QTest::addRow("compound") << u"1h30m"_s;
    QTest::addRow("plus-sign") << u"+5m"_s;
    QTest::addRow("huge-number") << u"99999999999s"_s;
}

void tst_Durations::parseInvalid()
{
    QFETCH(QString, text);
    auto parsed = parseDurationMs(text);
    QVERIFY_ERROR_CODE(parsed, u"invalid_duration"_s);
    QCOMPARE(parsed.error().message, u"invalid duration \"%1\""_s.arg(text));
    QCOMPARE(parsed.error().fix, u"use a number and a unit: 45s, 30m, 24h, 7d, 2w"_s);
    QCOMPARE(parsed.error().text(),
             u"invalid duration \"%1\" — use a number and a unit: 45s, 30m, 24h, 7d, 2w"_s.arg(text));
}

void tst_Durations::parseOrZero_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("ms"); // -1: invalid_duration
    QTest::addRow("zero-seconds") << u"0s"_s << qint64(0);
    QTest::addRow("zero-milliseconds") << u"0ms"_s << qint64(0);
    QTest::addRow("zero-without-unit") << u"0"_s << qint64(0);
    QTest::addRow("zero-days-padded") << u" 00d "_s << qint64(0);
    QTest::addRow("positive") << u"24h"_s << qint64(24LL * 3600000);
    QTest::addRow("negative") << u"-1s"_s << qint64(-1);
    QTest::addRow("no-unit") << u"45"_s << qint64(-1);
    QTest::addRow("empty") << QString() << qint64(-1);
}

void tst_Durations::parseOrZero()
{
    QFETCH(QString, text);
    QFETCH(qint64, ms);
    auto parsed = parseDurationOrZeroMs(text);
    if (ms < 0) {
        QVERIFY_ERROR_CODE(parsed, u"invalid_duration"_s);
        QCOMPARE(parsed.error().message, u"invalid duration \"%1\""_s.arg(text));
        return;
    }
    QVERIFY_RESULT(parsed);
    QCOMPARE(*parsed, ms);
}

void tst_Durations::format_data()
{
    QTest::addColumn<qint64>("ms");
    QTest::addColumn<QString>("text");
    QTest::addRow("seconds") << qint64(45000) << u"45s"_s;
    QTest::addRow("ninety-seconds") << qint64(90000) << u"90s"_s;
    QTest::addRow("minutes") << qint64(30 * 60000) << u"30m"_s;
    QTest::addRow("one-hour") << qint64(3600000) << u"1h"_s;
    QTest::addRow("twenty-five-hours") << qint64(25LL * 3600000) << u"25h"_s;
    QTest::addRow("seven-days-is-one-week") << qint64(7LL * 86400000) << u"1w"_s;
    QTest::addRow("two-weeks") << qint64(14LL * 86400000) << u"2w"_s;
    QTest::addRow("three-days") << qint64(3LL * 86400000) << u"3d"_s;
    QTest::addRow("milliseconds") << qint64(1500) << u"1500ms"_s;
    QTest::addRow("two-hundred-milliseconds") << qint64(200) << u"200ms"_s;
    QTest::addRow("zero") << qint64(0) << u"0ms"_s;
}

void tst_Durations::format()
{
    QFETCH(qint64, ms);
    QFETCH(QString, text);
    QCOMPARE(formatDurationMs(ms), text);
}

void tst_Durations::formatParsesBack_data()
{
    QTest::addColumn<qint64>("ms");
    for (qint64 ms : {qint64(1), qint64(999), qint64(1000), qint64(61000), qint64(3600000),
                      qint64(86400000), qint64(90061000), qint64(365LL * 86400000)})
        QTest::addRow("%lld-ms", ms) << ms;
}

void tst_Durations::formatParsesBack()
{
    QFETCH(qint64, ms);
    auto parsed = parseDurationMs(formatDurationMs(ms));
    QVERIFY_RESULT(parsed);
    QCOMPARE(*parsed, ms);
}

void tst_Durations::relative_data()
{
    QTest::addColumn<qint64>("offsetMs"); // when = now + offset
    QTest::addColumn<QString>("text");
    QTest::addRow("same-instant") << qint64(0) << u"just now"_s;
    QTest::addRow("half-a-second-ago") << qint64(-500) << u"just now"_s;
    QTest::addRow("twelve-seconds-ago") << qint64(-12000) << u"12s ago"_s;
    QTest::addRow("fifty-nine-seconds-ago") << qint64(-59000) << u"59s ago"_s;
    QTest::addRow("three-minutes-ago") << qint64(-3 * 60000) << u"3m ago"_s;
    QTest::addRow("two-hours-ago") << qint64(-2 * 3600000) << u"2h ago"_s;
    QTest::addRow("three-days-ago") << qint64(-3LL * 86400000) << u"3d ago"_s;
    QTest::addRow("in-thirty-seconds") << qint64(30000) << u"in 30s"_s;
    QTest::addRow("in-twenty-three-hours") << qint64(23LL * 3600000) << u"in 23h"_s;
    QTest::addRow("in-seven-days") << qint64(7LL * 86400000) << u"in 7d"_s;
}

void tst_Durations::relative()
{
    QFETCH(qint64, offsetMs);
    QFETCH(QString, text);
    const QDateTime now = QDateTime::fromString(u"2026-11-24T10:00:00.000Z"_s, Qt::ISODateWithMs);
    QCOMPARE(formatRelative(now.addMSecs(offsetMs), now), text);
}

void tst_Durations::isoUtcRoundTrip()
{
    const QDateTime when = QDateTime::fromMSecsSinceEpoch(1795514400123, Qt::UTC);
    QCOMPARE(isoUtc(when), u"2026-11-24T10:00:00.123Z"_s);
    QCOMPARE(parseIsoUtc(isoUtc(when)), when);
    QCOMPARE(parseIsoUtc(u"2026-11-24T10:00:00Z"_s), when.addMSecs(-123));
}

void tst_Durations::isoUtcInvalid()
{
    QCOMPARE(isoUtc(QDateTime()), QString());
    QCOMPARE(formatRelative(QDateTime(), QDateTime::currentDateTimeUtc()), u"-"_s);
    QVERIFY(!parseIsoUtc(QString()).isValid());
}

// isoUtc() formats years 1970-9999 itself: it must agree with Qt's own ISO formatting on
// every kind of date (leap days, century rules, ends of months and years) and offset zone.
void tst_Durations::isoUtcMatchesQt()
{
    QList<qint64> samples{0, 1, 999, 86399999, 86400000, 951782400000 /* 2000-02-29 */,
                          4107542400000 /* 2100-03-01 */, 253402300799999 /* 9999-12-31 */,
                          -1, 253402300800000};
    QRandomGenerator random(20261201);
    for (int i = 0; i < 20000; ++i)
        samples << qint64(random.bounded(quint64(253402300800000)));
    // Runs of one day and across midnights, and days that alternate: formatIsoUtcMs() keeps the
    // date of its last call, which must never leak into another day's time.
    for (qint64 ms = 1795478399000; ms < 1795478399000 + 3 * 86400000LL; ms += 997 * 1000)
        samples << ms << ms + 1 << 1795478399999 << 1795478400000 << 951868799999;
    for (const qint64 ms : std::as_const(samples)) {
        const QDateTime when = QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC);
        const QString expected = when.toString(Qt::ISODateWithMs);
        if (isoUtc(when) != expected)
            QFAIL(qPrintable(u"%1 ms: %2, Qt says %3"_s.arg(ms).arg(isoUtc(when), expected)));
    }
    const QDateTime offset = QDateTime::fromMSecsSinceEpoch(1795514400123, QTimeZone(3600 * 5));
    QCOMPARE(isoUtc(offset), u"2026-11-24T10:00:00.123Z"_s);
}

QTEST_GUILESS_MAIN(tst_Durations)
#include "tst_durations.moc"
