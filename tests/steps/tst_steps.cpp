// Running steps on real workers: exit codes, streaming, placement, queue timeout, slots, drain,
// cancel, step timeout, the step environment, and the lifecycle flags of ephemeral workers.

#include "steps/stephelpers.h"

using namespace SwampTest;

class tst_Steps : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void exitCodeComesBack_data();
    void exitCodeComesBack();
    void streamsStdoutAndStderrSeparately();
    void placement_data();
    void placement();
    void queueTimeoutNamesTheRequirement();
    void slotsBoundConcurrency();
    void drainLetsRunningStepsFinish();
    void drainDeadlineRequeues();
    void cancelRunningAndQueued();
    void stepTimeoutKillsTheProcessGroup();
    void stepEnvironmentIsMinimal();
    void maxStepsDrainsAndExits();
    void idleTimeoutExits();
    void runFileSubmitsSeveralSteps();
    void aRunFileWithATypoIsRefusedBeforeAnythingRuns_data();
    void aRunFileWithATypoIsRefusedBeforeAnythingRuns();
    void tokenExpiryDrainsItsWorkers();
    void outputIsBoundedWithAMarker();
    void usageErrors_data();
    void usageErrors();

private:
    Child *worker(const QStringList &extra = {}, const QString &tokenName = u"pool"_s);

    std::unique_ptr<Harness> m_h;
    QString m_token;
};

void tst_Steps::init()
{
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator());
    m_token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!m_token.isEmpty());
}

void tst_Steps::cleanup()
{
    m_h.reset();
}

Child *tst_Steps::worker(const QStringList &extra, const QString &)
{
    return m_h->startEnrolledWorker(m_token, m_h->newCacheDir(), {}, extra);
}

void tst_Steps::exitCodeComesBack_data()
{
    QTest::addColumn<QStringList>("command");
    QTest::addColumn<int>("exitCode");
    QTest::addRow("true-exits-0") << QStringList{u"true"_s} << 0;
    QTest::addRow("false-exits-1") << QStringList{u"false"_s} << 1;
    QTest::addRow("exit-42") << QStringList{u"sh"_s, u"-c"_s, u"exit 42"_s} << 42;
    QTest::addRow("missing-binary-fails-with-reason") << QStringList{u"/nonexistent/tool"_s} << 1;
}

void tst_Steps::exitCodeComesBack()
{
    QFETCH(QStringList, command);
    QFETCH(int, exitCode);
    QVERIFY(worker());
    const Run run = m_h->cli(QStringList{u"run"_s, u"--"_s} + command);
    QCOMPARE_EXIT(run, exitCode);
    QVERIFY2(run.err.contains(u"dispatched to pool-"_s), qPrintable(run.describe()));
    if (command.first().startsWith(u"/nonexistent"_s))
        QVERIFY2(run.err.contains(u"cannot start '/nonexistent/tool'"_s), qPrintable(run.describe()));
}

void tst_Steps::streamsStdoutAndStderrSeparately()
{
    QVERIFY(worker());
    const Run run = m_h->cli({u"run"_s, u"--shell"_s, u"--"_s,
                              u"echo to-out; echo to-err >&2; printf 'ünïcode ✓\\n'"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"to-out\nünïcode ✓\n"_s);
    QVERIFY2(run.err.contains(u"to-err\n"_s), qPrintable(run.describe()));
    QVERIFY(!run.out.contains(u"to-err"_s));
}

void tst_Steps::placement_data()
{
    QTest::addColumn<QStringList>("placement");
    QTest::addColumn<QString>("expectedWorker"); // "eu" or "us"
    QTest::addRow("label-picks-eu") << QStringList{u"--label"_s, u"region=eu"_s} << u"eu"_s;
    QTest::addRow("label-picks-us") << QStringList{u"--label"_s, u"region=us"_s} << u"us"_s;
    QTest::addRow("two-labels-all-must-match") << QStringList{u"--label"_s, u"region=us"_s, u"--label"_s, u"gpu=yes"_s} << u"us"_s;
    QTest::addRow("target-by-name") << QStringList{u"--target"_s, u"@us"_s} << u"us"_s;
    QTest::addRow("platform-os-and-arch") << QStringList{u"--label"_s, u"region=eu"_s, u"--platform"_s, u"linux/"_s + QSysInfo::currentCpuArchitecture()} << u"eu"_s;
}

void tst_Steps::placement()
{
    QFETCH(QStringList, placement);
    QFETCH(QString, expectedWorker);
    Child *eu = worker({u"--label"_s, u"region=eu"_s});
    Child *us = worker({u"--label"_s, u"region=us"_s, u"--label"_s, u"gpu=yes"_s});
    QVERIFY(eu && us);
    const QString euName = Harness::enrolledName(eu), usName = Harness::enrolledName(us);
    for (QString &arg : placement) {
        if (arg == u"@us"_s)
            arg = usName;
    }
    const Run run = m_h->cli(QStringList{u"run"_s} + placement + QStringList{u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 0);
    const QString expected = expectedWorker == u"eu"_s ? euName : usName;
    QVERIFY2(run.err.contains(u"dispatched to %1 "_s.arg(expected)), qPrintable(run.describe()));
}

void tst_Steps::queueTimeoutNamesTheRequirement()
{
    QVERIFY(worker({u"--label"_s, u"region=eu"_s}));
    Run run = m_h->cli({u"run"_s, u"--label"_s, u"region=mars"_s, u"--queue-timeout"_s, u"1s"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 1);
    QVERIFY2(run.err.contains(u"timed out waiting for a worker matching region=mars"_s), qPrintable(run.describe()));
    run = m_h->cli({u"run"_s, u"--platform"_s, u"windows"_s, u"--queue-timeout"_s, u"1s"_s, u"--"_s, u"true"_s});
    QVERIFY2(run.err.contains(u"timed out waiting for a worker matching platform=windows"_s), qPrintable(run.describe()));
}

void tst_Steps::slotsBoundConcurrency()
{
    Child *w = worker({u"--concurrency"_s, u"2"_s});
    QVERIFY(w);
    const QString name = Harness::enrolledName(w);
    const QString marker = m_h->tempPath(u"release"_s);
    const QString wait = u"while [ ! -e '%1' ]; do sleep 0.05; done"_s.arg(marker);
    QStringList ids;
    for (int i = 0; i < 3; ++i)
        ids << detach(*m_h, {u"--shell"_s, u"--"_s, wait});
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(name), u"busy"_s, 30000);
    const QJsonObject record = m_h->workerNamed(name);
    QCOMPARE(record.value(u"activeSteps"_s).toInt(), 2);
    QCOMPARE(record.value(u"capacity"_s).toInt(), 2);
    const Run queue = m_h->cli({u"worker"_s, u"queue"_s, u"--json"_s});
    QCOMPARE(queue.json().value(u"count"_s).toInt(), 1);
    const Run table = m_h->cli({u"worker"_s, u"list"_s});
    QVERIFY2(table.out.contains(u"busy"_s) && table.out.contains(u"2/2"_s), qPrintable(table.describe()));
    QFile(marker).open(QIODevice::WriteOnly);
    for (const QString &id : std::as_const(ids))
        QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 60000);
}

void tst_Steps::drainLetsRunningStepsFinish()
{
    Child *w = worker();
    QVERIFY(w);
    const QString name = Harness::enrolledName(w);
    const QString marker = m_h->tempPath(u"go"_s);
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s, u"while [ ! -e '%1' ]; do sleep 0.05; done; echo done"_s.arg(marker)});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    const Run drain = m_h->cli({u"worker"_s, u"drain"_s, name});
    QCOMPARE_EXIT(drain, 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(name), u"draining"_s, 20000);
    // No new step goes to a draining worker.
    const QString queued = detach(*m_h, {u"true"_s});
    QCOMPARE(stepState(*m_h, queued), u"queued"_s);
    QVERIFY(w->isRunning());
    QFile(marker).open(QIODevice::WriteOnly);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 30000);
    QVERIFY2(w->waitForExit(30000), qPrintable(w->describe()));
    QCOMPARE(w->exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(name), u"disconnected"_s, 20000);
    // undrain of a gone worker is refused with a clear message
    const Run undrain = m_h->cli({u"worker"_s, u"undrain"_s, name});
    QCOMPARE_EXIT(undrain, 1);
    QVERIFY(undrain.err.contains(u"no connected worker named"_s));
    // The queued step runs once another worker shows up.
    QVERIFY(worker());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, queued), u"succeeded"_s, 30000);
}

void tst_Steps::drainDeadlineRequeues()
{
    Child *first = worker();
    QVERIFY(first);
    const QString firstName = Harness::enrolledName(first);
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s, u"sleep 60"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    QCOMPARE_EXIT(m_h->cli({u"worker"_s, u"drain"_s, firstName, u"--deadline"_s, u"1s"_s}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"queued"_s, 30000);
    QVERIFY2(first->waitForExit(45000), qPrintable(first->describe()));
    QCOMPARE(first->exitCode(), 0);
    QCOMPARE_EXIT(m_h->cli({u"run"_s, u"cancel"_s, id}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"cancelled"_s, 20000);
}

void tst_Steps::cancelRunningAndQueued()
{
    QVERIFY(worker());
    const QString running = detach(*m_h, {u"sleep"_s, u"60"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, running), u"running"_s, 30000);
    const QString queued = detach(*m_h, {u"sleep"_s, u"60"_s});
    QCOMPARE(stepState(*m_h, queued), u"queued"_s);
    QCOMPARE_EXIT(m_h->cli({u"run"_s, u"cancel"_s, queued}), 0);
    QCOMPARE(stepState(*m_h, queued), u"cancelled"_s);
    const Run cancel = m_h->cli({u"run"_s, u"cancel"_s, running});
    QCOMPARE_EXIT(cancel, 0);
    QVERIFY(cancel.out.contains(u"Cancelling 1 step(s)."_s));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, running), u"cancelled"_s, 30000);
    const Run again = m_h->cli({u"run"_s, u"cancel"_s, running});
    QCOMPARE_EXIT(again, 0);
    QVERIFY(again.out.contains(u"already finished"_s));
    const Run unknown = m_h->cli({u"run"_s, u"cancel"_s, u"no-such-step"_s});
    QCOMPARE_EXIT(unknown, 1);
    QVERIFY(unknown.err.contains(u"no step or run with id 'no-such-step'"_s));
}

void tst_Steps::stepTimeoutKillsTheProcessGroup()
{
    QVERIFY(worker());
    const QString pidFile = m_h->tempPath(u"child.pid"_s);
    // The shell starts a grandchild that would outlive a plain kill of the shell.
    const Run run = m_h->cli({u"run"_s, u"--timeout"_s, u"1s"_s, u"--shell"_s, u"--"_s,
                              u"sleep 300 & echo $! > '%1'; wait"_s.arg(pidFile)});
    QCOMPARE_EXIT(run, 1);
    QVERIFY2(run.err.contains(u"timed_out: timed out after 1s"_s), qPrintable(run.describe()));
    QFile file(pidFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const pid_t grandchild = pid_t(file.readAll().trimmed().toInt());
    QVERIFY(grandchild > 0);
    QTRY_VERIFY_WITH_TIMEOUT(::kill(grandchild, 0) != 0, 30000);
}

void tst_Steps::stepEnvironmentIsMinimal()
{
    // The worker itself runs with a token in its environment and SWAMP_* variables.
    const QString cache = m_h->newCacheDir();
    Child *envWorker = new Child(u"env worker"_s);
    std::unique_ptr<Child> owner(envWorker);
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_WORKER_TOKEN"_s, m_token);
    env.insert(u"SWAMP_WORKER_CACHE_DIR"_s, cache);
    env.insert(u"SWAMP_SECRET_THING"_s, u"should-not-leak"_s);
    env.insert(u"UNRELATED_VARIABLE"_s, u"also-not-passed"_s);
    envWorker->process.setProcessEnvironment(env);
    envWorker->process.start(swampBinary(), {u"worker"_s, u"connect"_s, m_h->url()});
    QTRY_VERIFY_WITH_TIMEOUT(envWorker->outContains(u"enrolled as"_s), 60000);
    const Run run = m_h->cli({u"run"_s, u"--env"_s, u"GREETING=hello"_s, u"--"_s, u"env"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.out.contains(u"GREETING=hello"_s), qPrintable(run.out));
    QVERIFY2(run.out.contains(u"PATH="_s), qPrintable(run.out));
    QVERIFY2(!run.out.contains(u"SWAMP_"_s), qPrintable(run.out));
    QVERIFY2(!run.out.contains(m_token.section(u'.', 1)), "the token's secret reached a step");
    QVERIFY2(!run.out.contains(u"UNRELATED_VARIABLE"_s), qPrintable(run.out));
    // Steps run in a scratch directory under the cache dir, removed afterwards.
    const Run pwd = m_h->cli({u"run"_s, u"--"_s, u"pwd"_s});
    QVERIFY2(pwd.out.startsWith(QDir(cache).absolutePath() + u"/work/"_s), qPrintable(pwd.describe()));
    QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(pwd.out.trimmed()), 20000);
    // SWAMP_* in a step's own --env is refused.
    const Run reserved = m_h->cli({u"run"_s, u"--env"_s, u"SWAMP_X=1"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(reserved, 2);
    QVERIFY(reserved.err.contains(u"reserved"_s));
    envWorker->process.kill();
    envWorker->waitForExit(20000);
}

void tst_Steps::maxStepsDrainsAndExits()
{
    Child *w = worker({u"--max-steps"_s, u"2"_s});
    QVERIFY(w);
    QCOMPARE_EXIT(m_h->cli({u"run"_s, u"--"_s, u"true"_s}), 0);
    QVERIFY(w->isRunning());
    QCOMPARE_EXIT(m_h->cli({u"run"_s, u"--"_s, u"true"_s}), 0);

    QVERIFY2(w->waitForExit(30000), qPrintable(w->describe()));

    QCOMPARE(w->exitCode(), 0);
    QVERIFY(w->outContains(u"--max-steps"_s));
}

void tst_Steps::idleTimeoutExits()
{
    Child *w = worker({u"--idle-timeout"_s, u"1s"_s});
    QVERIFY(w);
    QVERIFY2(w->waitForExit(45000), qPrintable(w->describe()));
    QCOMPARE(w->exitCode(), 0);
    QVERIFY(w->outContains(u"--idle-timeout"_s));
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(Harness::enrolledName(w)), u"disconnected"_s, 20000);
}

void tst_Steps::runFileSubmitsSeveralSteps()
{
    QVERIFY(worker({u"--concurrency"_s, u"3"_s}));
    const QString path = m_h->tempPath(u"run.json"_s);
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"name": "build", "steps": [
        {"name": "one", "command": ["echo", "first"]},
        {"name": "two", "command": "echo second; echo line2", "timeout": "30s"},
        {"name": "three", "command": ["sh", "-c", "exit 5"], "attempts": 1}
    ]})");
    file.close();
    const Run run = m_h->cli({u"run"_s, u"--file"_s, path});
    QCOMPARE_EXIT(run, 5);
    QVERIFY2(run.out.contains(u"[one] first\n"_s), qPrintable(run.describe()));
    QVERIFY2(run.out.contains(u"[two] second\n[two] line2\n"_s), qPrintable(run.describe()));
    const QJsonArray runs = query(*m_h, u"modelType == \"swamp/run\" && name == \"build\""_s);
    QCOMPARE(runs.size(), 1);
    const QJsonObject attributes = runs.first().toObject().value(u"attributes"_s).toObject();
    QCOMPARE(attributes.value(u"steps"_s).toInt(), 3);
    QCOMPARE(attributes.value(u"succeeded"_s).toInt(), 2);
    QCOMPARE(attributes.value(u"failed"_s).toInt(), 1);
    QCOMPARE(attributes.value(u"state"_s).toString(), u"failed"_s);
}

void tst_Steps::aRunFileWithATypoIsRefusedBeforeAnythingRuns_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("message");
    // The issue's run file: it ran anywhere, without its timeout, and exited 0.
    QTest::addRow("step-fields") << QByteArray(R"([{"name":"typo-step","command":["sleep","3"],"timout":"1s",
                                                   "lables":{"region":"mars"}}])")
                                 << u"step 1: invalid step: unknown field \"lables\"; did you mean \"labels\"?"_s;
    QTest::addRow("run-fields") << QByteArray(R"({"nmae":"typo-run","steps":[{"name":"typo-step","command":["true"]}]})")
                                << u"unknown field \"nmae\"; did you mean \"name\"?"_s;
}

void tst_Steps::aRunFileWithATypoIsRefusedBeforeAnythingRuns()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, message);
    const QString path = m_h->tempPath(u"typo.json"_s);
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(content);
    file.close();
    const Run run = m_h->cli({u"run"_s, u"--file"_s, path});
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(path), qPrintable(run.describe()));
    QCOMPARE(query(*m_h, u"modelType == \"swamp/step\" && name == \"typo-step\""_s).size(), 0);
}

void tst_Steps::tokenExpiryDrainsItsWorkers()
{
    // The token's lifetime bounds the session: at expiry the worker finishes its running step,
    // takes no new one, and then leaves saying that the token's expiry ended its session.
    const QString shortLived = m_h->createToken(u"short"_s, {u"--duration"_s, u"3s"_s});
    Child *w = m_h->startEnrolledWorker(shortLived, m_h->newCacheDir());
    QVERIFY(w);
    const QString marker = m_h->tempPath(u"finish"_s);
    const QString id = detach(*m_h, {u"--target"_s, u"short"_s, u"--shell"_s, u"--"_s,
                                     u"while [ ! -e '%1' ]; do sleep 0.05; done; echo finished"_s.arg(marker)});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(u"short"_s), u"draining"_s, 30000);
    const QString next = detach(*m_h, {u"--target"_s, u"short"_s, u"--queue-timeout"_s, u"30s"_s, u"--"_s, u"true"_s});
    QVERIFY(w->isRunning());
    QFile(marker).open(QIODevice::WriteOnly);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 30000);
    QVERIFY2(w->waitForExit(30000), qPrintable(w->describe()));
    QCOMPARE(w->exitCode(), 1);
    QVERIFY2(w->errContains(u"token 'short' expired at "_s), qPrintable(w->describe()));
    QVERIFY2(w->errContains(u" and ended this worker's session — ask for a new token"_s), qPrintable(w->describe()));
    QVERIFY2(!w->errContains(u"enrollment failed"_s), qPrintable(w->describe()));
    QCOMPARE(stepState(*m_h, next), u"queued"_s);
    QCOMPARE(m_h->workerStatus(u"short"_s), u"disconnected"_s);
}

void tst_Steps::outputIsBoundedWithAMarker()
{
    QVERIFY(worker());
    // 6 MiB of output; a step keeps at most 4 MiB and says so.
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s, u"head -c 6291456 /dev/zero | tr '\\0' x; echo"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 60000);
    const Run logs = m_h->cli({u"run"_s, u"logs"_s, id});
    QCOMPARE_EXIT(logs, 0);
    QVERIFY2(logs.out.size() <= 4 * 1024 * 1024 && logs.out.size() > 4 * 1024 * 1024 - 64 * 1024,
             qPrintable(QString::number(logs.out.size())));
    QVERIFY2(logs.err.contains(u"[swamp: output truncated: a step keeps at most 4 MiB]"_s), qPrintable(logs.err.left(500)));
    const QJsonObject step = stepOf(*m_h, id);
    QCOMPARE(step.value(u"outputTruncated"_s).toBool(), true);
}

void tst_Steps::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::addRow("no-command") << QStringList{u"run"_s} << u"missing command"_s;
    QTest::addRow("bad-timeout") << QStringList{u"run"_s, u"--timeout"_s, u"soon"_s, u"--"_s, u"true"_s} << u"invalid duration \"soon\""_s;
    QTest::addRow("bad-attempts") << QStringList{u"run"_s, u"--attempts"_s, u"0"_s, u"--"_s, u"true"_s} << u"--attempts must be"_s;
    QTest::addRow("target-with-label") << QStringList{u"run"_s, u"--target"_s, u"a"_s, u"--label"_s, u"k=v"_s, u"--"_s, u"true"_s} << u"does not combine"_s;
    QTest::addRow("missing-run-file") << QStringList{u"run"_s, u"--file"_s, u"/nonexistent/run.json"_s} << u"cannot read"_s;
}

void tst_Steps::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const Run run = m_h->cli(arguments);
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(message), qPrintable(run.describe()));
}

QTEST_GUILESS_MAIN(tst_Steps)
#include "tst_steps.moc"
