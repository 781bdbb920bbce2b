// One worker at a time, as peers' users expect (issue 21): `swamp worker show NAME`,
// `swamp worker list --label k=v --status S`, pause/resume, `worker label`, `worker remove`, and
// command and option typos, against the real binaries; hostile names and labels are refused or
// shown escaped.
#include "swampharness.h"

#include "client/adminclient.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_WorkerAdmin : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void showOneWorker();
    void showUnknownAndHostileNames_data();
    void showUnknownAndHostileNames();
    void listFilters();
    void listFilterMistakes_data();
    void listFilterMistakes();
    void pauseKeepsItConnectedWithoutNewSteps();
    void pauseMistakes();
    void labelAfterEnrollment();
    void labelMistakes_data();
    void labelMistakes();
    void labelWireMistakes_data();
    void labelWireMistakes();
    void removeLiveWorker();
    void removeGoneWorkerAndMistakes();
    void removeWorkerWithinItsGrace();
    void commandTyposSuggest_data();
    void commandTyposSuggest();
    void unknownOptionNamesItAndHelp();

private:
    // Names in a `worker list --json` answer.
    static QStringList names(const Run &run)
    {
        QStringList list;
        for (const QJsonValue &w : run.json().value(u"workers"_s).toArray())
            list << w.toObject().value(u"name"_s).toString();
        list.sort();
        return list;
    }
    QString startNamed(const QString &token, const QString &name, const QStringList &labels)
    {
        QStringList extra{u"--name"_s, name};
        for (const QString &label : labels)
            extra << u"--label"_s << label;
        Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), name, extra);
        return worker ? name : QString();
    }

    QJsonObject stepOf(const QString &stepId)
    {
        const QJsonArray steps = h->cli({u"run"_s, u"status"_s, stepId, u"--json"_s}).json().value(u"steps"_s).toArray();
        return steps.isEmpty() ? QJsonObject() : steps.first().toObject();
    }
    QJsonObject shownWorker(const QString &name)
    {
        return h->cli({u"worker"_s, u"show"_s, name, u"--json"_s}).json().value(u"worker"_s).toObject();
    }
    QStringList auditActions(const QString &workerName)
    {
        const QJsonArray audit =
            h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/audit-event\" && attributes.workerName == \"%1\""_s.arg(workerName),
                    u"--json"_s})
                .json()
                .value(u"results"_s)
                .toArray();
        QStringList actions;
        for (const QJsonValue &entry : audit)
            actions << entry.toObject().value(u"attributes"_s).toObject().value(u"action"_s).toString();
        return actions;
    }
    static QJsonObject labelsOf(const QJsonObject &worker) { return worker.value(u"labels"_s).toObject(); }

    std::unique_ptr<Harness> h;
    QString m_token;
};

void tst_WorkerAdmin::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
    m_token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!m_token.isEmpty());
}

void tst_WorkerAdmin::cleanup()
{
    h.reset();
}

void tst_WorkerAdmin::showOneWorker()
{
    QCOMPARE(startNamed(m_token, u"gpu-01"_s, {u"region=eu"_s}), u"gpu-01"_s);
    const Run shown = h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s});
    QCOMPARE_EXIT(shown, 0);
    for (const QString &line : {u"Name:"_s, u"gpu-01"_s, u"Status:"_s, u"idle"_s, u"Slots:"_s, u"0/1 in use"_s,
                                u"Labels:"_s, u"region=eu"_s, u"Token:"_s, u"pool (enrolled, expires in "_s,
                                u"Steps running: none"_s, u"Recent events:"_s, u"worker.enrolled"_s}) {
        QVERIFY2(shown.out.contains(line), qPrintable(line + u"\n"_s + shown.describe()));
    }
    QVERIFY2(!shown.out.contains(u"Orchestrator:"_s), qPrintable(shown.out)); // alone, not a fleet

    // A step it runs: shown with its lease, in the table and in --json.
    const Run submitted = h->cli({u"run"_s, u"--detach"_s, u"--"_s, u"sleep"_s, u"60"_s});
    QCOMPARE_EXIT(submitted, 0);
    const QString stepId = submitted.outLines().value(0);
    QVERIFY(!stepId.isEmpty());
    QJsonObject json;
    QTRY_VERIFY_WITH_TIMEOUT((json = h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s, u"--json"_s}).json(),
                              json.value(u"steps"_s).toArray().size() == 1),
                             30000);
    QCOMPARE(json.value(u"worker"_s).toObject().value(u"name"_s).toString(), u"gpu-01"_s);
    QCOMPARE(json.value(u"steps"_s).toArray().first().toObject().value(u"id"_s).toString(), stepId);
    QCOMPARE(json.value(u"leases"_s).toArray().size(), 1);
    QCOMPARE(json.value(u"leases"_s).toArray().first().toObject().value(u"stepId"_s).toString(), stepId);
    QCOMPARE(json.value(u"token"_s).toObject().value(u"name"_s).toString(), u"pool"_s);
    QCOMPARE(json.value(u"fleet"_s).toBool(), false);
    bool enrolled = false;
    for (const QJsonValue &event : json.value(u"events"_s).toArray())
        enrolled |= event.toObject().value(u"kind"_s).toString() == u"worker.enrolled"_s;
    QVERIFY2(enrolled, qPrintable(QString::fromUtf8(QJsonDocument(json).toJson())));
    const Run busy = h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s});
    QVERIFY2(busy.out.contains(stepId) && busy.out.contains(u"Steps running (1 lease(s)):"_s), qPrintable(busy.describe()));
    QCOMPARE_EXIT(h->cli({u"run"_s, u"cancel"_s, stepId}), 0);
    // By id too.
    const QString id = json.value(u"worker"_s).toObject().value(u"id"_s).toString();
    QCOMPARE(h->cli({u"worker"_s, u"show"_s, id, u"--json"_s}).json().value(u"worker"_s).toObject().value(u"name"_s).toString(),
             u"gpu-01"_s);
}

void tst_WorkerAdmin::showUnknownAndHostileNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("unknown") << u"nope"_s;
    QTest::newRow("space") << u"gpu 01"_s;
    QTest::newRow("newline") << u"gpu\nforged line"_s;
    QTest::newRow("ansi") << u"\x1b[31mred"_s;
    QTest::newRow("10k") << QString(10000, u'g');
}

void tst_WorkerAdmin::showUnknownAndHostileNames()
{
    QFETCH(QString, name);
    const Run shown = h->cli({u"worker"_s, u"show"_s, name});
    QCOMPARE_EXIT(shown, 1);
    QVERIFY2(shown.err.contains(u"no worker named '"_s), qPrintable(shown.describe()));
    QVERIFY2(shown.err.contains(u"swamp worker list --all"_s), qPrintable(shown.describe()));
    QVERIFY2(!shown.err.contains(QChar(0x1b)), qPrintable(shown.describe()));
    QVERIFY2(!shown.err.contains(u"\nforged"_s), qPrintable(shown.describe()));
    QVERIFY2(shown.err.size() < 1000, qPrintable(shown.describe()));
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"show"_s}), 2);
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"show"_s, u"a"_s, u"b"_s}), 2);
}

void tst_WorkerAdmin::listFilters()
{
    QVERIFY(!startNamed(m_token, u"eu-gpu"_s, {u"region=eu"_s, u"gpu=a100"_s}).isEmpty());
    QVERIFY(!startNamed(m_token, u"eu-cpu"_s, {u"region=eu"_s}).isEmpty());
    QVERIFY(!startNamed(m_token, u"us-gpu"_s, {u"region=us"_s, u"gpu=a100"_s}).isEmpty());
    const auto list = [&](const QStringList &filters) {
        return h->cli(QStringList{u"worker"_s, u"list"_s, u"--json"_s} + filters);
    };
    QCOMPARE(names(list({u"--label"_s, u"region=eu"_s})), (QStringList{u"eu-cpu"_s, u"eu-gpu"_s}));
    QCOMPARE(names(list({u"--label"_s, u"region=eu"_s, u"--label"_s, u"gpu=a100"_s})), QStringList{u"eu-gpu"_s});
    QCOMPARE(names(list({u"--label"_s, u"region=eu,gpu=a100"_s})), QStringList{u"eu-gpu"_s});
    QCOMPARE(names(list({u"--label"_s, u"gpu=a100"_s, u"--status"_s, u"idle"_s})), (QStringList{u"eu-gpu"_s, u"us-gpu"_s}));
    QCOMPARE(names(list({u"--status"_s, u"busy"_s})), QStringList{});
    const Run none = h->cli({u"worker"_s, u"list"_s, u"--label"_s, u"region=mars"_s});
    QCOMPARE_EXIT(none, 0);
    QVERIFY2(none.out.contains(u"No workers match the filters."_s), qPrintable(none.describe()));
    const Run table = h->cli({u"worker"_s, u"list"_s, u"--label"_s, u"region=us"_s});
    QVERIFY2(table.out.contains(u"us-gpu"_s) && !table.out.contains(u"eu-"_s), qPrintable(table.describe()));

    // A status filter shows disconnected workers without --all.
    const Run drained = h->cli({u"worker"_s, u"drain"_s, u"us-gpu"_s});
    QCOMPARE_EXIT(drained, 0);
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"us-gpu"_s), u"disconnected"_s, 30000);
    QCOMPARE(names(list({u"--status"_s, u"disconnected"_s})), QStringList{u"us-gpu"_s});
    QCOMPARE(names(list({u"--label"_s, u"gpu=a100"_s})), QStringList{u"eu-gpu"_s});
    QCOMPARE(names(list({u"--label"_s, u"gpu=a100"_s, u"--all"_s})), (QStringList{u"eu-gpu"_s, u"us-gpu"_s}));
}

void tst_WorkerAdmin::listFilterMistakes_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no key") << QStringList{u"--label"_s, u"=v"_s} << u"--label: invalid label \"=v\""_s;
    QTest::newRow("no value") << QStringList{u"--label"_s, u"k="_s} << u"--label: k= has no value — write --label k=<value>"_s;
    QTest::newRow("no equals") << QStringList{u"--label"_s, u"region"_s} << u"invalid label \"region\""_s;
    QTest::newRow("key twice") << QStringList{u"--label"_s, u"a=1"_s, u"--label"_s, u"a=2"_s}
                               << u"label \"a\" is given twice (a=1 and a=2)"_s;
    QTest::newRow("ansi key") << QStringList{u"--label"_s, u"\x1b[31m=v"_s} << u"invalid label"_s;
    QTest::newRow("10k value") << QStringList{u"--label"_s, u"k="_s + QString(10000, u'v')} << u"invalid value for label \"k\""_s;
    QTest::newRow("status") << QStringList{u"--status"_s, u"sleeping"_s}
                            << u"--status: unknown worker status \"sleeping\" — use one of idle, busy, draining, disconnected, lost"_s;
    QTest::newRow("empty status") << QStringList{u"--status"_s, QString()} << u"unknown worker status \"\""_s;
    QTest::newRow("ansi status") << QStringList{u"--status"_s, u"\x1b[2J"_s} << u"unknown worker status"_s;
}

void tst_WorkerAdmin::listFilterMistakes()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);
    const Run run = h->cli(QStringList{u"worker"_s, u"list"_s} + arguments);
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(expected), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(u"swamp worker list --help"_s), qPrintable(run.describe()));
    QVERIFY2(!run.err.contains(QChar(0x1b)), qPrintable(run.describe()));
    QVERIFY2(run.err.size() < 1000, qPrintable(run.describe()));
}

void tst_WorkerAdmin::pauseKeepsItConnectedWithoutNewSteps()
{
    const QString cacheDir = h->newCacheDir();
    Child *worker = h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, {u"--name"_s, u"gpu-01"_s});
    QVERIFY(worker);
    const Run paused = h->cli({u"worker"_s, u"pause"_s, u"gpu-01"_s, u"--reason"_s, u"driver update"_s});
    QCOMPARE_EXIT(paused, 0);
    QVERIFY2(paused.out.contains(u"Paused gpu-01: it takes no new steps and stays connected"_s), qPrintable(paused.describe()));
    QVERIFY(shownWorker(u"gpu-01"_s).value(u"paused"_s).toBool());
    QCOMPARE(h->workerStatus(u"gpu-01"_s), u"idle"_s); // connected: a flag beside the status
    const Run table = h->cli({u"worker"_s, u"list"_s});
    QVERIFY2(table.out.contains(QRegularExpression(u"gpu-01 +paused "_s)), qPrintable(table.describe()));
    const Run again = h->cli({u"worker"_s, u"pause"_s, u"gpu-01"_s});
    QVERIFY2(again.exitCode == 0 && again.out.contains(u"gpu-01 was already paused"_s), qPrintable(again.describe()));

    // A step only it could run is not given to it: it waits until its queue timeout.
    const Run waiting = h->cli({u"run"_s, u"--detach"_s, u"--queue-timeout"_s, u"2s"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(waiting, 0);
    const QString waitingId = waiting.outLines().value(0);
    // One that waits longer says why, as for a draining worker, and runs once it is resumed.
    const Run patient = h->cli({u"run"_s, u"--detach"_s, u"--queue-timeout"_s, u"10m"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(patient, 0);
    const QString patientId = patient.outLines().value(0);
    const Run why = h->cli({u"run"_s, u"status"_s, patientId});
    QVERIFY2(why.out.contains(u"waits: every worker with any worker is paused (gpu-01); 'swamp worker resume NAME' lets it "
                              u"take steps again"_s),
             qPrintable(why.describe()));
    QCOMPARE(stepOf(patientId).value(u"waitReason"_s).toObject().value(u"code"_s).toString(), u"paused"_s);
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(waitingId).value(u"state"_s).toString(), u"timed_out"_s, 30000);
    QVERIFY(stepOf(waitingId).value(u"workerName"_s).toString().isEmpty());
    QVERIFY2(worker->isRunning() && !worker->outContains(u"step started"_s), qPrintable(worker->describe()));

    // Paused survives the worker's restart (the record's flag, not the session's).
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    worker = h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, {u"--name"_s, u"gpu-01"_s});
    QVERIFY(worker);
    QVERIFY(shownWorker(u"gpu-01"_s).value(u"paused"_s).toBool());

    const Run resumed = h->cli({u"worker"_s, u"resume"_s, u"gpu-01"_s});
    QCOMPARE_EXIT(resumed, 0);
    QVERIFY2(resumed.out.contains(u"gpu-01 takes steps again."_s), qPrintable(resumed.describe()));
    QVERIFY(!shownWorker(u"gpu-01"_s).value(u"paused"_s).toBool());
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(patientId).value(u"state"_s).toString(), u"succeeded"_s, 30000);
    const Run ran = h->cli({u"run"_s, u"--"_s, u"echo"_s, u"after-resume"_s});
    QCOMPARE_EXIT(ran, 0);
    QVERIFY2(ran.out.contains(u"after-resume"_s), qPrintable(ran.describe()));

    // Audited (who, when, why) and in the worker's events.
    const QJsonArray audit = h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/audit-event\" && attributes.workerName == \"gpu-01\""_s,
                                     u"--json"_s})
                                 .json()
                                 .value(u"results"_s)
                                 .toArray();
    QStringList actions;
    for (const QJsonValue &entry : audit)
        actions << entry.toObject().value(u"attributes"_s).toObject().value(u"action"_s).toString();
    QCOMPARE(actions, (QStringList{u"worker.pause"_s, u"worker.resume"_s}));
    QCOMPARE(audit.first().toObject().value(u"attributes"_s).toObject().value(u"reason"_s).toString(), u"driver update"_s);
    const Run shown = h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s});
    QVERIFY2(shown.out.contains(u"worker gpu-01 paused by an operator: it takes no new steps (driver update)"_s),
             qPrintable(shown.describe()));
    QVERIFY2(shown.out.contains(u"worker.resumed"_s), qPrintable(shown.describe()));
}

void tst_WorkerAdmin::pauseMistakes()
{
    for (const QString &verb : {u"pause"_s, u"resume"_s}) {
        const Run unknown = h->cli({u"worker"_s, verb, u"\x1b[31mnope\nforged"_s});
        QCOMPARE_EXIT(unknown, 1);
        QVERIFY2(unknown.err.contains(u"no worker named '"_s) && !unknown.err.contains(QChar(0x1b))
                     && !unknown.err.contains(u"\nforged"_s),
                 qPrintable(unknown.describe()));
        QCOMPARE_EXIT(h->cli({u"worker"_s, verb}), 2);
    }
    QVERIFY(h->startEnrolledWorker(m_token, h->newCacheDir(), u"w1"_s, {u"--name"_s, u"w1"_s}));
    const Run longReason = h->cli({u"worker"_s, u"pause"_s, u"w1"_s, u"--reason"_s, QString(10000, u'r')});
    QCOMPARE_EXIT(longReason, 2);
    QVERIFY2(longReason.err.contains(u"--reason: at most"_s) && longReason.err.size() < 1000, qPrintable(longReason.describe()));
    QVERIFY(!shownWorker(u"w1"_s).value(u"paused"_s).toBool()); // nothing changed
    // A reason with control characters is kept, and shown escaped.
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"pause"_s, u"w1"_s, u"--reason"_s, u"a\x1b[2Jb\nforged"_s}), 0);
    const Run shown = h->cli({u"worker"_s, u"show"_s, u"w1"_s});
    QVERIFY2(shown.out.contains(u"worker.paused"_s) && !shown.out.contains(QChar(0x1b)) && !shown.out.contains(u"\nforged"_s),
             qPrintable(shown.describe()));
}

void tst_WorkerAdmin::labelAfterEnrollment()
{
    const QString cacheDir = h->newCacheDir();
    const QStringList own{u"--name"_s, u"gpu-01"_s, u"--label"_s, u"region=eu"_s, u"--label"_s, u"gpu=a100"_s};
    Child *worker = h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, own);
    QVERIFY(worker);
    // A step for region=mars waits: no worker has it.
    const Run mars = h->cli({u"run"_s, u"--detach"_s, u"--label"_s, u"region=mars"_s, u"--"_s, u"echo"_s, u"on-mars"_s});
    QCOMPARE_EXIT(mars, 0);
    const QString marsId = mars.outLines().value(0);
    QCOMPARE(stepOf(marsId).value(u"waitReason"_s).toObject().value(u"code"_s).toString(), u"no_match"_s);

    // Labelled so, the idle worker takes it at once.
    const Run labelled = h->cli({u"worker"_s, u"label"_s, u"gpu-01"_s, u"region=mars"_s, u"--reason"_s, u"moved racks"_s});
    QCOMPARE_EXIT(labelled, 0);
    QVERIFY2(labelled.out.contains(u"gpu-01 labels: gpu=a100, region=mars (by an operator: set region=mars)"_s),
             qPrintable(labelled.describe()));
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(marsId).value(u"state"_s).toString(), u"succeeded"_s, 30000);
    QCOMPARE(stepOf(marsId).value(u"workerName"_s).toString(), u"gpu-01"_s);
    QCOMPARE(names(h->cli({u"worker"_s, u"list"_s, u"--label"_s, u"region=mars"_s, u"--json"_s})), QStringList{u"gpu-01"_s});

    // A key removed; the record says what the operator set and removed.
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"label"_s, u"gpu-01"_s, u"--remove"_s, u"gpu"_s}), 0);
    QJsonObject shown = shownWorker(u"gpu-01"_s);
    QCOMPARE(labelsOf(shown), (QJsonObject{{u"region"_s, u"mars"_s}}));
    QCOMPARE(shown.value(u"operatorLabels"_s).toObject(), (QJsonObject{{u"region"_s, u"mars"_s}, {u"gpu"_s, QJsonValue::Null}}));
    const Run table = h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s});
    QVERIFY2(table.out.contains(u"region=mars (by an operator: set region=mars; removed gpu)"_s), qPrintable(table.describe()));
    QVERIFY2(table.out.contains(u"worker gpu-01 labelled by an operator: region=mars (moved racks)"_s), qPrintable(table.describe()));
    QVERIFY2(table.out.contains(u"worker gpu-01 labelled by an operator: removed gpu"_s), qPrintable(table.describe()));

    // The worker enrolls again with its old --label and a new one: the operator's record wins for
    // its keys, the new key is the worker's.
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    QVERIFY(h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, own + QStringList{u"--label"_s, u"tier=1"_s}));
    shown = shownWorker(u"gpu-01"_s);
    QCOMPARE(labelsOf(shown), (QJsonObject{{u"region"_s, u"mars"_s}, {u"tier"_s, u"1"_s}}));

    // The same again changes nothing and is not audited twice.
    const Run again = h->cli({u"worker"_s, u"label"_s, u"gpu-01"_s, u"region=mars"_s});
    QCOMPARE_EXIT(again, 0);
    QVERIFY2(again.out.contains(u"gpu-01 already had those labels: region=mars, tier=1"_s), qPrintable(again.describe()));
    QCOMPARE(auditActions(u"gpu-01"_s), (QStringList{u"worker.label"_s, u"worker.label"_s}));
    // Set and remove in one go, as k=v,k=v too, with --json.
    const QJsonObject json = h->cli({u"worker"_s, u"label"_s, u"gpu-01"_s, u"pool=ci,rack=7"_s, u"--remove"_s, u"tier"_s,
                                     u"--json"_s})
                                 .json();
    QVERIFY(json.value(u"changed"_s).toBool());
    QCOMPARE(labelsOf(json.value(u"worker"_s).toObject()),
             (QJsonObject{{u"pool"_s, u"ci"_s}, {u"rack"_s, u"7"_s}, {u"region"_s, u"mars"_s}}));
}

void tst_WorkerAdmin::labelMistakes_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no key") << QStringList{u"w1"_s, u"=v"_s} << 2 << u"invalid label \"=v\""_s;
    QTest::newRow("no value") << QStringList{u"w1"_s, u"k="_s} << 2 << u"k= has no value — write k=<value>"_s;
    QTest::newRow("key twice") << QStringList{u"w1"_s, u"a=1"_s, u"a=2"_s} << 2 << u"label \"a\" is given twice (a=1 and a=2)"_s;
    QTest::newRow("10k value") << QStringList{u"w1"_s, u"k="_s + QString(10000, u'v')} << 2 << u"invalid value for label \"k\""_s;
    QTest::newRow("10k key") << QStringList{u"w1"_s, QString(10000, u'k') + u"=v"_s} << 2 << u"invalid label key"_s;
    QTest::newRow("newline value") << QStringList{u"w1"_s, u"k=a\nforged"_s} << 2 << u"invalid value for label \"k\""_s;
    QTest::newRow("ansi key") << QStringList{u"w1"_s, u"\x1b[31m=v"_s} << 2 << u"invalid label"_s;
    QTest::newRow("ansi remove") << QStringList{u"w1"_s, u"--remove"_s, u"\x1b[2J"_s} << 2 << u"--remove: invalid label key"_s;
    QTest::newRow("set and removed") << QStringList{u"w1"_s, u"a=1"_s, u"--remove"_s, u"a"_s} << 2
                                     << u"label \"a\" is both set and removed — give each key once"_s;
    QTest::newRow("nothing") << QStringList{u"w1"_s} << 2 << u"no label to set or remove"_s;
    QTest::newRow("no name") << QStringList{} << 2 << u"name one worker"_s;
    QTest::newRow("unknown worker") << QStringList{u"w2"_s, u"a=1"_s} << 1 << u"no worker named 'w2' — did you mean 'w1'?"_s;
    QTest::newRow("hostile worker") << QStringList{u"\x1b[31mw1\nforged"_s, u"a=1"_s} << 1 << u"no worker named '"_s;
    QTest::newRow("not there") << QStringList{u"w1"_s, u"--remove"_s, u"regoin"_s} << 1
                               << u"worker w1 has no label \"regoin\" — did you mean \"region\"? Its labels: region=eu"_s;
    QTest::newRow("long reason") << QStringList{u"w1"_s, u"a=1"_s, u"--reason"_s, QString(10000, u'r')} << 2 << u"--reason: at most"_s;
}

void tst_WorkerAdmin::labelMistakes()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QString, expected);
    QVERIFY(h->startEnrolledWorker(m_token, h->newCacheDir(), u"w1"_s, {u"--name"_s, u"w1"_s, u"--label"_s, u"region=eu"_s}));
    const Run run = h->cli(QStringList{u"worker"_s, u"label"_s} + arguments);
    QCOMPARE_EXIT(run, exitCode);
    QVERIFY2(run.err.contains(expected), qPrintable(run.describe()));
    QVERIFY2(!run.err.contains(QChar(0x1b)) && !run.err.contains(u"\nforged"_s), qPrintable(run.describe()));
    QVERIFY2(run.err.size() < 1000, qPrintable(run.describe()));
    // Nothing changed, nothing audited.
    QCOMPARE(labelsOf(shownWorker(u"w1"_s)), (QJsonObject{{u"region"_s, u"eu"_s}}));
    QCOMPARE(auditActions(u"w1"_s), QStringList{});
}

// What the console (or any client) may send that the CLI never does: refused by the orchestrator
// with the same errors, nothing changed.
void tst_WorkerAdmin::labelWireMistakes_data()
{
    QTest::addColumn<QJsonObject>("params");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("message");
    const QJsonObject w1{{u"name"_s, u"w1"_s}};
    const auto with = [&](const QJsonObject &more) {
        QJsonObject params = w1;
        for (auto it = more.begin(); it != more.end(); ++it)
            params.insert(it.key(), it.value());
        return params;
    };
    QJsonObject many;
    for (int i = 0; i < 65; ++i)
        many.insert(u"k%1"_s.arg(i), u"v"_s);
    QTest::newRow("empty value") << with({{u"set"_s, QJsonObject{{u"k"_s, u""_s}}}}) << u"invalid_label"_s << u"k= has no value"_s;
    QTest::newRow("number value") << with({{u"set"_s, QJsonObject{{u"k"_s, 5}}}}) << u"invalid_label"_s
                                  << u"the value of label \"k\" must be a string"_s;
    QTest::newRow("set not object") << with({{u"set"_s, u"k=v"_s}}) << u"invalid_label"_s << u"labels must be an object"_s;
    QTest::newRow("remove not array") << with({{u"remove"_s, u"gpu"_s}}) << u"invalid_label"_s
                                      << u"\"remove\" must be an array of label keys"_s;
    QTest::newRow("remove number") << with({{u"remove"_s, QJsonArray{5}}}) << u"invalid_label"_s
                                   << u"\"remove\" must be an array of label keys"_s;
    QTest::newRow("both") << with({{u"set"_s, QJsonObject{{u"a"_s, u"1"_s}}}, {u"remove"_s, QJsonArray{u"a"_s}}})
                          << u"invalid_label"_s << u"label \"a\" is both set and removed"_s;
    QTest::newRow("nothing") << w1 << u"invalid_label"_s << u"no label to set or remove"_s;
    QTest::newRow("65 labels") << with({{u"set"_s, many}}) << u"invalid_label"_s << u"at most 64 labels"_s;
    QTest::newRow("no name") << QJsonObject{{u"set"_s, QJsonObject{{u"a"_s, u"1"_s}}}} << u"not_found"_s
                             << u"no worker named ''"_s;
}

void tst_WorkerAdmin::labelWireMistakes()
{
    QFETCH(QJsonObject, params);
    QFETCH(QString, code);
    QFETCH(QString, message);
    QVERIFY(h->startEnrolledWorker(m_token, h->newCacheDir(), u"w1"_s, {u"--name"_s, u"w1"_s, u"--label"_s, u"region=eu"_s}));
    auto endpoint = Swamp::resolveAdminEndpoint({.dataDir = h->dataDir()});
    QVERIFY(endpoint.has_value());
    Swamp::AdminClient client(*endpoint);
    const auto answer = client.call(u"worker.label"_s, params);
    QVERIFY(!answer.has_value());
    QCOMPARE(answer.error().code, code);
    QVERIFY2(answer.error().message.contains(message), qPrintable(answer.error().message));
    QCOMPARE(labelsOf(shownWorker(u"w1"_s)), (QJsonObject{{u"region"_s, u"eu"_s}}));
    QCOMPARE(auditActions(u"w1"_s), QStringList{});
}

void tst_WorkerAdmin::removeLiveWorker()
{
    const QString cacheDir = h->newCacheDir();
    Child *worker = h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, {u"--name"_s, u"gpu-01"_s, u"--label"_s, u"pool=x"_s});
    QVERIFY(worker);
    const int bound = h->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size();
    const Run submitted = h->cli({u"run"_s, u"--detach"_s, u"--label"_s, u"pool=x"_s, u"--"_s, u"sleep"_s, u"60"_s});
    QCOMPARE_EXIT(submitted, 0);
    const QString stepId = submitted.outLines().value(0);
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(stepId).value(u"state"_s).toString(), u"running"_s, 30000);

    const Run removed = h->cli({u"worker"_s, u"remove"_s, u"gpu-01"_s, u"--reason"_s, u"decommissioned"_s});
    QCOMPARE_EXIT(removed, 0);
    QVERIFY2(removed.out.contains(u"Removed gpu-01 (was busy). Its 1 running step(s) went back to the queue by their retry "
                                  u"policy. Its enrollment on token 'pool' is free again."_s),
             qPrintable(removed.describe()));
    // The worker says why and exits 3, which its service does not restart.
    QVERIFY(worker->waitForExit(30000));
    QVERIFY2(worker->exitCode() == 3, qPrintable(worker->describe()));
    QVERIFY2(worker->errContains(u"worker gpu-01 was removed by an operator: decommissioned — it does not reconnect"_s),
             qPrintable(worker->describe()));
    // Its step is back in the queue (not lost, not counted as an attempt), and runs elsewhere once.
    QJsonObject step = stepOf(stepId);
    QCOMPARE(step.value(u"state"_s).toString(), u"queued"_s);
    QVERIFY(step.value(u"workerName"_s).toString().isEmpty());
    Child *spare = h->startEnrolledWorker(m_token, h->newCacheDir(), u"spare"_s, {u"--name"_s, u"spare"_s, u"--label"_s, u"pool=x"_s});
    QVERIFY(spare);
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(stepId).value(u"state"_s).toString(), u"running"_s, 30000);
    QCOMPARE(stepOf(stepId).value(u"workerName"_s).toString(), u"spare"_s);
    QCOMPARE_EXIT(h->cli({u"run"_s, u"cancel"_s, stepId}), 0);

    // Gone from every list; its enrollment and its name are free; audited, an event.
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"show"_s, u"gpu-01"_s}), 1);
    QVERIFY(!names(h->cli({u"worker"_s, u"list"_s, u"--all"_s, u"--json"_s})).contains(u"gpu-01"_s));
    QCOMPARE(h->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size(), bound); // the spare took one, gpu-01 gave one back
    QCOMPARE(auditActions(u"gpu-01"_s), QStringList{u"worker.remove"_s});
    QTRY_VERIFY_WITH_TIMEOUT(h->orchestratorOutput().contains(
                                 u"worker gpu-01 removed by an operator (was busy); its enrollment on token 'pool' is free "
                                 u"again (decommissioned)"_s),
                             10000);
    // Connected again, the machine enrolls as a new worker, under the same name.
    Child *back = h->startEnrolledWorker(m_token, cacheDir, u"gpu-01"_s, {u"--name"_s, u"gpu-01"_s});
    QVERIFY(back);
    QCOMPARE(h->workerStatus(u"gpu-01"_s), u"idle"_s);
}

void tst_WorkerAdmin::removeGoneWorkerAndMistakes()
{
    Child *worker = h->startEnrolledWorker(m_token, h->newCacheDir(), u"old-01"_s, {u"--name"_s, u"old-01"_s});
    QVERIFY(worker);
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"old-01"_s), u"disconnected"_s, 30000);
    const Run unknown = h->cli({u"worker"_s, u"remove"_s, u"old-1"_s});
    QCOMPARE_EXIT(unknown, 1);
    QVERIFY2(unknown.err.contains(u"no worker named 'old-1' — did you mean 'old-01'?"_s), qPrintable(unknown.describe()));
    const Run hostile = h->cli({u"worker"_s, u"remove"_s, u"\x1b[31mold\nforged"_s});
    QCOMPARE_EXIT(hostile, 1);
    QVERIFY2(!hostile.err.contains(QChar(0x1b)) && !hostile.err.contains(u"\nforged"_s), qPrintable(hostile.describe()));
    const Run longReason = h->cli({u"worker"_s, u"remove"_s, u"old-01"_s, u"--reason"_s, QString(10000, u'r')});
    QCOMPARE_EXIT(longReason, 2);
    QVERIFY2(longReason.err.contains(u"--reason: at most"_s) && longReason.err.size() < 1000, qPrintable(longReason.describe()));
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"remove"_s}), 2);
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"remove"_s, u"a"_s, u"b"_s}), 2);
    QCOMPARE(h->workerStatus(u"old-01"_s), u"disconnected"_s); // nothing changed

    const Run removed = h->cli({u"worker"_s, u"remove"_s, u"old-01"_s});
    QCOMPARE_EXIT(removed, 0);
    QVERIFY2(removed.out.contains(u"Removed old-01 (was disconnected). Its enrollment on token 'pool' is free again."_s),
             qPrintable(removed.describe()));
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"remove"_s, u"old-01"_s}), 1); // once
}

void tst_WorkerAdmin::removeWorkerWithinItsGrace()
{
    // A grace long enough that only the removal can end the session.
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator(0, {u"--reconnect-grace"_s, u"10m"_s}));
    m_token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"5"_s});
    Child *worker = h->startEnrolledWorker(m_token, h->newCacheDir(), u"gone-01"_s, {u"--name"_s, u"gone-01"_s});
    QVERIFY(worker);
    const Run submitted = h->cli({u"run"_s, u"--detach"_s, u"--"_s, u"sleep"_s, u"20"_s});
    const QString stepId = submitted.outLines().value(0);
    QTRY_COMPARE_WITH_TIMEOUT(stepOf(stepId).value(u"state"_s).toString(), u"running"_s, 30000);
    worker->signal(SIGKILL);
    QVERIFY(worker->waitForExit(20000));
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"gone-01"_s), u"disconnected"_s, 30000);
    QCOMPARE(stepOf(stepId).value(u"state"_s).toString(), u"running"_s); // its session waits for it

    QCOMPARE_EXIT(h->cli({u"worker"_s, u"remove"_s, u"gone-01"_s}), 0);
    // Its step went back to the queue now, its lease ended by the removal (not counted).
    QCOMPARE(stepOf(stepId).value(u"state"_s).toString(), u"queued"_s);
    const QJsonArray leases = h->cli({u"run"_s, u"status"_s, stepId, u"--json"_s}).json().value(u"leases"_s).toArray();
    QCOMPARE(leases.size(), 1);
    QCOMPARE(leases.first().toObject().value(u"state"_s).toString(), u"cancelled"_s);
    QCOMPARE(leases.first().toObject().value(u"error"_s).toString(), u"removed by an operator"_s);
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"show"_s, u"gone-01"_s}), 1);
    QCOMPARE_EXIT(h->cli({u"run"_s, u"cancel"_s, stepId}), 0);
}

void tst_WorkerAdmin::commandTyposSuggest_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");
    QTest::newRow("wroker list") << QStringList{u"wroker"_s, u"list"_s}
                                 << u"error: unknown command 'wroker' — did you mean 'swamp worker list'?\n"_s;
    QTest::newRow("worker lsit") << QStringList{u"worker"_s, u"lsit"_s}
                                 << u"error: unknown command 'worker lsit' — did you mean 'swamp worker list'?\n"_s;
    QTest::newRow("wroker") << QStringList{u"wroker"_s} << u"did you mean 'swamp worker'?"_s;
    QTest::newRow("sevre") << QStringList{u"sevre"_s, u"--listen"_s, u"127.0.0.1:0"_s} << u"did you mean 'swamp serve'?"_s;
    QTest::newRow("worker token lsit") << QStringList{u"worker"_s, u"token"_s, u"lsit"_s}
                                       << u"did you mean 'swamp worker token list'?"_s;
    QTest::newRow("ansi") << QStringList{u"\x1b[31mworker"_s} << u"error: unknown command '"_s;
    QTest::newRow("far off") << QStringList{u"frobnicate"_s} << u"error: unknown command 'frobnicate'\n"_s;
}

void tst_WorkerAdmin::commandTyposSuggest()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);
    const Run run = h->cli(arguments);
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(expected), qPrintable(run.describe()));
    QVERIFY2(!run.err.contains(QChar(0x1b)), qPrintable(run.describe()));
}

void tst_WorkerAdmin::unknownOptionNamesItAndHelp()
{
    const Run typo = h->cli({u"worker"_s, u"list"_s, u"--lable"_s, u"region=eu"_s});
    QCOMPARE_EXIT(typo, 2);
    QVERIFY2(typo.err.contains(u"Unknown option 'lable'. Did you mean --label?"_s), qPrintable(typo.describe()));
    QVERIFY2(typo.err.contains(u"Run 'swamp worker list --help' for usage."_s), qPrintable(typo.describe()));
    const Run far = h->cli({u"worker"_s, u"show"_s, u"x"_s, u"--frobnicate"_s});
    QCOMPARE_EXIT(far, 2);
    QVERIFY2(far.err.contains(u"Unknown option 'frobnicate'."_s) && !far.err.contains(u"Did you mean"_s),
             qPrintable(far.describe()));
    QVERIFY2(far.err.contains(u"swamp worker show --help"_s), qPrintable(far.describe()));
    const Run ansi = h->cli({u"worker"_s, u"list"_s, u"--\x1b[31m"_s});
    QCOMPARE_EXIT(ansi, 2);
    QVERIFY2(!ansi.err.contains(QChar(0x1b)), qPrintable(ansi.describe()));
}

QTEST_GUILESS_MAIN(tst_WorkerAdmin)
#include "tst_worker_admin.moc"
