// `swamp run` and `run status|logs|cancel` as an operator uses them (issue 21), against the real
// binaries: ids by prefix or short id (and hostile ones), why a queued step waits, Ctrl-C on a
// followed run (real signals to the child), NDJSON with --json, `run logs RUN-ID`.
#include "swampharness.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTest>

#include <csignal>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_RunCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void idPrefixAndShortId();
    void hostileIds_data();
    void hostileIds();
    void runLogsOfARun();
    void whyAQueuedStepWaits();
    void noWorkerConnected();
    void ctrlCDetaches();
    void ctrlCTwiceCancels();
    void cancelOnInterrupt();
    void jsonFollowIsNdjson();

private:
    // `swamp run --detach ARGS`: the one step id printed.
    QString detach(const QStringList &args);
    // `swamp run ARGS` in the background, with SWAMP_DATA_DIR of the harness.
    std::unique_ptr<Child> startRun(const QStringList &args);
    QString stepState(const QString &id);

    std::unique_ptr<Harness> h;
    QString m_worker;
};

void tst_RunCli::init()
{
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), {}, {u"--label"_s, u"region=eu"_s});
    QVERIFY(worker);
    m_worker = Harness::enrolledName(worker);
}

void tst_RunCli::cleanup()
{
    h.reset();
}

QString tst_RunCli::detach(const QStringList &args)
{
    const Run run = h->cli(QStringList{u"run"_s, u"--detach"_s} + args);
    if (run.exitCode != 0)
        qWarning("run --detach failed: %s", qPrintable(run.describe()));
    return run.outLines().value(0);
}

std::unique_ptr<Child> tst_RunCli::startRun(const QStringList &args)
{
    auto child = std::make_unique<Child>(u"swamp run"_s);
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->dataDir());
    child->process.setProcessEnvironment(env);
    child->process.start(swampBinary(), QStringList{u"run"_s} + args);
    return child;
}

QString tst_RunCli::stepState(const QString &id)
{
    const QJsonArray steps = h->cli({u"run"_s, u"status"_s, id, u"--json"_s}).json().value(u"steps"_s).toArray();
    for (const QJsonValue &step : steps) {
        const QString stepId = step.toObject().value(u"id"_s).toString();
        if (stepId.startsWith(id) || stepId.endsWith(id))
            return step.toObject().value(u"state"_s).toString();
    }
    return {};
}

void tst_RunCli::idPrefixAndShortId()
{
    const QString first = detach({u"--"_s, u"echo"_s, u"one"_s});
    const QString second = detach({u"--"_s, u"echo"_s, u"two"_s});
    QCOMPARE(first.size(), 36);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(first), u"succeeded"_s, 30000);

    // The short id swamp run shows (its last 8 digits), a prefix, upper case: the same step.
    for (const QString &typed : {first.right(8), first.left(20), first.left(20).toUpper(), first.right(5)}) {
        const Run status = h->cli({u"run"_s, u"status"_s, typed, u"--json"_s});
        QVERIFY2(status.exitCode == 0, qPrintable(typed + u": "_s + status.describe()));
        QCOMPARE(status.json().value(u"steps"_s).toArray().first().toObject().value(u"id"_s).toString(), first);
    }
    const Run logs = h->cli({u"run"_s, u"logs"_s, first.right(8)});
    QCOMPARE(logs.out, u"one\n"_s);
    // data query shows the same short id, in a column of its own.
    const Run query = h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s});
    QVERIFY2(query.outLines().value(0).startsWith(u"ID        NAME"_s), qPrintable(query.describe()));
    QVERIFY2(query.outLines().value(1).startsWith(first.right(8) + u"  echo"_s), qPrintable(query.describe()));

    // Every id of this test starts with the same minute: 4 characters name several.
    const Run ambiguous = h->cli({u"run"_s, u"status"_s, first.left(4)});
    QCOMPARE(ambiguous.exitCode, 1);
    QVERIFY2(ambiguous.err.startsWith(u"error: '%1' matches "_s.arg(first.left(4))), qPrintable(ambiguous.describe()));
    QVERIFY2(ambiguous.err.contains(u"step "_s + first) && ambiguous.err.contains(u"step "_s + second),
             qPrintable(ambiguous.describe()));
    QVERIFY2(ambiguous.err.contains(u"— type more characters of the id"_s), qPrintable(ambiguous.describe()));

    const Run tooShort = h->cli({u"run"_s, u"status"_s, first.right(3)});
    QCOMPARE(tooShort.exitCode, 2);
    QCOMPARE(tooShort.err, u"error: '%1' is too short to name a step or run: type at least 4 characters of its id — "
                           "copy the id 'swamp run' printed, or its first or last 4 or more characters\n"_s.arg(first.right(3)));

    // Cancel by short id.
    const QString sleeper = detach({u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(sleeper), u"running"_s, 30000);
    const Run cancel = h->cli({u"run"_s, u"cancel"_s, sleeper.right(8)});
    QVERIFY2(cancel.exitCode == 0, qPrintable(cancel.describe()));
    QCOMPARE(cancel.out, u"Cancelling 1 step(s).\n"_s);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(sleeper), u"cancelled"_s, 30000);
}

void tst_RunCli::hostileIds_data()
{
    QTest::addColumn<QString>("suffix"); // added to the first 6 digits of a real id
    QTest::addColumn<QString>("typed");  // or used alone when not empty
    QTest::newRow("percent") << u"%"_s << QString();
    QTest::newRow("underscores") << u"__"_s << QString();
    QTest::newRow("quote") << u"'; DROP TABLE steps; --"_s << QString();
    QTest::newRow("backslash") << u"\\%"_s << QString();
    QTest::newRow("unicode") << QString() << u"ünïcødé-id"_s;
    QTest::newRow("escape") << QString() << u"\x1b[31mred"_s;
    QTest::newRow("10k") << QString() << QString(10000, u'a');
}

void tst_RunCli::hostileIds()
{
    QFETCH(QString, suffix);
    QFETCH(QString, typed);
    const QString id = detach({u"--"_s, u"true"_s});
    detach({u"--"_s, u"true"_s});
    if (typed.isEmpty())
        typed = id.left(6) + suffix; // a wildcard here would match both steps: ambiguous
    const Run status = h->cli({u"run"_s, u"status"_s, typed});
    QCOMPARE(status.exitCode, 1);
    QVERIFY2(status.err.startsWith(u"error: no step or run with id '"_s), qPrintable(status.describe()));
    QVERIFY2(!status.err.contains(u'\x1b'), qPrintable(status.describe()));
    QVERIFY2(status.err.size() < 300, qPrintable(status.describe()));
    // The store is intact.
    QCOMPARE(h->cli({u"run"_s, u"status"_s, id}).exitCode, 0);
}

void tst_RunCli::runLogsOfARun()
{
    const QString file = h->tempPath(u"run.json"_s);
    QFile json(file);
    QVERIFY(json.open(QIODevice::WriteOnly));
    json.write(R"({"name": "pair", "steps": [{"name": "one", "command": ["echo", "first"]},
                                            {"name": "two", "command": ["sh", "-c", "printf second; exit 3"]}]})");
    json.close();
    const Run submitted = h->cli({u"run"_s, u"--file"_s, file, u"--detach"_s, u"--json"_s});
    QCOMPARE(submitted.exitCode, 0);
    const QString runId = submitted.json().value(u"runId"_s).toString();
    const QJsonArray steps = submitted.json().value(u"stepIds"_s).toArray();
    QCOMPARE(steps.size(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(stepState(steps.at(1).toString()) == u"failed"_s && stepState(steps.at(0).toString()) == u"succeeded"_s, 30000);
    const Run logs = h->cli({u"run"_s, u"logs"_s, runId.right(8)});
    QVERIFY2(logs.exitCode == 0, qPrintable(logs.describe()));
    QCOMPARE(logs.outLines(), (QStringList{u"==> step %1 (one): succeeded, exit 0 <=="_s.arg(steps.at(0).toString().right(8)),
                                           u"first"_s,
                                           u"==> step %1 (two): failed, exit 3 <=="_s.arg(steps.at(1).toString().right(8)),
                                           u"second"_s}));
    // Followed after the fact, each step's stored output reaches the client before the step
    // itself: its lines still carry the step's name.
    const Run followed = h->cli({u"run"_s, u"logs"_s, runId.right(8), u"--follow"_s});
    QVERIFY2(followed.exitCode == 0, qPrintable(followed.describe()));
    QCOMPARE(followed.outLines(), (QStringList{u"[one] first"_s, u"[two] second"_s}));
}

void tst_RunCli::whyAQueuedStepWaits()
{
    // No worker has region=mars: said at submit, in run status (text and JSON) and worker queue.
    auto mars = startRun({u"--label"_s, u"region=mars"_s, u"--"_s, u"true"_s});
    const QString expected = u"none of the 1 connected worker(s) has region=mars; closest: %1 lacks region=mars (has region=eu)"_s.arg(m_worker);
    QTRY_VERIFY2_WITH_TIMEOUT(mars->errContains(u") waits: "_s + expected + u'\n'), qPrintable(mars->describe()), 30000);
    const QString marsId = detach({u"--label"_s, u"region=mars"_s, u"--"_s, u"true"_s});
    const Run status = h->cli({u"run"_s, u"status"_s, marsId.right(8)});
    QVERIFY2(status.outLines().contains(u"step %1 waits: %2"_s.arg(marsId.right(8), expected)), qPrintable(status.describe()));
    const QJsonObject reason = h->cli({u"run"_s, u"status"_s, marsId, u"--json"_s}).json().value(u"steps"_s).toArray()
                                   .first().toObject().value(u"waitReason"_s).toObject();
    QCOMPARE(reason.value(u"code"_s).toString(), u"no_match"_s);
    QCOMPARE(reason.value(u"closest"_s).toArray().first().toObject().value(u"name"_s).toString(), m_worker);
    const Run queue = h->cli({u"worker"_s, u"queue"_s});
    QVERIFY2(queue.out.contains(marsId + u"  region=mars"_s) && queue.out.contains(expected), qPrintable(queue.describe()));

    // The one worker with region=eu busy: the next such step waits for a slot.
    const QString sleeper = detach({u"--label"_s, u"region=eu"_s, u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(sleeper), u"running"_s, 30000);
    const QString next = detach({u"--label"_s, u"region=eu"_s, u"--"_s, u"true"_s});
    const Run busy = h->cli({u"run"_s, u"status"_s, next});
    QVERIFY2(busy.outLines().contains(u"step %1 waits: all 1 worker(s) with region=eu are busy (1 of 1 slots in use)"_s
                                          .arg(next.right(8))), qPrintable(busy.describe()));

    // Draining: the same step says so.
    QCOMPARE(h->cli({u"worker"_s, u"drain"_s, m_worker}).exitCode, 0);
    QTRY_VERIFY_WITH_TIMEOUT(h->cli({u"run"_s, u"status"_s, next}).out.contains(
                                 u"waits: every worker with region=eu is draining (%1)"_s.arg(m_worker)), 30000);

    // A step that starts at once is not said to wait.
    QCOMPARE(h->cli({u"worker"_s, u"undrain"_s, m_worker}).exitCode, 0); // before it ran dry and exited
    h->cli({u"run"_s, u"cancel"_s, next});
    h->cli({u"run"_s, u"cancel"_s, sleeper});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(sleeper), u"cancelled"_s, 30000);
    const Run starts = h->cli({u"run"_s, u"--"_s, u"echo"_s, u"now"_s});
    QCOMPARE(starts.exitCode, 0);
    QVERIFY2(!starts.err.contains(u"waits"_s), qPrintable(starts.describe()));
    mars->signal(SIGINT);
    mars->signal(SIGINT);
    QVERIFY(mars->waitForExit(30000));
}

void tst_RunCli::noWorkerConnected()
{
    h->killAll();
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
    const QString id = detach({u"--"_s, u"true"_s});
    const Run status = h->cli({u"run"_s, u"status"_s, id});
    QVERIFY2(status.outLines().contains(u"step %1 waits: no worker is connected; start one with 'swamp worker connect'"_s.arg(id.right(8))),
             qPrintable(status.describe()));
}

void tst_RunCli::ctrlCDetaches()
{
    auto run = startRun({u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_VERIFY2_WITH_TIMEOUT(run->errContains(u"dispatched to "_s), qPrintable(run->describe()), 30000);
    const QString shortId = QRegularExpression(u"step (\\S+) \\("_s).match(run->err()).captured(1);
    QCOMPARE(shortId.size(), 8);
    run->signal(SIGINT);
    QVERIFY(run->waitForExit(30000));
    QCOMPARE(run->exitCode(), 130);
    QVERIFY2(run->err().contains(u"\ndetached; step %1 keeps running — swamp run cancel %1 to stop it\n"_s.arg(shortId)),
             qPrintable(run->describe()));
    QCOMPARE(stepState(shortId), u"running"_s); // the step goes on
    QCOMPARE(h->cli({u"run"_s, u"cancel"_s, shortId}).exitCode, 0);
}

void tst_RunCli::ctrlCTwiceCancels()
{
    auto run = startRun({u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_VERIFY2_WITH_TIMEOUT(run->errContains(u"dispatched to "_s), qPrintable(run->describe()), 30000);
    const QString shortId = QRegularExpression(u"step (\\S+) \\("_s).match(run->err()).captured(1);
    run->signal(SIGINT);
    QTRY_VERIFY2_WITH_TIMEOUT(run->errContains(u"press Ctrl-C again"_s), qPrintable(run->describe()), 30000);
    run->signal(SIGINT);
    QVERIFY(run->waitForExit(30000));
    // A loaded machine may take longer than the window between the two: then it only detached.
    if (run->exitCode() == 130)
        QSKIP("the second SIGINT arrived after the 2 s window");
    QCOMPARE(run->exitCode(), 1);
    QVERIFY2(run->err().contains(u"swamp: step %1 cancelled (acknowledged by the orchestrator)\n"_s.arg(shortId)),
             qPrintable(run->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(shortId), u"cancelled"_s, 30000);
}

void tst_RunCli::cancelOnInterrupt()
{
    auto run = startRun({u"--cancel-on-interrupt"_s, u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_VERIFY2_WITH_TIMEOUT(run->errContains(u"dispatched to "_s), qPrintable(run->describe()), 30000);
    const QString shortId = QRegularExpression(u"step (\\S+) \\("_s).match(run->err()).captured(1);
    run->signal(SIGINT);
    QVERIFY(run->waitForExit(30000));
    QCOMPARE(run->exitCode(), 1);
    QVERIFY2(!run->err().contains(u"detached"_s), qPrintable(run->describe()));
    QVERIFY2(run->err().contains(u"swamp: cancelling step %1\nswamp: step %1 cancelled (acknowledged by the orchestrator)\n"_s.arg(shortId)),
             qPrintable(run->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(shortId), u"cancelled"_s, 30000);
}

void tst_RunCli::jsonFollowIsNdjson()
{
    const Run run = h->cli({u"run"_s, u"--json"_s, u"--"_s, u"sh"_s, u"-c"_s, u"echo out; echo err >&2; exit 4"_s});
    QCOMPARE(run.exitCode, 4);
    QList<QJsonObject> lines;
    for (const QString &line : run.outLines()) {
        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(line.toUtf8(), &error);
        QVERIFY2(error.error == QJsonParseError::NoError && document.isObject(), qPrintable(line));
        lines << document.object();
    }
    QVERIFY(lines.size() >= 5);
    QCOMPARE(lines.first().value(u"type"_s).toString(), u"submitted"_s);
    const QString stepId = lines.first().value(u"stepIds"_s).toArray().first().toString();
    QStringList output;
    for (const QJsonObject &line : std::as_const(lines)) {
        if (line.value(u"type"_s) == u"output"_s) {
            QCOMPARE(line.value(u"stepId"_s).toString(), stepId);
            output << line.value(u"stream"_s).toString() + u':' + line.value(u"data"_s).toString();
        }
    }
    output.sort();
    QCOMPARE(output, (QStringList{u"stderr:err\n"_s, u"stdout:out\n"_s}));
    const QJsonObject ended = lines.at(lines.size() - 2);
    QCOMPARE(ended.value(u"type"_s).toString(), u"ended"_s);
    QCOMPARE(ended.value(u"step"_s).toObject().value(u"exitCode"_s).toInt(), 4);
    const QJsonObject result = lines.last();
    QCOMPARE(result.value(u"type"_s).toString(), u"result"_s);
    QCOMPARE(result.value(u"exitCode"_s).toInt(), 4);
    QCOMPARE(result.value(u"steps"_s).toArray().first().toObject().value(u"state"_s).toString(), u"failed"_s);
    QVERIFY2(!run.err.contains(u"out"_s), qPrintable(run.describe())); // the output is in the lines only
}

QTEST_MAIN(tst_RunCli)
#include "tst_run_cli.moc"
