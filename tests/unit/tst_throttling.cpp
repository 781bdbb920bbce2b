// What keeps a stranger from making the orchestrator work or write for it: AddressThrottle
// (refused attempts per source address, never per token name) and RefusalDigest (which
// refusals become operator events).
#include "unit/testsupport.h"

#include "common/refusaldigest.h"
#include "server/addressthrottle.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Throttling : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void throttlesAfterTheLimitWithinTheWindow();
    void addressesAreIndependent();
    void ipv6CountsBySlash64();
    void memoryIsBounded();
    void digestRecordsFirstOfEachKey();
    void digestSummarisesTheRest();
    void digestIsBoundedWhateverComesIn();
    void digestSummaryOnlyAfterTheWindow();
};

void tst_Throttling::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Throttling::throttlesAfterTheLimitWithinTheWindow()
{
    AddressThrottle throttle(3, 60000);
    const QString address = u"203.0.113.7"_s;
    for (int i = 0; i < 3; ++i) {
        QVERIFY(!throttle.isThrottled(address, 1000));
        throttle.record(address, 1000 + i);
    }
    QVERIFY(throttle.isThrottled(address, 2000));
    QVERIFY(throttle.isThrottled(address, 60999));
    // The window is over: the address starts afresh.
    QVERIFY(!throttle.isThrottled(address, 61000));
    throttle.record(address, 61000);
    QVERIFY(!throttle.isThrottled(address, 61001));
}

void tst_Throttling::addressesAreIndependent()
{
    AddressThrottle throttle(2, 60000);
    throttle.record(u"198.51.100.1"_s, 0);
    throttle.record(u"198.51.100.1"_s, 0);
    QVERIFY(throttle.isThrottled(u"198.51.100.1"_s, 1));
    QVERIFY(!throttle.isThrottled(u"198.51.100.2"_s, 1));
}

void tst_Throttling::ipv6CountsBySlash64()
{
    QCOMPARE(AddressThrottle::keyOf(u"2001:db8:1:2:aaaa::1"_s), u"2001:db8:1:2::/64"_s);
    QCOMPARE(AddressThrottle::keyOf(u"192.0.2.1"_s), u"192.0.2.1"_s);
    AddressThrottle throttle(2, 60000);
    throttle.record(u"2001:db8:1:2::1"_s, 0);
    throttle.record(u"2001:db8:1:2:ffff::9"_s, 0);
    QVERIFY(throttle.isThrottled(u"2001:db8:1:2::77"_s, 1));
    QVERIFY(!throttle.isThrottled(u"2001:db8:1:3::1"_s, 1));
}

void tst_Throttling::memoryIsBounded()
{
    AddressThrottle throttle(10, 60000, 100);
    for (int i = 0; i < 10000; ++i)
        throttle.record(u"10.0.%1.%2"_s.arg(i / 256).arg(i % 256), i);
    QVERIFY(throttle.trackedAddresses() <= 100);
    // The newest are the ones kept.
    throttle.prune(10000);
    QVERIFY(throttle.trackedAddresses() > 0);
    throttle.prune(10000 + 60000);
    QCOMPARE(throttle.trackedAddresses(), 0);
}

void tst_Throttling::digestRecordsFirstOfEachKey()
{
    RefusalDigest digest(60000, 20);
    QVERIFY(digest.admit(u"a"_s, 0));
    QVERIFY(!digest.admit(u"a"_s, 1));
    QVERIFY(!digest.admit(u"a"_s, 2));
    QVERIFY(digest.admit(u"b"_s, 3));
}

void tst_Throttling::digestSummarisesTheRest()
{
    RefusalDigest digest(60000, 20);
    QVERIFY(digest.admit(u"a"_s, 0));
    for (int i = 0; i < 5; ++i)
        QVERIFY(!digest.admit(u"a"_s, i));
    QVERIFY(digest.admit(u"b"_s, 10));
    const QList<RefusalDigest::Summary> summaries = digest.takeSummaries(60000);
    QCOMPARE(summaries.size(), 1); // b had nothing beyond its event
    QCOMPARE(summaries.first().key, u"a"_s);
    QCOMPARE(summaries.first().count, 5);
    // The next window starts clean.
    QVERIFY(digest.admit(u"a"_s, 60001));
}

void tst_Throttling::digestIsBoundedWhateverComesIn()
{
    // 100,000 refusals from 50,000 keys: at most events + summaries + 1 recorded.
    RefusalDigest digest(60000, 20, 10, 1000);
    int events = 0;
    for (int i = 0; i < 100000; ++i)
        events += digest.admit(u"key-%1"_s.arg(i % 50000), i / 10) ? 1 : 0;
    QCOMPARE(events, 20);
    const QList<RefusalDigest::Summary> summaries = digest.takeSummaries(60000);
    QCOMPARE(summaries.size(), 11);
    int counted = 0;
    for (const RefusalDigest::Summary &summary : summaries)
        counted += summary.count;
    QCOMPARE(counted + events, 100000); // nothing lost from the count
    QVERIFY(summaries.last().key.isEmpty());
}

void tst_Throttling::digestSummaryOnlyAfterTheWindow()
{
    RefusalDigest digest(60000, 1);
    QVERIFY(digest.admit(u"a"_s, 0));
    QVERIFY(!digest.admit(u"a"_s, 1));
    QVERIFY(digest.takeSummaries(59999).isEmpty());
    QCOMPARE(digest.takeSummaries(60000).size(), 1);
    QVERIFY(digest.takeSummaries(120000).isEmpty());
}

QTEST_GUILESS_MAIN(tst_Throttling)
#include "tst_throttling.moc"
