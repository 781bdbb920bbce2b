// The rows `data query` reads (store/queryrows.h, issue 20), every test on SQLite and on a real
// PostgreSQL server: a step or lease row read column by column answers every field as the JSON
// record of its stored StepRecord/LeaseRecord does, its JSON text is that record's (the text
// data.query writes of it, byte for byte what Qt writes of the record), and a row a
// hand-edited database filled with broken JSON still gives valid JSON.
#include "testsupport.h"

#include "query/answer.h"
#include "query/predicate.h"
#include "store/queryrows.h"
#include "store/store.h"
#include "support/pgserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <limits>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_QueryRows : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase_data();
    void init();
    void cleanup();
    void aStepRowAnswersAsItsRecord();
    void aLeaseRowAnswersAsItsRecord();
    void equalitiesNarrowTheRows();
    void aStateColumnOutsideTheNamesWritesAsItsRecord();
    void anEqualityOnStateReadsTheSameRowsByIndexOrThroughTheTable();
    void aScanReadsOnlyWhatThePredicateReads();
    void brokenJsonInARowStaysValidJson();
    void aRowRebuildsAsItsRecord();
    void textsRowsShareAnswerAsTheirOwn();

private:
    void insertSteps();
    // Every field of `row` and of the JSON record of `json` (attributes) agree.
    static void compareFields(const Query::Record &row, const QString &modelType, const QString &name,
                              const QString &id, const QJsonObject &json);
    // The text data.query writes of a record: its JSON object as Qt writes it (compact, keys sorted).
    static QByteArray recordText(const QString &modelType, const QString &name, const QString &id,
                                 const QJsonObject &json);

    // A scan of the steps with `predicate` gives the rows a scan of every row matches, each the
    // JSON and the record text of the step stored.
    void stepScanMatchesTheSameRows(const QString &predicate);

    SwampTest::PostgresServer m_postgres;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Store> m_store;
    QList<StepRecord> m_steps;
    QList<LeaseRecord> m_leases;
};

void tst_QueryRows::initTestCase_data()
{
    QTest::addColumn<QString>("dialect");
    QTest::addRow("sqlite") << u"sqlite"_s;
    QTest::addRow("postgresql") << u"postgresql"_s;
}

void tst_QueryRows::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QFETCH_GLOBAL(QString, dialect);
    QString spec;
    if (dialect == u"postgresql") {
        SWAMP_START_POSTGRES(m_postgres);
        qputenv("PGPASSWORD", m_postgres.password().toUtf8());
        spec = m_postgres.createDatabase();
        QVERIFY2(!spec.isEmpty(), qPrintable(m_postgres.errorString()));
    } else {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        spec = m_dir->filePath(u"swamp.db"_s);
    }
    auto opened = Store::open(spec);
    QVERIFY_RESULT(opened);
    m_store = std::move(*opened);
    insertSteps();
}

void tst_QueryRows::cleanup()
{
    m_store.reset();
    m_dir.reset();
    m_steps.clear();
    m_leases.clear();
}

void tst_QueryRows::insertSteps()
{
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(1795514400123, Qt::UTC);
    const RunRecord run{u"run-1"_s, u"nightly"_s, StepState::Running, at, at, {}};
    QVERIFY_RESULT(m_store->insertRun(run));
    StepRecord queued; // nothing optional set: nulls everywhere they can be
    queued.id = u"step-queued"_s;
    queued.runId = run.id;
    queued.spec.name = u"wait"_s;
    queued.spec.command = {u"true"_s};
    queued.spec.queueTimeoutMs = 600000;
    queued.queuedAt = queued.createdAt = queued.updatedAt = at;
    StepRecord done; // everything set, with text JSON must escape
    done.id = u"step-done"_s;
    done.runId = run.id;
    done.seq = 1;
    done.spec.name = u"build \"ü\" 😀"_s;
    done.spec.command = {u"sh"_s, u"-c"_s, u"echo \"hi\"\n\tbye \\ \u0001"_s};
    done.spec.shell = true;
    done.spec.env = {{u"CI"_s, u"1"_s}};
    done.spec.requirement = {u"build-01"_s, {{u"region"_s, u"eu"_s}, {u"größe"_s, u"groß"_s}, {u"q\"\x7f"_s, u"\\"_s}},
                             u"linux/x86_64"_s};
    done.spec.timeoutMs = 90500;
    done.spec.queueTimeoutMs = 1000;
    done.spec.maxAttempts = 5;
    done.spec.atMostOnce = true;
    done.spec.secretNames = {u"TOKEN"_s, u"KEY"_s};
    done.spec.secretHolder = u"local"_s;
    done.state = StepState::Failed;
    done.attempt = 2;
    done.exitCode = 3;
    done.error = u"exit code 3: \"boom\""_s;
    done.workerId = u"worker-1"_s;
    done.workerName = u"ci-7"_s;
    done.outputBytes = 1234;
    done.outputChunks = 3;
    done.outputTruncated = true;
    done.createdAt = at.addSecs(1);
    done.queuedAt = QDateTime::fromMSecsSinceEpoch(-14182940000, Qt::UTC); // before 1970: Qt writes it
    done.startedAt = at.addSecs(2);
    done.finishedAt = done.updatedAt = at.addSecs(3);
    m_steps = {queued, done};
    for (const StepRecord &step : std::as_const(m_steps))
        QVERIFY_RESULT(m_store->insertStep(step));
    LeaseRecord active;
    active.id = u"lease-active"_s;
    active.stepId = queued.id;
    active.runId = run.id;
    active.workerId = u"worker-1"_s;
    active.workerName = u"ci-7"_s;
    active.attempt = 1;
    active.createdAt = active.updatedAt = at;
    LeaseRecord failed = active;
    failed.id = u"lease-failed"_s;
    failed.stepId = done.id;
    failed.attempt = 2;
    failed.state = LeaseState::Failed;
    failed.error = u"worker lost \"x\""_s;
    failed.exitCode = 3;
    failed.startedAt = at.addSecs(2);
    failed.endedAt = failed.updatedAt = at.addSecs(3);
    m_leases = {active, failed};
    for (const LeaseRecord &lease : std::as_const(m_leases))
        QVERIFY_RESULT(m_store->insertLease(lease));
}

QByteArray tst_QueryRows::recordText(const QString &modelType, const QString &name, const QString &id,
                                     const QJsonObject &json)
{
    const QJsonObject record{{u"modelType"_s, modelType}, {u"name"_s, name}, {u"id"_s, id},
                             {u"createdAt"_s, json.value(u"createdAt"_s)}, {u"updatedAt"_s, json.value(u"updatedAt"_s)},
                             {u"attributes"_s, json}};
    return QJsonDocument(record).toJson(QJsonDocument::Compact);
}

void tst_QueryRows::compareFields(const Query::Record &row, const QString &modelType, const QString &name,
                                  const QString &id, const QJsonObject &json)
{
    const QJsonObject record{{u"modelType"_s, modelType}, {u"name"_s, name}, {u"id"_s, id},
                             {u"createdAt"_s, json.value(u"createdAt"_s)}, {u"updatedAt"_s, json.value(u"updatedAt"_s)},
                             {u"attributes"_s, json}};
    QStringList names = row.attributeNames();
    names.sort();
    QCOMPARE(names, json.keys());
    // `attributes` whole reads every one (undocumented ones too); the documented ones one by one,
    // with their types (timestamps as timestamps).
    QStringList expressions{u"modelType"_s, u"name"_s, u"id"_s, u"createdAt"_s, u"updatedAt"_s, u"attributes"_s};
    for (const QString &key : json.keys()) {
        if (Query::Schema::builtin().attributeType(key, {modelType}))
            expressions << u"attributes."_s + key;
    }
    QVERIFY(expressions.size() > 10);
    // What the quick tests read (Record::scalar()) is what attribute() answers.
    int scalars = 0;
    for (const QString &key : json.keys()) {
        const Query::Scalar scalar = row.scalar(Query::attributeId(key));
        const QVariant value = row.attribute(key);
        switch (scalar.kind) {
        case Query::Scalar::Kind::Unknown:
            continue;
        case Query::Scalar::Kind::Null:
            QVERIFY2(value.metaType().id() == QMetaType::Nullptr, qPrintable(key));
            break;
        case Query::Scalar::Kind::Int:
            QVERIFY2(value.metaType().id() == QMetaType::LongLong, qPrintable(key));
            QCOMPARE(scalar.integer, value.toLongLong());
            break;
        case Query::Scalar::Kind::Text:
            QVERIFY2(value.metaType().id() == QMetaType::QString, qPrintable(key));
            QCOMPARE(QString::fromUtf8(scalar.utf8), value.toString());
            break;
        case Query::Scalar::Kind::String: // a map's entry (scalarEntry()); a column is UTF-8
            QFAIL(qPrintable(u"attribute %1 read as a QString"_s.arg(key)));
        }
        ++scalars;
        // The quick tests on the row answer as the evaluator on its JSON (hostile texts included).
        const QJsonValue stored = json.value(key);
        const QString literal = QString::fromUtf8(QJsonDocument(QJsonArray{stored}).toJson(QJsonDocument::Compact)).mid(1).chopped(1);
        QStringList tests{u"attributes.%1 == %2"_s.arg(key, literal), u"attributes.%1 != %2"_s.arg(key, literal),
                          u"attributes.%1 in [%2, null]"_s.arg(key, literal)};
        if (stored.isString())
            tests << u"attributes.%1.startsWith(%2)"_s.arg(key, literal) << u"attributes.%1.endsWith(\"-7\")"_s.arg(key)
                  << u"attributes.%1 < \"m\""_s.arg(key) << u"attributes.%1 == \"\""_s.arg(key);
        for (const QString &test : std::as_const(tests)) {
            auto compiled = Query::Predicate::compile(test);
            QVERIFY_RESULT(compiled);
            const auto onRow = compiled->evaluate(row, QDateTime::currentDateTimeUtc());
            const auto onJson = compiled->evaluate(record, QDateTime::currentDateTimeUtc());
            QCOMPARE(onRow.has_value(), onJson.has_value());
            if (onJson)
                QVERIFY2(*onRow == *onJson, qPrintable(test));
        }
    }
    QVERIFY(scalars >= 6);
    QCOMPARE(row.scalar(-1).kind, Query::Scalar::Kind::Unknown);
    QCOMPARE(row.scalar(int(Query::attributeIdNames().size())).kind, Query::Scalar::Kind::Unknown);
    for (const QString &expression : std::as_const(expressions)) {
        auto compiled = Query::Predicate::compile(expression);
        QVERIFY_RESULT(compiled);
        const auto fromRow = compiled->evaluate(row, QDateTime::currentDateTimeUtc());
        const auto fromJson = compiled->evaluate(record, QDateTime::currentDateTimeUtc());
        QVERIFY_RESULT(fromRow);
        QVERIFY_RESULT(fromJson);
        QVERIFY2(*fromRow == *fromJson, qPrintable(expression));
    }
}

void tst_QueryRows::aStepRowAnswersAsItsRecord()
{
    int visited = 0;
    QVERIFY_RESULT(m_store->forEachStepRow({}, std::nullopt, {}, [&](const StepRow &row) {
        ++visited;
        const auto stored = std::find_if(m_steps.cbegin(), m_steps.cend(), [&](const StepRecord &s) { return s.id == row.id(); });
        QVERIFY(stored != m_steps.cend());
        compareFields(row, u"swamp/step"_s, stored->spec.name, stored->id, stored->toJson());
        QCOMPARE(row.createdAtMs(), stored->createdAt.toMSecsSinceEpoch());
        QCOMPARE(row.seq(), stored->seq);
        QCOMPARE(row.isOpen(), !isTerminal(stored->state));
        const StepRecord read = row.step();
        QCOMPARE(read.toJson(), stored->toJson());
        QCOMPARE(read.spec.env, stored->spec.env);
        QCOMPARE(read.spec.secretHolder, stored->spec.secretHolder);
        QCOMPARE(QJsonDocument::fromJson(row.forJson().toJsonText()).object(), stored->toJson());
        QCOMPARE(QJsonDocument::fromJson(stored->toJsonText()).object(), stored->toJson());
        // Written straight from the columns, after what the answer holds already: Qt's text.
        QByteArray text = "[1,";
        row.appendRecordText(text);
        QCOMPARE(text, "[1," + recordText(u"swamp/step"_s, stored->spec.name, stored->id, stored->toJson()));
    }));
    QCOMPARE(visited, m_steps.size());
}

void tst_QueryRows::aLeaseRowAnswersAsItsRecord()
{
    int visited = 0;
    QVERIFY_RESULT(m_store->forEachLeaseRow({}, std::nullopt, {}, [&](const LeaseRow &row) {
        ++visited;
        const auto stored = std::find_if(m_leases.cbegin(), m_leases.cend(), [&](const LeaseRecord &l) { return l.id == row.id(); });
        QVERIFY(stored != m_leases.cend());
        compareFields(row, u"swamp/step-lease"_s, stored->id, stored->id, stored->toJson());
        QCOMPARE(row.createdAtMs(), stored->createdAt.toMSecsSinceEpoch());
        QCOMPARE(row.lease().toJson(), stored->toJson());
        QCOMPARE(row.lease().orchestratorId, stored->orchestratorId);
        QCOMPARE(QJsonDocument::fromJson(stored->toJsonText()).object(), stored->toJson());
        QByteArray text;
        row.appendRecordText(text);
        QCOMPARE(text, recordText(u"swamp/step-lease"_s, stored->id, stored->id, stored->toJson()));
    }));
    QCOMPARE(visited, m_leases.size());
}

void tst_QueryRows::equalitiesNarrowTheRows()
{
    QStringList ids;
    QVERIFY_RESULT(m_store->forEachStepRow({{u"state"_s, u"failed"_s}, {u"exitCode"_s, 3}}, std::nullopt, {},
                                           [&](const StepRow &row) { ids << row.id(); }));
    QCOMPARE(ids, QStringList{u"step-done"_s});
    ids.clear();
    // Attributes that are no column narrow nothing: the predicate decides on them.
    QVERIFY_RESULT(m_store->forEachLeaseRow({{u"workerName"_s, u"ci-7"_s}, {u"endedAt"_s, u"x"_s}}, std::nullopt, {},
                                            [&](const LeaseRow &row) { ids << row.id(); }));
    ids.sort();
    QCOMPARE(ids, QStringList({u"lease-active"_s, u"lease-failed"_s}));
}

// The predicate `text` matches the same rows of a scan that reads every column and decides on
// each whole row, and of one whose keep() decides on only the columns it reads
// (`scan(reads, keep, visit)`, inside SQLite); each row the latter keeps comes whole and is checked.
template <typename Row, typename Scan, typename CheckKept>
static void matchesTheSameRows(const QString &text, Scan scan, CheckKept checkKept)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    auto predicate = Query::Predicate::compile(text);
    QVERIFY_RESULT(predicate);
    QStringList all, projected;
    QVERIFY_RESULT(scan(std::optional<Query::FieldsRead>(), std::function<bool(const Row &)>(),
                        std::function<void(const Row &)>([&](const Row &row) {
        if (predicate->matches(row, now).value_or(false))
            all << row.id();
    })));
    int asked = 0;
    QVERIFY_RESULT(scan(predicate->fieldsRead(), std::function<bool(const Row &)>([&](const Row &row) {
        ++asked;
        return predicate->matches(row, now).value_or(false);
    }), std::function<void(const Row &)>([&](const Row &row) {
        projected << row.id();
        checkKept(row);
    })));
    QVERIFY2(!all.isEmpty(), qPrintable(text));
    QVERIFY2(asked >= all.size(), qPrintable(text));
    QCOMPARE(projected, all);
}

void tst_QueryRows::stepScanMatchesTheSameRows(const QString &predicate)
{
    matchesTheSameRows<StepRow>(predicate, [this](const auto &reads, const auto &keep, const auto &visit) {
        return m_store->forEachStepRow({}, reads, keep, visit);
    }, [this](const StepRow &kept) {
        const auto stored = std::find_if(m_steps.cbegin(), m_steps.cend(), [&](const StepRecord &s) { return s.id == kept.id(); });
        QVERIFY(stored != m_steps.cend());
        QCOMPARE(QJsonDocument::fromJson(kept.forJson().toJsonText()).object(), stored->toJson());
        QByteArray text;
        kept.appendRecordText(text);
        QCOMPARE(text, recordText(u"swamp/step"_s, stored->spec.name, stored->id, stored->toJson()));
    });
}

void tst_QueryRows::aScanReadsOnlyWhatThePredicateReads()
{
    auto whole = Query::Predicate::compile(u"size(attributes) > 3"_s);
    QVERIFY_RESULT(whole);
    QVERIFY(!whole->fieldsRead()); // `attributes` whole: every column
    auto named = Query::Predicate::compile(u"attributes.labels.region == \"eu\" && attributes[\"attempt\"] > 1 && name != \"x\""_s);
    QVERIFY_RESULT(named);
    QVERIFY(named->fieldsRead());
    QCOMPARE(named->fieldsRead()->attributes, (QSet<QString>{u"labels"_s, u"attempt"_s}));
    QCOMPARE(named->fieldsRead()->fields, (QSet<QString>{u"name"_s}));
    QVERIFY(StepRow::columnsFor(named->fieldsRead()).size() < 10);

    const QStringList stepPredicates{
        u"attributes.state == \"failed\""_s,
        u"attributes.labels.region == \"eu\""_s,
        u"attributes.requirement.contains(\"eu\") || attributes.target == null"_s,
        u"name.startsWith(\"build\") && attributes.attempt >= 1"_s,
        u"attributes.workerName == \"ci-7\" || attributes.exitCode == 3"_s,
        u"size(attributes[\"command\"]) > 0 && updatedAt >= createdAt"_s,
        u"attributes.timeoutSeconds == null && !attributes.atMostOnce"_s,
        u"size(attributes) > 3"_s,
        // The labels map as the query reads it (converted once a scan): keys, size, macros.
        u"\"größe\" in attributes.labels && size(attributes.labels) == 3"_s,
        u"attributes.labels.exists(k, k.startsWith(\"q\")) && attributes.labels.all(k, attributes.labels[k] != \"\")"_s,
        u"attributes.labels == {\"region\": \"eu\", \"größe\": \"groß\", \"q\\\"\x7f\": \"\\\\\"}"_s,
    };
    for (const QString &text : stepPredicates) {
        stepScanMatchesTheSameRows(text);
    }
    // Rows the database narrowed (a state pushed down) are read whole at once: the same rows.
    matchesTheSameRows<StepRow>(u"attributes.state == \"failed\" && attributes.labels.region == \"eu\""_s,
                                [this](const auto &reads, const auto &keep, const auto &visit) {
        return m_store->forEachStepRow({{u"state"_s, u"failed"_s}}, reads, keep, visit);
    }, [this](const StepRow &kept) {
        QByteArray text;
        kept.appendRecordText(text);
        QCOMPARE(text, recordText(u"swamp/step"_s, m_steps.at(1).spec.name, m_steps.at(1).id, m_steps.at(1).toJson()));
    });
    for (const QString &text : {u"attributes.workerName.endsWith(\"-7\") && attributes.attempt > 0"_s,
                                u"attributes.state == \"active\" || attributes.exitCode != null"_s}) {
        matchesTheSameRows<LeaseRow>(text, [this](const auto &reads, const auto &keep, const auto &visit) {
            return m_store->forEachLeaseRow({}, reads, keep, visit);
        }, [this](const LeaseRow &kept) {
            const auto stored = std::find_if(m_leases.cbegin(), m_leases.cend(), [&](const LeaseRecord &l) { return l.id == kept.id(); });
            QVERIFY(stored != m_leases.cend());
            QCOMPARE(kept.lease().toJson(), stored->toJson());
            QByteArray text;
            kept.appendRecordText(text);
            QCOMPARE(text, recordText(u"swamp/step-lease"_s, stored->id, stored->id, stored->toJson()));
        });
    }
}

// A row changed by hand (or damaged) may hold anything in its JSON columns: what the query
// writes out is parsed from them, never copied, so the answer stays JSON.
void tst_QueryRows::brokenJsonInARowStaysValidJson()
{
    QVERIFY_RESULT(m_store->execute(u"UPDATE steps SET command = ?, labels = ?, secret_env = ? WHERE id = ?"_s,
                                    {u"[\"a\", \"b"_s, u"{\"region\": \"eu\"]}"_s, u"not json"_s, u"step-done"_s}));
    bool seen = false;
    QVERIFY_RESULT(m_store->forEachStepRow({{u"state"_s, u"failed"_s}}, std::nullopt, {}, [&](const StepRow &row) {
        seen = true;
        QJsonParseError error;
        const QJsonDocument text = QJsonDocument::fromJson(row.forJson().toJsonText(), &error);
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(text.object().value(u"labels"_s).toObject(), QJsonObject());
        QCOMPARE(text.object().value(u"command"_s).toArray(), QJsonArray());
        QByteArray record;
        row.appendRecordText(record);
        const QJsonObject written = QJsonDocument::fromJson(record, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(written.value(u"attributes"_s).toObject(), text.object());
        auto labels = Query::Predicate::compile(u"size(attributes.labels) == 0 && size(attributes.maskedEnv) == 0"_s);
        QVERIFY_RESULT(labels);
        const auto matched = labels->matches(row, QDateTime::currentDateTimeUtc());
        QVERIFY_RESULT(matched);
        QVERIFY(*matched);
    }));
    QVERIFY(seen);
}

// The rows form (protocol.md): each row, rebuilt by the client (Query::answerWithRecords()) from
// the tables the orchestrator sends, is the record the records form writes of it, value for
// value; also for rows a hand-edited database damaged: broken JSON, a state outside the names,
// times past 9999 and at both ends of 64 bits, an exit code past an int.
void tst_QueryRows::aRowRebuildsAsItsRecord()
{
    const QByteArray tables = "[" + StepRow::tableText() + "," + LeaseRow::tableText() + "]";
    const QJsonArray tablesJson = QJsonDocument::fromJson(tables).array();
    QCOMPARE(tablesJson.size(), 2);
    QCOMPARE(tablesJson.at(0)[u"modelType"_s].toString(), u"swamp/step"_s);
    QCOMPARE(tablesJson.at(1)[u"name"_s].toString(), u"id"_s);
    QCOMPARE(tablesJson.at(1)[u"times"_s].toArray().size(), 4); // created, started, ended, updated
    const qint64 max = std::numeric_limits<qint64>::max();
    const qint64 min = std::numeric_limits<qint64>::min();
    const QList<std::pair<QString, QVariantList>> damages{
        {{}, {}},
        {u"UPDATE steps SET command = ?, labels = ?, secret_env = ?, state = ?, queued_at = ?, started_at = ?, "
         "finished_at = ?, exit_code = ? WHERE id = ?"_s,
         {u"[\"a\", \"b"_s, u"{\"region\": \"eu\"]}"_s, u"not json"_s, u"Succeeded"_s, qint64(253402300800000), max,
          min, qint64(1) << 40, u"step-done"_s}},
        {u"UPDATE step_leases SET state = ?, created_at = ?, started_at = ?, ended_at = ?, exit_code = ? WHERE id = ?"_s,
         {u"failed\"}"_s, qint64(-1), min, max, -(qint64(1) << 40), u"lease-failed"_s}},
    };
    for (const auto &[damage, values] : damages) {
        if (!damage.isEmpty())
            QVERIFY_RESULT(m_store->execute(damage, values));
        int rows = 0;
        // The row `row` as both forms write it: the record and the rebuilt row agree.
        const auto compare = [&](const auto &row, int table) {
            ++rows;
            QByteArray record;
            row.appendRecordText(record);
            QByteArray rowText;
            row.appendRowText(rowText, table);
            QVERIFY2(rowText.startsWith(QByteArray('[' + QByteArray::number(table) + ',')), rowText.constData());
            QJsonParseError error;
            const QJsonObject answer = QJsonDocument::fromJson(R"({"predicate":"p","tables":)" + tables
                                                                   + R"(,"results":[)" + rowText + R"(],"total":1})",
                                                               &error)
                                           .object();
            QCOMPARE(error.error, QJsonParseError::NoError);
            auto rebuilt = Query::answerWithRecords(answer);
            QVERIFY_RESULT(rebuilt);
            QVERIFY(!rebuilt->contains(u"tables"_s));
            QCOMPARE(rebuilt->value(u"total"_s).toInteger(), 1);
            const QJsonObject expected = QJsonDocument::fromJson(record, &error).object();
            QCOMPARE(error.error, QJsonParseError::NoError);
            QCOMPARE(rebuilt->value(u"results"_s).toArray(), QJsonArray{expected});
            // The point of the form: fewer bytes than the record, by a third at least.
            QVERIFY2(rowText.size() * 3 < record.size() * 2, qPrintable(u"%1 vs %2"_s.arg(rowText.size()).arg(record.size())));
        };
        QVERIFY_RESULT(m_store->forEachStepRow({}, std::nullopt, {}, [&](const StepRow &row) { compare(row, 0); }));
        QVERIFY_RESULT(m_store->forEachLeaseRow({}, std::nullopt, {}, [&](const LeaseRow &row) { compare(row, 1); }));
        QCOMPARE(rows, 4);
    }
}

// A state column the orchestrator never writes (changed by hand, damaged): the answer names the
// state its record reads back (failed), never the column's text, whose bytes are copied only
// when they are one of the names.
void tst_QueryRows::aStateColumnOutsideTheNamesWritesAsItsRecord()
{
    const QStringList states{u"Succeeded"_s, u"failed\"}"_s, u"r\u00fcnning"_s, u""_s, u"queued "_s};
    for (const QString &state : states) {
        QVERIFY_RESULT(m_store->execute(u"UPDATE steps SET state = ? WHERE id = ?"_s, {state, u"step-done"_s}));
        QVERIFY_RESULT(m_store->execute(u"UPDATE step_leases SET state = ? WHERE id = ?"_s, {state, u"lease-failed"_s}));
        int seen = 0;
        // The row `id` (a step's or a lease's) writes state "failed", and as its record does.
        const auto writesFailed = [&](const auto &row, const QString &id, const QJsonObject &record) {
            if (row.id() != id)
                return;
            ++seen;
            QByteArray text;
            row.appendRecordText(text);
            const QJsonObject written = QJsonDocument::fromJson(text).object().value(u"attributes"_s).toObject();
            QCOMPARE(written.value(u"state"_s).toString(), u"failed"_s);
            QCOMPARE(written, record);
        };
        QVERIFY_RESULT(m_store->forEachStepRow({}, std::nullopt, {}, [&](const StepRow &row) {
            writesFailed(row, u"step-done"_s, row.step().toJson());
        }));
        QVERIFY_RESULT(m_store->forEachLeaseRow({}, std::nullopt, {}, [&](const LeaseRow &row) {
            writesFailed(row, u"lease-failed"_s, row.lease().toJson());
        }));
        QCOMPARE(seen, 2);
    }
}

// SQLite follows the index on state for a rare state and reads the table through for a common
// one (more than a quarter of the rows): the rows given are the same either way, with the other
// equalities applied as well, and for steps and leases alike.
void tst_QueryRows::anEqualityOnStateReadsTheSameRowsByIndexOrThroughTheTable()
{
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(1795514500000, Qt::UTC);
    for (int i = 0; i < 24; ++i) {
        StepRecord step = m_steps.constLast();
        step.id = u"step-%1"_s.arg(i);
        step.seq = 10 + i;
        step.state = i == 0 ? StepState::Cancelled : StepState::Succeeded;
        step.workerName = u"ci-%1"_s.arg(i % 3);
        step.createdAt = step.updatedAt = at.addSecs(i);
        QVERIFY_RESULT(m_store->insertStep(step));
        m_steps << step;
        LeaseRecord lease = m_leases.constLast();
        lease.id = u"lease-%1"_s.arg(i);
        lease.stepId = step.id;
        lease.state = i == 0 ? LeaseState::Cancelled : LeaseState::Completed;
        lease.workerName = step.workerName;
        lease.createdAt = lease.updatedAt = at.addSecs(i);
        QVERIFY_RESULT(m_store->insertLease(lease));
        m_leases << lease;
    }
    using Equalities = Store::AttributeEqualities;
    const QList<Equalities> cases{
        {{u"state"_s, u"succeeded"_s}},                               // 23 of 26: through the table
        {{u"state"_s, u"cancelled"_s}},                               // 1 of 26: by the index
        {{u"state"_s, u"succeeded"_s}, {u"workerName"_s, u"ci-1"_s}}, // both ways with another condition
        {{u"workerName"_s, u"ci-1"_s}, {u"state"_s, u"cancelled"_s}},
        {{u"workerName"_s, u"ci-0"_s}, {u"state"_s, u"cancelled"_s}},
        {{u"state"_s, u"nothing"_s}},
    };
    for (const Equalities &equalities : cases) {
        const auto holds = [&](const QJsonObject &json) {
            for (const auto &[field, value] : equalities) {
                QString wanted = value.toString();
                if (field == u"state"_s && json.contains(u"stepId"_s)) // a lease's states are its own
                    wanted = wanted == u"succeeded"_s ? u"completed"_s : wanted;
                if (json.value(field).toString() != wanted)
                    return false;
            }
            return true;
        };
        // The ids of `records` that hold, against those forEach(equalities, visit) gives.
        const auto givesWhatHolds = [&](const auto &records, const Equalities &asked, auto forEach) {
            QStringList expected, got;
            for (const auto &record : records) {
                if (holds(record.toJson()))
                    expected << record.id;
            }
            QVERIFY_RESULT(forEach(asked, [&](const auto &row) { got << row.id(); }));
            expected.sort();
            got.sort();
            QCOMPARE(got, expected);
        };
        givesWhatHolds(m_steps, equalities, [&](const Equalities &asked, const std::function<void(const StepRow &)> &visit) {
            return m_store->forEachStepRow(asked, std::nullopt, {}, visit);
        });
        Equalities leaseEqualities;
        for (const auto &[field, value] : equalities)
            leaseEqualities.push_back({field, field == u"state"_s && value == u"succeeded"_s ? QJsonValue(u"completed"_s) : value});
        givesWhatHolds(m_leases, leaseEqualities, [&](const Equalities &asked, const std::function<void(const LeaseRow &)> &visit) {
            return m_store->forEachLeaseRow(asked, std::nullopt, {}, visit);
        });
    }
}

// A scan parses the labels, command and masked names many rows share once, and looks the two it
// found last up first: rows whose texts alternate, repeat, differ in one byte or only in length
// each get their own (a memo that answered a row with its neighbour's would fail here).
void tst_QueryRows::textsRowsShareAnswerAsTheirOwn()
{
    const QList<Labels> labels{{{u"region"_s, u"eu"_s}}, {{u"region"_s, u"us"_s}}, {{u"region"_s, u"eu"_s}},
                               {}, {{u"region"_s, u"eu-west"_s}}, {}, {{u"region"_s, u"us"_s}},
                               {{u"region"_s, u"eu"_s}, {u"zone"_s, u"a"_s}}, {{u"region"_s, u"eu"_s}},
                               {{u"region"_s, u"e"_s}}, {{u"region"_s, u"eu"_s}}};
    QList<StepRecord> steps;
    for (qsizetype i = 0; i < labels.size(); ++i) {
        StepRecord step = m_steps.at(1);
        step.id = u"step-shared-%1"_s.arg(i);
        step.seq = int(10 + i);
        step.spec.requirement.labels = labels.at(i);
        step.spec.requirement.target = i % 3 == 0 ? QString() : u"build-0%1"_s.arg(i % 2);
        step.spec.command = i % 2 ? QStringList{u"make"_s, u"test"_s} : QStringList{u"make"_s, u"tesT"_s};
        step.spec.secretNames = i % 4 == 0 ? QStringList() : QStringList{u"K%1"_s.arg(i % 3)};
        step.createdAt = step.createdAt.addSecs(10 + i);
        steps << step;
        QVERIFY_RESULT(m_store->insertStep(step));
    }
    m_steps << steps;
    for (const QString &text : {u"attributes.labels.region != \"none\" || size(attributes.labels) == 0"_s,
                                u"size(attributes.command) == 2"_s}) {
        stepScanMatchesTheSameRows(text);
    }
    // The labels as the predicate reads them, row by row.
    auto region = Query::Predicate::compile(u"attributes.labels.region == \"eu\""_s);
    QVERIFY_RESULT(region);
    QStringList matched;
    QVERIFY_RESULT(m_store->forEachStepRow({}, region->fieldsRead(), [&](const StepRow &row) {
        return region->matches(row, QDateTime::currentDateTimeUtc()).value_or(false);
    }, [&](const StepRow &row) { matched << row.id(); }));
    QStringList expected{m_steps.at(1).id};
    for (qsizetype i = 0; i < labels.size(); ++i) {
        if (labels.at(i).value(u"region"_s) == u"eu")
            expected << steps.at(i).id;
    }
    matched.sort();
    expected.sort();
    QCOMPARE(matched, expected);
}

QTEST_GUILESS_MAIN(tst_QueryRows)
#include "tst_queryrows.moc"
