// What workers and operators see while PostgreSQL is away (issue 20). The orchestrator holds
// only its hot-path changes (tst_postgres_serve); an enrollment, a token, a pause or a label is
// not held, and a read cannot be answered: each fails with `database_away` until the database is
// back, and nothing of it is half-written. A worker that cannot enroll meanwhile does not give up:
// it says why on each attempt and gets in once the database is back, its running step neither
// lost nor run twice.

#include "integration/postgresharness.h"
#include "steps/stephelpers.h"

#include <QFile>

#include <csignal>

using namespace SwampTest;

namespace {
const QString Unavailable = u"PostgreSQL is unavailable"_s;
const QString Lost = u"connection to PostgreSQL is lost"_s;
const QString Back = u"connection to PostgreSQL is back"_s;

// The lines of `text` that contain `needle`.
QStringList linesWith(const QString &text, const QString &needle)
{
    QStringList lines = text.split(u'\n', Qt::SkipEmptyParts);
    lines.removeIf([&](const QString &line) { return !line.contains(needle); });
    return lines;
}

// TCP connections established to 127.0.0.1:`port` (/proc/net/tcp): the orchestrator's side of
// its workers' and clients' connections.
int connectionsTo(quint16 port)
{
    QFile file(u"/proc/net/tcp"_s);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QString local = u"0100007F:%1"_s.arg(port, 4, 16, QChar(u'0')).toUpper();
    int count = 0;
    for (const QByteArray &line : file.readAll().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() > 3 && QString::fromLatin1(fields.at(1)) == local && fields.at(3) == "01")
            ++count;
    }
    return count;
}

// The secret of a token printed by `swamp worker token create` (<name>.<secret>).
QString secretOf(const QString &token)
{
    return token.section(u'.', 1);
}
} // namespace

class tst_PostgresOutage : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void newWorkerEnrollsOnceTheDatabaseIsBack();
    void droppedWorkerGetsBackWithItsStep();
    void restartedWorkerGetsBackOnceTheDatabaseIsBack();
    void adminCommandsFailCleanlyAndWorkAfterwards();

private:
    // An orchestrator on a new database and an enrollment token `pool` (m_token).
    bool startWithToken();
    // The same and a worker enrolled with it; the worker.
    Child *startWithWorker();
    void shutDown();
    void startAgain();
    // Each of the worker's lines that tells of the outage is the line of one failed attempt,
    // which says it retries; returns how many there are.
    int checkOutageLines(Child *worker);
    void verifyClean(const QString &text, const QString &where);

    PostgresServer m_postgres;
    std::unique_ptr<Harness> m_h;
    QString m_token;
};

void tst_PostgresOutage::initTestCase()
{
    SWAMP_START_POSTGRES(m_postgres);
}

void tst_PostgresOutage::init()
{
    m_h = std::make_unique<Harness>();
}

void tst_PostgresOutage::cleanup()
{
    if (QTest::currentTestFailed() && m_h->orchestrator())
        qWarning("%s", qPrintable(m_h->orchestrator()->describe()));
    if (m_postgres.isRunning())
        m_postgres.startAgain(); // a failed test may leave it down; the next one needs it
    m_h.reset();
}

bool tst_PostgresOutage::startWithToken()
{
    if (startOnNewDatabase(*m_h, m_postgres).isEmpty())
        return false;
    m_token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    return !m_token.isEmpty();
}

Child *tst_PostgresOutage::startWithWorker()
{
    return startWithToken() ? m_h->startEnrolledWorker(m_token, m_h->newCacheDir()) : nullptr;
}

void tst_PostgresOutage::shutDown()
{
    QVERIFY2(m_postgres.shutDown(), qPrintable(m_postgres.errorString()));
}

void tst_PostgresOutage::startAgain()
{
    QVERIFY2(m_postgres.startAgain(), qPrintable(m_postgres.errorString()));
}

int tst_PostgresOutage::checkOutageLines(Child *worker)
{
    const QStringList lines = linesWith(worker->output(), Unavailable);
    for (const QString &line : lines) {
        if (!line.contains(u"unavailable to the orchestrator"_s) || !line.contains(u"a worker retries by itself"_s)
            || !line.contains(u"check that PostgreSQL runs"_s) || !line.contains(u"reconnecting in"_s))
            return -1;
    }
    return int(lines.size());
}

void tst_PostgresOutage::verifyClean(const QString &text, const QString &where)
{
    QVERIFY2(!text.contains(m_postgres.password()), qPrintable(u"the password appears in "_s + where));
    QVERIFY2(!m_token.isEmpty() && !text.contains(secretOf(m_token)),
             qPrintable(u"the token's secret appears in "_s + where));
}

// A new machine started while PostgreSQL is down: it stays up, says on each attempt (not more
// often) that the orchestrator's database is unavailable and that it retries, and enrolls by
// itself once the database is back; a step then runs on it.
void tst_PostgresOutage::newWorkerEnrollsOnceTheDatabaseIsBack()
{
    QVERIFY(startWithToken());
    shutDown();
    Child *late = m_h->startWorker(m_token, m_h->newCacheDir(), {u"--name"_s, u"late"_s});
    QTRY_VERIFY2_WITH_TIMEOUT(checkOutageLines(late) >= 2 || !late->isRunning(), qPrintable(late->describe()), 40000);
    QVERIFY2(late->isRunning(), qPrintable(late->describe()));
    QVERIFY2(checkOutageLines(late) >= 2, qPrintable(late->describe()));
    QVERIFY2(!late->outContains(u"enrolled as"_s), qPrintable(late->describe()));
    startAgain();

    QTRY_VERIFY2_WITH_TIMEOUT(late->outContains(u"enrolled as late "_s) || !late->isRunning(),
                              qPrintable(late->describe()), 60000);
    QVERIFY2(late->isRunning(), qPrintable(late->describe()));
    QVERIFY2(checkOutageLines(late) >= 2, qPrintable(late->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(u"late"_s), u"idle"_s, 30000);
    const Run run = m_h->cli({u"run"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.err.contains(u"dispatched to late"_s), qPrintable(run.describe()));
    const QString output = m_h->orchestratorOutput();
    QVERIFY2(output.count(Lost) == 1, qPrintable(output));
    verifyClean(output, u"the orchestrator's output"_s);
    verifyClean(late->output(), u"the worker's output"_s);
}

// A worker's connection drops while PostgreSQL is down (it is frozen past the heartbeat
// timeout): it cannot get back in before the database is, past its reconnect grace. Then it does,
// and the step it ran all along ends once, on its first attempt.
void tst_PostgresOutage::droppedWorkerGetsBackWithItsStep()
{
    Child *worker = startWithWorker();
    QVERIFY(worker);
    const QString name = Harness::enrolledName(worker);
    const QString go = m_h->tempPath(u"go"_s);
    const QString ran = m_h->tempPath(u"ran.txt"_s);
    const QString step = detach(*m_h, {u"--"_s, u"sh"_s, u"-c"_s,
                                       u"while [ ! -e '%1' ]; do sleep 0.1; done; echo ran >> '%2'"_s.arg(go, ran)});
    QVERIFY(!step.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, step), u"running"_s, 30000);

    shutDown();
    // Silent past the heartbeat timeout (1 s): the orchestrator closes its socket. (It can say so
    // only once the database is back: its events wait for the commit.)
    QCOMPARE(connectionsTo(m_h->port()), 1);
    worker->signal(SIGSTOP);
    QTRY_COMPARE_WITH_TIMEOUT(connectionsTo(m_h->port()), 0, 30000);
    worker->signal(SIGCONT);
    QTRY_VERIFY2_WITH_TIMEOUT(checkOutageLines(worker) >= 2 || !worker->isRunning(), qPrintable(worker->describe()), 60000);
    QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
    QVERIFY2(checkOutageLines(worker) >= 2, qPrintable(worker->describe()));
    startAgain();

    QTRY_VERIFY2_WITH_TIMEOUT(worker->out().count(u"enrolled as %1 "_s.arg(name)) + worker->out().count(u"reconnected as %1"_s.arg(name)) >= 2
                                  || !worker->isRunning(),
                              qPrintable(worker->describe()), 60000);
    QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
    QFile(go).open(QIODevice::WriteOnly);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, step), u"succeeded"_s, 60000);
    QCOMPARE(stepOf(*m_h, step).value(u"attempt"_s).toInt(), 1);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step-lease\""_s), 1);
    QCOMPARE(total(*m_h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s), 1);
    QFile file(ran);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("ran\n")); // the command ran once
    QCOMPARE(m_h->orchestratorOutput().count(Lost), 1);
}

// The worker's process restarts (same --cache-dir: the same machine) while PostgreSQL is down:
// the new process retries like a new machine and gets its name back once the database is back.
void tst_PostgresOutage::restartedWorkerGetsBackOnceTheDatabaseIsBack()
{
    QVERIFY(startWithToken());
    const QString cacheDir = m_h->newCacheDir();
    Child *first = m_h->startEnrolledWorker(m_token, cacheDir);
    QVERIFY(first);
    const QString name = Harness::enrolledName(first);
    shutDown();
    first->signal(SIGKILL);
    QVERIFY(first->waitForExit(20000));
    Child *second = m_h->startWorker(m_token, cacheDir);
    QTRY_VERIFY2_WITH_TIMEOUT(checkOutageLines(second) >= 2 || !second->isRunning(), qPrintable(second->describe()), 60000);
    QVERIFY2(second->isRunning() && checkOutageLines(second) >= 2, qPrintable(second->describe()));
    startAgain();

    QTRY_VERIFY2_WITH_TIMEOUT(second->outContains(u"enrolled as %1 "_s.arg(name)) || !second->isRunning(),
                              qPrintable(second->describe()), 60000);
    QVERIFY2(second->isRunning(), qPrintable(second->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(name), u"idle"_s, 30000);
    QCOMPARE(m_h->workerList().value(u"workers"_s).toArray().size(), 1); // the same machine, not a second worker
    const Run run = m_h->cli({u"run"_s, u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.err.contains(u"dispatched to %1"_s.arg(name)), qPrintable(run.describe()));
    QCOMPARE(m_h->orchestratorOutput().count(Lost), 1);
}

// Token, pause, label, list and query while PostgreSQL is down: exit 1 with one line that names
// the cause and the fix (no secret in it), nothing half-written, the outage logged once; each
// works once the database is back.
void tst_PostgresOutage::adminCommandsFailCleanlyAndWorkAfterwards()
{
    Child *worker = startWithWorker();
    QVERIFY(worker);
    const QString name = Harness::enrolledName(worker);
    QVERIFY(!m_h->createToken(u"kept"_s).isEmpty());
    shutDown();

    const QList<QStringList> commands{
        {u"worker"_s, u"token"_s, u"create"_s, u"during"_s},
        {u"worker"_s, u"token"_s, u"revoke"_s, u"kept"_s},
        {u"worker"_s, u"pause"_s, name},
        {u"worker"_s, u"label"_s, name, u"zone=outage"_s},
        {u"worker"_s, u"list"_s},
        {u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s},
    };
    for (const QStringList &command : commands) {
        const Run run = m_h->cli(command);
        const QString what = u"swamp "_s + command.join(u' ');
        QVERIFY2(run.exitCode == 1, qPrintable(what + u"\n"_s + run.describe()));
        QVERIFY2(run.out.isEmpty(), qPrintable(what + u"\n"_s + run.describe()));
        QVERIFY2(run.err.startsWith(u"error: "_s + Unavailable) && run.err.count(u'\n') == 1
                     && run.err.contains(u"nothing was done"_s)
                     && run.err.contains(u" — try again once it is back"_s),
                 qPrintable(what + u"\n"_s + run.describe()));
        verifyClean(run.err, what);
    }
    const QString during = m_h->orchestratorOutput();
    QVERIFY2(during.count(Lost) == 1, qPrintable(during));
    QVERIFY2(!during.contains(u"statement failed"_s), qPrintable(during));
    verifyClean(during, u"the orchestrator's output"_s);
    startAgain();

    // Nothing of what failed was written.
    QTRY_VERIFY_WITH_TIMEOUT(m_h->cli({u"worker"_s, u"list"_s}).exitCode == 0, 60000);
    QVERIFY(m_h->tokenNamed(u"during"_s).isEmpty());
    QCOMPARE(m_h->tokenNamed(u"kept"_s).value(u"state"_s).toString(), u"unused"_s);
    const QJsonObject before = m_h->workerNamed(name);
    QVERIFY2(!before.value(u"labels"_s).toObject().contains(u"zone"_s), QJsonDocument(before).toJson().constData());
    QVERIFY(!before.value(u"paused"_s).toBool());

    // And each works now.
    QVERIFY(!m_h->createToken(u"during"_s).isEmpty());
    QCOMPARE_EXIT(m_h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"kept"_s}), 0);
    QCOMPARE(m_h->tokenNamed(u"kept"_s).value(u"state"_s).toString(), u"revoked"_s);
    QCOMPARE_EXIT(m_h->cli({u"worker"_s, u"pause"_s, name}), 0);
    QCOMPARE_EXIT(m_h->cli({u"worker"_s, u"label"_s, name, u"zone=outage"_s}), 0);
    const QJsonObject after = m_h->workerNamed(name);
    QCOMPARE(after.value(u"labels"_s).toObject().value(u"zone"_s).toString(), u"outage"_s);
    QVERIFY(after.value(u"paused"_s).toBool());
    QCOMPARE_EXIT(m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s}), 0);
    const QString output = m_h->orchestratorOutput();
    QCOMPARE(output.count(Lost), 1);
    QCOMPARE(output.count(Back), 1);
    verifyClean(output, u"the orchestrator's output"_s);
}

QTEST_GUILESS_MAIN(tst_PostgresOutage)
#include "tst_postgres_outage.moc"
