// The enroll frame's codec (protocol/enrollrequest.h): every field present, of its type and
// size; labels by the token labels' rules; no control characters in identifiers. A shape error
// is permanent (invalid_enroll) and names the field.
#include "unit/testsupport.h"

#include "model/errorcodes.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"

#include <QJsonArray>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;
using Protocol::EnrollRequest;

class tst_EnrollRequest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void roundTrip();
    void refused_data();
    void refused();
    void nameOptional();
    void labelsOmittedOrNull();
    void uppercaseMachineIdIsNormalised();
    void versionIsReadWhateverTheShape();
    void lengthsCountCharacters_data();
    void lengthsCountCharacters();
};

static EnrollRequest valid()
{
    EnrollRequest r;
    r.id = u"1"_s;
    r.protocol = 1;
    r.version = u"0.1.0"_s;
    r.token = u"ci.%1"_s.arg(QString(64, u'a'));
    r.machineId = u"7f0c2b1e-5d3a-4c8e-9b1a-0123456789ab"_s;
    r.machineKey = QString(64, u'b');
    r.instanceId = u"0b1a2c3d-0000-4000-8000-000000000001"_s;
    r.hostname = u"build-01.example.org"_s;
    r.platform = u"linux"_s;
    r.arch = u"x86_64"_s;
    r.labels = {{u"region"_s, u"eu"_s}, {u"gpu"_s, u""_s}};
    r.capacity = 4;
    return r;
}

void tst_EnrollRequest::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_EnrollRequest::roundTrip()
{
    const EnrollRequest sent = valid();
    const QJsonObject frame = sent.toJson();
    QCOMPARE(frame.value(u"type"_s).toString(), Protocol::Type::Enroll);
    auto parsed = EnrollRequest::fromJson(frame);
    QVERIFY_RESULT(parsed);
    QCOMPARE(parsed->id, sent.id);
    QCOMPARE(parsed->token, sent.token);
    QCOMPARE(parsed->machineId, sent.machineId);
    QCOMPARE(parsed->machineKey, sent.machineKey);
    QCOMPARE(parsed->instanceId, sent.instanceId);
    QCOMPARE(parsed->hostname, sent.hostname);
    QCOMPARE(parsed->platform, sent.platform);
    QCOMPARE(parsed->arch, sent.arch);
    QCOMPARE(parsed->labels, sent.labels);
    QCOMPARE(parsed->capacity, sent.capacity);
    QCOMPARE(parsed->protocol, sent.protocol);
}

void tst_EnrollRequest::refused_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value"); // undefined: the field is left out
    QTest::addColumn<QString>("says");

    const QJsonValue missing(QJsonValue::Undefined);
    // Issue 18 item 15: the fields a worker of another make might leave out.
    for (const char *field : {"hostname", "platform", "arch", "machineId", "machineKey", "instanceId",
                              "id", "token", "capacity", "protocol"})
        QTest::addRow("missing-%s", field) << QString::fromLatin1(field) << missing
                                           << u"\"%1\" is missing"_s.arg(QLatin1String(field));
    // Issue 19 item 9: null reads like missing, for every field docs/protocol.md marks required.
    for (const char *field : {"capacity", "protocol", "token", "id"})
        QTest::addRow("null-%s", field) << QString::fromLatin1(field) << QJsonValue(QJsonValue::Null)
                                        << u"\"%1\" is missing"_s.arg(QLatin1String(field));
    QTest::addRow("hostname-number") << u"hostname"_s << QJsonValue(7) << u"\"hostname\" must be a string"_s;
    QTest::addRow("hostname-null") << u"hostname"_s << QJsonValue(QJsonValue::Null) << u"\"hostname\" is missing"_s;
    QTest::addRow("hostname-empty") << u"hostname"_s << QJsonValue(u""_s) << u"1 to 255"_s;
    QTest::addRow("hostname-256") << u"hostname"_s << QJsonValue(QString(256, u'h')) << u"1 to 255"_s;
    // Issue 18 item 10: text that would forge a log line or steer a terminal.
    QTest::addRow("hostname-newline") << u"hostname"_s << QJsonValue(u"a\nworker evil enrolled"_s)
                                      << u"control characters"_s;
    QTest::addRow("hostname-escape") << u"hostname"_s << QJsonValue(u"a\x1b[31mred"_s) << u"control characters"_s;
    QTest::addRow("hostname-bidi") << u"hostname"_s << QJsonValue(u"a\u202Eb"_s) << u"control characters"_s;
    QTest::addRow("platform-space") << u"platform"_s << QJsonValue(u"linux x"_s) << u"\"platform\" may use"_s;
    QTest::addRow("platform-slash") << u"platform"_s << QJsonValue(u"linux/x86_64"_s) << u"\"platform\" may use"_s;
    QTest::addRow("arch-newline") << u"arch"_s << QJsonValue(u"x86\n"_s) << u"control characters"_s;
    QTest::addRow("instance-space") << u"instanceId"_s << QJsonValue(u"a b"_s) << u"printable ASCII"_s;
    QTest::addRow("instance-65") << u"instanceId"_s << QJsonValue(QString(65, u'i')) << u"1 to 64"_s;
    QTest::addRow("machine-id-not-uuid") << u"machineId"_s << QJsonValue(u"not-a-uuid"_s) << u"UUID"_s;
    QTest::addRow("machine-key-short") << u"machineKey"_s << QJsonValue(QString(63, u'a')) << u"64 lowercase hex"_s;
    QTest::addRow("machine-key-upper") << u"machineKey"_s << QJsonValue(QString(64, u'A')) << u"64 lowercase hex"_s;
    // Issue 19: the enroll id was accepted as 7, "" or 80 characters.
    QTest::addRow("id-number") << u"id"_s << QJsonValue(7) << u"\"id\" must be a string"_s;
    QTest::addRow("id-empty") << u"id"_s << QJsonValue(u""_s) << u"1 to 64"_s;
    QTest::addRow("id-80") << u"id"_s << QJsonValue(QString(80, u'x')) << u"1 to 64"_s;
    QTest::addRow("capacity-zero") << u"capacity"_s << QJsonValue(0) << u"1 to 1024"_s;
    QTest::addRow("capacity-too-many") << u"capacity"_s << QJsonValue(1025) << u"1 to 1024"_s;
    QTest::addRow("capacity-fraction") << u"capacity"_s << QJsonValue(1.5) << u"1 to 1024"_s;
    QTest::addRow("capacity-string") << u"capacity"_s << QJsonValue(u"4"_s) << u"1 to 1024"_s;
    QTest::addRow("protocol-string") << u"protocol"_s << QJsonValue(u"1"_s) << u"\"protocol\""_s;
    // Issue 18 item 14: worker labels by the token labels' rules.
    QTest::addRow("labels-array") << u"labels"_s << QJsonValue(QJsonArray{u"a=b"_s}) << u"labels must be an object"_s;
    QTest::addRow("labels-string") << u"labels"_s << QJsonValue(u"a=b"_s) << u"labels must be an object"_s;
    QTest::addRow("label-value-number") << u"labels"_s << QJsonValue(QJsonObject{{u"gpu"_s, true}})
                                        << u"\"gpu\" must be a string"_s;
    // Issue 19 item 7: lengths are characters (code points); two-unit characters do not count
    // double, and one over the limit is still refused.
    const QString emoji = u"\U0001F600"_s;
    QTest::addRow("hostname-256-emoji") << u"hostname"_s << QJsonValue(emoji.repeated(256)) << u"1 to 255"_s;
    QTest::addRow("id-65-emoji") << u"id"_s << QJsonValue(emoji.repeated(65)) << u"1 to 64"_s;
    QTest::addRow("label-value-256-emoji") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, emoji.repeated(256)}})
                                           << u"at most 255"_s;
    QTest::addRow("label-value-huge") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, QString(900000, u'v')}})
                                      << u"at most 255"_s;
    QTest::addRow("label-value-comma") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, u"a,b"_s}}) << u"no ','"_s;
    QTest::addRow("label-value-equals") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, u"a=b"_s}}) << u"no ','"_s;
    QTest::addRow("label-value-newline") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, u"a\nb"_s}})
                                         << u"control characters"_s;
    QTest::addRow("label-key-empty") << u"labels"_s << QJsonValue(QJsonObject{{u""_s, u"v"_s}}) << u"invalid label key"_s;
    QTest::addRow("label-key-equals") << u"labels"_s << QJsonValue(QJsonObject{{u"a=b"_s, u"v"_s}})
                                      << u"invalid label key"_s;
    QTest::addRow("label-key-comma") << u"labels"_s << QJsonValue(QJsonObject{{u"a,b"_s, u"v"_s}}) << u"invalid label key"_s;
    QTest::addRow("label-key-64") << u"labels"_s << QJsonValue(QJsonObject{{QString(64, u'k'), u"v"_s}})
                                  << u"invalid label key"_s;
    QJsonObject many;
    for (int i = 0; i < 65; ++i)
        many.insert(u"k%1"_s.arg(i), u"v"_s);
    QTest::addRow("labels-65") << u"labels"_s << QJsonValue(many) << u"at most 64 labels"_s;
    // The optional worker name (`swamp worker connect --name`): the rule of token names.
    QTest::addRow("name-number") << u"name"_s << QJsonValue(7) << u"\"name\" must be a string"_s;
    QTest::addRow("name-empty") << u"name"_s << QJsonValue(u""_s) << u"invalid worker name"_s;
    QTest::addRow("name-space") << u"name"_s << QJsonValue(u"gpu 1"_s) << u"invalid worker name"_s;
    QTest::addRow("name-upper") << u"name"_s << QJsonValue(u"GPU"_s) << u"lowercase letters"_s;
    QTest::addRow("name-newline") << u"name"_s << QJsonValue(u"gpu\nworker evil enrolled"_s) << u"invalid worker name"_s;
    QTest::addRow("name-escape") << u"name"_s << QJsonValue(u"\x1b[31mred"_s) << u"invalid worker name"_s;
    QTest::addRow("name-64") << u"name"_s << QJsonValue(QString(64, u'n')) << u"invalid worker name"_s;
    QTest::addRow("name-10k") << u"name"_s << QJsonValue(QString(10000, u'n')) << u"invalid worker name"_s;
}

void tst_EnrollRequest::refused()
{
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QFETCH(QString, says);
    QJsonObject frame = valid().toJson();
    if (value.isUndefined())
        frame.remove(field);
    else
        frame.insert(field, value);
    auto parsed = EnrollRequest::fromJson(frame);
    QVERIFY_ERROR_CODE(parsed, u"invalid_enroll"_s);
    QVERIFY2(parsed.error().message.startsWith(u"invalid enroll frame: "_s), qPrintable(parsed.error().message));
    QVERIFY2(parsed.error().message.contains(says), qPrintable(parsed.error().message));
    // Permanent: the same worker would send the same frame again.
    QVERIFY(Codes::isPermanent(parsed.error().code));
    QVERIFY(!parsed.error().fix.isEmpty());
    // Nothing of the frame's content is echoed that could carry a control character.
    QVERIFY2(!parsed.error().message.contains(u'\n') && !parsed.error().message.contains(QChar(0x1b)),
             qPrintable(parsed.error().message));
}

void tst_EnrollRequest::nameOptional()
{
    EnrollRequest sent = valid();
    QVERIFY(!sent.toJson().contains(u"name"_s)); // none asked for: the token's
    auto parsed = EnrollRequest::fromJson(sent.toJson());
    QVERIFY_RESULT(parsed);
    QVERIFY(parsed->name.isEmpty());
    sent.name = u"gpu-01"_s;
    parsed = EnrollRequest::fromJson(sent.toJson());
    QVERIFY_RESULT(parsed);
    QCOMPARE(parsed->name, u"gpu-01"_s);
    QJsonObject frame = sent.toJson();
    frame.insert(u"name"_s, QJsonValue(QJsonValue::Null));
    parsed = EnrollRequest::fromJson(frame);
    QVERIFY_RESULT(parsed);
    QVERIFY(parsed->name.isEmpty());
    // The message quotes at most 64 characters of a long name.
    frame.insert(u"name"_s, QString(10000, u'n'));
    QVERIFY(EnrollRequest::fromJson(frame).error().message.size() < 400);
}

void tst_EnrollRequest::labelsOmittedOrNull()
{
    QJsonObject frame = valid().toJson();
    frame.remove(u"labels"_s);
    auto omitted = EnrollRequest::fromJson(frame);
    QVERIFY_RESULT(omitted);
    QVERIFY(omitted->labels.isEmpty());
    frame.insert(u"labels"_s, QJsonValue(QJsonValue::Null));
    QVERIFY_RESULT(EnrollRequest::fromJson(frame));
}

void tst_EnrollRequest::uppercaseMachineIdIsNormalised()
{
    QJsonObject frame = valid().toJson();
    frame.insert(u"machineId"_s, u"{7F0C2B1E-5D3A-4C8E-9B1A-0123456789AB}"_s);
    auto parsed = EnrollRequest::fromJson(frame);
    QVERIFY_RESULT(parsed);
    QCOMPARE(parsed->machineId, u"7f0c2b1e-5d3a-4c8e-9b1a-0123456789ab"_s);
}

void tst_EnrollRequest::versionIsReadWhateverTheShape()
{
    // A worker of another version is told protocol_mismatch, not that its frame is malformed.
    const QJsonObject frame{{u"type"_s, u"enroll"_s}, {u"version"_s, u"9.9.9"_s}, {u"protocol"_s, 7}};
    QCOMPARE(EnrollRequest::versionOf(frame), u"9.9.9"_s);
    QCOMPARE(EnrollRequest::protocolOf(frame), 7);
    QCOMPARE(EnrollRequest::protocolOf(QJsonObject{}), -1);
}

void tst_EnrollRequest::lengthsCountCharacters_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QJsonValue>("value");
    // docs/protocol.md counts characters, that is code points: 255 emoji are a hostname of 255
    // characters (510 UTF-16 units, 1020 bytes of UTF-8), and fit its limit of 255.
    const QString emoji = u"\U0001F600"_s;
    QTest::addRow("hostname-255-emoji") << u"hostname"_s << QJsonValue(emoji.repeated(255));
    QTest::addRow("hostname-255-accented") << u"hostname"_s << QJsonValue(QString(255, QChar(0x00e9)));
    QTest::addRow("id-64-emoji") << u"id"_s << QJsonValue(emoji.repeated(64));
    QTest::addRow("label-value-255-emoji") << u"labels"_s << QJsonValue(QJsonObject{{u"k"_s, emoji.repeated(255)}});
}

void tst_EnrollRequest::lengthsCountCharacters()
{
    QFETCH(QString, field);
    QFETCH(QJsonValue, value);
    QJsonObject frame = valid().toJson();
    frame.insert(field, value);
    QVERIFY_RESULT(EnrollRequest::fromJson(frame));
}

QTEST_GUILESS_MAIN(tst_EnrollRequest)
#include "tst_enrollrequest.moc"
