// Run, step and lease ids: UUIDs of version 7 (time-ordered, so that new rows go to the end of
// their indexes) that are unique, increase within the process, carry the time they were made,
// and whose short form (what people see) differs between ids made in the same millisecond.
#include "common/ids.h"

#include <QDateTime>
#include <QRegularExpression>
#include <QSet>
#include <QTest>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Ids : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void versionSevenUuid();
    void increasingAndUnique();
    void carriesTheTime();
    void shortIdsDiffer();
};

void tst_Ids::versionSevenUuid()
{
    const QString id = newTimeOrderedId();
    static const QRegularExpression format(u"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"_s);
    QVERIFY2(format.match(id).hasMatch(), qPrintable(id));
    const QUuid uuid(id);
    QVERIFY(!uuid.isNull());
    QCOMPARE(uuid.data3 >> 12, 7); // Qt 6.4's QUuid::version() does not know version 7
    QCOMPARE(uuid.variant(), QUuid::DCE);
}

void tst_Ids::increasingAndUnique()
{
    // Far more than 4096 per millisecond: the counter runs out and borrows the next one.
    constexpr int Count = 200000;
    QSet<QString> seen;
    seen.reserve(Count);
    QString previous;
    for (int i = 0; i < Count; ++i) {
        const QString id = newTimeOrderedId();
        QVERIFY2(id > previous, qPrintable(u"%1 after %2"_s.arg(id, previous)));
        seen.insert(id);
        previous = id;
    }
    QCOMPARE(seen.size(), Count);
}

void tst_Ids::carriesTheTime()
{
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    QTest::qSleep(2); // past any millisecond borrowed by the test before
    const QString id = newTimeOrderedId();
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    bool ok = false;
    const qint64 ms = QString(id).remove(u'-').left(12).toLongLong(&ok, 16);
    QVERIFY(ok);
    QVERIFY2(ms >= before && ms <= after + 1, qPrintable(u"%1 not in [%2, %3]"_s.arg(ms).arg(before).arg(after)));
}

void tst_Ids::shortIdsDiffer()
{
    QSet<QString> shortIds;
    for (int i = 0; i < 1000; ++i) {
        const QString id = newTimeOrderedId();
        QCOMPARE(shortId(id).size(), 8);
        QVERIFY(id.endsWith(shortId(id)));
        shortIds.insert(shortId(id));
    }
    // 32 random bits each: 1000 of them collide with a chance of about 1 in 10,000.
    QVERIFY(shortIds.size() >= 999);
}

QTEST_APPLESS_MAIN(tst_Ids)
#include "tst_ids.moc"
