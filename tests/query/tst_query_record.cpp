// Predicates on records read field by field (query/record.h, issue 20): a predicate reads the
// fields it names and nothing else, so a store can leave a row's other columns unread; scoped
// to one model type (Predicate::forModelType()) it does not read modelType at all, and answers
// the same. tst_query_evaluator runs every one of its rows through such a record too.
#include "queryfixtures.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp::Query;

class tst_QueryRecord : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void readsOnlyWhatItNames_data();
    void readsOnlyWhatItNames();
    void forModelTypeKeepsTheAnswer_data();
    void forModelTypeKeepsTheAnswer();
};

void tst_QueryRecord::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

// "name×count" for each name read, sorted; "-" for none.
static QString reads(const QHash<QString, int> &counts)
{
    QStringList names;
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        names << (it.value() == 1 ? it.key() : u"%1×%2"_s.arg(it.key()).arg(it.value()));
    names.sort();
    return names.isEmpty() ? u"-"_s : names.join(u' ');
}

void tst_QueryRecord::readsOnlyWhatItNames_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("record");
    QTest::addColumn<QString>("scope"); // forModelType(scope) when not empty
    QTest::addColumn<QString>("fields");
    QTest::addColumn<QString>("attributes");
    QTest::addColumn<int>("nameReads");
    QTest::addColumn<bool>("matches");

    const QString step = u"swamp/step"_s;
    QTest::addRow("one-label") << u"attributes.labels.region == \"eu\""_s << u"step"_s << QString() << u"-"_s
                               << u"labels"_s << 0 << true;
    QTest::addRow("model-type-read") << u"modelType == \"swamp/step\" && attributes.state == \"running\""_s << u"step"_s
                                     << QString() << u"modelType"_s << u"state"_s << 0 << true;
    QTest::addRow("model-type-known") << u"modelType == \"swamp/step\" && attributes.state == \"running\""_s
                                      << u"step"_s << step << u"-"_s << u"state"_s << 0 << true;
    QTest::addRow("model-type-in-known") << u"modelType in [\"swamp/step\", \"swamp/step-lease\"] && attributes.attempt > 1"_s
                                         << u"step"_s << step << u"-"_s << u"attempt"_s << 0 << false;
    QTest::addRow("false-first-reads-no-more") << u"attributes.attempt > 1 && attributes.labels.region == \"eu\""_s
                                               << u"step"_s << step << u"-"_s << u"attempt"_s << 0 << false;
    QTest::addRow("has") << u"has(attributes.exitCode)"_s << u"step"_s << step << u"-"_s << u"exitCode"_s << 0 << true;
    QTest::addRow("timestamp") << u"now - attributes.startedAt > duration(\"30m\")"_s << u"step"_s << step << u"-"_s
                               << u"startedAt"_s << 0 << true;
    QTest::addRow("top-level") << u"name.startsWith(\"bu\") && createdAt < now"_s << u"step"_s << step
                               << u"createdAt name"_s << u"-"_s << 0 << true;
    QTest::addRow("whole-attributes") << u"size(attributes) > 3"_s << u"lease"_s << u"swamp/step-lease"_s << u"-"_s
                                      << u"-"_s << 1 << true;
    QTest::addRow("attributes-macro") << u"attributes.exists(k, k == \"stepId\")"_s << u"lease"_s << QString() << u"-"_s
                                      << u"-"_s << 1 << true;
}

void tst_QueryRecord::readsOnlyWhatItNames()
{
    QFETCH(QString, predicate);
    QFETCH(QString, record);
    QFETCH(QString, scope);
    QFETCH(QString, fields);
    QFETCH(QString, attributes);
    QFETCH(int, nameReads);
    QFETCH(bool, matches);
    auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const Predicate scoped = scope.isEmpty() ? *compiled : compiled->forModelType(scope);
    const QueryFixtures::JsonRecord served(QueryFixtures::record(record));
    const auto matched = scoped.matches(served, QueryFixtures::now());
    QVERIFY_RESULT(matched);
    QCOMPARE(*matched, matches);
    QCOMPARE(reads(served.fieldReads), fields);
    QCOMPARE(reads(served.attributeReads), attributes);
    QCOMPARE(served.nameReads, nameReads);
}

void tst_QueryRecord::forModelTypeKeepsTheAnswer_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addRow("equal") << u"modelType == \"swamp/step\""_s;
    QTest::addRow("equal-reversed") << u"\"swamp/step\" == modelType && attributes.attempt == 1"_s;
    QTest::addRow("in") << u"modelType in [\"swamp/step\", \"swamp/run\"] && attributes.state != \"x\""_s;
    QTest::addRow("other-type") << u"modelType == \"swamp/run\" && attributes.state == \"running\""_s;
    QTest::addRow("or-is-not-skipped") << u"modelType == \"swamp/step\" || attributes.stepId == \"stp_1\""_s;
    QTest::addRow("error-beside-it") << u"modelType == \"swamp/step\" && attributes.labels.zone == \"a\""_s;
    QTest::addRow("false-beside-error") << u"modelType == \"swamp/step\" && attributes.labels.zone == \"a\" && false"_s;
    QTest::addRow("type-error-beside-it") << u"modelType == \"swamp/step\" && attributes.labels.region > 1"_s;
}

void tst_QueryRecord::forModelTypeKeepsTheAnswer()
{
    QFETCH(QString, predicate);
    auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    for (const QString &record : {u"step"_s, u"lease"_s, u"run"_s}) {
        const QJsonObject json = QueryFixtures::record(record);
        const QString modelType = json.value(u"modelType"_s).toString();
        const auto whole = compiled->matches(json, QueryFixtures::now());
        const auto scoped = compiled->forModelType(modelType).matches(QueryFixtures::JsonRecord(json), QueryFixtures::now());
        QCOMPARE(scoped.has_value(), whole.has_value());
        if (whole)
            QCOMPARE(*scoped, *whole);
        else
            QCOMPARE(scoped.error().code, whole.error().code);
    }
}

QTEST_GUILESS_MAIN(tst_QueryRecord)
#include "tst_query_record.moc"
