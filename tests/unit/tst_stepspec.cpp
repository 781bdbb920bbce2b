// What a step may be submitted as (StepSpec::fromJson, behind run.submit and run files): every
// field absent, null or of its type. Issue 18 item 16: wrong types used to become defaults, so a
// step ran on any worker, without its timeout, or more than once.
#include "unit/testsupport.h"

#include "model/step.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_StepSpec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void accepted_data();
    void accepted();
    void refused_data();
    void refused();
    void secretValuesAreNeverInItsJson();
    void submissionRoundTrips();
};

void tst_StepSpec::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

static QJsonObject parse(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

void tst_StepSpec::accepted_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("requirement");
    QTest::addColumn<qint64>("timeoutMs");
    QTest::addColumn<bool>("atMostOnce");
    QTest::addRow("argv") << QByteArray(R"({"command":["echo","hi"]})") << u"any worker"_s << qint64(0) << false;
    QTest::addRow("shell-string") << QByteArray(R"({"command":"echo hi"})") << u"any worker"_s << qint64(0) << false;
    QTest::addRow("nulls-are-defaults") << QByteArray(R"({"command":["true"],"target":null,"labels":null,
        "platform":null,"timeout":null,"attempts":null,"atMostOnce":null,"env":null,"name":null})")
                                        << u"any worker"_s << qint64(0) << false;
    QTest::addRow("everything") << QByteArray(R"({"command":["make"],"name":"build","labels":{"region":"eu"},
        "platform":"linux/x86_64","timeout":"10m","queueTimeout":"1h","attempts":2,"atMostOnce":true,
        "env":{"CI":"1"}})") << u"region=eu, platform=linux/x86_64"_s << qint64(600000) << true;
    QTest::addRow("timeout-ms-number") << QByteArray(R"({"command":["true"],"timeoutMs":1500})") << u"any worker"_s
                                       << qint64(1500) << false;
    QTest::addRow("target") << QByteArray(R"({"command":["true"],"target":"w1"})") << u"target=w1"_s << qint64(0)
                            << false;
    // Issue 19 item 7: a name of 128 characters (code points) fits, whatever their UTF-16 size.
    QTest::addRow("name-128-emoji") << u"{\"command\":[\"true\"],\"name\":\"%1\"}"_s
                                           .arg(u"\U0001F600"_s.repeated(128)).toUtf8()
                                    << u"any worker"_s << qint64(0) << false;
}

void tst_StepSpec::accepted()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, requirement);
    QFETCH(qint64, timeoutMs);
    QFETCH(bool, atMostOnce);
    auto spec = StepSpec::fromJson(parse(json));
    QVERIFY_RESULT(spec);
    QCOMPARE(spec->requirement.text(), requirement);
    QCOMPARE(spec->timeoutMs, timeoutMs);
    QCOMPARE(spec->atMostOnce, atMostOnce);
}

void tst_StepSpec::refused_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("says");
    // The issue's cases: each ran anywhere, or with a setting silently dropped.
    QTest::addRow("target-number") << QByteArray(R"({"command":["true"],"target":5})") << u"\"target\" must be a string"_s;
    QTest::addRow("target-list") << QByteArray(R"({"command":["true"],"target":["w1"]})") << u"\"target\" must be a string"_s;
    QTest::addRow("labels-list") << QByteArray(R"({"command":["true"],"labels":[]})") << u"labels must be an object"_s;
    QTest::addRow("at-most-once-string") << QByteArray(R"({"command":["true"],"atMostOnce":"true"})")
                                         << u"\"atMostOnce\" must be true or false"_s;
    QTest::addRow("label-value-bool") << QByteArray(R"({"command":["true"],"labels":{"gpu":true}})")
                                      << u"\"gpu\" must be a string"_s;
    QTest::addRow("platform-number") << QByteArray(R"({"command":["true"],"platform":1})") << u"\"platform\" must be a string"_s;
    QTest::addRow("shell-string") << QByteArray(R"({"command":["true"],"shell":"yes"})") << u"\"shell\" must be true or false"_s;
    QTest::addRow("name-number") << QByteArray(R"({"command":["true"],"name":7})") << u"\"name\" must be a string"_s;
    QTest::addRow("name-129-emoji") << u"{\"command\":[\"true\"],\"name\":\"%1\"}"_s
                                           .arg(u"\U0001F600"_s.repeated(129)).toUtf8()
                                    << u"longer than 128 characters"_s;
    // 128 KiB is bytes of UTF-8: 50,000 three-byte characters are 150,000 bytes.
    QTest::addRow("command-over-128-kib-in-bytes") << u"{\"command\":[\"echo\",\"%1\"]}"_s
                                                          .arg(QString(50000, QChar(0x20ac))).toUtf8()
                                                   << u"longer than 128 KiB"_s;
    QTest::addRow("name-newline") << QByteArray(R"({"command":["true"],"name":"a\nb"})") << u"control characters"_s;
    QTest::addRow("env-list") << QByteArray(R"({"command":["true"],"env":["A=1"]})") << u"\"env\" must be an object"_s;
    QTest::addRow("env-value-number") << QByteArray(R"({"command":["true"],"env":{"A":1}})") << u"string value"_s;
    QTest::addRow("timeout-bool") << QByteArray(R"({"command":["true"],"timeout":true})") << u"timeout must be a positive"_s;
    QTest::addRow("timeout-fraction") << QByteArray(R"({"command":["true"],"timeoutMs":1.5})") << u"timeoutMs must be a positive"_s;
    QTest::addRow("timeout-zero") << QByteArray(R"({"command":["true"],"timeoutMs":0})") << u"timeoutMs must be a positive"_s;
    QTest::addRow("attempts-string") << QByteArray(R"({"command":["true"],"attempts":"3"})") << u"attempts must be a whole number"_s;
    QTest::addRow("attempts-fraction") << QByteArray(R"({"command":["true"],"attempts":2.5})") << u"attempts must be a whole number"_s;
    QTest::addRow("command-number") << QByteArray(R"({"command":5})") << u"\"command\" must be a non-empty list"_s;
    QTest::addRow("command-missing") << QByteArray(R"({"name":"x"})") << u"\"command\" must be a non-empty list"_s;
    QTest::addRow("command-mixed") << QByteArray(R"({"command":["a",1]})") << u"every command argument must be a string"_s;
    QTest::addRow("secret-env-list") << QByteArray(R"({"command":["true"],"secretEnv":["A"]})")
                                     << u"\"secretEnv\" must be an object"_s;
    QTest::addRow("secret-env-number") << QByteArray(R"({"command":["true"],"secretEnv":{"A":1}})")
                                       << u"secret environment variable \"A\" must have a name and a string value"_s;
    QTest::addRow("secret-env-reserved") << QByteArray(R"({"command":["true"],"secretEnv":{"SWAMP_X":"abcd"}})")
                                         << u"SWAMP_ are reserved"_s;
    // A typo would run the step without the setting it names (issue 21's run file).
    QTest::addRow("unknown-field-typo") << QByteArray(R"({"command":["sleep","3"],"timout":"1s"})")
                                        << u"unknown field \"timout\"; did you mean \"timeout\"?"_s;
    QTest::addRow("unknown-field-typo-labels") << QByteArray(R"({"command":["true"],"lables":{"region":"mars"}})")
                                               << u"unknown field \"lables\"; did you mean \"labels\"?"_s;
    QTest::addRow("unknown-field-far") << QByteArray(R"({"command":["true"],"priority":5})")
                                       << u"unknown field \"priority\" (a step has: name, command, shell"_s;
    QTest::addRow("unknown-field-control-characters") << QByteArray(R"({"command":["true"],"a\u001b[2Jb":1})")
                                                      << u"unknown field \"a\\e[2Jb\""_s;
    QTest::addRow("secret-env-twice") << QByteArray(R"({"command":["true"],"env":{"A":"1"},"secretEnv":{"A":"abcd"}})")
                                      << u"\"A\" is both in env and in secretEnv"_s;
}

void tst_StepSpec::secretValuesAreNeverInItsJson()
{
    auto spec = StepSpec::fromJson(parse(R"({"command":["true"],"secretEnv":{"API_TOKEN":"hunter2-secret"}})"));
    QVERIFY_RESULT(spec);
    QCOMPARE(spec->secretNames, QStringList{u"API_TOKEN"_s});
    QCOMPARE(spec->secretEnv.value(u"API_TOKEN"_s).toString(), u"hunter2-secret"_s);
    const QByteArray json = QJsonDocument(spec->toJson()).toJson();
    QVERIFY(json.contains("API_TOKEN"));
    QVERIFY(!json.contains("hunter2"));
    // An error about a secret variable names it, never its value.
    auto refused = StepSpec::fromJson(parse(R"({"command":["true"],"secretEnv":{"SWAMP_A":"hunter2-secret"}})"));
    QVERIFY(!refused);
    QVERIFY(!refused.error().text().contains(u"hunter2"_s));
}

void tst_StepSpec::refused()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, says);
    QVERIFY2(!parse(json).isEmpty(), json.constData());
    auto spec = StepSpec::fromJson(parse(json));
    QVERIFY_ERROR_CODE(spec, u"invalid_step"_s);
    QVERIFY2(spec.error().message.contains(says), qPrintable(spec.error().message));
}

// `swamp run` builds its step as a StepSpec and sends toSubmission(): what the orchestrator reads
// back with fromJson() is the same step, and what was left unset stays the orchestrator's to set.
void tst_StepSpec::submissionRoundTrips()
{
    StepSpec full;
    full.name = u"build"_s;
    full.command = {u"make"_s, u"-j"_s, u"4"_s};
    full.env = {{u"CI"_s, u"1"_s}};
    full.secretEnv = {{u"API_TOKEN"_s, u"hunter2-secret"_s}};
    full.requirement.labels = {{u"gpu"_s, u"a100"_s}};
    full.requirement.platform = u"linux/x86_64"_s;
    full.timeoutMs = 90000;
    full.queueTimeoutMs = 5000;
    full.maxAttempts = 7;
    full.atMostOnce = true;
    auto back = StepSpec::fromJson(full.toSubmission());
    QVERIFY_RESULT(back);
    QCOMPARE(back->name, full.name);
    QCOMPARE(back->command, full.command);
    QVERIFY(!back->shell);
    QCOMPARE(back->env, full.env);
    QCOMPARE(back->secretEnv, full.secretEnv);
    QCOMPARE(back->requirement.labels, full.requirement.labels);
    QCOMPARE(back->requirement.platform, full.requirement.platform);
    QCOMPARE(back->timeoutMs, full.timeoutMs);
    QCOMPARE(back->queueTimeoutMs, full.queueTimeoutMs);
    QCOMPARE(back->maxAttempts, 7);
    QVERIFY(back->atMostOnce);

    StepSpec shell;
    shell.shell = true;
    shell.command = {u"echo hi | tr a-z A-Z"_s};
    shell.requirement.target = u"ci-7"_s;
    const QJsonObject submitted = shell.toSubmission();
    QVERIFY(submitted.value(u"command"_s).isString());
    QVERIFY(!submitted.contains(u"name"_s));
    QVERIFY(!submitted.contains(u"timeoutMs"_s));
    QVERIFY(!submitted.contains(u"secretEnv"_s));
    auto shellBack = StepSpec::fromJson(submitted);
    QVERIFY_RESULT(shellBack);
    QVERIFY(shellBack->shell);
    QCOMPARE(shellBack->command, shell.command);
    QCOMPARE(shellBack->requirement.target, u"ci-7"_s);
    QCOMPARE(shellBack->name, u"echo hi | tr a-z A-Z"_s); // named after its command
    QCOMPARE(shellBack->maxAttempts, 3);
}

QTEST_GUILESS_MAIN(tst_StepSpec)
#include "tst_stepspec.moc"
