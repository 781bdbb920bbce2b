// A step's code is untrusted (issue 18, item 1 and item 8). With --step-user it cannot read the
// worker's token, cache dir, machine key or /proc files, cannot signal the worker, inherits none
// of its descriptors; a machine id learned some other way is not enough to enroll as that
// machine; and nothing a step starts outlives it (its process group, its cgroup).

#include "steps/stephelpers.h"

#include <QFile>
#include <QFileInfo>

#include <unistd.h>

using namespace SwampTest;

class tst_StepIsolation : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void tokenIsGoneFromTheWorkersProcFiles_data();
    void tokenIsGoneFromTheWorkersProcFiles();
    void stepUserCannotReachTheWorker();
    void stolenMachineIdCannotEnroll();
    void leftoversAreKilled_data();
    void leftoversAreKilled();
    void badStepUserIsAUsageError();
    void stepUserMustNotReadTheTokenFile();

private:
    // A worker running its steps as `nobody`, its token in a 0600 file; null without root.
    Child *isolatedWorker();
    static bool alive(qint64 pid);

    std::unique_ptr<Harness> m_h;
    QString m_token;
    QString m_secret;
};

void tst_StepIsolation::init()
{
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator());
    m_token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!m_token.isEmpty());
    m_secret = m_token.section(u'.', 1);
    QCOMPARE(m_secret.size(), 64);
}

void tst_StepIsolation::cleanup()
{
    m_h.reset();
}

bool tst_StepIsolation::alive(qint64 pid)
{
    QFile stat(u"/proc/%1/stat"_s.arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    // "pid (comm) S ...": a zombie has exited, only its parent has not collected it yet.
    const QByteArray line = stat.readAll();
    const qsizetype close = line.lastIndexOf(')');
    return close > 0 && line.mid(close + 2, 1) != "Z";
}

Child *tst_StepIsolation::isolatedWorker()
{
    // The test's own directories are 0700 (QTemporaryDir): let the step user pass through.
    QFile::setPermissions(QFileInfo(m_h->dataDir()).path(),
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner
                              | QFileDevice::ExeGroup | QFileDevice::ExeOther);
    const QString tokenFile = m_h->tempPath(u"worker.token"_s);
    QFile file(tokenFile);
    if (!file.open(QIODevice::WriteOnly))
        return nullptr;
    file.write(m_token.toUtf8() + '\n');
    file.close();
    QFile::setPermissions(tokenFile, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return m_h->startEnrolledWorker(QString(), m_h->newCacheDir(), {},
                                    {u"--step-user"_s, u"nobody"_s, u"--token-file"_s, tokenFile});
}

void tst_StepIsolation::tokenIsGoneFromTheWorkersProcFiles_data()
{
    QTest::addColumn<bool>("fromEnvironment");
    QTest::addRow("--token") << false;
    QTest::addRow("SWAMP_WORKER_TOKEN") << true;
}

void tst_StepIsolation::tokenIsGoneFromTheWorkersProcFiles()
{
    QFETCH(bool, fromEnvironment);
    if (fromEnvironment)
        m_h->workerEnvironment.insert(u"SWAMP_WORKER_TOKEN"_s, m_token);
    Child *worker = m_h->startWorker(fromEnvironment ? QString() : m_token, m_h->newCacheDir());
    QTRY_VERIFY2_WITH_TIMEOUT(worker->outContains(u"enrolled as"_s), qPrintable(worker->describe()), 20000);
    const qint64 pid = worker->pid();
    QFile cmdline(u"/proc/%1/cmdline"_s.arg(pid));
    QVERIFY(cmdline.open(QIODevice::ReadOnly));
    const QByteArray arguments = cmdline.readAll();
    QVERIFY(arguments.contains("connect"));
    QVERIFY2(!arguments.contains(m_secret.toLatin1()), arguments.constData());
    if (!fromEnvironment)
        QVERIFY2(arguments.contains("pool."), arguments.constData()); // the name stays, for ps
    // environ is readable here only as root (the worker is undumpable); as root it must not hold
    // the secret either.
    QFile environ(u"/proc/%1/environ"_s.arg(pid));
    if (environ.open(QIODevice::ReadOnly)) {
        const QByteArray variables = environ.readAll();
        QVERIFY(!variables.contains(m_secret.toLatin1()));
    } else {
        QVERIFY(::geteuid() != 0);
    }
    // The worker still works with the token it keeps in memory.
    const Run run = m_h->cli({u"run"_s, u"--"_s, u"echo"_s, u"still enrolled"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"still enrolled\n"_s);
}

void tst_StepIsolation::stepUserCannotReachTheWorker()
{
    if (::geteuid() != 0)
        QSKIP("--step-user needs a worker running as root (the CI runs as root)");
    Child *worker = isolatedWorker();
    QVERIFY(worker);
    const QString cacheDir = worker->process.arguments().value(worker->process.arguments().indexOf(u"--cache-dir"_s) + 1);
    const QString tokenFile = m_h->tempPath(u"worker.token"_s);
    // Everything a step's code would try, each line saying what happened.
    const QString script =
        uR"(id -un
echo "SHELL=$SHELL"
for f in /proc/$PPID/environ /proc/$PPID/mem "$1" "$2/machine-id" "$2/machine-key" "$2/worker.lock"; do
  if cat "$f" >/dev/null 2>&1; then echo "READ $f"; else echo "DENIED $f"; fi
done
if ls "$2" >/dev/null 2>&1; then echo "LISTED cache dir"; else echo "DENIED cache dir"; fi
if kill -STOP $PPID 2>/dev/null; then kill -CONT $PPID; echo "SIGNALLED worker"; else echo "DENIED signal"; fi
if grep -q "$3" /proc/$PPID/cmdline 2>/dev/null; then echo "SECRET in cmdline"; else echo "no secret in cmdline"; fi
ls /proc/self/fd | sort -n | tr '\n' ' '; echo)"_s;
    const Run run = m_h->cli({u"run"_s, u"--"_s, u"sh"_s, u"-c"_s, script, u"step"_s, tokenFile, cacheDir, m_secret});
    QCOMPARE_EXIT(run, 0);
    const QStringList lines = run.outLines();
    QCOMPARE(lines.value(0), u"nobody"_s);
    QVERIFY2(run.out.contains(u"SHELL=/bin/sh"_s), qPrintable(run.out)); // not nobody's nologin
    QVERIFY2(!run.out.contains(u"READ "_s), qPrintable(run.out));
    QCOMPARE(run.out.count(u"DENIED /"_s), 6);
    QVERIFY2(run.out.contains(u"DENIED cache dir"_s), qPrintable(run.out));
    QVERIFY2(run.out.contains(u"DENIED signal"_s), qPrintable(run.out));
    QVERIFY2(run.out.contains(u"no secret in cmdline"_s), qPrintable(run.out));
    // stdin, stdout, stderr, and the descriptor `ls` opens to list them: nothing of the worker's.
    QCOMPARE(lines.last().trimmed(), u"0 1 2 3"_s);
    QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
}

void tst_StepIsolation::stolenMachineIdCannotEnroll()
{
    // The takeover of issue 18: a step learned the token and the machine id (here: the test hands
    // them over), stops the worker so it cannot answer the ghost probe, and enrolls as it.
    const QString token = m_h->createToken(u"solo"_s);
    const QString cacheA = m_h->newCacheDir();
    Child *real = m_h->startEnrolledWorker(token, cacheA, u"solo"_s);
    QVERIFY(real);
    real->signal(SIGSTOP);
    const QString cacheB = m_h->newCacheDir();
    QVERIFY(QDir().mkpath(cacheB));
    QVERIFY(QFile::copy(cacheA + u"/machine-id"_s, cacheB + u"/machine-id"_s)); // not the key
    Child *impostor = m_h->startWorker(token, cacheB);
    QVERIFY2(impostor->waitForExit(30000), qPrintable(impostor->describe()));
    real->signal(SIGCONT);
    QCOMPARE(impostor->exitCode(), 1);
    QVERIFY2(impostor->errContains(u"enrollment failed: machine "_s)
                 && impostor->errContains(u"under another machine key"_s),
             qPrintable(impostor->describe()));
    QVERIFY2(!impostor->outContains(u"enrolled as"_s), qPrintable(impostor->describe()));
    // The real worker is back (resumed or re-enrolled) and runs the next step.
    const Run run = m_h->cli({u"run"_s, u"--target"_s, u"solo"_s, u"--timeout"_s, u"20s"_s, u"--"_s,
                              u"echo"_s, u"mine"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"mine\n"_s);
    QVERIFY2(run.err.contains(u"dispatched to solo"_s), qPrintable(run.err));
}

void tst_StepIsolation::leftoversAreKilled_data()
{
    QTest::addColumn<QString>("script");
    QTest::addColumn<QStringList>("runOptions");
    QTest::addColumn<bool>("needsCgroup");
    QTest::addRow("background-child-after-exit") << u"sleep 300 & echo $!"_s << QStringList() << false;
    QTest::addRow("subshell-child-after-exit") << u"(sleep 300 & echo $!)"_s << QStringList() << false;
    QTest::addRow("setsid-after-exit") << u"setsid sleep 300 & echo $!"_s << QStringList() << true;
    QTest::addRow("setsid-after-timeout") << u"setsid sleep 300 & echo $!; sleep 60"_s
                                          << QStringList{u"--timeout"_s, u"1s"_s} << true;
}

void tst_StepIsolation::leftoversAreKilled()
{
    QFETCH(QString, script);
    QFETCH(QStringList, runOptions);
    QFETCH(bool, needsCgroup);
    Child *worker = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(worker);
    if (needsCgroup && !worker->outContains(u"steps run in cgroups"_s))
        QSKIP(qPrintable(u"no usable cgroup v2 here, so a setsid daemon can outlive its step: "_s + worker->out()));
    const Run run = m_h->cli(QStringList{u"run"_s} + runOptions + QStringList{u"--"_s, u"sh"_s, u"-c"_s, script});
    QVERIFY2(run.exitCode >= 0, qPrintable(run.describe()));
    bool ok = false;
    const qint64 pid = run.outLines().value(0).trimmed().toLongLong(&ok);
    QVERIFY2(ok && pid > 0, qPrintable(run.describe()));
    QTRY_VERIFY2_WITH_TIMEOUT(!alive(pid), qPrintable(u"pid %1 outlived its step"_s.arg(pid)), 10000);
}

void tst_StepIsolation::badStepUserIsAUsageError()
{
    Child *worker = m_h->startWorker(m_token, m_h->newCacheDir(), {u"--step-user"_s, u"no-such-user-xyz"_s});
    QVERIFY(worker->waitForExit(20000));
    QCOMPARE(worker->exitCode(), 2);
    QVERIFY2(worker->errContains(u"--step-user no-such-user-xyz: no such user on this machine"_s),
             qPrintable(worker->describe()));
    Child *root = m_h->startWorker(m_token, m_h->newCacheDir(), {u"--step-user"_s, u"root"_s});
    QVERIFY(root->waitForExit(20000));
    QCOMPARE(root->exitCode(), 2);
    QVERIFY2(root->errContains(u"is root"_s), qPrintable(root->describe()));
    // Set but empty is a mistake, never "no step user" (steps would run as root unannounced).
    m_h->workerEnvironment.insert(u"SWAMP_WORKER_STEP_USER"_s, QString());
    Child *empty = m_h->startWorker(m_token, m_h->newCacheDir());
    QVERIFY(empty->waitForExit(20000));
    QCOMPARE(empty->exitCode(), 2);
    QVERIFY2(empty->errContains(u"--step-user (or SWAMP_WORKER_STEP_USER) is empty"_s), qPrintable(empty->describe()));
}

void tst_StepIsolation::stepUserMustNotReadTheTokenFile()
{
    if (::geteuid() != 0)
        QSKIP("--step-user needs a worker running as root (the CI runs as root)");
    QFile::setPermissions(QFileInfo(m_h->dataDir()).path(),
                          QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner
                              | QFileDevice::ExeOther);
    const QString tokenFile = m_h->tempPath(u"readable.token"_s);
    QFile file(tokenFile);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(m_token.toUtf8());
    file.close();
    QFile::setPermissions(tokenFile, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadOther);
    Child *worker = m_h->startWorker(QString(), m_h->newCacheDir(),
                                     {u"--step-user"_s, u"nobody"_s, u"--token-file"_s, tokenFile});
    QVERIFY(worker->waitForExit(20000));
    QCOMPARE(worker->exitCode(), 1);
    QVERIFY2(worker->errContains(u"error: %1 is readable by the step user nobody — chmod 0600 %1"_s.arg(tokenFile)),
             qPrintable(worker->describe()));
    QVERIFY2(!worker->outContains(u"enrolled as"_s), qPrintable(worker->describe()));
}

QTEST_GUILESS_MAIN(tst_StepIsolation)
#include "tst_step_isolation.moc"
