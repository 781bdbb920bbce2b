// Soak: 2,000 short steps over several workers while workers are killed and restarted at random.
// Every step must end exactly once (one completed lease) and none may be lost.

#include "steps/stephelpers.h"

#include <QRandomGenerator>

using namespace SwampTest;

class tst_Soak : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void twoThousandStepsWhileWorkersDie();
};

void tst_Soak::twoThousandStepsWhileWorkersDie()
{
    constexpr int Steps = 2000;
    constexpr int Workers = 4;
    Harness h;
    QVERIFY(h.startOrchestrator(0, {u"--reconnect-grace"_s, u"1s"_s}));
    const QString token = h.createToken(u"soak"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    QList<QString> cacheDirs;
    QList<Child *> workers;
    for (int i = 0; i < Workers; ++i) {
        cacheDirs << h.newCacheDir();
        workers << h.startEnrolledWorker(token, cacheDirs.last(), {}, {u"--concurrency"_s, u"4"_s});
        QVERIFY(workers.last());
    }
    const QString path = h.tempPath(u"soak.json"_s);
    {
        QJsonArray steps;
        for (int i = 0; i < Steps; ++i) {
            steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(i)},
                                 {u"command"_s, i % 10 == 0 ? QJsonValue(u"sleep 0.2; echo %1"_s.arg(i))
                                                            : QJsonValue(QJsonArray{u"echo"_s, QString::number(i)})},
                                 {u"attempts"_s, 100}};
        }
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QJsonDocument(QJsonObject{{u"name"_s, u"soak"_s}, {u"steps"_s, steps}}).toJson());
    }
    const Run submitted = h.cli({u"run"_s, u"--file"_s, path, u"--detach"_s});
    QCOMPARE_EXIT(submitted, 0);
    QCOMPARE(submitted.outLines().size(), Steps);

    // Kill and restart workers at random until the queue has drained.
    QRandomGenerator random(20261124);
    int kills = 0;
    const auto open = [&] {
        return h.cli({u"data"_s, u"query"_s,
                      u"modelType == \"swamp/step\" && attributes.state in [\"queued\", \"dispatched\", \"running\"]"_s,
                      u"--json"_s, u"--limit"_s, u"0"_s})
            .json().value(u"total"_s).toInt(-1);
    };
    QElapsedTimer elapsed;
    elapsed.start();
    while (open() != 0 && elapsed.elapsed() < 240000) {
        if (kills < 12) {
            const int victim = int(random.bounded(Workers));
            workers[victim]->signal(SIGKILL);
            workers[victim]->waitForExit(5000);
            ++kills;
            workers[victim] = h.startEnrolledWorker(token, cacheDirs[victim], {}, {u"--concurrency"_s, u"4"_s});
            QVERIFY(workers[victim]);
        }
        QTest::qWait(int(random.bounded(200, 600)));
    }
    QCOMPARE(open(), 0);
    QVERIFY(kills > 0);

    const QJsonArray steps = h.cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s, u"--json"_s})
                                 .json().value(u"results"_s).toArray();
    QCOMPARE(steps.size(), Steps);
    QHash<QString, int> completed;
    const QJsonArray leases = h.cli({u"data"_s, u"query"_s,
                                     u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s, u"--json"_s})
                                  .json().value(u"results"_s).toArray();
    for (const QJsonValue &lease : leases)
        ++completed[lease.toObject().value(u"attributes"_s).toObject().value(u"stepId"_s).toString()];
    int succeeded = 0;
    for (const QJsonValue &value : steps) {
        const QJsonObject step = value.toObject();
        const QString id = step.value(u"id"_s).toString();
        QVERIFY2(step.value(u"attributes"_s).toObject().value(u"state"_s).toString() == u"succeeded"_s,
                 QJsonDocument(step).toJson().constData());
        QVERIFY2(completed.value(id) == 1, qPrintable(u"step %1 completed %2 times"_s.arg(id).arg(completed.value(id))));
        ++succeeded;
    }
    QCOMPARE(succeeded, Steps);
    qInfo("%d steps, %d worker kills, %lld ms", Steps, kills, elapsed.elapsed());
}

QTEST_GUILESS_MAIN(tst_Soak)
#include "tst_soak.moc"
