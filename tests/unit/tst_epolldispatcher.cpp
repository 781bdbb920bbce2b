// swamp serve's epoll event dispatcher (issue 20): every test runs on it (main() installs it
// before the QCoreApplication) and checks one point of Qt's dispatcher semantics that a wrong
// dispatcher would break: level-triggered notifiers sharing one registration, hang-ups and
// errors, notifiers gone during a pass, regular files, fd reuse, timer order and bounds, zero
// timers, kills from handlers, nested loops, remainingTime, registeredTimers, wake-ups and
// interrupt() from other threads.
#include "common/epolleventdispatcher.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryFile>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <fcntl.h>
#include <functional>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {

// Two connected Unix stream sockets, closed at the end of the scope.
struct SocketPair
{
    int fds[2] = {-1, -1};
    SocketPair() { QVERIFY(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
    ~SocketPair() { closeBoth(); }
    void closeBoth()
    {
        for (int &fd : fds) {
            if (fd >= 0)
                ::close(fd);
            fd = -1;
        }
    }
    void send(const char *bytes) const
    {
        QCOMPARE(::write(fds[1], bytes, qstrlen(bytes)), ssize_t(qstrlen(bytes)));
    }
};

EpollEventDispatcher *dispatcher()
{
    return qobject_cast<EpollEventDispatcher *>(QCoreApplication::eventDispatcher());
}

// Keeps the thread off the event loop until `ms` have passed, so that several timers are
// overdue in the same pass.
void blockThreadFor(int ms)
{
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() <= ms)
        QThread::yieldCurrentThread();
}

// Passes until one finds nothing to do: an earlier test's wake-up must not end a later wait.
void drainEarlierWakeUps()
{
    while (QCoreApplication::eventDispatcher()->processEvents(QEventLoop::AllEvents)) {
    }
}

// A QObject whose timer events are counted, with an optional action per event.
class TimerTarget : public QObject
{
public:
    std::function<void(int)> onTimer;
    QList<int> fired;

protected:
    void timerEvent(QTimerEvent *event) override
    {
        fired.append(event->timerId());
        if (onTimer)
            onTimer(event->timerId());
    }
};

} // namespace

class tst_EpollDispatcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void readNotifierIsLevelTriggered();
    void notifiersOfOneFdShareARegistration();
    void hangUpWakesReaderAndErrorWakesWriter();
    void excludeSocketNotifiersHoldsThemBack();
    void notifierDeletedInAnotherSlotGetsNothing();
    void regularFilesAreAlwaysReady();
    void reusedFdNumberIsWatched();
    void reusedFdNumberReplacingAStaleNotifierIsWatched();
    void tcpEchoOnLoopback();
    void processPipes();
    void singleShotOrderAndNeverEarly();
    void intervalTimerRepeatsNeverEarly();
    void zeroTimerFiresOncePerPass();
    void zeroTimerDoesNotStarveOthers();
    void killingATimerFromAnotherHandler();
    void deletingATimerOwnerFromAnotherHandler();
    void nestedLoopInTimerSlot();
    void remainingTime();
    void registeredTimersFollowMoveToThread();
    void wakeUpFromAnotherThread();
    void queuedSignalFromAnotherThread();
    void interruptEndsThePassBeforeDelivery();
    void aboutToBlockAndAwakePair();
    void aLongPassLetsPostedEventsIn();
};

void tst_EpollDispatcher::initTestCase()
{
    QVERIFY2(dispatcher(), "the tests must run on EpollEventDispatcher");
    QVERIFY(dispatcher()->isValid());
}

void tst_EpollDispatcher::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

// Two bytes, one read per activation: an edge-triggered dispatcher would activate only once.
void tst_EpollDispatcher::readNotifierIsLevelTriggered()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    int activations = 0;
    connect(&notifier, &QSocketNotifier::activated, this, [&] {
        char byte = 0;
        QCOMPARE(::read(pair.fds[0], &byte, 1), ssize_t(1));
        ++activations;
    });
    pair.send("ab");
    QTRY_COMPARE(activations, 2);
    QCoreApplication::processEvents();
    QCOMPARE(activations, 2);
}

// Read and Write on one fd; dropping the Write notifier (an EPOLL_CTL_MOD) must keep Read.
void tst_EpollDispatcher::notifiersOfOneFdShareARegistration()
{
    SocketPair pair;
    QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
    auto writer = std::make_unique<QSocketNotifier>(pair.fds[0], QSocketNotifier::Write);
    QSignalSpy readSpy(&reader, &QSocketNotifier::activated);
    QSignalSpy writeSpy(writer.get(), &QSocketNotifier::activated);
    QVERIFY(writeSpy.wait());
    QCOMPARE(readSpy.count(), 0);
    writer.reset();
    pair.send("x");
    QVERIFY(readSpy.wait());
    reader.setEnabled(false);
    QCoreApplication::processEvents();
    const int reads = readSpy.count();
    QCoreApplication::processEvents();
    QCOMPARE(readSpy.count(), reads); // disabled: no more, though the byte is still unread
    reader.setEnabled(true);
    QVERIFY(readSpy.wait());
}

// poll() reports a closed pipe as POLLHUP to the reader and POLLERR to the writer (of a full
// pipe: without POLLOUT): both must still wake their notifier.
void tst_EpollDispatcher::hangUpWakesReaderAndErrorWakesWriter()
{
    int readerPipe[2];
    int writerPipe[2];
    QVERIFY(::pipe2(readerPipe, O_CLOEXEC) == 0);
    QVERIFY(::pipe2(writerPipe, O_CLOEXEC | O_NONBLOCK) == 0);
    const QByteArray chunk(4096, 'x');
    while (::write(writerPipe[1], chunk.constData(), chunk.size()) > 0) {
    }
    ::close(readerPipe[1]);
    ::close(writerPipe[0]);
    {
        QSocketNotifier reader(readerPipe[0], QSocketNotifier::Read);
        QSocketNotifier writer(writerPipe[1], QSocketNotifier::Write);
        QSignalSpy readSpy(&reader, &QSocketNotifier::activated);
        QSignalSpy writeSpy(&writer, &QSocketNotifier::activated);
        QTRY_VERIFY(readSpy.count() > 0 && writeSpy.count() > 0);
    }
    ::close(readerPipe[0]);
    ::close(writerPipe[1]);
}

void tst_EpollDispatcher::excludeSocketNotifiersHoldsThemBack()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    pair.send("x");
    QCoreApplication::processEvents(QEventLoop::ExcludeSocketNotifiers);
    QCOMPARE(spy.count(), 0);
    QTRY_VERIFY(spy.count() > 0);
}

// Both fds are ready in the same pass; whichever is delivered first deletes the other, which
// must then get nothing (a dispatcher that does not re-check would use a dangling pointer).
void tst_EpollDispatcher::notifierDeletedInAnotherSlotGetsNothing()
{
    SocketPair first;
    SocketPair second;
    auto a = std::make_unique<QSocketNotifier>(first.fds[0], QSocketNotifier::Read);
    auto b = std::make_unique<QSocketNotifier>(second.fds[0], QSocketNotifier::Read);
    int activations = 0;
    connect(a.get(), &QSocketNotifier::activated, this, [&] {
        ++activations;
        b.reset();
        a->setEnabled(false);
    });
    connect(b.get(), &QSocketNotifier::activated, this, [&] {
        ++activations;
        a.reset();
        b->setEnabled(false);
    });
    first.send("x");
    second.send("y");
    QTRY_COMPARE(activations, 1);
    for (int pass = 0; pass < 3; ++pass)
        QCoreApplication::processEvents();
    QCOMPARE(activations, 1);
    QVERIFY(!a || !b);
}

// epoll refuses regular files and /dev/null (EPERM); poll() calls them always ready.
void tst_EpollDispatcher::regularFilesAreAlwaysReady()
{
    QTemporaryFile file;
    QVERIFY(file.open());
    const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    QVERIFY(devNull >= 0);
    {
        QSocketNotifier fileReader(file.handle(), QSocketNotifier::Read);
        QSocketNotifier fileWriter(file.handle(), QSocketNotifier::Write);
        QSocketNotifier nullReader(devNull, QSocketNotifier::Read);
        QSignalSpy fileReads(&fileReader, &QSocketNotifier::activated);
        QSignalSpy fileWrites(&fileWriter, &QSocketNotifier::activated);
        QSignalSpy nullReads(&nullReader, &QSocketNotifier::activated);
        QTRY_VERIFY(fileReads.count() > 1 && fileWrites.count() > 1 && nullReads.count() > 1);
    }
    ::close(devNull);
}

// A notifier outlives its fd; the number comes back as another socket, watched for another
// type. The kernel dropped the registration with the old file: MOD gets ENOENT and must ADD.
void tst_EpollDispatcher::reusedFdNumberIsWatched()
{
    auto first = std::make_unique<SocketPair>();
    const int number = first->fds[0];
    QSocketNotifier stale(number, QSocketNotifier::Read);
    first->closeBoth();
    SocketPair second;
    if (second.fds[0] != number && second.fds[1] != number)
        QSKIP("the kernel did not hand the fd number out again");
    QSocketNotifier writer(number, QSocketNotifier::Write);
    QSignalSpy spy(&writer, &QSocketNotifier::activated);
    QVERIFY(spy.wait());
    stale.setEnabled(false);
}

// As Qt's PostgreSQL driver leaves it when the server ends a LISTEN connection: the socket is
// closed under an enabled read notifier. The next socket gets the number and a read notifier of
// its own, which replaces the stale one (as in Qt's dispatcher, with the same warning); the mask
// is the same, but the kernel forgot the old file, so the new one must be added again.
void tst_EpollDispatcher::reusedFdNumberReplacingAStaleNotifierIsWatched()
{
    auto first = std::make_unique<SocketPair>();
    const int number = first->fds[0];
    auto stale = std::make_unique<QSocketNotifier>(number, QSocketNotifier::Read);
    QCoreApplication::processEvents(); // the registration is applied
    first->closeBoth();
    SocketPair second;
    const int side = second.fds[0] == number ? 0 : second.fds[1] == number ? 1 : -1;
    if (side < 0)
        QSKIP("the kernel did not hand the fd number out again");
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"several socket notifiers for socket %1"_s.arg(number)));
    QSocketNotifier reader(number, QSocketNotifier::Read);
    QSignalSpy spy(&reader, &QSocketNotifier::activated);
    QCOMPARE(::write(second.fds[1 - side], "x", 1), ssize_t(1));
    QVERIFY(spy.wait(2000));
    stale.reset(); // not the current notifier any more: changes nothing
    QVERIFY(spy.wait(2000)); // level-triggered: the byte is still unread
}

// Qt's sockets on the dispatcher: a 1 MiB echo through QTcpServer/QTcpSocket on 127.0.0.1 uses
// read and write notifiers switched on and off as buffers fill and drain.
void tst_EpollDispatcher::tcpEchoOnLoopback()
{
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    connect(&server, &QTcpServer::newConnection, this, [&] {
        QTcpSocket *peer = server.nextPendingConnection();
        connect(peer, &QTcpSocket::readyRead, peer, [peer] { peer->write(peer->readAll()); });
    });
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QSignalSpy connected(&client, &QTcpSocket::connected);
    QVERIFY(connected.wait());
    QByteArray payload(1024 * 1024, 'x');
    for (int i = 0; i < payload.size(); i += 997)
        payload[i] = char('a' + i % 26);
    client.write(payload);
    QByteArray echoed;
    connect(&client, &QTcpSocket::readyRead, this, [&] { echoed += client.readAll(); });
    QTRY_COMPARE_WITH_TIMEOUT(echoed.size(), payload.size(), 20000);
    QCOMPARE(echoed, payload);
}

// QProcess reads its child's output and learns of its end through notifiers on pipes.
void tst_EpollDispatcher::processPipes()
{
    QProcess process;
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(u"/bin/sh"_s, {u"-c"_s, u"echo out; echo err >&2; read line; echo $line"_s});
    process.write("back\n");
    process.closeWriteChannel();
    QVERIFY(finished.wait(20000));
    QCOMPARE(process.exitCode(), 0);
    QCOMPARE(process.readAllStandardOutput(), "out\nback\n"_ba);
    QCOMPARE(process.readAllStandardError(), "err\n"_ba);
}

// Timers fire in deadline order, and never before their interval has passed (a dispatcher
// that rounds the deadline down to a millisecond or a coarse boundary would).
void tst_EpollDispatcher::singleShotOrderAndNeverEarly()
{
    QList<int> order;
    QList<qint64> elapsed;
    QElapsedTimer clock;
    clock.start();
    for (const int ms : {30, 10, 20, 1, 15}) {
        for (const Qt::TimerType type : {Qt::PreciseTimer, Qt::CoarseTimer}) {
            QTimer::singleShot(ms, type, this, [&order, &elapsed, &clock, ms] {
                order.append(ms);
                elapsed.append(clock.elapsed());
                QVERIFY2(clock.elapsed() >= ms, qPrintable(u"%1 ms timer early"_s.arg(ms)));
            });
        }
    }
    QTRY_COMPARE(order.size(), 10);
    QCOMPARE(order, QList<int>({1, 1, 10, 10, 15, 15, 20, 20, 30, 30}));
}

void tst_EpollDispatcher::intervalTimerRepeatsNeverEarly()
{
    for (const Qt::TimerType type : {Qt::PreciseTimer, Qt::CoarseTimer, Qt::VeryCoarseTimer}) {
        // 200 ms: a coarse timer rounded up to a 10 ms boundary; 1 s: to a whole second.
        const int interval = type == Qt::VeryCoarseTimer ? 1000 : type == Qt::CoarseTimer ? 200 : 15;
        QTimer timer;
        timer.setTimerType(type);
        timer.setInterval(interval);
        int ticks = 0;
        QElapsedTimer clock;
        connect(&timer, &QTimer::timeout, this, [&] {
            ++ticks;
            QVERIFY2(clock.elapsed() >= qint64(ticks) * interval,
                     qPrintable(u"tick %1 of a %2 ms timer at %3 ms"_s.arg(ticks).arg(interval)
                                        .arg(clock.elapsed())));
        });
        clock.start();
        timer.start();
        QTRY_VERIFY_WITH_TIMEOUT(ticks >= 3, 10000);
    }
}

// A zero timer is due on every pass, once per pass (not in a loop within the pass).
void tst_EpollDispatcher::zeroTimerFiresOncePerPass()
{
    TimerTarget target;
    const int id = target.startTimer(0);
    for (int pass = 1; pass <= 5; ++pass) {
        QCoreApplication::eventDispatcher()->processEvents(QEventLoop::AllEvents);
        QCOMPARE(target.fired.size(), pass);
    }
    target.killTimer(id);
}

// While a zero timer keeps every pass short, other timers and notifiers are still served.
void tst_EpollDispatcher::zeroTimerDoesNotStarveOthers()
{
    TimerTarget busy;
    busy.startTimer(0);
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy reads(&notifier, &QSocketNotifier::activated);
    bool fired = false;
    QTimer::singleShot(20, this, [&] {
        fired = true;
        pair.send("x");
    });
    QTRY_VERIFY(fired && reads.count() > 0);
    QVERIFY(busy.fired.size() > 1);
}

// Both timers overdue in the same pass: the first handler kills the second, restarts itself
// and starts a new one; the killed one must not fire, the new one not before its time.
void tst_EpollDispatcher::killingATimerFromAnotherHandler()
{
    TimerTarget target;
    const int original = target.startTimer(5, Qt::PreciseTimer);
    int first = original;
    const int second = target.startTimer(5, Qt::PreciseTimer);
    int started = -1;
    target.onTimer = [&](int id) {
        if (id != first)
            return;
        target.killTimer(second);
        target.killTimer(first);
        started = target.startTimer(10000);
        first = target.startTimer(5, Qt::PreciseTimer);
    };
    blockThreadFor(10);
    QCoreApplication::eventDispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(target.fired, QList<int>({original})); // not `second`, not the new ones

    QVERIFY(dispatcher()->remainingTime(started) > 5000);
}

// The owner of an overdue timer is deleted by another timer's handler in the same pass.
void tst_EpollDispatcher::deletingATimerOwnerFromAnotherHandler()
{
    TimerTarget killer;
    killer.startTimer(5, Qt::PreciseTimer);
    std::vector<std::unique_ptr<TimerTarget>> victims;
    int victimEvents = 0;
    for (int i = 0; i < 4; ++i) {
        victims.push_back(std::make_unique<TimerTarget>());
        victims.back()->startTimer(5, Qt::PreciseTimer);
        victims.back()->onTimer = [&](int) { ++victimEvents; };
    }
    killer.onTimer = [&](int) { victims.clear(); };
    blockThreadFor(10);
    QCoreApplication::eventDispatcher()->processEvents(QEventLoop::AllEvents);
    QCOMPARE(killer.fired.size(), 1);
    QVERIFY(victims.empty());
    QCOMPARE(victimEvents, 0);
}

// A repeating timer whose slot runs a nested loop is not fired again until the slot returns,
// while other timers keep firing inside the nested loop.
void tst_EpollDispatcher::nestedLoopInTimerSlot()
{
    QTimer repeating;
    repeating.setInterval(5);
    int entered = 0;
    int reentered = 0;
    int inside = 0;
    connect(&repeating, &QTimer::timeout, this, [&] {
        if (inside > 0)
            ++reentered;
        if (++entered > 1)
            return;
        ++inside;
        QEventLoop loop;
        int otherTicks = 0;
        QTimer other;
        connect(&other, &QTimer::timeout, &loop, [&] {
            if (++otherTicks == 10)
                loop.quit();
        });
        other.start(5);
        loop.exec();
        --inside;
    });
    repeating.start();
    QTRY_VERIFY(entered >= 3);
    QCOMPARE(reentered, 0);
}

void tst_EpollDispatcher::remainingTime()
{
    TimerTarget target;
    const int id = target.startTimer(60000);
    const int left = dispatcher()->remainingTime(id);
    QVERIFY2(left > 55000 && left <= 60000, qPrintable(QString::number(left)));
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(200);
    QVERIFY(timer.remainingTime() > 0 && timer.remainingTime() <= 200);
    QTRY_VERIFY(!timer.isActive());
    QCOMPARE(timer.remainingTime(), -1);
    target.killTimer(id);
    QCOMPARE(dispatcher()->remainingTime(id), -1);
    QCOMPARE(dispatcher()->remainingTime(987654), -1);
}

// moveToThread takes an object's timers to the new thread through registeredTimers().
void tst_EpollDispatcher::registeredTimersFollowMoveToThread()
{
    TimerTarget target;
    const int fast = target.startTimer(5);
    const int slow = target.startTimer(60000, Qt::VeryCoarseTimer);
    auto timers = dispatcher()->registeredTimers(&target);
    QCOMPARE(timers.size(), 2);
    std::sort(timers.begin(), timers.end(),
              [](const auto &a, const auto &b) { return a.interval < b.interval; });
    QCOMPARE(timers[0].timerId, fast);
    QCOMPARE(timers[1].timerId, slow);
    QCOMPARE(timers[1].interval, 60000);
    QCOMPARE(timers[1].timerType, Qt::VeryCoarseTimer);

    QThread thread;
    QAtomicInt firedThere;
    target.onTimer = [&](int) {
        if (QThread::currentThread() == &thread)
            firedThere.storeRelaxed(1);
    };
    thread.start();
    target.moveToThread(&thread);
    QVERIFY(dispatcher()->registeredTimers(&target).isEmpty());
    QTRY_COMPARE(firedThere.loadRelaxed(), 1);
    QMetaObject::invokeMethod(&target, [&] {
        target.killTimer(fast);
        target.killTimer(slow);
        target.moveToThread(QCoreApplication::instance()->thread());
    }, Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait());
}

// Blocked with no timer and no ready fd, the loop comes back only through the eventfd.
void tst_EpollDispatcher::wakeUpFromAnotherThread()
{
    drainEarlierWakeUps();
    QAtomicInt returned;
    std::unique_ptr<QThread> waker(QThread::create([&] {
        while (!returned.loadAcquire()) {
            dispatcher()->wakeUp();
            QThread::msleep(10);
        }
    }));
    waker->start();
    dispatcher()->processEvents(QEventLoop::WaitForMoreEvents);
    returned.storeRelease(1);
    QVERIFY(waker->wait());
}

void tst_EpollDispatcher::queuedSignalFromAnotherThread()
{
    drainEarlierWakeUps();
    QEventLoop loop;
    QString received;
    std::unique_ptr<QThread> sender(QThread::create([&] {
        QMetaObject::invokeMethod(&loop, [&] {
            received = u"from the thread"_s;
            loop.quit();
        }, Qt::QueuedConnection);
    }));
    sender->start();
    loop.exec(); // no timeout timer: only the posted event's wakeUp() ends the wait
    QCOMPARE(received, u"from the thread"_s);
    QVERIFY(sender->wait());
}

// interrupt() from a posted event's handler (the start of the pass) ends the pass before it
// waits or delivers anything, though a notifier is ready; the next pass delivers it.
void tst_EpollDispatcher::interruptEndsThePassBeforeDelivery()
{
    SocketPair pair;
    QSocketNotifier notifier(pair.fds[0], QSocketNotifier::Read);
    QSignalSpy spy(&notifier, &QSocketNotifier::activated);
    pair.send("x");
    QMetaObject::invokeMethod(this, [] { dispatcher()->interrupt(); }, Qt::QueuedConnection);
    QCOMPARE(dispatcher()->processEvents(QEventLoop::WaitForMoreEvents), false);
    QCOMPARE(spy.count(), 0);
    QVERIFY(dispatcher()->processEvents(QEventLoop::WaitForMoreEvents));
    QCOMPARE(spy.count(), 1);
}

void tst_EpollDispatcher::aboutToBlockAndAwakePair()
{
    QSignalSpy aboutToBlock(dispatcher(), &QAbstractEventDispatcher::aboutToBlock);
    QSignalSpy awake(dispatcher(), &QAbstractEventDispatcher::awake);
    QTimer::singleShot(10, this, [] {});
    dispatcher()->processEvents(QEventLoop::WaitForMoreEvents);
    QCOMPARE(aboutToBlock.count(), 1);
    QCOMPARE(awake.count(), 1);
    dispatcher()->processEvents(QEventLoop::AllEvents); // may not block: neither signal
    QCOMPARE(aboutToBlock.count(), 1);
}

// 40 sockets ready at once, each handler 2 ms of work (a storm's handshakes and enrollments): a
// pass stops after about 10 ms of them, and what the first handler posted (a commit's replies)
// runs before the last socket is handled, not after all 80 ms. Every socket is still handled,
// each once.
void tst_EpollDispatcher::aLongPassLetsPostedEventsIn()
{
    drainEarlierWakeUps();
    constexpr int Sockets = 40;
    std::vector<std::unique_ptr<SocketPair>> pairs;
    std::vector<std::unique_ptr<QSocketNotifier>> notifiers;
    QList<int> handled;
    int handledWhenPostedRan = -1;
    for (int i = 0; i < Sockets; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        notifiers.push_back(std::make_unique<QSocketNotifier>(pairs.back()->fds[0], QSocketNotifier::Read));
        connect(notifiers.back().get(), &QSocketNotifier::activated, this, [&, i] {
            char byte = 0;
            QCOMPARE(::read(pairs[size_t(i)]->fds[0], &byte, 1), ssize_t(1));
            if (handled.isEmpty()) {
                QMetaObject::invokeMethod(this, [&] { handledWhenPostedRan = int(handled.size()); },
                                          Qt::QueuedConnection);
            }
            handled << i;
            blockThreadFor(2);
        });
    }
    for (const auto &pair : pairs)
        pair->send("x");
    QTRY_COMPARE(handled.size(), Sockets);
    QCOMPARE(QSet<int>(handled.cbegin(), handled.cend()).size(), Sockets);
    QTRY_VERIFY(handledWhenPostedRan >= 0);
    QVERIFY2(handledWhenPostedRan < Sockets / 2,
             qPrintable(u"the posted call ran after %1 of %2 sockets"_s.arg(handledWhenPostedRan).arg(Sockets)));
}

int main(int argc, char **argv)
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    tst_EpollDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolldispatcher.moc"
