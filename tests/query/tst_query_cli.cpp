// `swamp data query` against a real orchestrator with workers, tokens, steps and leases present:
// every query of the operations guide and of SPEC §7, --select, --limit, --json, and the error
// output with its caret.

#include "steps/stephelpers.h"

using namespace SwampTest;

class tst_QueryCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void guideAndSpecQueries_data();
    void guideAndSpecQueries();
    void selectProjects();
    void limitAndJsonShape();
    void tokenRecordsHoldNoSecret();
    void errors_data();
    void errors();

private:
    std::unique_ptr<Harness> m_h;
    QString m_token;
    QString m_secret;
};

void tst_QueryCli::initTestCase()
{
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator());
    m_token = m_h->createToken(u"ci"_s, {u"--max-enrollments"_s, u"3"_s, u"--label"_s, u"pool=ci"_s});
    m_secret = m_token.section(u'.', 1);
    QVERIFY(!m_h->createToken(u"spare"_s).isEmpty());
    QCOMPARE_EXIT(m_h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"spare"_s}), 0);
    QVERIFY(m_h->startEnrolledWorker(m_token, m_h->newCacheDir(), {}, {u"--label"_s, u"region=eu"_s, u"--concurrency"_s, u"2"_s}));
    QVERIFY(m_h->startEnrolledWorker(m_token, m_h->newCacheDir(), {}, {u"--label"_s, u"region=us"_s}));
    QCOMPARE_EXIT(m_h->cli({u"run"_s, u"--label"_s, u"region=us"_s, u"--"_s, u"true"_s}), 0);
    // One step that stays running: an active lease for the queries below.
    const QString marker = m_h->tempPath(u"never"_s);
    const QString running = detach(*m_h, {u"--label"_s, u"region=eu"_s, u"--shell"_s, u"--"_s,
                                          u"while [ ! -e '%1' ]; do sleep 0.1; done"_s.arg(marker)});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, running), u"running"_s, 10000);
}

void tst_QueryCli::cleanupTestCase()
{
    m_h.reset();
}

void tst_QueryCli::guideAndSpecQueries_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<int>("count");
    QTest::addRow("guide-workers") << u"modelType == \"swamp/worker\""_s << 2;
    QTest::addRow("guide-tokens-incl-revoked") << u"modelType == \"swamp/enrollment-token\""_s << 2;
    QTest::addRow("guide-leases") << u"modelType == \"swamp/step-lease\""_s << 2;
    QTest::addRow("spec-idle-workers") << u"modelType == \"swamp/worker\" && attributes.status == \"idle\""_s << 2;
    QTest::addRow("spec-region-and-last-seen")
        << u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" && attributes.lastSeenAt < now - duration(\"5m\")"_s << 0;
    QTest::addRow("region-seen-recently")
        << u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" && attributes.lastSeenAt > now - duration(\"5m\")"_s << 1;
    QTest::addRow("spec-active-leases-by-prefix")
        << u"modelType == \"swamp/step-lease\" && attributes.state == \"active\" && attributes.workerName.startsWith(\"ci-\")"_s << 1;
    QTest::addRow("token-labels-reach-workers") << u"modelType == \"swamp/worker\" && attributes.labels.pool == \"ci\""_s << 2;
    QTest::addRow("revoked-token") << u"modelType == \"swamp/enrollment-token\" && attributes.state == \"revoked\""_s << 1;
    QTest::addRow("steps-by-state-in") << u"modelType == \"swamp/step\" && attributes.state in [\"running\", \"succeeded\"]"_s << 2;
    QTest::addRow("runs") << u"modelType == \"swamp/run\""_s << 2;
    QTest::addRow("bindings-macro")
        << u"modelType == \"swamp/enrollment-token\" && attributes.bindings.exists(b, b.workerName.startsWith(\"ci-\"))"_s << 1;
    // The us worker and the step that asked for region=us (steps carry their requirement labels).
    QTest::addRow("has-guard-across-models") << u"has(attributes.labels) && has(attributes.labels.region) && attributes.labels.region == \"us\""_s << 2;
}

void tst_QueryCli::guideAndSpecQueries()
{
    QFETCH(QString, predicate);
    QFETCH(int, count);
    const Run run = m_h->cli({u"data"_s, u"query"_s, predicate, u"--json"_s});
    QCOMPARE_EXIT(run, 0);
    const QJsonObject json = run.json();
    QCOMPARE(json.value(u"predicate"_s).toString(), predicate);
    QCOMPARE(json.value(u"total"_s).toInt(), count);
    QCOMPARE(json.value(u"results"_s).toArray().size(), count);
    QCOMPARE(json.value(u"limited"_s).toBool(), false);
    for (const QJsonValue &record : json.value(u"results"_s).toArray()) {
        for (const char *field : {"modelType", "name", "id", "createdAt", "updatedAt", "attributes"})
            QVERIFY2(record.toObject().contains(QLatin1String(field)), field);
    }
    // The human table prints one row per record under a header.
    const Run table = m_h->cli({u"data"_s, u"query"_s, predicate});
    QCOMPARE_EXIT(table, 0);
    if (count > 0)
        QCOMPARE(table.outLines().size(), count + 1);
}

void tst_QueryCli::selectProjects()
{
    Run run = m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/worker\""_s, u"--select"_s, u"attributes.labels.region"_s});
    QCOMPARE_EXIT(run, 0);
    QStringList lines = run.outLines();
    lines.sort();
    QCOMPARE(lines, (QStringList{u"eu"_s, u"us"_s}));
    run = m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\""_s,
                    u"--select"_s, u"{\"name\": name, \"slots\": attributes.capacity}"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.outLines().size(), 2);
    QVERIFY2(run.outLines().first().contains(u"name"_s) && run.outLines().first().contains(u"slots"_s), qPrintable(run.out));
    QVERIFY2(run.outLines().last().contains(u"2"_s), qPrintable(run.out));
}

void tst_QueryCli::limitAndJsonShape()
{
    const Run run = m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/worker\""_s, u"--limit"_s, u"1"_s, u"--json"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.json().value(u"results"_s).toArray().size(), 1);
    QCOMPARE(run.json().value(u"total"_s).toInt(), 2);
    QCOMPARE(run.json().value(u"limited"_s).toBool(), true);
    const Run human = m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/worker\""_s, u"--limit"_s, u"1"_s});
    QVERIFY2(human.err.contains(u"showing 1 of 2"_s), qPrintable(human.describe()));
    const Run none = m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/run\" && name == \"nope\""_s});
    QCOMPARE_EXIT(none, 0);
    QVERIFY(none.out.contains(u"No records match"_s));
}

void tst_QueryCli::tokenRecordsHoldNoSecret()
{
    const Run run = m_h->cli({u"data"_s, u"query"_s, u"true"_s, u"--json"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY(run.json().value(u"total"_s).toInt() >= 8);
    QVERIFY(!run.out.contains(m_secret));
    QVERIFY(!run.out.contains(u"secret"_s, Qt::CaseInsensitive));
    QVERIFY(!run.out.contains(u"hash"_s, Qt::CaseInsensitive));
}

void tst_QueryCli::errors_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("expected");
    QTest::addRow("spec-unknown-field-caret")
        << u"modelType == \"swamp/worker\" && attributes.stauts == \"idle\""_s
        << u"error: unknown field \"stauts\" in query predicate (did you mean \"status\"?)\n"
           "  modelType == \"swamp/worker\" && attributes.stauts == \"idle\"\n"
           "                                            ^^^^^^\n"_s;
    QTest::addRow("syntax-error")
        << u"modelType == "_s
        << u"error: "_s;
    QTest::addRow("type-error-names-both-types")
        << u"modelType == \"swamp/worker\" && attributes.capacity < \"4\""_s
        << u"int and string"_s;
    QTest::addRow("too-long") << QString(4097, u'x') << u"4096"_s;
}

void tst_QueryCli::errors()
{
    QFETCH(QString, predicate);
    QFETCH(QString, expected);
    const Run run = m_h->cli({u"data"_s, u"query"_s, predicate});
    QCOMPARE_EXIT(run, 2);
    if (expected.endsWith(u'\n'))
        QCOMPARE(run.err, expected);
    else
        QVERIFY2(run.err.contains(expected), qPrintable(run.describe()));
    QVERIFY(run.out.isEmpty());
}

QTEST_GUILESS_MAIN(tst_QueryCli)
#include "tst_query_cli.moc"
