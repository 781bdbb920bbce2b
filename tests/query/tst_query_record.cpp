// Predicates on records read field by field (query/record.h, issue 20): a predicate reads the
// fields it names and nothing else, so a store can leave a row's other columns unread; scoped
// to one model type (Predicate::forModelType()) it does not read modelType at all, and answers
// the same. tst_query_evaluator runs every one of its rows through such a record too.
// The quick tests (query/quick_p.h) answer from a record's scalars, as a store's columns hold
// them (UTF-8 that may be broken, integers, nulls): their answers and errors are the evaluator's.
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
    void knowingTrueKeepsTheAnswerWhereItHolds_data();
    void knowingTrueKeepsTheAnswerWhereItHolds();
    void quickTestsAnswerAsTheEvaluator_data();
    void quickTestsAnswerAsTheEvaluator();
    void quickTestsReadScalars();
};

namespace {

// A swamp/step record whose text attributes are raw column bytes: attribute() reads them as a
// store does (QString::fromUtf8()), scalar() hands them out as they are, scalarEntry() its labels'
// strings, unless `scalars` is off (then the evaluator answers everything itself).
class RawRecord final : public Record
{
public:
    RawRecord(QHash<QString, QVariant> attributes, bool scalars)
        : m_attributes(std::move(attributes))
        , m_scalars(scalars)
    {
    }

    QVariant field(const QString &name) const override
    {
        if (name == u"modelType")
            return u"swamp/step"_s;
        return name == u"name" || name == u"id" ? QVariant(u"stp_1"_s) : QVariant();
    }
    QVariant attribute(const QString &name) const override
    {
        ++attributeReads;
        const QVariant value = m_attributes.value(name);
        if (value.metaType().id() == QMetaType::QVariantMap) {
            QMap<QString, QString> labels;
            for (const auto &[key, entry] : value.toMap().asKeyValueRange())
                labels.insert(key, entry.toString());
            return stringMapValue(labels); // as a store's row hands out its labels
        }
        return value.metaType().id() == QMetaType::QByteArray ? QVariant(QString::fromUtf8(value.toByteArray())) : value;
    }
    QStringList attributeNames() const override { return m_attributes.keys(); }
    Scalar scalar(int id) const override
    {
        if (!m_scalars || id < 0)
            return {};
        ++scalarReads;
        return QueryFixtures::scalarOf(m_attributes.value(attributeIdNames().at(id)));
    }

    Scalar scalarEntry(int id, const QString &key) const override
    {
        if (!m_scalars || id < 0)
            return {};
        ++scalarReads;
        const QVariantMap map = m_attributes.value(attributeIdNames().at(id)).toMap();
        return map.contains(key) ? Scalar::fromString(map.value(key).toString()) : Scalar();
    }

    mutable int attributeReads = 0;
    mutable int scalarReads = 0;

private:
    QHash<QString, QVariant> m_attributes;
    bool m_scalars;
};

QString answerText(const Swamp::Result<QJsonValue> &answer)
{
    if (!answer)
        return u"!%1 %2 at %3"_s.arg(answer.error().code, answer.error().message,
                                    QString::fromUtf8(QJsonDocument(answer.error().details).toJson(QJsonDocument::Compact)));
    return QString::fromUtf8(QJsonDocument(QJsonArray{*answer}).toJson(QJsonDocument::Compact));
}

} // namespace

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

void tst_QueryRecord::knowingTrueKeepsTheAnswerWhereItHolds_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("stateReads"); // of the running step, knowing state == "running" true
    QTest::addRow("alone") << u"attributes.state == \"running\""_s << u"-"_s;
    QTest::addRow("reversed") << u"\"running\" == attributes[\"state\"] && attributes.attempt == 1"_s << u"-"_s;
    QTest::addRow("with-type") << u"modelType == \"swamp/step\" && attributes.state == \"running\" && attributes.attempt == 2"_s
                               << u"-"_s;
    QTest::addRow("false-beside-it") << u"attributes.state == \"running\" && false"_s << u"-"_s;
    QTest::addRow("error-beside-it") << u"attributes.state == \"running\" && attributes.labels.zone == \"a\""_s << u"-"_s;
    QTest::addRow("twice") << u"attributes.state == \"running\" && attributes.state == \"running\""_s << u"-"_s;
    // Only top-level conditions of the && chain are known: these are still evaluated.
    QTest::addRow("under-or") << u"attributes.state == \"running\" || attributes.attempt == 7"_s << u"state"_s;
    QTest::addRow("under-not") << u"!(attributes.state == \"running\")"_s << u"state"_s;
    QTest::addRow("other-literal") << u"attributes.state == \"queued\""_s << u"state"_s;
    QTest::addRow("other-attribute") << u"attributes.error == \"running\""_s << u"-"_s;
}

// A store that decided `attributes.state == "running"` in SQL gives only rows that hold it: the
// predicate knowing it true answers each of them as the whole predicate does, without reading
// the state; any other condition is still evaluated.
void tst_QueryRecord::knowingTrueKeepsTheAnswerWhereItHolds()
{
    QFETCH(QString, predicate);
    QFETCH(QString, stateReads);
    auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const auto holds = [](const QString &attribute, const QJsonValue &literal) {
        return attribute == u"state" && literal == QJsonValue(u"running"_s);
    };
    const QJsonObject json = QueryFixtures::record(u"step"_s); // state "running", attempt 1
    QCOMPARE(json.value(u"attributes"_s).toObject().value(u"state"_s).toString(), u"running"_s);
    const auto whole = compiled->matches(json, QueryFixtures::now());
    const QueryFixtures::JsonRecord record(json);
    const auto known = compiled->forModelType(u"swamp/step"_s).knowingTrue(holds).matches(record, QueryFixtures::now());
    QCOMPARE(known.has_value(), whole.has_value());
    if (whole)
        QCOMPARE(*known, *whole);
    else
        QCOMPARE(known.error().code, whole.error().code);
    QCOMPARE(record.attributeReads.value(u"state"_s) > 0, stateReads == u"state");
}

void tst_QueryRecord::quickTestsAnswerAsTheEvaluator_data()
{
    QTest::addColumn<QByteArray>("workerName"); // a column's raw bytes
    QTest::addColumn<QString>("region");        // a label's value
    QTest::addRow("ascii") << QByteArray("ci-7") << u"eu"_s;
    QTest::addRow("empty") << QByteArray("") << u""_s;
    QTest::addRow("sql-null-text") << QByteArray() << QString();
    QTest::addRow("non-ascii") << QByteArray("groß-7") << u"groß"_s;
    QTest::addRow("literal-itself") << QByteArray("\xc3\x9f") << u"ß"_s;
    QTest::addRow("broken-lead-byte") << QByteArray("\xc3-7") << u"\uFFFD-7"_s;
    QTest::addRow("lone-continuation") << QByteArray("\x9f") << QString(QChar(0xD800));
    QTest::addRow("overlong-slash") << QByteArray("\xc0\xaf") << u"e"_s;
    QTest::addRow("encoded-surrogate") << QByteArray("\xed\xa0\x80") << QString(QChar(0xDC00)) + u"eu"_s;
    QTest::addRow("replacement-char") << QByteArray("\xef\xbf\xbd") << u"\uFFFD"_s;
    QTest::addRow("byte-ff") << QByteArray("\xff\xfe-7") << u"EU"_s;
    QTest::addRow("nul-inside") << QByteArray("ci\0-7", 5) << QString::fromUtf16(u"e\0u", 3);
    QTest::addRow("long-for-the-budget") << QByteArray(1700000, 'a') << QString(1700000, u'e');
    QTest::addRow("supplementary") << QByteArray("\xf0\x9f\x90\x8a") << u"\U0001F40A"_s; // orders after U+FFFD in UTF-8, before it in UTF-16
}

// Every shape of quick test, and its neighbours that are not, on a text, an int and a null.
void tst_QueryRecord::quickTestsAnswerAsTheEvaluator()
{
    QFETCH(QByteArray, workerName);
    QFETCH(QString, region);
    const QStringList predicates{
        u"attributes.labels.region == \"eu\""_s, u"attributes.labels[\"region\"] != \"eu\""_s,
        u"attributes.labels.zone == \"a\""_s, u"attributes.labels.zone == \"a\" && false"_s,
        u"attributes.labels.region.startsWith(\"e\")"_s, u"attributes.labels.region.endsWith(\"\")"_s,
        u"attributes.labels.region.contains(\"u\")"_s, u"attributes.labels.region.startsWith(\"u\")"_s,
        u"attributes.labels.region in [\"eu\", \"\uFFFD\"]"_s,
        u"attributes.labels.region < \"f\""_s, u"attributes.labels.region >= \"\uFFFD\""_s,
        u"attributes.labels.region == null"_s, u"attributes.labels.region == 1"_s, u"attributes.labels.region > 1"_s,
        u"\"eu\" == attributes.labels.region && attributes.attempt > 1"_s,
        u"attributes.workerName == \"ci-7\""_s, u"\"ci-7\" != attributes.workerName"_s,
        u"attributes.workerName == \"\""_s, u"attributes.workerName == \"ß\""_s,
        u"attributes.workerName == \"\uFFFD\""_s, u"attributes.workerName == \"\\uFFFD\""_s,
        u"attributes.workerName == \"\uFFFD-7\""_s, u"attributes.workerName == null"_s,
        u"attributes.workerName != null"_s, u"attributes.workerName == 7"_s, u"attributes.workerName != 7"_s,
        u"attributes.workerName < \"ci\""_s, u"\"ci\" < attributes.workerName"_s, u"attributes.workerName >= \"\""_s,
        u"attributes.workerName > \"\uFFFD\""_s, u"attributes.workerName <= \"ß\""_s, u"attributes.workerName > 1"_s,
        u"attributes.workerName.endsWith(\"-7\")"_s, u"attributes.workerName.startsWith(\"ci\")"_s,
        u"attributes.workerName.contains(\"\")"_s, u"attributes.workerName.startsWith(\"\")"_s,
        u"attributes.workerName.endsWith(\"ß\")"_s, u"attributes.workerName.contains(\"\uFFFD\")"_s,
        u"attributes.workerName.contains(\"a\")"_s, u"attributes.workerName.contains(\"-\")"_s,
        u"attributes.workerName in [\"ci-7\", \"x\"]"_s, u"attributes.workerName in [null, 1, \"\"]"_s,
        u"attributes.workerName in [\"ß\", \"\uFFFD\"]"_s, u"attributes.workerName in []"_s,
        u"attributes.attempt > 1"_s, u"1 >= attributes.attempt"_s, u"attributes.attempt == 9223372036854775807"_s,
        u"attributes.attempt != -9223372036854775808"_s, u"attributes.attempt < 1.5"_s, u"attributes.attempt == 2.0"_s,
        u"attributes.attempt == \"2\""_s, u"attributes.attempt > \"2\""_s, u"attributes.attempt in [1, 2, 3]"_s,
        u"attributes.attempt == null"_s, u"attributes.attempt.startsWith(\"1\")"_s,
        u"attributes.exitCode == null"_s, u"attributes.exitCode != 2"_s, u"attributes.exitCode > 1"_s,
        u"attributes.exitCode in [null]"_s, u"attributes.exitCode.endsWith(\"x\")"_s,
        u"attributes.error.contains(\"x\")"_s, u"attributes.startedAt == null"_s,
        u"attributes.workerName.endsWith(\"-7\") && attributes.attempt > 1"_s,
        u"attributes.workerName.endsWith(\"-7\") || attributes.exitCode > 1"_s,
        u"attributes.exitCode > 1 && attributes.workerName.endsWith(\"-7\")"_s,
        u"[1, 2, 3].all(i, attributes.workerName.contains(\"a\"))"_s,
    };
    const auto record = [&](bool scalars) {
        return RawRecord({{u"workerName"_s, workerName}, {u"attempt"_s, qint64(2)}, {u"exitCode"_s, QVariant::fromValue(nullptr)},
                          {u"labels"_s, QVariantMap{{u"region"_s, region}, {u"os"_s, u"linux"_s}}},
                          {u"error"_s, QByteArray(1700000, 'b')}, {u"startedAt"_s, QVariant::fromValue(nullptr)},
                          {u"state"_s, QByteArray("active")}},
                         scalars);
    };
    const RawRecord quick = record(true);
    const RawRecord slow = record(false);
    // The built-in schema refuses some of these up front ("no operator '==' for string and
    // int"); with every attribute of type Any they reach the records and fail (or not) there.
    Schema untyped;
    for (const QString &name : {u"workerName"_s, u"attempt"_s, u"exitCode"_s, u"error"_s, u"state"_s})
        untyped.addModel(u"swamp/step"_s, untyped.attributes(u"swamp/step"_s) << std::pair(name, FieldType::Any));
    untyped.addModel(u"swamp/step"_s, untyped.attributes(u"swamp/step"_s) << std::pair(u"startedAt"_s, FieldType::Timestamp)
                                                                           << std::pair(u"labels"_s, FieldType::Map));
    int compiledWithTypes = 0;
    for (const QString &text : predicates) {
        for (const Schema *schema : {&Schema::builtin(), static_cast<const Schema *>(&untyped)}) {
            auto compiled = Predicate::compile(text, *schema);
            if (!compiled && schema == &Schema::builtin()) {
                QCOMPARE(compiled.error().code, u"query_type"_s);
                continue;
            }
            QVERIFY_RESULT(compiled);
            compiledWithTypes += schema == &Schema::builtin() ? 1 : 0;
            const QString expected = answerText(compiled->evaluate(slow, QueryFixtures::now()));
            QCOMPARE(answerText(compiled->evaluate(quick, QueryFixtures::now())), expected);
            QCOMPARE(answerText(compiled->forModelType(u"swamp/step"_s).evaluate(quick, QueryFixtures::now())),
                     expected);
        }
    }
    QVERIFY(compiledWithTypes > 45);
    QVERIFY(quick.scalarReads > 0);
    QCOMPARE(slow.scalarReads, 0);
}

// The common tests of a scan read a scalar and nothing else.
void tst_QueryRecord::quickTestsReadScalars()
{
    const RawRecord row({{u"workerName"_s, QByteArray("ci-7")}, {u"attempt"_s, qint64(1)}, {u"state"_s, QByteArray("active")},
                         {u"labels"_s, QVariantMap{{u"region"_s, u"eu"_s}}}},
                        true);
    for (const QString &text : {u"attributes.workerName.endsWith(\"-7\") && attributes.attempt > 1"_s,
                                u"attributes.state in [\"active\", \"completed\"] && attributes.workerName != \"x\""_s,
                                u"\"ci\" < attributes.workerName && attributes.attempt == 1"_s,
                                u"attributes.labels.region == \"eu\" && attributes.labels[\"region\"].startsWith(\"e\")"_s}) {
        auto compiled = Predicate::compile(text);
        QVERIFY_RESULT(compiled);
        row.attributeReads = 0;
        row.scalarReads = 0;
        QVERIFY_RESULT(compiled->matches(row, QueryFixtures::now()));
        QCOMPARE(row.attributeReads, 0);
        QCOMPARE(row.scalarReads, 2);
    }
}

QTEST_GUILESS_MAIN(tst_QueryRecord)
#include "tst_query_record.moc"
