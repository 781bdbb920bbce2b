// `swamp worker prune` end to end, with real processes: a dry run, grace 0s after a kill, the
// freed token enrollment taken by a new machine, connected, busy, draining and resumable workers
// kept; and the usage errors of prune, `serve --retention` and `token create --reason`.
#include "steps/stephelpers.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_Prune : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void pruneLostWorkerFreesItsEnrollment();
    void pruneKeepsLiveAndResumableWorkers();
    void usageErrors_data();
    void usageErrors();

private:
    std::unique_ptr<Harness> h;
};

namespace {
QStringList names(const QJsonArray &workers)
{
    QStringList list;
    for (const QJsonValue &value : workers)
        list << value.toObject().value(u"name"_s).toString();
    return list;
}
} // namespace

void tst_Prune::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_Prune::cleanup()
{
    h.reset();
}

void tst_Prune::pruneLostWorkerFreesItsEnrollment()
{
    QVERIFY(h->startOrchestrator()); // reconnect grace 2s
    const QString solo = h->createToken(u"solo"_s);
    const QString fleet = h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!solo.isEmpty() && !fleet.isEmpty());
    const QString firstMachine = h->newCacheDir();
    Child *gone = h->startEnrolledWorker(solo, firstMachine, u"solo"_s);
    Child *live = h->startEnrolledWorker(fleet, h->newCacheDir());
    QVERIFY(gone && live);
    const QString liveName = Harness::enrolledName(live);
    const QString oldId = h->workerNamed(u"solo"_s).value(u"id"_s).toString();
    QVERIFY(!oldId.isEmpty());

    // The single-use token is bound: another machine is refused.
    const QString secondMachine = h->newCacheDir();
    Child *refused = h->startWorker(solo, secondMachine);
    QVERIFY(refused->waitForExit(20000));
    QCOMPARE(refused->exitCode(), 1);
    QVERIFY2(refused->errContains(u"already bound to another machine"_s),
             qPrintable(refused->describe()));

    gone->signal(SIGKILL);
    QVERIFY(gone->waitForExit(10000));
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"solo"_s), u"lost"_s, 30000);

    // A dry run names it and changes nothing.
    const Run dry = h->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--dry-run"_s});
    QCOMPARE_EXIT(dry, 0);
    QVERIFY2(QRegularExpression(u"^NAME +STATUS +TOKEN +MACHINE +GONE SINCE$"_s,
                                QRegularExpression::MultilineOption)
                 .match(dry.out)
                 .hasMatch(),
             qPrintable(dry.describe()));
    QVERIFY2(QRegularExpression(u"^solo +lost +solo +"_s, QRegularExpression::MultilineOption)
                 .match(dry.out)
                 .hasMatch(),
             qPrintable(dry.describe()));
    QVERIFY2(
        dry.out.contains(
            u"Would prune 1 worker(s) gone for longer than 0s (dry run: nothing was changed)"_s),
        qPrintable(dry.describe()));
    QVERIFY2(!dry.out.contains(liveName), qPrintable(dry.describe()));
    QCOMPARE(h->workerStatus(u"solo"_s), u"lost"_s);
    const QJsonObject dryJson =
        h->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--dry-run"_s, u"--json"_s})
            .json();
    QCOMPARE(dryJson.value(u"dryRun"_s).toBool(), true);
    QCOMPARE(names(dryJson.value(u"workers"_s).toArray()), QStringList{u"solo"_s});

    // Not gone long enough: nothing to do, and the output says what to do next.
    const Run notYet = h->cli({u"worker"_s, u"prune"_s});
    QCOMPARE_EXIT(notYet, 0);
    QVERIFY2(
        notYet.out.contains(
            u"No worker has been disconnected or lost for longer than 24h; nothing to prune. "
            "See every worker with 'swamp worker list --all', or pass a shorter --grace-period."_s),
        qPrintable(notYet.describe()));

    // Pruned: the record goes, the enrollment is free, the live worker stays.
    const Run pruned = h->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--json"_s});
    QCOMPARE_EXIT(pruned, 0);
    const QJsonObject result = pruned.json();
    QCOMPARE(result.value(u"count"_s).toInt(), 1);
    QCOMPARE(result.value(u"dryRun"_s).toBool(), false);
    const QJsonObject removed = result.value(u"workers"_s).toArray().first().toObject();
    QCOMPARE(removed.value(u"name"_s).toString(), u"solo"_s);
    QCOMPARE(removed.value(u"id"_s).toString(), oldId);
    QCOMPARE(removed.value(u"bindingsFreed"_s).toInt(), 1);
    QVERIFY(h->workerNamed(u"solo"_s).isEmpty());
    QCOMPARE(h->workerStatus(liveName), u"idle"_s);
    QVERIFY(live->isRunning());
    QTRY_VERIFY_WITH_TIMEOUT(h->orchestrator()->outContains(u"worker solo pruned (lost since "_s),
                             10000);
    const QJsonObject token = h->tokenNamed(u"solo"_s);
    QCOMPARE(token.value(u"enrollments"_s).toInt(), 0);
    const QJsonArray audit = token.value(u"audit"_s).toArray();
    QCOMPARE(audit.size(), 2);
    QCOMPARE(audit.at(1).toObject().value(u"action"_s).toString(), u"worker.prune"_s);
    QCOMPARE(audit.at(1).toObject().value(u"workerName"_s).toString(), u"solo"_s);
    QCOMPARE(audit.at(1).toObject().value(u"address"_s).toString(), u"127.0.0.1"_s);

    // The token enrolls a new machine now: a new record under the same name.
    Child *replacement = h->startEnrolledWorker(solo, secondMachine, u"solo"_s);
    QVERIFY(replacement);
    const QString newId = h->workerNamed(u"solo"_s).value(u"id"_s).toString();
    QVERIFY(!newId.isEmpty() && newId != oldId);
    // The pruned machine, back, is a new machine to the orchestrator: refused, the token is used.
    Child *back = h->startWorker(solo, firstMachine);
    QVERIFY(back->waitForExit(20000));
    QCOMPARE(back->exitCode(), 1);
    QVERIFY2(back->errContains(u"already bound to another machine"_s),
             qPrintable(back->describe()));
}

void tst_Prune::pruneKeepsLiveAndResumableWorkers()
{
    QVERIFY(h->startOrchestrator(0, {u"--reconnect-grace"_s, u"60s"_s}));
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    QHash<QString, Child *> workers;
    QHash<QString, QString> nameOf;
    QHash<QString, QString> cacheDirOf;
    for (const QString &role :
         {u"idle"_s, u"busy"_s, u"draining"_s, u"resumable"_s, u"stopped"_s}) {
        cacheDirOf.insert(role, h->newCacheDir());
        Child *worker = h->startEnrolledWorker(token, cacheDirOf[role]);
        QVERIFY(worker);
        workers.insert(role, worker);
        nameOf.insert(role, Harness::enrolledName(worker));
    }
    for (const QString &role : {u"busy"_s, u"draining"_s}) {
        const QString step =
            detach(*h, {u"--target"_s, nameOf[role], u"--"_s, u"sleep"_s, u"60"_s});
        QVERIFY(!step.isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(stepState(*h, step), u"running"_s, 30000);
    }
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"drain"_s, nameOf[u"draining"_s]}), 0);
    workers[u"resumable"_s]->signal(SIGKILL); // disconnected, within its 60 s grace
    workers[u"stopped"_s]->signal(SIGTERM);   // a clean goodbye: disconnected for good
    QVERIFY(workers[u"resumable"_s]->waitForExit(10000));
    QVERIFY(workers[u"stopped"_s]->waitForExit(20000));
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(nameOf[u"resumable"_s]), u"disconnected"_s, 10000);
    QCOMPARE(h->workerStatus(nameOf[u"stopped"_s]), u"disconnected"_s);
    const QString stoppedId = h->workerNamed(nameOf[u"stopped"_s]).value(u"id"_s).toString();
    QCOMPARE(h->workerStatus(nameOf[u"busy"_s]), u"busy"_s);
    QCOMPARE(h->workerStatus(nameOf[u"draining"_s]), u"draining"_s);

    const QJsonObject dry =
        h->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--dry-run"_s, u"--json"_s})
            .json();
    QCOMPARE(names(dry.value(u"workers"_s).toArray()), QStringList{nameOf[u"stopped"_s]});
    QCOMPARE(dry.value(u"inReconnectGrace"_s).toInt(), 1);

    const Run pruned = h->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s});
    QCOMPARE_EXIT(pruned, 0);
    QVERIFY2(pruned.out.contains(
                 u"Pruned 1 worker(s) gone for longer than 0s; 1 token enrollment(s) freed."_s),
             qPrintable(pruned.describe()));
    QVERIFY2(pruned.out.contains(
                 u"Kept 1 worker(s) still within their reconnect grace: they may resume."_s),
             qPrintable(pruned.describe()));
    QVERIFY(h->workerNamed(nameOf[u"stopped"_s]).isEmpty());
    QCOMPARE(h->workerStatus(nameOf[u"idle"_s]), u"idle"_s);
    QCOMPARE(h->workerStatus(nameOf[u"busy"_s]), u"busy"_s);
    QCOMPARE(h->workerStatus(nameOf[u"draining"_s]), u"draining"_s);
    QCOMPARE(h->workerStatus(nameOf[u"resumable"_s]), u"disconnected"_s);
    QCOMPARE(h->tokenNamed(u"pool"_s).value(u"enrollments"_s).toInt(), 4);

    // The pruned machine comes back: its token has room, so it enrolls as a new worker record
    // (same machine, so the same name; a new id).
    QVERIFY(h->startEnrolledWorker(token, cacheDirOf[u"stopped"_s], nameOf[u"stopped"_s]));
    const QJsonObject back = h->workerNamed(nameOf[u"stopped"_s]);
    QCOMPARE(back.value(u"status"_s).toString(), u"idle"_s);
    QVERIFY(!stoppedId.isEmpty() && back.value(u"id"_s).toString() != stoppedId);
    QCOMPARE(h->tokenNamed(u"pool"_s).value(u"enrollments"_s).toInt(), 5);
}

void tst_Prune::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::addRow("prune-takes-no-names")
        << QStringList{u"worker"_s, u"prune"_s, u"build-01"_s}
        << u"error: unexpected argument \"build-01\" — prune takes no worker names; use --grace-period"_s;
    QTest::addRow("prune-bad-grace")
        << QStringList{u"worker"_s, u"prune"_s, u"--grace-period"_s, u"5x"_s}
        << u"error: --grace-period: invalid duration \"5x\" — use a number and a unit: 45s, 30m, 24h, 7d, 2w"_s;
    QTest::addRow("prune-negative-grace")
        << QStringList{u"worker"_s, u"prune"_s, u"--grace-period"_s, u"-1s"_s}
        << u"error: --grace-period: invalid duration \"-1s\""_s;
    QTest::addRow("retention-below-a-second")
        << QStringList{u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--retention"_s, u"500ms"_s}
        << u"error: --retention must be at least 1s"_s;
    QTest::addRow("retention-zero")
        << QStringList{u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--retention"_s, u"0s"_s}
        << u"error: --retention: invalid duration \"0s\""_s;
    QTest::addRow("reason-too-long") << QStringList{u"worker"_s, u"token"_s,    u"create"_s,
                                                    u"ci"_s,     u"--reason"_s, QString(501, u'x')}
                                     << u"error: --reason: at most 500 characters"_s;
}

void tst_Prune::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    QVERIFY(h->startOrchestrator());
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->tempPath(u"other-data"_s)); // a serve here must not share
    const Run run =
        arguments.first() == u"serve"_s ? h->cli(arguments, swampBinary(), env) : h->cli(arguments);
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.startsWith(message), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(u"--help' for usage."_s), qPrintable(run.describe()));
    // Nothing happened on the orchestrator.
    QVERIFY(h->tokenNamed(u"ci"_s).isEmpty());
}

QTEST_GUILESS_MAIN(tst_Prune)
#include "tst_prune.moc"
