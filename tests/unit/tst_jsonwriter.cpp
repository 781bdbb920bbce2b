// JsonObjectWriter: the hand-written JSON of events (and event frames) must read back, through
// Qt's own parser, as exactly the object it describes, whatever the strings hold.
#include "common/duration.h"
#include "common/jsonwriter.h"
#include "common/largebuffer.h"
#include "model/event.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <limits>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_JsonWriter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void reserveToAppendKeepsTheBytes();
    void aReusedBufferIsNeverWrittenWhileHeld();
    void cursorGrowsPastEveryRoom();
    void everyByteAtEveryPlaceOfAWord();
    void strings_data();
    void strings();
    void brokenUtf8();
    void times();
    void nestedAndAppended();
    void numbersAndBools();
    void rawValues();
    void emptyObject();
    void eventTextMatchesToJson();
    void aRowHoldsTheObjectsValues();
};

static QJsonObject parsed(const QByteArray &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("not JSON (%s): %s", qPrintable(error.errorString()), text.constData());
    return document.object();
}

void tst_JsonWriter::strings_data()
{
    QTest::addColumn<QString>("value");
    QTest::newRow("plain") << u"build-42"_s;
    QTest::newRow("empty") << QString();
    QTest::newRow("quotes and backslashes") << u"say \"hi\" to C:\\temp\\"_s;
    QTest::newRow("named controls") << u"a\nb\rc\td\be\ff"_s;
    QString controls;
    for (char16_t c = 0; c < 0x20; ++c)
        controls += QChar(c);
    controls += QChar(0x7f);
    QTest::newRow("every control character") << controls;
    QTest::newRow("latin-1") << u"wärme größe"_s;
    QTest::newRow("cjk and emoji") << u"構築 🚀 done"_s;
    QTest::newRow("non-ASCII with quote") << u"ü\"\\\n"_s;
    QTest::newRow("slash and html") << u"</script><b>"_s;
    // A peer's "\ud800" escapes: an admin request id is echoed in its answer (fuzz_admin).
    QTest::newRow("lone high surrogate") << u"a"_s + QChar(0xd800) + u"1"_s;
    QTest::newRow("lone low surrogate at the end") << u"ü"_s + QChar(0xdc00);
    QTest::newRow("pair reversed") << QString(QChar(0xdc00)) + QChar(0xd800);
}

void tst_JsonWriter::strings()
{
    QFETCH(QString, value);
    const QByteArray text = JsonObjectWriter().add("v"_L1, value).add("w"_L1, u"x"_s).finish();
    const QJsonObject object = parsed(text);
    QCOMPARE(object.value(u"v"_s).toString(), value);
    QCOMPARE(object.value(u"w"_s).toString(), u"x"_s);
    QCOMPARE(object.size(), 2);
    // No raw control character may reach the text (a JSON parser must refuse one).
    for (char c : text)
        QVERIFY2(uchar(c) >= 0x20, text.constData());
    // From UTF-8 (a database column) and from UTF-16 alike: byte for byte what Qt writes.
    const QByteArray qt = QJsonDocument(QJsonObject{{u"v"_s, value}}).toJson(QJsonDocument::Compact);
    if (value.isValidUtf16()) {
        QCOMPARE(JsonObjectWriter().add("v"_L1, value).finish(), qt);
        QCOMPARE(JsonObjectWriter().addUtf8("v"_L1, value.toUtf8()).finish(), qt);
    }
}

void tst_JsonWriter::brokenUtf8()
{
    // A column a hand-edited database filled: read as QString::fromUtf8() would read it.
    for (const QByteArray &bytes : {"a\xff b"_ba, "\xc3"_ba, "ok \xe2\x82"_ba, "\xed\xa0\x80"_ba}) {
        const QByteArray text = JsonObjectWriter().addUtf8("v"_L1, bytes).finish();
        QCOMPARE(parsed(text).value(u"v"_s).toString(), QString::fromUtf8(bytes));
    }
}

void tst_JsonWriter::times()
{
    const qint64 ms = 1795514400123;
    const QByteArray text = JsonObjectWriter()
                                .addTimeMs("at"_L1, ms)
                                .addTimeMs("none"_L1, std::nullopt)
                                .addTimeMs("before1970"_L1, -14182940000)
                                .addTime("same"_L1, QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC))
                                .addTime("invalid"_L1, QDateTime())
                                .finish();
    const QJsonObject object = parsed(text);
    QCOMPARE(object.value(u"at"_s).toString(), u"2026-11-24T10:00:00.123Z"_s);
    QCOMPARE(object.value(u"same"_s), object.value(u"at"_s));
    QCOMPARE(object.value(u"none"_s), QJsonValue(QJsonValue::Null));
    QCOMPARE(object.value(u"invalid"_s), QJsonValue(QJsonValue::Null));
    QCOMPARE(object.value(u"before1970"_s).toString(), u"1969-07-20T20:17:40.000Z"_s);
}

void tst_JsonWriter::nestedAndAppended()
{
    // Objects written one after another into one buffer, with an object inside each.
    QByteArray text = "[";
    for (int i = 0; i < 2; ++i) {
        if (i > 0)
            text += ',';
        JsonObjectWriter writer(std::move(text));
        writer.beginObject("inner"_L1).add("n"_L1, i).beginObject("empty"_L1).endObject().endObject();
        writer.add("after"_L1, true);
        text = writer.finish();
    }
    text += ']';
    QCOMPARE(text, R"([{"inner":{"n":0,"empty":{}},"after":true},{"inner":{"n":1,"empty":{}},"after":true}])"_ba);
    // A key longer than the writer's scratch space goes the long way.
    const QLatin1StringView longKey("k_________________________________________________________________________________"
                                    "__________________________________________________________________________________");
    const QJsonObject object = parsed(JsonObjectWriter().add("a"_L1, 1).add(longKey, 2).addNull(longKey.first(3)).finish());
    QCOMPARE(object.value(QString(longKey)).toInteger(), 2);
    QCOMPARE(object.size(), 3);
}

void tst_JsonWriter::numbersAndBools()
{
    const QByteArray text = JsonObjectWriter()
                                .add("zero"_L1, 0)
                                .add("negative"_L1, -7)
                                .add("big"_L1, qint64(1) << 52)
                                .add("yes"_L1, true)
                                .add("no"_L1, false)
                                .finish();
    const QJsonObject object = parsed(text);
    QCOMPARE(object.value(u"zero"_s).toInteger(-1), 0);
    QCOMPARE(object.value(u"negative"_s).toInteger(), -7);
    QCOMPARE(object.value(u"big"_s).toInteger(), qint64(1) << 52);
    QCOMPARE(object.value(u"yes"_s), QJsonValue(true));
    QCOMPARE(object.value(u"no"_s), QJsonValue(false));
}

void tst_JsonWriter::rawValues()
{
    const QByteArray inner = JsonObjectWriter().add("a"_L1, 1).finish();
    const QJsonObject object = parsed(JsonObjectWriter().addRaw("inner"_L1, inner).addRaw("list"_L1, "[1,2]").finish());
    QCOMPARE(object.value(u"inner"_s).toObject(), (QJsonObject{{u"a"_s, 1}}));
    QCOMPARE(object.value(u"list"_s).toArray(), (QJsonArray{1, 2}));
}

void tst_JsonWriter::emptyObject()
{
    QCOMPARE(JsonObjectWriter().finish(), "{}"_ba);
}

void tst_JsonWriter::eventTextMatchesToJson()
{
    Event event{42, QDateTime::fromMSecsSinceEpoch(1764633600123, Qt::UTC), u"step.finished"_s,
                u"0190abcd"_s, u"step 0190abcd (build \"x\") succeeded\n"_s, {}};
    event.setData({{u"stepId"_s, u"s"_s}, {u"attempt"_s, 2}, {u"note"_s, u"ü\t"_s}});
    QCOMPARE(parsed(event.toJsonText()), event.toJson());
    QCOMPARE(Event::fromJson(parsed(event.toJsonText())).data(), event.data());
    event.dataJson.clear();
    QCOMPARE(parsed(event.toJsonText()).value(u"data"_s), QJsonValue(QJsonObject()));
    QCOMPARE(parsed(event.toJsonText()), event.toJson());
}

// The room an answer grows into (huge pages past 4 MiB where the kernel has them): every byte
// written stays, the room asked for is there, and the buffer doubles rather than creeps.
void tst_JsonWriter::reserveToAppendKeepsTheBytes()
{
    QByteArray buffer("head");
    QByteArray expected("head");
    int grown = 0;
    for (int i = 0; i < 12000; ++i) {
        const qsizetype before = buffer.capacity();
        reserveToAppend(buffer, 4096);
        QVERIFY(buffer.capacity() - buffer.size() >= 4096);
        grown += buffer.capacity() != before ? 1 : 0;
        const QByteArray piece = QByteArray::number(i).repeated(1 + i % 700);
        buffer += piece;
        expected += piece;
    }
    QCOMPARE(buffer, expected);
    QVERIFY(buffer.size() > 8 * 1024 * 1024);
    QVERIFY2(grown < 16, qPrintable(QString::number(grown)));
    reserveToAppend(buffer, 0);
    QCOMPARE(buffer, expected);
}

// data.query's answers are written into the last large one's buffer (ReusedBuffer): only once
// nothing else holds it (a socket still sending it keeps its bytes as they were), only a large
// one is kept, and the buffer handed out is empty with its capacity.
void tst_JsonWriter::aReusedBufferIsNeverWrittenWhileHeld()
{
    ReusedBuffer reused(4096);
    QVERIFY(reused.isEmpty());
    QVERIFY(reused.take().isNull()); // nothing kept: a fresh one

    QByteArray first = reused.take();
    reserveToAppend(first, 100000);
    first += QByteArray(100000, 'a');
    QVERIFY(reused.keep(first));
    QByteArray sending = first; // what the socket holds while it sends
    first = QByteArray();
    // Held: the next answer gets a fresh buffer, and writing it leaves the bytes being sent.
    QByteArray second = reused.take();
    QVERIFY(second.isNull());
    QVERIFY(reused.isEmpty());
    second += "b";
    QCOMPARE(sending, QByteArray(100000, 'a'));

    // Sent and let go of: the next answer is written into the same memory.
    QVERIFY(reused.keep(sending));
    const char *const memory = sending.constData();
    const qsizetype capacity = sending.capacity();
    sending = QByteArray();
    QByteArray third = reused.take();
    QCOMPARE(third.size(), 0);
    QCOMPARE(third.capacity(), capacity);
    third += "{\"head\":";
    QCOMPARE(third.constData(), memory);
    QCOMPARE(third, QByteArray("{\"head\":"));

    // A small text in that large buffer keeps it but says it is small; a small buffer is not kept.
    QVERIFY(!reused.keep(third));
    QVERIFY(!reused.isEmpty());
    third = QByteArray();
    QCOMPARE(reused.take().constData(), memory);
    QVERIFY(!reused.keep(QByteArray(100, 'c')));
    QVERIFY(reused.isEmpty());
    reused.keep(QByteArray(8192, 'd'));
    reused.clear();
    QVERIFY(reused.isEmpty());
}

// The writer writes through a cursor into room it asked for: values far larger than any room
// (megabytes, all escaped), a buffer its caller still shares, thousands of objects into one
// answer past the huge-page size, and the free functions between them: the text is what
// Qt's own writer makes of the same objects, and the caller's copy is untouched.
void tst_JsonWriter::cursorGrowsPastEveryRoom()
{
    const QString big = QString(u"\"\n\u00fc"_s).repeated(300000); // 1.2 MB of UTF-8, escaped 6x
    const QByteArray bigUtf8 = QByteArray("x\x01").repeated(200000);
    const QString expectedBigUtf8 = QString::fromUtf8(bigUtf8);
    const QByteArray plain(3 * 1024 * 1024, 'p'); // nothing to escape: copied in one go
    const QByteArray shared("[\"before\"");
    const QByteArray callersCopy = shared;
    QByteArray text = shared;
    QJsonArray expected{u"before"_s};
    for (int i = 0; i < 6000; ++i) {
        text += ',';
        JsonObjectWriter writer(std::move(text));
        writer.add("i"_L1, i).addTimeMs("at"_L1, qint64(i) * 86400000 * 3);
        QJsonObject object{{u"i"_s, i}, {u"at"_s, isoUtc(QDateTime::fromMSecsSinceEpoch(qint64(i) * 86400000 * 3, Qt::UTC))}};
        if (i % 1000 == 7) {
            writer.addUtf8("plain"_L1, plain).add("big"_L1, big).addUtf8("bigUtf8"_L1, bigUtf8);
            object.insert(u"big"_s, big);
            object.insert(u"plain"_s, QString::fromLatin1(plain));
            object.insert(u"bigUtf8"_s, expectedBigUtf8);
        }
        writer.addRaw("raw"_L1, QByteArray("[").append(QByteArray::number(i)).append(']'));
        object.insert(u"raw"_s, QJsonArray{i});
        text = writer.finish();
        expected.append(object);
        if (i % 500 == 0) { // a free function between objects, into the same buffer
            text += ',';
            appendJsonStringUtf8(text, "\xff tail \"");
            expected.append(QString::fromUtf8("\xff tail \""));
        }
    }
    text += ']';
    QCOMPARE(callersCopy, "[\"before\""_ba);
    QVERIFY(text.size() > 32 * 1024 * 1024);
    QJsonParseError error;
    const QJsonArray parsedBack = QJsonDocument::fromJson(text, &error).array();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(parsedBack.size(), expected.size());
    QCOMPARE(parsedBack, expected);
    QVERIFY(!text.contains('\n') && !text.contains('\x01'));
}

// Column text is looked at eight bytes at a time: each of the 256 byte values, at each place of
// two words and a tail, in otherwise plain text, is written as Qt writes the string it reads as.
void tst_JsonWriter::everyByteAtEveryPlaceOfAWord()
{
    for (int place = 0; place < 19; ++place) {
        for (int value = 0; value < 256; ++value) {
            QByteArray text("abcdefghijklmnopqrs");
            text[place] = char(value);
            const QByteArray qt =
                QJsonDocument(QJsonObject{{u"v"_s, QString::fromUtf8(text)}}).toJson(QJsonDocument::Compact);
            const QByteArray ours = JsonObjectWriter().addUtf8("v"_L1, text).finish();
            if (ours != qt)
                QFAIL(qPrintable(u"byte %1 at %2: %3 vs Qt's %4"_s.arg(value).arg(place).arg(QString::fromUtf8(ours),
                                                                                            QString::fromUtf8(qt))));
        }
    }
}

// JsonRowWriter takes JsonObjectWriter's calls and writes the same values without their keys, in
// order after the table's number, times as their milliseconds; after what the buffer held.
void tst_JsonWriter::aRowHoldsTheObjectsValues()
{
    const QString hostile = u"q\"\\\n\u0001ü😀"_s;
    const QByteArray broken("a\xff\xc3(b", 6);
    const auto write = [&](auto &w) {
        w.add("s"_L1, hostile).addUtf8("u"_L1, broken).add("min"_L1, std::numeric_limits<qint64>::min());
        w.add("max"_L1, std::numeric_limits<qint64>::max()).add("i"_L1, -7).add("t"_L1, true).add("f"_L1, false);
        w.addNull("n"_L1).addRaw("r"_L1, "[1,{\"a\":null}]").addTimeMs("none"_L1, std::nullopt).add("e"_L1, QString());
    };
    JsonObjectWriter object;
    write(object);
    JsonRowWriter row(QByteArray("xy"), 12);
    write(row);
    const QByteArray rowText = row.finish();
    QVERIFY(rowText.startsWith("xy[12,"));
    QJsonParseError error;
    const QJsonArray values = QJsonDocument::fromJson(rowText.mid(2), &error).array();
    QCOMPARE(error.error, QJsonParseError::NoError);
    const QJsonObject expected = QJsonDocument::fromJson(object.finish(), &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    const QStringList keys{u"s"_s, u"u"_s, u"min"_s, u"max"_s, u"i"_s, u"t"_s, u"f"_s, u"n"_s, u"r"_s, u"none"_s, u"e"_s};
    QCOMPARE(values.size(), keys.size() + 1);
    QCOMPARE(values.at(0).toInteger(), 12);
    for (qsizetype i = 0; i < keys.size(); ++i)
        QVERIFY2(values.at(i + 1) == expected.value(keys.at(i)), qPrintable(keys.at(i)));
    QCOMPARE(values.at(3).toInteger(), std::numeric_limits<qint64>::min()); // exactly, not as a double
    // A time is its milliseconds, before 1970 and past 9999 too.
    for (const qint64 ms : {qint64(0), qint64(-14182940000), qint64(253402300800000), qint64(1796485843329)}) {
        JsonRowWriter times(QByteArray(), 0);
        QCOMPARE(times.addTimeMs("t"_L1, ms).finish(), "[0," + QByteArray::number(ms) + ']');
    }
}

QTEST_GUILESS_MAIN(tst_JsonWriter)
#include "tst_jsonwriter.moc"
