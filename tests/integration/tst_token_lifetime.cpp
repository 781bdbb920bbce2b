// A token's expiry ends the sessions of its workers (issue 21): `token create` says when they
// stop, `token extend` moves it (audited, the live sessions with it), `token list` warns before,
// the worker says why it stopped, revoked tokens show `revoked`, bad durations name the flag, and
// a worker without --cache-dir gets a fix it can follow for `already bound`.
#include "swampharness.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_TokenLifetime : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void createSaysWhenWorkersStop();
    void extendMovesTheExpiryAndIsAudited();
    void extendRefuses_data();
    void extendRefuses();
    void listShowsRevokedAndWarns();
    void expiredTokenEndsTheSessionAndSaysSo();
    void extendBringsBackADrainingWorker();
    void boundWithoutCacheDirNamesPrune();

private:
    QStringList extend(const QString &name, const QString &duration)
    {
        return {u"worker"_s, u"token"_s, u"extend"_s, name, u"--duration"_s, duration};
    }
    std::unique_ptr<Harness> h;
};

void tst_TokenLifetime::init()
{
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_TokenLifetime::cleanup()
{
    h.reset();
}

void tst_TokenLifetime::createSaysWhenWorkersStop()
{
    const Run run = h->cli({u"worker"_s, u"token"_s, u"create"_s, u"ci"_s});
    QCOMPARE_EXIT(run, 0);
    static const QRegularExpression stop(
        u"Its expiry ends their sessions too: workers enrolled with it stop at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z "
        "\\(in 2[34]h\\); move it later with 'swamp worker token extend ci --duration 30d'\\."_s);
    QVERIFY2(stop.match(run.err).hasMatch(), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(u"Connect a worker: swamp worker connect %1 --token <token> --cache-dir"_s.arg(h->url())),
             qPrintable(run.describe()));
    const Run help = h->cli({u"worker"_s, u"token"_s, u"create"_s, u"--help"_s});
    QCOMPARE_EXIT(help, 0);
    QVERIFY2(help.out.simplified().contains(u"the workers enrolled with the token stop too"_s), qPrintable(help.out));
}

void tst_TokenLifetime::extendMovesTheExpiryAndIsAudited()
{
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    const Run run = h->cli(extend(u"ci"_s, u"30d"_s) + QStringList{u"--reason"_s, u"fleet stays, OPS-7"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.out.startsWith(u"Extended enrollment token 'ci': expires "_s), qPrintable(run.describe()));
    QVERIFY2(run.out.contains(u"(in 29d)"_s) || run.out.contains(u"(in 30d)"_s), qPrintable(run.describe()));
    QVERIFY2(run.out.contains(u"No worker is connected on it."_s), qPrintable(run.describe()));

    const Run list = h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(list, 0);
    const QJsonObject token = list.jsonArray().at(0).toObject();
    const QDateTime expires = QDateTime::fromString(token.value(u"expiresAt"_s).toString(), Qt::ISODateWithMs);
    const qint64 left = QDateTime::currentDateTimeUtc().msecsTo(expires);
    QVERIFY2(left > 29LL * 24 * 3600 * 1000 && left <= 30LL * 24 * 3600 * 1000, qPrintable(list.out));
    bool audited = false;
    for (const QJsonValue &entry : token.value(u"audit"_s).toArray()) {
        const QJsonObject e = entry.toObject();
        audited = audited || (e.value(u"action"_s) == u"token.extend"_s && e.value(u"reason"_s) == u"fleet stays, OPS-7"_s);
    }
    QVERIFY2(audited, qPrintable(list.out));
    QTRY_VERIFY_WITH_TIMEOUT(h->orchestrator()->outContains(u"enrollment token 'ci' extended: expires "_s), 10000);
}

void tst_TokenLifetime::extendRefuses_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    const QString form = u" — use a number and a unit: 45s, 30m, 24h, 7d, 2w (from 1s to 365d)"_s;
    QTest::addRow("unknown") << extend(u"nosuch"_s, u"30d"_s) << 1
                             << u"enrollment token 'nosuch' not found — see 'swamp worker token list'"_s;
    QTest::addRow("revoked") << extend(u"gone"_s, u"30d"_s) << 1
                             << u"cannot be extended — create a new token with 'swamp worker token create gone'"_s;
    QTest::addRow("zero") << extend(u"ci"_s, u"0s"_s) << 2
                          << u"--duration: invalid duration \"0s\": a token must live longer than 0"_s + form;
    QTest::addRow("negative") << extend(u"ci"_s, u"-5m"_s) << 2
                              << u"--duration: invalid duration \"-5m\": a token's lifetime cannot be negative"_s + form;
    QTest::addRow("garbage") << extend(u"ci"_s, u"soon"_s) << 2 << u"--duration: invalid duration \"soon\""_s + form;
    QTest::addRow("over-a-year") << extend(u"ci"_s, u"53w"_s) << 2
                                 << u"--duration: invalid duration \"53w\": a token lives at most 365d"_s;
    QTest::addRow("overflow") << extend(u"ci"_s, u"999999999999999999999d"_s) << 2 << u"--duration: invalid duration"_s;
    QTest::addRow("missing-duration") << QStringList{u"worker"_s, u"token"_s, u"extend"_s, u"ci"_s} << 2
                                      << u"missing --duration"_s;
    QTest::addRow("name-upper-case") << extend(u"Bad_Name"_s, u"1d"_s) << 2 << u"invalid token name"_s;
    QTest::addRow("name-path") << extend(u"../ci"_s, u"1d"_s) << 2 << u"invalid token name"_s;
    QTest::addRow("name-newline") << extend(u"ci\nx"_s, u"1d"_s) << 2 << u"invalid token name"_s;
    QTest::addRow("name-huge") << extend(QString(5000, u'a'), u"1d"_s) << 2 << u"invalid token name"_s;
    QTest::addRow("create-zero") << QStringList{u"worker"_s, u"token"_s, u"create"_s, u"x"_s, u"--duration"_s, u"0s"_s}
                                 << 2 << u"--duration: invalid duration \"0s\": a token must live longer than 0"_s + form;
}

void tst_TokenLifetime::extendRefuses()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    QVERIFY(!h->createToken(u"gone"_s).isEmpty());
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"gone"_s}), 0);
    const QString before = h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s}).out;
    const Run run = h->cli(arguments);
    QCOMPARE_EXIT(run, exitCode);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
    QVERIFY(run.out.isEmpty());
    // Nothing changed.
    QCOMPARE(h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s}).out, before);
}

void tst_TokenLifetime::listShowsRevokedAndWarns()
{
    QVERIFY(!h->createToken(u"gone"_s).isEmpty());
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"gone"_s}), 0);
    const QString token = h->createToken(u"daily"_s);
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), u"daily"_s));

    const Run list = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QCOMPARE_EXIT(list, 0);
    const QStringList lines = list.outLines();
    bool revokedRow = false;
    for (const QString &line : lines) {
        if (line.startsWith(u"gone "_s)) {
            revokedRow = true;
            QVERIFY2(line.contains(u"revoked just now"_s) || line.contains(u"ago"_s), qPrintable(line));
            QVERIFY2(!line.contains(u" in "_s), qPrintable(line));
        }
    }
    QVERIFY2(revokedRow, qPrintable(list.describe()));
    // A default token with a connected worker stops it within a day: said on stderr.
    QVERIFY2(list.err.contains(u"warning: token 'daily' expires in 23h ("_s), qPrintable(list.describe()));
    QVERIFY2(list.err.contains(u"its 1 connected worker(s) stop then — extend it with 'swamp worker token "
                               "extend daily --duration 30d'"_s),
             qPrintable(list.describe()));
    QVERIFY2(!list.err.contains(u"'gone'"_s), qPrintable(list.describe()));

    QCOMPARE_EXIT(h->cli(extend(u"daily"_s, u"30d"_s)), 0);
    const Run after = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QCOMPARE_EXIT(after, 0);
    QVERIFY2(!after.err.contains(u"warning"_s), qPrintable(after.describe()));
}

void tst_TokenLifetime::expiredTokenEndsTheSessionAndSaysSo()
{
    const QString token = h->createToken(u"brief"_s, {u"--duration"_s, u"3s"_s});
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"brief"_s);
    QVERIFY(worker);
    QVERIFY2(worker->waitForExit(30000), qPrintable(worker->describe()));
    QCOMPARE(worker->exitCode(), 1);
    static const QRegularExpression said(
        u"token 'brief' expired at \\S+Z and ended this worker's session — ask for a new token \\('swamp "
        "worker token create'\\), or extend this one: swamp worker token extend brief --duration 30d"_s);
    QVERIFY2(said.match(worker->err()).hasMatch(), qPrintable(worker->describe()));
    QVERIFY2(!worker->err().contains(u"enrollment failed"_s), qPrintable(worker->describe()));
}

void tst_TokenLifetime::extendBringsBackADrainingWorker()
{
    const QString token = h->createToken(u"short"_s, {u"--duration"_s, u"6s"_s});
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"short"_s);
    QVERIFY(worker);
    // A running step keeps the expired worker draining instead of gone.
    const Run submitted = h->cli({u"run"_s, u"--detach"_s, u"--target"_s, u"short"_s, u"--"_s, u"sleep"_s, u"120"_s});
    QCOMPARE_EXIT(submitted, 0);
    QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"draining: enrollment token 'short' has expired"_s), 30000);
    const Run run = h->cli(extend(u"short"_s, u"1d"_s));
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.out.contains(u"1 connected worker(s) now stop at "_s), qPrintable(run.describe()));
    QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"undrained: taking steps again"_s), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(h->workerStatus(u"short"_s) == u"busy"_s || h->workerStatus(u"short"_s) == u"idle"_s, 10000);
    QVERIFY(worker->isRunning());
}

void tst_TokenLifetime::boundWithoutCacheDirNamesPrune()
{
    const QString token = h->createToken(u"one"_s);
    Child *first = h->startEnrolledWorker(token, h->newCacheDir(), u"one"_s);
    QVERIFY(first);
    first->signal(SIGTERM);
    QVERIFY(first->waitForExit(20000));
    // Restarted without --cache-dir: a new machine, and no cache dir to restore.
    Child *again = h->startWorker(token, QString());
    QVERIFY(again->waitForExit(30000));
    QCOMPARE(again->exitCode(), 1);
    QVERIFY2(again->err().contains(u"enrollment failed: enrollment token 'one' is already bound to another machine (1/1 "
                                "enrollments used) — this worker runs without --cache-dir, so each start is a new "
                                "machine: free the old enrollment with 'swamp worker prune'"_s),
             qPrintable(again->describe()));
    QVERIFY2(again->err().contains(u"use a new token ('swamp worker token create')"_s), qPrintable(again->describe()));
    // With a cache dir of its own the original advice stands.
    Child *other = h->startWorker(token, h->newCacheDir());
    QVERIFY(other->waitForExit(30000));
    QVERIFY2(other->err().contains(u"use a new token, or restore the original --cache-dir"_s), qPrintable(other->describe()));
}

QTEST_GUILESS_MAIN(tst_TokenLifetime)
#include "tst_token_lifetime.moc"
