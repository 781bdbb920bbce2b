// The admin CLI against a real orchestrator (SPEC §2, §3, §9): exact output of token create,
// the columns and JSON fields of the lists, usage errors (exit 2), and the admin endpoint's
// authentication (no token, a wrong one, a worker token).
#include "swampharness.h"

#include "support/scriptedpeer.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_AdminCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void listeningLineAndAdminJson();
    void advertisedUrl();
    void advertiseUrlRefused_data();
    void advertiseUrlRefused();
    void tokenCreateOutput();
    void tokenCreateJson();
    void tokenNameInUse();
    void tokenListTableAndJson();
    void workerListTableAndJson();
    void tokenLabelsWin();
    void emptyListsSayWhatToDo();
    void usageErrors_data();
    void usageErrors();
    void noOrchestratorConfigured();
    void adminRefuses_data();
    void adminRefuses();
    void adminRefusesMissingToken();
    void explicitServerAndToken();
    void version();

private:
    std::unique_ptr<Harness> h;
};

void tst_AdminCli::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_AdminCli::cleanup()
{
    h.reset();
}

void tst_AdminCli::listeningLineAndAdminJson()
{
    QCOMPARE(h->listenedDataDir(), QDir(h->dataDir()).absolutePath());
    const QString path = h->dataDir() + u"/admin.json"_s;
    QVERIFY(QFile::exists(path));
    QCOMPARE(QFileInfo(path).permissions() & ~(QFileDevice::ReadUser | QFileDevice::WriteUser),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject admin = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(admin.value(u"url"_s).toString(), h->url());
    QVERIFY(QRegularExpression(u"^[0-9a-f]{64}$"_s).match(admin.value(u"adminToken"_s).toString()).hasMatch());
}

void tst_AdminCli::advertisedUrl()
{
    // Loopback only: the orchestrator says workers elsewhere cannot reach it, and advertises
    // nothing but its own URL.
    QVERIFY2(h->orchestrator()->err().contains(
                 u"note: listening on 127.0.0.1 only: workers on other machines cannot reach it; to serve "
                 "them, pass --listen 0.0.0.0:%1 (with --tls-cert and --tls-key) or --advertise-url"_s.arg(h->port())),
             qPrintable(h->orchestrator()->describe()));
    QVERIFY(!h->orchestrator()->outContains(u"Workers connect to"_s));

    // --advertise-url: printed after the listening line, kept in admin.json next to the local
    // URL (which the CLI still uses), and handed to `token create`.
    Harness advertised;
    const QString url = u"wss://swamp.example.com:9443/fleet"_s;
    QVERIFY(advertised.startOrchestrator(0, {u"--advertise-url"_s, url + u'/'}));
    QTRY_VERIFY_WITH_TIMEOUT(advertised.orchestrator()->out().split(u'\n').value(1) == u"Workers connect to "_s + url, 10000);
    QVERIFY2(!advertised.orchestrator()->err().contains(u"note:"_s), qPrintable(advertised.orchestrator()->describe()));
    QFile file(advertised.dataDir() + u"/admin.json"_s);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject admin = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(admin.value(u"url"_s).toString(), advertised.url());
    QCOMPARE(admin.value(u"workerUrl"_s).toString(), url);
    QCOMPARE(admin.value(u"workerUrls"_s).toArray(), QJsonArray{url});
    const Run created = advertised.cli({u"worker"_s, u"token"_s, u"create"_s, u"remote"_s, u"--json"_s});
    QCOMPARE_EXIT(created, 0);
    QCOMPARE(created.json().value(u"workerUrl"_s).toString(), url);
    const Run plain = advertised.cli({u"worker"_s, u"token"_s, u"create"_s, u"remote2"_s});
    QCOMPARE_EXIT(plain, 0);
    QVERIFY2(plain.err.contains(u"Connect a worker: swamp worker connect %1 --token <token>"_s.arg(url)),
             qPrintable(plain.describe()));

}

void tst_AdminCli::advertiseUrlRefused_data()
{
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("message");
    const QString fix = u" — pass the URL workers on other machines dial, for example --advertise-url "
                        "wss://swamp.example.com:9090"_s;
    QTest::addRow("http") << u"http://swamp.example.com:9090"_s
                          << u"error: --advertise-url: must be a ws:// or wss:// URL with a host"_s + fix;
    QTest::addRow("no-host") << u"ws://:9090"_s << u"must be a ws:// or wss:// URL with a host"_s;
    QTest::addRow("bare-host") << u"swamp.example.com:9090"_s << u"must be a ws:// or wss:// URL with a host"_s;
    QTest::addRow("credentials") << u"wss://admin:hunter2@swamp.example.com"_s
                                 << u"must not contain a user name or password"_s;
    QTest::addRow("user-only") << u"wss://admin@swamp.example.com"_s << u"must not contain a user name or password"_s;
    QTest::addRow("query") << u"wss://swamp.example.com/?token=hunter2"_s << u"must not have a query"_s;
    QTest::addRow("newline") << u"wss://swamp.example.com\nwss://evil"_s
                             << u"must not contain spaces or control characters"_s;
    QTest::addRow("space") << u"wss://swamp example.com"_s << u"must not contain spaces or control characters"_s;
    QTest::addRow("huge") << u"wss://"_s + QString(5000, u'a') + u".example.com"_s << u"longer than 2048 characters"_s;
    QTest::addRow("empty") << QString() << u"must be a ws:// or wss:// URL with a host"_s;
}

void tst_AdminCli::advertiseUrlRefused()
{
    QFETCH(QString, value);
    QFETCH(QString, message);
    QTemporaryDir data;
    const Run run = h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, data.path(),
                            u"--advertise-url"_s, value});
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
    // Nothing of what was given is echoed (it may hold a password), nothing was started.
    QVERIFY2(!run.err.contains(u"hunter2"_s), qPrintable(run.describe()));
    QVERIFY(run.out.isEmpty());
    QVERIFY(!QFile::exists(data.path() + u"/admin.json"_s));
}

void tst_AdminCli::tokenCreateOutput()
{
    const Run run = h->cli({u"worker"_s, u"token"_s, u"create"_s, u"ci"_s});
    QCOMPARE_EXIT(run, 0);
    const QStringList lines = run.outLines();
    QCOMPARE(lines.size(), 2);
    QVERIFY2(QRegularExpression(u"^ci\\.[0-9a-f]{64}$"_s).match(lines.at(0)).hasMatch(),
             qPrintable(lines.at(0)));
    QCOMPARE(lines.at(1),
             u"This token is shown once and will not be displayed again — store it now."_s);
    QVERIFY2(run.err.contains(u"expires"_s), qPrintable(run.describe()));
    QVERIFY(!run.err.contains(lines.at(0).mid(3)));
    // Two tokens never share a secret.
    const QString second = h->createToken(u"ci2"_s);
    QVERIFY(second.mid(4) != lines.at(0).mid(3));
}

void tst_AdminCli::tokenCreateJson()
{
    const Run run = h->cli({u"worker"_s, u"token"_s, u"create"_s, u"ci"_s, u"--json"_s,
                            u"--duration"_s, u"7d"_s, u"--max-enrollments"_s, u"10"_s,
                            u"--label"_s, u"pool=ci"_s});
    QCOMPARE_EXIT(run, 0);
    const QJsonObject t = run.json();
    QVERIFY2(QRegularExpression(u"^ci\\.[0-9a-f]{64}$"_s).match(t.value(u"token"_s).toString()).hasMatch(),
             qPrintable(run.out));
    QCOMPARE(t.value(u"name"_s).toString(), u"ci"_s);
    QCOMPARE(t.value(u"state"_s).toString(), u"unused"_s);
    QCOMPARE(t.value(u"maxEnrollments"_s).toInt(), 10);
    QCOMPARE(t.value(u"labels"_s).toObject().value(u"pool"_s).toString(), u"ci"_s);
    const QDateTime created = QDateTime::fromString(t.value(u"createdAt"_s).toString(), Qt::ISODateWithMs);
    const QDateTime expires = QDateTime::fromString(t.value(u"expiresAt"_s).toString(), Qt::ISODateWithMs);
    QVERIFY(t.value(u"expiresAt"_s).toString().endsWith(u'Z'));
    QCOMPARE(created.msecsTo(expires), 7LL * 24 * 3600 * 1000);
}

void tst_AdminCli::tokenNameInUse()
{
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    const Run again = h->cli({u"worker"_s, u"token"_s, u"create"_s, u"ci"_s});
    QCOMPARE_EXIT(again, 1);
    QVERIFY2(again.err.contains(u"enrollment token 'ci' already exists — revoke it or pick another name"_s),
             qPrintable(again.describe()));
    // Once revoked the name is free again.
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s}), 0);
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
}

void tst_AdminCli::tokenListTableAndJson()
{
    QVERIFY(!h->createToken(u"ci"_s, {u"--label"_s, u"pool=ci"_s}).isEmpty());
    QVERIFY(!h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"unlimited"_s}).isEmpty());
    const QString bound = h->createToken(u"bound"_s);
    QVERIFY(h->startEnrolledWorker(bound, h->newCacheDir(), u"bound"_s));

    const Run table = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QCOMPARE_EXIT(table, 0);
    const QStringList lines = table.outLines();
    QVERIFY2(QRegularExpression(u"^NAME +STATE +EXPIRES +ENROLLMENTS +LABELS *$"_s).match(lines.value(0)).hasMatch(),
             qPrintable(table.out));
    QVERIFY(!table.out.contains(u"\x1b["_s)); // no colour without a TTY
    const auto rowOf = [&](const QString &name) {
        for (const QString &line : lines) {
            if (line.startsWith(name + u' '))
                return line;
        }
        return QString();
    };
    QVERIFY2(QRegularExpression(u"^ci +unused +in 2[34]h +0/1 +pool=ci *$"_s).match(rowOf(u"ci"_s)).hasMatch(),
             qPrintable(table.out));
    QVERIFY2(QRegularExpression(u"^fleet +unused +in 2[34]h +0/unlimited +- *$"_s).match(rowOf(u"fleet"_s)).hasMatch(),
             qPrintable(table.out));
    QVERIFY2(QRegularExpression(u"^bound +enrolled +in 2[34]h +1/1 +- *$"_s).match(rowOf(u"bound"_s)).hasMatch(),
             qPrintable(table.out));

    const Run json = h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(json, 0);
    const QJsonArray tokens = json.jsonArray();
    QCOMPARE(tokens.size(), 3);
    for (const QJsonValue &value : tokens) {
        const QJsonObject t = value.toObject();
        for (const char *field : {"name", "state", "createdAt", "expiresAt", "revokedAt",
                                  "maxEnrollments", "bindings", "labels"})
            QVERIFY2(t.contains(QLatin1String(field)), field);
        QVERIFY(!t.contains(u"token"_s));
        QVERIFY(!t.contains(u"secret"_s));
        QVERIFY(!t.contains(u"secretHash"_s));
        QVERIFY(t.value(u"revokedAt"_s).isNull());
        QVERIFY(t.value(u"createdAt"_s).toString().endsWith(u'Z'));
        if (t.value(u"name"_s).toString() == u"bound"_s) {
            const QJsonObject binding = t.value(u"bindings"_s).toArray().first().toObject();
            QCOMPARE(binding.value(u"workerName"_s).toString(), u"bound"_s);
            QVERIFY(!binding.value(u"machineId"_s).toString().isEmpty());
            QVERIFY(binding.value(u"enrolledAt"_s).toString().endsWith(u'Z'));
        }
    }
}

void tst_AdminCli::workerListTableAndJson()
{
    const QString token = h->createToken(u"ci"_s);
    const QString cacheDir = h->newCacheDir();
    QVERIFY(h->startEnrolledWorker(token, cacheDir, u"ci"_s, {u"--label"_s, u"region=eu"_s,
                                                             u"--concurrency"_s, u"3"_s}));
    const Run json = h->cli({u"worker"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(json, 0);
    const QJsonObject doc = json.json();
    QCOMPARE(doc.value(u"count"_s).toInt(), 1);
    QCOMPARE(doc.value(u"hidden"_s).toInt(), 0);
    const QJsonObject w = doc.value(u"workers"_s).toArray().first().toObject();
    for (const char *field : {"name", "status", "machineId", "instanceId", "tokenName", "labels",
                              "platform", "arch", "version", "capacity", "activeSteps",
                              "enrolledAt", "lastSeenAt", "disconnectedAt", "hostname"})
        QVERIFY2(w.contains(QLatin1String(field)), field);
    QCOMPARE(w.value(u"name"_s).toString(), u"ci"_s);
    QCOMPARE(w.value(u"status"_s).toString(), u"idle"_s);
    QCOMPARE(w.value(u"machineId"_s).toString(), readMachineId(cacheDir));
    QCOMPARE(w.value(u"tokenName"_s).toString(), u"ci"_s);
    QCOMPARE(w.value(u"labels"_s).toObject().value(u"region"_s).toString(), u"eu"_s);
    QCOMPARE(w.value(u"capacity"_s).toInt(), 3);
    QCOMPARE(w.value(u"activeSteps"_s).toInt(), 0);
    QCOMPARE(w.value(u"platform"_s).toString(), u"linux"_s);
    QVERIFY(!w.value(u"arch"_s).toString().isEmpty());
    QCOMPARE(w.value(u"version"_s).toString(), h->cli({u"version"_s}).out.section(u' ', 1, 1));
    QVERIFY(!w.value(u"hostname"_s).toString().isEmpty());
    QVERIFY(w.value(u"disconnectedAt"_s).isNull());
    const QDateTime lastSeen = QDateTime::fromString(w.value(u"lastSeenAt"_s).toString(), Qt::ISODateWithMs);
    QVERIFY(w.value(u"lastSeenAt"_s).toString().endsWith(u'Z'));
    QVERIFY(qAbs(lastSeen.msecsTo(QDateTime::currentDateTimeUtc())) < 60000);

    const Run table = h->cli({u"worker"_s, u"list"_s});
    QCOMPARE_EXIT(table, 0);
    const QStringList lines = table.outLines();
    QVERIFY2(QRegularExpression(u"^NAME +STATUS +SLOTS +LABELS +PLATFORM +VERSION +LAST SEEN *$"_s)
                 .match(lines.value(0)).hasMatch(),
             qPrintable(table.out));
    QVERIFY2(QRegularExpression(u"^ci +idle +0/3 +region=eu +linux/\\S+ +\\S+ +(just now|\\d+s ago) *$"_s)
                 .match(lines.value(1)).hasMatch(),
             qPrintable(table.out));
}

void tst_AdminCli::tokenLabelsWin()
{
    const QString token = h->createToken(u"ci"_s, {u"--label"_s, u"pool=ci"_s});
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), u"ci"_s,
                                   {u"--label"_s, u"pool=mine,region=eu"_s}));
    const QJsonObject labels = h->workerNamed(u"ci"_s).value(u"labels"_s).toObject();
    QCOMPARE(labels.value(u"pool"_s).toString(), u"ci"_s);
    QCOMPARE(labels.value(u"region"_s).toString(), u"eu"_s);
}

void tst_AdminCli::emptyListsSayWhatToDo()
{
    const Run workers = h->cli({u"worker"_s, u"list"_s});
    QCOMPARE_EXIT(workers, 0);
    QVERIFY2(workers.out.contains(u"swamp worker token create"_s), qPrintable(workers.describe()));
    const Run tokens = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QCOMPARE_EXIT(tokens, 0);
    QVERIFY2(tokens.out.contains(u"swamp worker token create"_s), qPrintable(tokens.describe()));
    const QJsonObject json = h->workerList(false);
    QCOMPARE(json.value(u"count"_s).toInt(), 0);
    QCOMPARE(json.value(u"workers"_s).toArray().size(), 0);
}

void tst_AdminCli::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const QString fix = u" — use a number and a unit: 45s, 30m, 24h, 7d, 2w"_s;
    const QStringList create{u"worker"_s, u"token"_s, u"create"_s};
    QTest::addRow("duration-fraction") << create + QStringList{u"ci"_s, u"--duration"_s, u"1.5h"_s}
                                       << u"invalid duration \"1.5h\""_s + fix;
    // Zero and negative are a number and a unit: the message says what is wrong with them.
    QTest::addRow("duration-zero") << create + QStringList{u"ci"_s, u"--duration"_s, u"0s"_s}
                                   << u"error: --duration: invalid duration \"0s\": a token must live longer than 0"_s + fix;
    QTest::addRow("duration-negative") << create + QStringList{u"ci"_s, u"--duration=-1s"_s}
                                       << u"error: --duration: invalid duration \"-1s\": a token's lifetime cannot be negative"_s + fix;
    QTest::addRow("duration-over-a-year") << create + QStringList{u"ci"_s, u"--duration"_s, u"366d"_s}
                                          << u"365d"_s;
    QTest::addRow("token-name-uppercase") << create + QStringList{u"Bad_Name"_s}
                                          << u"invalid token name \"Bad_Name\""_s;
    QTest::addRow("token-name-missing") << create << u"missing token name"_s;
    QTest::addRow("max-enrollments-zero") << create + QStringList{u"ci"_s, u"--max-enrollments"_s, u"0"_s}
                                          << u"--max-enrollments"_s;
    QTest::addRow("bad-label") << create + QStringList{u"ci"_s, u"--label"_s, u"nokey"_s}
                               << u"invalid label"_s;
    QTest::addRow("connect-http-url")
        << QStringList{u"worker"_s, u"connect"_s, u"http://127.0.0.1:1"_s, u"--token"_s,
                       u"ci."_s + QString(64, u'a')}
        << u"orchestrator URL must start with ws:// or wss://"_s;
    QTest::addRow("connect-no-scheme")
        << QStringList{u"worker"_s, u"connect"_s, u"127.0.0.1:9090"_s, u"--token"_s,
                       u"ci."_s + QString(64, u'a')}
        << u"orchestrator URL must start with ws:// or wss://"_s;
    QTest::addRow("connect-no-token") << QStringList{u"worker"_s, u"connect"_s, u"ws://127.0.0.1:1"_s}
                                      << u"missing enrollment token"_s;
    QTest::addRow("unknown-command") << QStringList{u"frobnicate"_s} << u"unknown command"_s;
    QTest::addRow("unknown-option") << QStringList{u"worker"_s, u"list"_s, u"--bogus"_s} << u"bogus"_s;
    QTest::addRow("serve-bad-heartbeat")
        << QStringList{u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--heartbeat-interval"_s, u"5"_s}
        << u"invalid duration \"5\""_s + fix;
}

void tst_AdminCli::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run run = h->cli(arguments);
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
    QVERIFY(run.out.isEmpty());
}

void tst_AdminCli::noOrchestratorConfigured()
{
    QTemporaryDir empty;
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, empty.path());
    const Run run = h->cli({u"worker"_s, u"list"_s}, swampBinary(), env);
    QCOMPARE_EXIT(run, 1);
    QVERIFY2(run.err.contains(u"no orchestrator configured — run 'swamp serve' on this machine or "
                              "pass --server and --admin-token"_s),
             qPrintable(run.describe()));
}

void tst_AdminCli::adminRefuses_data()
{
    QTest::addColumn<QString>("adminToken");
    QTest::addColumn<QString>("message");
    QTest::addRow("wrong-admin-token") << QString(64, u'0') << u"the admin token does not match"_s;
    QTest::addRow("worker-token") << QString() /* filled in below */
                                  << u"worker enrollment token"_s;
}

void tst_AdminCli::adminRefuses()
{
    QFETCH(QString, adminToken);
    QFETCH(QString, message);
    if (adminToken.isEmpty())
        adminToken = h->createToken(u"ci"_s);
    QVERIFY(!adminToken.isEmpty());
    QTemporaryDir empty; // no admin.json to fall back on
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, empty.path());
    const Run run = h->cli({u"worker"_s, u"list"_s, u"--server"_s, h->url(), u"--admin-token"_s,
                            adminToken},
                           swampBinary(), env);
    QCOMPARE_EXIT(run, 1);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
    QVERIFY(!run.out.contains(u"workers"_s));
    QVERIFY(!run.err.contains(adminToken));
    QVERIFY(!h->orchestratorOutput().contains(adminToken.section(u'.', -1)));
}

void tst_AdminCli::adminRefusesMissingToken()
{
    // No Authorization header at all: an error frame, then the unauthorized close.
    ScriptedPeer peer(h->url(), u"/v1/admin"_s);
    QVERIFY(peer.waitClosed(20000));
    QCOMPARE(peer.closeCode, 4401);
    QVERIFY(!peer.frames.isEmpty());
    const QJsonObject error = peer.frames.first();
    QCOMPARE(error.value(u"type"_s).toString(), u"error"_s);
    QCOMPARE(error.value(u"code"_s).toString(), u"unauthorized"_s);
}

void tst_AdminCli::explicitServerAndToken()
{
    QFile file(h->dataDir() + u"/admin.json"_s);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString adminToken = QJsonDocument::fromJson(file.readAll()).object().value(u"adminToken"_s).toString();
    QTemporaryDir empty;
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, empty.path());
    const Run run = h->cli({u"worker"_s, u"list"_s, u"--json"_s, u"--server"_s, h->url(),
                            u"--admin-token"_s, adminToken},
                           swampBinary(), env);
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.json().value(u"count"_s).toInt(), 0);
    // The same through the environment.
    env.insert(u"SWAMP_SERVER"_s, h->url());
    env.insert(u"SWAMP_ADMIN_TOKEN"_s, adminToken);
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"list"_s}, swampBinary(), env), 0);
}

void tst_AdminCli::version()
{
    const Run run = h->cli({u"version"_s});
    QCOMPARE_EXIT(run, 0);
    const QRegularExpressionMatch match =
        QRegularExpression(u"^swamp \\S+ \\(protocol \\d+, schema (\\d+), Qt 6\\.\\d+\\.\\d+\\)\n$"_s)
            .match(run.out);
    QVERIFY2(match.hasMatch(), qPrintable(run.out));
    // The schema it knows is the newest migration it carries (docs/operations.md points here).
    const QStringList migrations =
        QDir(QStringLiteral(SWAMP_SOURCE_DIR "/resources/migrations/sqlite"))
            .entryList({u"*.sql"_s}, QDir::Files, QDir::Name);
    QVERIFY(!migrations.isEmpty());
    QCOMPARE(match.captured(1).toInt(), migrations.last().section(u'_', 0, 0).toInt());
    const Run alt = h->cli({u"version"_s}, altSwampBinary());
    QVERIFY2(alt.out.startsWith(u"swamp 0.0.9-test "_s), qPrintable(alt.out));
    const Run json = h->cli({u"version"_s, u"--json"_s});
    QCOMPARE_EXIT(json, 0);
    QVERIFY(json.json().contains(u"protocol"_s));
    QCOMPARE(json.json().value(u"schema"_s).toInt(), match.captured(1).toInt());
}

QTEST_GUILESS_MAIN(tst_AdminCli)
#include "tst_admin_cli.moc"
