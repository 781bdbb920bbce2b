// A network partition: a worker's packets are dropped (no FIN, no RST reaches either side) for
// longer than heartbeat timeout + reconnect grace. The orchestrator must declare it lost and run
// its step again elsewhere (attempt 2); when the link heals, the worker's late result for the old
// lease must be refused (fencing), so the step ends once, with the second attempt's exit code.
//
// Everything runs in a network namespace of this test's own (enterPrivateNetwork(): its own
// 127.0.0.1, gone with the process, even when the test is killed), and the partition is made with
// tc on that namespace's lo. The partitioned worker reaches the orchestrator through a relay on a
// port of its own, so that dropping that port's packets cuts the worker off completely: its
// reconnects too (each comes from a new source port), and nobody else's traffic.

#include "steps/privatenetwork.h"
#include "steps/stephelpers.h"

#include "common/ids.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QPointer>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>

using namespace SwampTest;
using Swamp::shortId;

namespace {

// Relays every connection accepted on its own port to the orchestrator's port, byte for byte.
class Relay final : public QObject
{
public:
    explicit Relay(quint16 targetPort) : m_targetPort(targetPort)
    {
        connect(&m_server, &QTcpServer::newConnection, this, &Relay::accept);
    }

    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    quint16 port() const { return m_server.serverPort(); }

private:
    void accept()
    {
        while (QTcpSocket *accepted = m_server.nextPendingConnection()) {
            accepted->setParent(this);
            const QPointer<QTcpSocket> down = accepted;
            const QPointer<QTcpSocket> up = new QTcpSocket(this);
            const auto pass = [](QTcpSocket *from, QTcpSocket *to) {
                if (from && to && to->state() == QAbstractSocket::ConnectedState)
                    to->write(from->readAll());
            };
            connect(down, &QTcpSocket::readyRead, this, [=] { pass(down, up); });
            connect(up, &QTcpSocket::connected, this, [=] { pass(down, up); });
            connect(up, &QTcpSocket::readyRead, this, [=] { pass(up, down); });
            // One end gone: the other closes once what is buffered for it is written; each
            // socket is dropped when it is closed.
            for (const QPointer<QTcpSocket> &end : {down, up}) {
                const QPointer<QTcpSocket> other = end == down ? up : down;
                connect(end, &QTcpSocket::stateChanged, this,
                        [end, other](QAbstractSocket::SocketState state) {
                            if (state != QAbstractSocket::UnconnectedState)
                                return;
                            if (other)
                                other->disconnectFromHost();
                            if (end)
                                end->deleteLater();
                        });
            }
            up->connectToHost(QHostAddress::LocalHost, m_targetPort);
        }
    }

    QTcpServer m_server;
    quint16 m_targetPort;
};

QString findTool(const QString &name)
{
    QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty()) // not root's PATH, say
        path = QStandardPaths::findExecutable(
            name, {u"/usr/sbin"_s, u"/sbin"_s, u"/usr/bin"_s, u"/bin"_s});
    return path;
}

// Runs a tool (ip, tc) to its end, in the event loop like Harness::cli().
Run runTool(const QString &program, const QStringList &arguments)
{
    QProcess process;
    process.start(program, arguments);
    Run run;
    if (!process.waitForStarted(20000) ||
        !QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 30000)) {
        process.kill();
        process.waitForFinished(5000);
        run.err = u"did not finish: %1 %2"_s.arg(program, arguments.join(u' '));
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

} // namespace

class tst_Partition : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void partitionedWorkerIsLostAndItsLateResultRefused();

private:
    // `tc` with a command line of words separated by spaces.
    Run tc(const QString &command) { return runTool(m_tc, command.split(u' ')); }
    bool partition(quint16 port);
    bool heal();
    qint64 droppedPackets();

    QString m_tc;
    std::unique_ptr<Harness> m_h;
    QList<Child *> m_workers;
};

void tst_Partition::initTestCase()
{
    m_tc = findTool(u"tc"_s);
    if (m_tc.isEmpty()) {
        QSKIP("the partition test needs 'tc', not found in PATH, /usr/sbin or /sbin: install the "
              "Debian package iproute2 (scripts/install-deps.sh does)");
    }
    if (const QString failed = enterPrivateNetwork(); !failed.isEmpty()) {
        QSKIP(qPrintable(u"the partition test needs a network namespace of its own, and %1 (run it "
                         "as root, or with CAP_SYS_ADMIN and CAP_NET_ADMIN)"_s.arg(failed)));
    }
    // The blackhole: an htb root (what no filter picks is sent as is, unshaped) with one class
    // whose leaf qdisc drops every packet. partition() steers the worker's packets into it.
    for (const QString &command : {u"qdisc add dev lo root handle 1: htb"_s,
                                   u"class add dev lo parent 1: classid 1:1 htb rate 1gbit"_s,
                                   u"qdisc add dev lo parent 1:1 handle 10: blackhole"_s}) {
        const Run run = tc(command);
        if (run.exitCode != 0) {
            QSKIP(
                qPrintable(u"tc cannot build the blackhole (the kernel needs sch_htb, "
                           "sch_blackhole and cls_u32): tc %1: %2"_s.arg(command, run.describe())));
        }
    }
}

// Every TCP packet from or to `port` on lo goes to the blackhole, in both directions.
bool tst_Partition::partition(quint16 port)
{
    for (const QString &direction : {u"sport"_s, u"dport"_s}) {
        const Run run =
            tc(u"filter add dev lo parent 1: protocol ip prio 1 u32 "
               "match ip protocol 6 0xff match ip %1 %2 0xffff flowid 1:1"_s.arg(direction)
                   .arg(port));
        if (run.exitCode != 0) {
            qWarning("tc filter add failed: %s", qPrintable(run.describe()));
            return false;
        }
    }
    return true;
}

bool tst_Partition::heal()
{
    const Run run = tc(u"filter del dev lo parent 1: protocol ip prio 1 u32"_s);
    if (run.exitCode != 0)
        qWarning("tc filter del failed: %s", qPrintable(run.describe()));
    return run.exitCode == 0 && tc(u"filter show dev lo"_s).out.trimmed().isEmpty();
}

// Packets the blackhole has swallowed so far.
qint64 tst_Partition::droppedPackets()
{
    const Run run = tc(u"-s qdisc show dev lo parent 1:1"_s);
    static const QRegularExpression dropped(u"dropped (\\d+)"_s);
    const auto match = dropped.match(run.out);
    return match.hasMatch() ? match.captured(1).toLongLong() : -1;
}

void tst_Partition::cleanup()
{
    // A failure message is cut at 1 KB: the whole story goes to the log instead.
    if (QTest::currentTestFailed() && m_h) {
        qWarning("orchestrator:\n%s", qPrintable(m_h->orchestratorOutput()));
        for (Child *worker : std::as_const(m_workers))
            qWarning("%s", qPrintable(worker->describe()));
    }
    m_workers.clear();
    m_h.reset();
}

void tst_Partition::partitionedWorkerIsLostAndItsLateResultRefused()
{
    m_h = std::make_unique<Harness>();
    Harness &h = *m_h;
    QVERIFY(h.startOrchestrator()); // 200ms heartbeat, 1s timeout, 2s grace
    const QString token = h.createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    Relay relay(h.port());
    QVERIFY(relay.listen());

    // Worker A dials the relay; it is the only worker when the step is submitted, so it gets it.
    Child *a = h.startWorker(token, h.newCacheDir(), {}, swampBinary(),
                             u"ws://127.0.0.1:%1"_s.arg(relay.port()));
    m_workers << a;
    QTRY_VERIFY_WITH_TIMEOUT(a->outContains(u"enrolled as "_s) || !a->isRunning(), 30000);
    const QString aName = Harness::enrolledName(a);
    QVERIFY(!aName.isEmpty());

    // Attempt 1 (whoever runs it first) waits for the release file, then exits 41; any later
    // attempt exits 0 at once. The release comes while A is cut off, so A holds a result the
    // orchestrator must never take.
    const QString firstRun = h.tempPath(u"first-run"_s);
    const QString release = h.tempPath(u"release"_s);
    const QString script =
        u"if mkdir '%1' 2>/dev/null; then echo attempt-1-started; "
        "while [ ! -e '%2' ]; do sleep 0.05; done; echo attempt-1-result; exit 41; fi; "
        "echo attempt-2-result"_s.arg(firstRun, release);
    const QString id = detach(h, {u"--name"_s, u"partitioned"_s, u"--shell"_s, u"--"_s, script});
    QVERIFY(!id.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(a->outContains(u"step started: partitioned"_s), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(h, id), u"running"_s, 30000);
    // Attempt 1's first line is stored before the cut (the check of the output below needs it).
    QTRY_COMPARE_WITH_TIMEOUT(h.cli({u"run"_s, u"logs"_s, id}).out, u"attempt-1-started\n"_s,
                              30000);
    const QString leasesOfStep =
        u"modelType == \"swamp/step-lease\" && attributes.stepId == \"%1\""_s.arg(id);
    const QJsonArray firstLeases = query(h, leasesOfStep);
    QCOMPARE(firstLeases.size(), 1);
    const QString firstLease = firstLeases.first().toObject().value(u"id"_s).toString();

    // Worker B dials the orchestrator directly and stays connected throughout.
    Child *b = h.startEnrolledWorker(token, h.newCacheDir());
    QVERIFY(b);
    m_workers << b;
    const QString bName = Harness::enrolledName(b);

    QVERIFY(partition(relay.port()));
    QElapsedTimer clock;
    clock.start();
    const QString step = u"step %1 (partitioned)"_s.arg(shortId(id));
    const auto printed = [&h](const QString &line) {
        return h.orchestratorOutput().contains(line);
    };
    // No timer: the partition lasts until the orchestrator has given A up and requeued its step.
    QTRY_VERIFY_WITH_TIMEOUT(
        printed(u"worker %1 lost: no reconnect within the 2s grace"_s.arg(aName)), 30000);
    const qint64 lostAfterMs = clock.elapsed();
    QVERIFY(printed(u"worker %1 disconnected: connection closed"_s.arg(aName)));
    QVERIFY(printed(u"lease %1 of step %2 on %3 expired: worker lost"_s.arg(shortId(firstLease),
                                                                            shortId(id), aName)));
    QVERIFY(printed(step + u" requeued: worker lost"_s));
    // A heard nothing (no FIN, no RST): its own heartbeat watchdog gave up on the link.
    QVERIFY(a->outContains(u"disconnected: no answer from the orchestrator for 1s"_s));
    QVERIFY(a->isRunning());

    // Attempt 2 runs on B and succeeds while A is still cut off.
    QTRY_VERIFY_WITH_TIMEOUT(printed(step + u" dispatched to %1 (attempt 2/3)"_s.arg(bName)),
                             30000);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(h, id), u"succeeded"_s, 30000);

    // Now A's attempt 1 ends, behind the partition: A keeps its result until it can send it.
    QVERIFY(QFile(release).open(QIODevice::WriteOnly));
    QTRY_VERIFY_WITH_TIMEOUT(
        a->outContains(u"step finished: partitioned (step %1) exit code 41"_s.arg(shortId(id))),
        30000);
    QVERIFY2(droppedPackets() > 0,
             "the blackhole dropped nothing: the partition did not cut A off");

    QVERIFY(heal());
    const qint64 healedAtMs = clock.elapsed();
    // A comes back as a new session (the old one was lost) and offers its result: refused.
    QTRY_VERIFY_WITH_TIMEOUT(
        printed(u"refused finished from %1 for lease %2: the lease is not active"_s.arg(
            aName, firstLease)),
        30000);
    const qint64 refusedAfterHealMs = clock.elapsed() - healedAtMs;
    QTRY_VERIFY_WITH_TIMEOUT(
        a->errContains(
            u"warning: the orchestrator refused a frame for lease %1"_s.arg(shortId(firstLease))),
        30000);
    QCOMPARE(a->count(u"enrolled as %1 "_s.arg(aName)), 2);
    QVERIFY(!a->outContains(u"session resumed"_s));

    // The step ended once, on B, with attempt 2's exit code; one lease completed, one expired.
    const QJsonObject final = stepOf(h, id);
    QCOMPARE(final.value(u"state"_s).toString(), u"succeeded"_s);
    QVERIFY2(final.value(u"exitCode"_s).isDouble(), QJsonDocument(final).toJson().constData());
    QCOMPARE(final.value(u"exitCode"_s).toInt(), 0);
    QCOMPARE(final.value(u"attempt"_s).toInt(), 2);
    QCOMPARE(final.value(u"workerName"_s).toString(), bName);
    const QRegularExpression ended(
        u"%1 (succeeded|failed|cancelled|timed_out)"_s.arg(QRegularExpression::escape(step)));
    QCOMPARE(h.orchestratorOutput().count(ended), 1);
    const QJsonArray leases = query(h, leasesOfStep);
    QCOMPARE(leases.size(), 2);
    for (const QJsonValue &value : leases) {
        const QJsonObject lease = value.toObject();
        const QJsonObject attributes = lease.value(u"attributes"_s).toObject();
        const QString leaseState = attributes.value(u"state"_s).toString();
        if (lease.value(u"id"_s).toString() == firstLease) {
            QCOMPARE(leaseState, u"expired"_s);
            QCOMPARE(attributes.value(u"workerName"_s).toString(), aName);
            QCOMPARE(attributes.value(u"error"_s).toString(), u"worker lost"_s);
            QVERIFY2(attributes.value(u"exitCode"_s).isNull(),
                     QJsonDocument(lease).toJson().constData());
        } else {
            QCOMPARE(leaseState, u"completed"_s);
            QCOMPARE(attributes.value(u"attempt"_s).toInt(), 2);
            QCOMPARE(attributes.value(u"workerName"_s).toString(), bName);
            QVERIFY2(attributes.value(u"exitCode"_s).isDouble(),
                     QJsonDocument(lease).toJson().constData());
            QCOMPARE(attributes.value(u"exitCode"_s).toInt(), 0);
        }
    }
    // What A printed after the cut was never stored: it went into the dead link, and the new
    // session takes nothing of the old lease but its result (to refuse it).
    const QJsonArray chunks =
        h.cli({u"run"_s, u"logs"_s, id, u"--json"_s}).json().value(u"chunks"_s).toArray();
    QString attempt1, attempt2;
    for (const QJsonValue &value : chunks) {
        const QJsonObject chunk = value.toObject();
        (chunk.value(u"attempt"_s).toInt() == 1 ? attempt1 : attempt2) +=
            chunk.value(u"data"_s).toString();
    }
    QCOMPARE(attempt1, u"attempt-1-started\n"_s);
    QCOMPARE(attempt2, u"attempt-2-result\n"_s);

    // And A is whole again: it takes and runs a new step.
    const QString after = detach(h, {u"--target"_s, aName, u"--"_s, u"true"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(h, after), u"succeeded"_s, 30000);
    qInfo("worker lost %lld ms into the partition, healed after %lld ms, late result refused "
          "%lld ms after the heal",
          lostAfterMs, healedAtMs, refusedAfterHealMs);
}

QTEST_GUILESS_MAIN(tst_Partition)
#include "tst_partition.moc"
