// The scheduler's queue (StepQueue): dispatch order kept, O(1) removal with lazy compaction,
// iteration that tolerates the visitor dispatching (removing) and requeueing steps.
#include "testsupport.h"

#include "server/stepqueue.h"

#include <QRandomGenerator>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_StepQueue : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keepsOrderAndMembers();
    void removedAndAddedBackTakesItsNewPlace();
    void visitorMayRemoveAndAdd();
    void sortDropsStalePlaces();
    void dueByDeadline();
    void matchesAPlainListUnderRandomOperations();
};

static QStringList ids(int n)
{
    QStringList list;
    for (int i = 0; i < n; ++i)
        list << u"s%1"_s.arg(i);
    return list;
}

void tst_StepQueue::keepsOrderAndMembers()
{
    StepQueue queue;
    QVERIFY(queue.isEmpty());
    for (const QString &id : ids(5))
        queue.append(id, 0);
    queue.append(u"s2"_s, 0); // already queued: no second place
    queue.prepend(u"front"_s, 0);
    QCOMPARE(queue.ids(), QStringList({u"front"_s, u"s0"_s, u"s1"_s, u"s2"_s, u"s3"_s, u"s4"_s}));
    QCOMPARE(queue.size(), 6);
    queue.remove(u"s1"_s);
    queue.remove(u"missing"_s);
    QVERIFY(!queue.contains(u"s1"_s));
    QVERIFY(queue.contains(u"s2"_s));
    QCOMPARE(queue.ids(), QStringList({u"front"_s, u"s0"_s, u"s2"_s, u"s3"_s, u"s4"_s}));
    QCOMPARE(queue.size(), 5);
}

void tst_StepQueue::removedAndAddedBackTakesItsNewPlace()
{
    StepQueue queue;
    for (const QString &id : ids(4))
        queue.append(id, 0);
    queue.remove(u"s1"_s);
    queue.append(u"s1"_s, 0); // requeued: at the back, not at its old place
    QCOMPARE(queue.ids(), QStringList({u"s0"_s, u"s2"_s, u"s3"_s, u"s1"_s}));
    queue.remove(u"s3"_s);
    queue.prepend(u"s3"_s, 0); // a retry goes first
    QCOMPARE(queue.ids(), QStringList({u"s3"_s, u"s0"_s, u"s2"_s, u"s1"_s}));
}

void tst_StepQueue::visitorMayRemoveAndAdd()
{
    StepQueue queue;
    for (const QString &id : ids(6))
        queue.append(id, 0);
    QStringList visited;
    queue.forEach([&](const QString &id) {
        visited << id;
        if (id == u"s0"_s) {
            queue.remove(u"s0"_s); // dispatched
            queue.remove(u"s3"_s); // cancelled meanwhile: must not be visited
            queue.append(u"new"_s, 0); // submitted meanwhile: not visited in this pass
        }
        return id != u"s4"_s;
    });
    QCOMPARE(visited, QStringList({u"s0"_s, u"s1"_s, u"s2"_s, u"s4"_s}));
    QCOMPARE(queue.ids(), QStringList({u"s1"_s, u"s2"_s, u"s4"_s, u"s5"_s, u"new"_s}));
}

void tst_StepQueue::sortDropsStalePlaces()
{
    StepQueue queue;
    for (const QString &id : ids(10))
        queue.append(id, 0);
    for (int i = 0; i < 10; i += 2)
        queue.remove(u"s%1"_s.arg(i));
    queue.sort([](const QString &a, const QString &b) { return a > b; });
    QCOMPARE(queue.ids(), QStringList({u"s9"_s, u"s7"_s, u"s5"_s, u"s3"_s, u"s1"_s}));
}

void tst_StepQueue::dueByDeadline()
{
    StepQueue queue;
    queue.append(u"late"_s, 3000);
    queue.append(u"early"_s, 1000);
    queue.prepend(u"middle"_s, 2000);
    queue.append(u"gone"_s, 500);
    queue.remove(u"gone"_s);
    QCOMPARE(queue.due(999), QStringList());
    QCOMPARE(queue.due(2000), QStringList({u"early"_s, u"middle"_s}));
    queue.setDeadline(u"early"_s, 5000); // requeued elsewhere: a new deadline
    QCOMPARE(queue.due(3000), QStringList({u"middle"_s, u"late"_s}));
    queue.remove(u"middle"_s);
    queue.append(u"middle"_s, 4000); // back with a new deadline: the old one is gone
    QCOMPARE(queue.due(4500), QStringList({u"late"_s, u"middle"_s}));
    QCOMPARE(queue.due(10000), QStringList({u"late"_s, u"middle"_s, u"early"_s}));
}

// Thousands of random appends, prepends and removals (enough to compact many times) against a
// plain list doing the same thing the slow way.
void tst_StepQueue::matchesAPlainListUnderRandomOperations()
{
    StepQueue queue;
    QStringList expected;
    QRandomGenerator random(8);
    for (int i = 0; i < 20000; ++i) {
        const QString id = u"s%1"_s.arg(random.bounded(300));
        switch (random.bounded(3)) {
        case 0:
            queue.append(id, 0);
            if (!expected.contains(id))
                expected.append(id);
            break;
        case 1:
            queue.prepend(id, 0);
            if (!expected.contains(id))
                expected.prepend(id);
            break;
        default:
            queue.remove(id);
            expected.removeAll(id);
            break;
        }
        QCOMPARE(queue.size(), expected.size());
        if (i % 97 == 0) {
            QCOMPARE(queue.ids(), expected);
            QCOMPARE(queue.due(0).size(), expected.size()); // every deadline is 0
        }
    }
    QCOMPARE(queue.ids(), expected);
}

QTEST_GUILESS_MAIN(tst_StepQueue)
#include "tst_stepqueue.moc"
