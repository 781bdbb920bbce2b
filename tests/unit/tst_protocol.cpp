// Frame decoding (SPEC §9): every frame is size-limited and schema-checked; a bad frame gets a
// reason fit for a close frame that never echoes the frame's content.
#include "testsupport.h"

#include "protocol/protocol.h"

#include <QJsonDocument>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Protocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void decodeValid_data();
    void decodeValid();
    void decodeBad_data();
    void decodeBad();
    void encodeRoundTrip();
    void requireString_data();
    void requireString();
    void requireInt_data();
    void requireInt();
};

void tst_Protocol::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Protocol::decodeValid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("maxBytes");
    QTest::addColumn<QString>("type");
    QTest::addRow("minimal") << u"{\"type\":\"enroll\"}"_s << qint64(1024) << u"enroll"_s;
    QTest::addRow("with-fields") << u"{\"type\":\"goodbye\",\"reason\":\"bye\",\"id\":\"1\"}"_s
                                 << qint64(1024) << u"goodbye"_s;
    QTest::addRow("whitespace-around") << u"  {\"type\": \"enroll\"}\n"_s << qint64(1024)
                                       << u"enroll"_s;
    const QString exact = u"{\"type\":\"x\"}"_s;
    QTest::addRow("exactly-at-the-limit") << exact << qint64(exact.size()) << u"x"_s;
    QTest::addRow("type-64-characters") << u"{\"type\":\"%1\"}"_s.arg(QString(64, u't'))
                                        << qint64(1024) << QString(64, u't');
    // Characters are code points: 64 emoji are 64 characters (128 UTF-16 units).
    const QString emoji = u"\U0001F600"_s.repeated(64);
    QTest::addRow("type-64-emoji") << u"{\"type\":\"%1\"}"_s.arg(emoji) << qint64(1024) << emoji;
}

void tst_Protocol::decodeValid()
{
    QFETCH(QString, text);
    QFETCH(qint64, maxBytes);
    QFETCH(QString, type);
    auto frame = Protocol::decodeFrame(text, maxBytes);
    QVERIFY_RESULT(frame);
    QCOMPARE(frame->value(u"type"_s).toString(), type);
}

void tst_Protocol::decodeBad_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("maxBytes");
    QTest::addColumn<QString>("reason");
    const QString secretish = u"supersecret0123456789"_s;
    const QString big = u"{\"type\":\"enroll\",\"pad\":\"%1\"}"_s.arg(QString(100, u'x'));
    QTest::addRow("one-byte-over-the-limit") << u"{\"type\":\"xy\"}"_s << qint64(12)
                                             << u"frame larger than 12 bytes"_s;
    QTest::addRow("far-over-the-limit") << big << qint64(64) << u"frame larger than 64 bytes"_s;
    // 20 characters, 40 bytes of UTF-8: the limit counts bytes, not characters.
    QTest::addRow("over-the-limit-in-utf8-bytes-only")
        << u"{\"type\":\"%1\"}"_s.arg(QString(20, QChar(0x00e9))) << qint64(40)
        << u"frame larger than 40 bytes"_s;
    QTest::addRow("empty") << QString() << qint64(1024) << u"frame is not valid JSON"_s;
    QTest::addRow("not-json") << u"hello "_s + secretish << qint64(1024)
                              << u"frame is not valid JSON"_s;
    QTest::addRow("truncated-json") << u"{\"type\":\"enroll\""_s << qint64(1024)
                                    << u"frame is not valid JSON"_s;
    QTest::addRow("array") << u"[{\"type\":\"enroll\"}]"_s << qint64(1024)
                           << u"frame is not a JSON object"_s;
    // Valid JSON, but not an object (Qt 6.4's parser refuses top-level scalars outright: the
    // reason must still say what the peer did wrong, as docs/protocol.md promises).
    QTest::addRow("string") << u"\"enroll\""_s << qint64(1024) << u"frame is not a JSON object"_s;
    QTest::addRow("number") << u"42"_s << qint64(1024) << u"frame is not a JSON object"_s;
    QTest::addRow("one") << u"1"_s << qint64(1024) << u"frame is not a JSON object"_s;
    QTest::addRow("null") << u"null"_s << qint64(1024) << u"frame is not a JSON object"_s;
    QTest::addRow("true-with-spaces") << u" true\n"_s << qint64(1024) << u"frame is not a JSON object"_s;
    // Not one value: still invalid JSON, not a list smuggled through the check above.
    QTest::addRow("two-scalars") << u"1,2"_s << qint64(1024) << u"frame is not valid JSON"_s;
    QTest::addRow("bracket-close") << u"1]"_s << qint64(1024) << u"frame is not valid JSON"_s;
    QTest::addRow("no-type") << u"{\"token\":\"%1\"}"_s.arg(secretish) << qint64(1024)
                             << u"frame has no \"type\""_s;
    QTest::addRow("empty-type") << u"{\"type\":\"\"}"_s << qint64(1024)
                                << u"frame has no \"type\""_s;
    QTest::addRow("numeric-type") << u"{\"type\":5}"_s << qint64(1024)
                                  << u"frame has no \"type\""_s;
    QTest::addRow("null-type") << u"{\"type\":null}"_s << qint64(1024)
                               << u"frame has no \"type\""_s;
    QTest::addRow("type-65-emoji") << u"{\"type\":\"%1\"}"_s.arg(u"\U0001F600"_s.repeated(65))
                                   << qint64(1024) << u"frame has no \"type\""_s;
    QTest::addRow("type-65-characters") << u"{\"type\":\"%1\"}"_s.arg(QString(65, u't'))
                                        << qint64(1024) << u"frame has no \"type\""_s;
}

void tst_Protocol::decodeBad()
{
    QFETCH(QString, text);
    QFETCH(qint64, maxBytes);
    QFETCH(QString, reason);
    auto frame = Protocol::decodeFrame(text, maxBytes);
    QVERIFY_ERROR_CODE(frame, u"bad_frame"_s);
    QVERIFY2(frame.error().message.startsWith(reason), qPrintable(frame.error().message));
    QVERIFY(!frame.error().text().contains(u"supersecret"_s));
    QVERIFY(frame.error().message.toUtf8().size() <= 123); // fits a WebSocket close reason
}

void tst_Protocol::encodeRoundTrip()
{
    const QJsonObject frame{{u"type"_s, u"enroll"_s}, {u"capacity"_s, 4},
                            {u"labels"_s, QJsonObject{{u"region"_s, u"eu"_s}}}};
    const QString text = Protocol::encodeFrame(frame);
    QVERIFY(!text.contains(u'\n'));
    auto back = Protocol::decodeFrame(text, Protocol::MaxWorkerFrameBytes);
    QVERIFY_RESULT(back);
    QCOMPARE(*back, frame);
}

void tst_Protocol::requireString_data()
{
    QTest::addColumn<QJsonObject>("frame");
    QTest::addColumn<bool>("ok");
    QTest::addRow("present") << QJsonObject{{u"f"_s, u"value"_s}} << true;
    QTest::addRow("empty-string") << QJsonObject{{u"f"_s, u""_s}} << true;
    QTest::addRow("missing") << QJsonObject{} << false;
    QTest::addRow("number") << QJsonObject{{u"f"_s, 1}} << false;
    QTest::addRow("too-long") << QJsonObject{{u"f"_s, QString(11, u'x')}} << false;
    QTest::addRow("ten-emoji") << QJsonObject{{u"f"_s, u"\U0001F600"_s.repeated(10)}} << true;
    QTest::addRow("eleven-emoji") << QJsonObject{{u"f"_s, u"\U0001F600"_s.repeated(11)}} << false;
}

void tst_Protocol::requireString()
{
    QFETCH(QJsonObject, frame);
    QFETCH(bool, ok);
    auto value = Protocol::requireString(frame, u"f"_s, 10);
    QCOMPARE(bool(value), ok);
    if (!ok) {
        QCOMPARE(value.error().code, u"bad_frame"_s);
        QVERIFY(value.error().message.contains(u"\"f\""_s));
    }
}

void tst_Protocol::requireInt_data()
{
    QTest::addColumn<QJsonObject>("frame");
    QTest::addColumn<bool>("ok");
    QTest::addRow("in-range") << QJsonObject{{u"n"_s, 5}} << true;
    QTest::addRow("lower-bound") << QJsonObject{{u"n"_s, 1}} << true;
    QTest::addRow("upper-bound") << QJsonObject{{u"n"_s, 10}} << true;
    QTest::addRow("below") << QJsonObject{{u"n"_s, 0}} << false;
    QTest::addRow("above") << QJsonObject{{u"n"_s, 11}} << false;
    QTest::addRow("fraction") << QJsonObject{{u"n"_s, 2.5}} << false;
    QTest::addRow("string") << QJsonObject{{u"n"_s, u"5"_s}} << false;
    QTest::addRow("missing") << QJsonObject{} << false;
}

void tst_Protocol::requireInt()
{
    QFETCH(QJsonObject, frame);
    QFETCH(bool, ok);
    auto value = Protocol::requireInt(frame, u"n"_s, 1, 10);
    QCOMPARE(bool(value), ok);
    if (ok)
        QCOMPARE(*value, frame.value(u"n"_s).toInteger());
    else
        QCOMPARE(value.error().code, u"bad_frame"_s);
}

QTEST_GUILESS_MAIN(tst_Protocol)
#include "tst_protocol.moc"
