// Reconnect backoff (SPEC §4): exponential with full jitter, 1 s doubling to a 30 s cap, reset
// after a session that enrolled.
#include "testsupport.h"

#include "common/backoff.h"
#include "protocol/workerframes.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {
// The tests' own monotonic clock: windows end on it.
qint64 fakeNowMs = 1000000;
qint64 fakeClock()
{
    return fakeNowMs;
}
} // namespace

class tst_Backoff : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void fullJitterBounds_data();
    void fullJitterBounds();
    void capReachedAndKept();
    void noOverflowAfterManyAttempts();
    void resetStartsOver();
    void sameSeedSameSequence();
    void customBaseAndCap();
    void spreadOverWindowUntilReset();
    void dropWindowFromEnrolled();
    void aFailedAttemptDrawsFromWhatIsLeftOfTheWindow();
};

void tst_Backoff::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Backoff::fullJitterBounds_data()
{
    QTest::addColumn<int>("attempt"); // 1-based
    QTest::addColumn<qint64>("ceiling");
    for (int n = 1; n <= 8; ++n) {
        const qint64 ceiling = std::min<qint64>(30000, 1000LL << (n - 1));
        QTest::addRow("attempt-%d-up-to-%lldms", n, ceiling) << n << ceiling;
    }
}

void tst_Backoff::fullJitterBounds()
{
    QFETCH(int, attempt);
    QFETCH(qint64, ceiling);
    // Many independent workers (seeds): every n-th delay is within [0, ceiling], and the draws
    // spread over the whole range (full jitter, not "ceiling/2 + jitter").
    qint64 smallest = ceiling;
    qint64 largest = 0;
    for (quint32 seed = 1; seed <= 300; ++seed) {
        Backoff backoff(1000, 30000, seed);
        for (int i = 1; i < attempt; ++i)
            backoff.nextDelayMs();
        QCOMPARE(backoff.attempt(), attempt - 1);
        QCOMPARE(backoff.nextCeilingMs(), ceiling);
        const qint64 delay = backoff.nextDelayMs();
        QVERIFY2(delay >= 0 && delay <= ceiling,
                 qPrintable(u"delay %1 outside [0, %2]"_s.arg(delay).arg(ceiling)));
        smallest = std::min(smallest, delay);
        largest = std::max(largest, delay);
        QCOMPARE(backoff.attempt(), attempt);
    }
    QVERIFY2(smallest < ceiling / 4, qPrintable(u"smallest draw %1"_s.arg(smallest)));
    QVERIFY2(largest > ceiling * 3 / 4, qPrintable(u"largest draw %1"_s.arg(largest)));
}

void tst_Backoff::capReachedAndKept()
{
    Backoff backoff(1000, 30000, 42);
    const qint64 expected[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000};
    for (qint64 ceiling : expected) {
        QCOMPARE(backoff.nextCeilingMs(), ceiling);
        QVERIFY(backoff.nextDelayMs() <= ceiling);
    }
}

void tst_Backoff::noOverflowAfterManyAttempts()
{
    Backoff backoff(1000, 30000, 7);
    for (int i = 0; i < 200; ++i) {
        const qint64 delay = backoff.nextDelayMs();
        QVERIFY(delay >= 0 && delay <= 30000);
    }
    QCOMPARE(backoff.nextCeilingMs(), qint64(30000));
}

void tst_Backoff::resetStartsOver()
{
    Backoff backoff(1000, 30000, 3);
    for (int i = 0; i < 6; ++i)
        backoff.nextDelayMs();
    QCOMPARE(backoff.nextCeilingMs(), qint64(30000));
    backoff.reset();
    QCOMPARE(backoff.attempt(), 0);
    QCOMPARE(backoff.nextCeilingMs(), qint64(1000));
    QVERIFY(backoff.nextDelayMs() <= 1000);
    QCOMPARE(backoff.nextCeilingMs(), qint64(2000));
}

void tst_Backoff::sameSeedSameSequence()
{
    Backoff a(1000, 30000, 99);
    Backoff b(1000, 30000, 99);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(a.nextDelayMs(), b.nextDelayMs());
}

void tst_Backoff::customBaseAndCap()
{
    Backoff backoff(100, 250, 5);
    QCOMPARE(backoff.nextCeilingMs(), qint64(100));
    backoff.nextDelayMs();
    QCOMPARE(backoff.nextCeilingMs(), qint64(200));
    backoff.nextDelayMs();
    QCOMPARE(backoff.nextCeilingMs(), qint64(250));
}

void tst_Backoff::spreadOverWindowUntilReset()
{
    // After a `shutdown` frame asking for a 10 s window, a fleet's first reconnects spread over
    // the whole window (beyond the usual 1 s and even the 30 s cap when asked), and the window
    // ends with the next enrollment (reset).
    qint64 largest = 0;
    for (quint32 seed = 1; seed <= 300; ++seed) {
        Backoff backoff(1000, 30000, seed, fakeClock);
        backoff.spreadOver(10000);
        QCOMPARE(backoff.nextCeilingMs(), qint64(10000));
        const qint64 delay = backoff.nextDelayMs();
        QVERIFY(delay >= 0 && delay <= 10000);
        largest = std::max(largest, delay);
    }
    QVERIFY2(largest > 9000, qPrintable(u"largest delay %1 ms: not spread over 10 s"_s.arg(largest)));
    Backoff backoff(1000, 30000, 7, fakeClock);
    backoff.spreadOver(45000);
    for (int i = 0; i < 8; ++i)
        backoff.nextDelayMs();
    QCOMPARE(backoff.nextCeilingMs(), qint64(45000));
    backoff.reset();
    QCOMPARE(backoff.nextCeilingMs(), qint64(1000));
}

void tst_Backoff::dropWindowFromEnrolled()
{
    // The window for a drop without `shutdown` (from `enrolled` or `window`), never more than
    // half the reconnect grace, and bounded whatever the orchestrator sends.
    auto enrolled = [](qint64 windowMs, qint64 graceMs) {
        DropWindow window;
        const auto frame = Protocol::Enrolled::decode(
            {{u"type"_s, u"enrolled"_s}, {u"reconnectWindowMs"_s, windowMs}, {u"reconnectGraceMs"_s, graceMs}});
        window.enrolled(frame.reconnectGraceMs, frame.reconnectWindowMs);
        return window;
    };
    QCOMPARE(enrolled(10000, 30000).ms(), qint64(10000));
    QCOMPARE(enrolled(60000, 30000).ms(), qint64(15000));
    QCOMPARE(enrolled(10000, 0).ms(), qint64(0)); // no grace: reconnect as before
    QCOMPARE(enrolled(0, 30000).ms(), qint64(0));  // an orchestrator that gives no window
    // `window` updates it as the fleet grows, still within half the grace from `enrolled`.
    DropWindow grown = enrolled(1000, 30000);
    const auto window = [](const QJsonObject &frame) { return Protocol::Window::decode(frame).reconnectWindowMs; };
    grown.update(window({{u"type"_s, u"window"_s}, {u"reconnectWindowMs"_s, 8000}}));
    QCOMPARE(grown.ms(), qint64(8000));
    grown.update(window({{u"type"_s, u"window"_s}, {u"reconnectWindowMs"_s, 32000}}));
    QCOMPARE(grown.ms(), qint64(15000));
    QCOMPARE(window({{u"reconnectGraceMs"_s, 30000}}), qint64(0));
    QCOMPARE(window({{u"reconnectWindowMs"_s, -5}}), qint64(0));
    QCOMPARE(window({{u"reconnectWindowMs"_s, 1e12}}), qint64(300000));

    // A wider window already asked for (a `shutdown` frame) is kept; a narrower one widens.
    Backoff backoff(1000, 30000, 3, fakeClock);
    backoff.spreadOver(20000);
    backoff.spreadAtLeast(5000);
    QCOMPARE(backoff.nextCeilingMs(), qint64(20000));
    backoff.reset();
    backoff.spreadAtLeast(5000);
    QCOMPARE(backoff.nextCeilingMs(), qint64(5000));
}

void tst_Backoff::aFailedAttemptDrawsFromWhatIsLeftOfTheWindow()
{
    // The orchestrator was killed: the fleet spreads over 15 s from the drop. A worker whose
    // attempt at 4 s failed (still starting) draws from the 11 s left, not from 15 s more (it
    // would come back after the rest of the fleet), and every delay ends within the window.
    fakeNowMs = 5000000;
    const qint64 dropMs = fakeNowMs;
    for (quint32 seed = 1; seed <= 200; ++seed) {
        fakeNowMs = dropMs;
        Backoff backoff(1000, 30000, seed, fakeClock);
        backoff.spreadAtLeast(15000);
        QCOMPARE(backoff.nextCeilingMs(), qint64(15000));
        const qint64 first = backoff.nextDelayMs();
        QVERIFY(first <= 15000);
        fakeNowMs = dropMs + 4000; // that attempt failed at 4 s
        QCOMPARE(backoff.nextCeilingMs(), qint64(11000));
        const qint64 second = backoff.nextDelayMs();
        QVERIFY2(fakeNowMs + second <= dropMs + 15000, qPrintable(u"retry at %1 ms after the drop"_s.arg(4000 + second)));
    }
    // Past the window's end the usual backoff goes on (its attempts counted): 4 s after 2 draws.
    Backoff late(1000, 30000, 9, fakeClock);
    fakeNowMs = dropMs;
    late.spreadAtLeast(15000);
    late.nextDelayMs();
    late.nextDelayMs();
    fakeNowMs = dropMs + 14500;
    QCOMPARE(late.nextCeilingMs(), qint64(4000));
    fakeNowMs = dropMs + 60000;
    QCOMPARE(late.nextCeilingMs(), qint64(4000));
    // A window that ends later is kept; one asked for later that ends later replaces it.
    Backoff both(1000, 30000, 4, fakeClock);
    fakeNowMs = dropMs;
    both.spreadOver(20000);
    fakeNowMs = dropMs + 10000;
    both.spreadAtLeast(5000);
    QCOMPARE(both.nextCeilingMs(), qint64(10000));
    both.spreadAtLeast(15000);
    QCOMPARE(both.nextCeilingMs(), qint64(15000));
    both.reset();
    QCOMPARE(both.nextCeilingMs(), qint64(1000));
}

QTEST_GUILESS_MAIN(tst_Backoff)
#include "tst_backoff.moc"
