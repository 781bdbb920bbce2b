#include "queryfixtures.h"

#include "common/duration.h"
#include "query/answer.h"
#include "query/render.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp::Query;

class tst_QueryRender : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void compileErrors_data();
    void compileErrors();
    void errorsWithoutPosition();
    void runtimeError();
    void records_data();
    void records();
    void selection_data();
    void selection();
    void rowsRebuildIntoRecords();
    void aMalformedRowsAnswerIsRefused_data();
    void aMalformedRowsAnswerIsRefused();
};

void tst_QueryRender::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_QueryRender::compileErrors_data()
{
    QTest::addColumn<QString>("predicate");
    QTest::addColumn<QString>("expected");
    const auto row = [](const char *name, const QString &predicate, const QString &expected) {
        QTest::addRow("%s", name) << predicate << expected;
    };
    row("spec-example", u"modelType == \"swamp/worker\" && attributes.stauts == \"idle\""_s,
        u"error: unknown field \"stauts\" in query predicate (did you mean \"status\"?)\n"
        "  modelType == \"swamp/worker\" && attributes.stauts == \"idle\"\n"
        "                                            ^^^^^^\n"_s);
    row("at-start", u"modeltype == 'swamp/worker'"_s,
        u"error: unknown field \"modeltype\" in query predicate (did you mean \"modelType\"?)\n"
        "  modeltype == 'swamp/worker'\n"
        "  ^^^^^^^^^\n"_s);
    row("at-end", u"name == "_s,
        u"error: syntax error in query predicate: unexpected end of predicate (expected an "
        u"expression)\n"
        "  name == \n"
        "          ^\n"_s);
    row("operator", u"attributes.status < 5"_s,
        u"error: no operator '<' for string and int\n"
        "  attributes.status < 5\n"
        "                    ^\n"_s);
    row("single-equals", u"name = 'x'"_s,
        u"error: syntax error in query predicate: \"=\" is not an operator (did you mean \"==\"?)\n"
        "  name = 'x'\n"
        "       ^\n"_s);
    row("model-type", u"modelType == \"swamp/wroker\""_s,
        u"error: unknown model type \"swamp/wroker\" in query predicate (did you mean "
        u"\"swamp/worker\"?)\n"
        "  modelType == \"swamp/wroker\"\n"
        "               ^^^^^^^^^^^^^^\n"_s);
    row("second-line", u"modelType == 'swamp/worker'\n  && attributes.stauts == 'idle'"_s,
        u"error: unknown field \"stauts\" in query predicate (did you mean \"status\"?)\n"
        "    && attributes.stauts == 'idle'\n"
        "                  ^^^^^^\n"_s);
    row("tab-kept", u"\tattributes.stauts == 'idle'"_s,
        u"error: unknown field \"stauts\" in query predicate (did you mean \"status\"?)\n"
        "  \tattributes.stauts == 'idle'\n"
        "  \t           ^^^^^^\n"_s);
    row("after-astral", u"'😀' == attributes.stauts"_s,
        u"error: unknown field \"stauts\" in query predicate (did you mean \"status\"?)\n"
        "  '😀' == attributes.stauts\n"
        "                    ^^^^^^\n"_s);
    row("unterminated-string-to-end", u"name == 'abc"_s,
        u"error: syntax error in query predicate: unterminated string\n"
        "  name == 'abc\n"
        "          ^^^^\n"_s);
    row("string-spanning-lines-clipped", u"name == '''abc\ndef"_s,
        u"error: syntax error in query predicate: unterminated string\n"
        "  name == '''abc\n"
        "          ^^^^^^\n"_s);
}

void tst_QueryRender::compileErrors()
{
    QFETCH(QString, predicate);
    QFETCH(QString, expected);
    const auto compiled = Predicate::compile(predicate);
    QVERIFY(!compiled);
    QCOMPARE(renderError(compiled.error(), predicate), expected);
}

void tst_QueryRender::errorsWithoutPosition()
{
    const QString predicate = u"name == '%1'"_s.arg(QString(5000, u'x'));
    const auto compiled = Predicate::compile(predicate);
    QVERIFY(!compiled);
    QCOMPARE(renderError(compiled.error(), predicate),
             u"error: query predicate is 5010 characters long, over the limit of 4096\n"_s);
    Swamp::Error error = Swamp::makeError(u"query_syntax"_s, u"odd"_s);
    error.details.insert(u"position"_s, 99);
    QCOMPARE(renderError(error, u"ab"_s), u"error: odd\n  ab\n    ^\n"_s);
}

void tst_QueryRender::runtimeError()
{
    const QString predicate = u"attributes.labels.zone == 'eu'"_s;
    const auto compiled = Predicate::compile(predicate);
    QVERIFY_RESULT(compiled);
    const auto result = compiled->matches(QueryFixtures::worker(), QueryFixtures::now());
    QVERIFY(!result);
    QCOMPARE(renderError(result.error(), predicate),
             u"error: no such key \"zone\" in attributes.labels\n"
             "  attributes.labels.zone == 'eu'\n"
             "                    ^^^^\n"_s);
}

void tst_QueryRender::records_data()
{
    QTest::addColumn<QJsonArray>("records");
    QTest::addColumn<QString>("expected");
    QTest::addRow("empty") << QJsonArray() << QString();
    QTest::addRow("one-worker")
        << QJsonArray{QueryFixtures::worker()}
        << u"NAME        MODEL TYPE    STATE  DETAILS\n"
           "ci-linux-1  swamp/worker  idle   host=build-01 platform=linux/amd64 steps=1/4 "
           "lastSeen=2026-11-24T09:50:00.000Z labels=größe=groß,os=linux,region=eu\n"_s;
    QTest::addRow("all-models")
        << QJsonArray{QueryFixtures::worker(), QueryFixtures::token(), QueryFixtures::step(),
                      QueryFixtures::lease(), QueryFixtures::run()}
        << u"ID     NAME        MODEL TYPE              STATE     DETAILS\n"
           "-      ci-linux-1  swamp/worker            idle      host=build-01 platform=linux/amd64 "
           "steps=1/4 "
           "lastSeen=2026-11-24T09:50:00.000Z labels=größe=groß,os=linux,region=eu\n"
           "-      ci          swamp/enrollment-token  enrolled  expires=2026-12-01T00:00:00.000Z "
           "enrollments=2/unlimited\n"
           "stp_1  build       swamp/step              running   run=run_1 attempt=1/3 worker=ci-linux-1\n"
           "lse_1  build#1     swamp/step-lease        active    step=stp_1 worker=ci-linux-1 attempt=1\n"
           "run_1  nightly     swamp/run               running   steps=3 succeeded=1 failed=0\n"_s;
    // Steps and runs get an ID column (the short id `swamp run` prints); other records do not.
    QTest::addRow("step-ids")
        << QJsonArray{QueryFixtures::parseObject(
               R"({"modelType": "swamp/step", "name": "a", "id": "01936f2c-7d3e-7aa1-9c2b-4d5e6f708192",
                   "attributes": {"state": "queued"}})")}
        << u"ID        NAME  MODEL TYPE  STATE   DETAILS\n6f708192  a     swamp/step  queued\n"_s;
    QTest::addRow("unknown-model")
        << QJsonArray{QueryFixtures::parseObject(
               R"({"modelType": "acme/widget", "name": "w", "attributes": {"color": "red"}})")}
        << u"NAME  MODEL TYPE   STATE  DETAILS\nw     acme/widget\n"_s;
}

void tst_QueryRender::records()
{
    QFETCH(QJsonArray, records);
    QFETCH(QString, expected);
    QCOMPARE(renderRecords(records), expected);
}

void tst_QueryRender::selection_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("expected");
    QTest::addRow("strings") << u"name"_s << u"ci-linux-1\nci\nbuild\nbuild#1\nnightly\n"_s;
    QTest::addRow("ints") << u"size(attributes)"_s << u"16\n8\n17\n10\n5\n"_s;
    QTest::addRow("mixed-scalars")
        << u"modelType == 'swamp/worker' ? attributes.capacity : (modelType == 'swamp/run' ? 2.5 : "
           "(modelType == 'swamp/step' ? attributes.exitCode : modelType == 'swamp/step-lease'))"_s
        << u"4\nfalse\nnull\ntrue\n2.5\n"_s;
    QTest::addRow("timestamps") << u"createdAt"_s
                                << u"2026-11-01T00:00:00.000Z\n2026-11-01T00:00:00.000Z\n"
                                   "2026-11-24T09:00:00.000Z\n2026-11-24T09:00:30.000Z\n"
                                   "2026-11-24T09:00:00.000Z\n"_s;
    QTest::addRow("durations") << u"now - updatedAt"_s
                               << u"120s\n1936800s\n1800s\n3570s\n1800s\n"_s;
    QTest::addRow("lists")
        << u"[name, size(name)]"_s
        << u"[\"ci-linux-1\",10]\n[\"ci\",2]\n[\"build\",5]\n[\"build#1\",7]\n[\"nightly\",7]\n"_s;
    QTest::addRow("maps-as-table") << u"{'name': name, 'type': modelType}"_s
                                   << u"name        type\n"
                                      "ci-linux-1  swamp/worker\n"
                                      "ci          swamp/enrollment-token\n"
                                      "build       swamp/step\n"
                                      "build#1     swamp/step-lease\n"
                                      "nightly     swamp/run\n"_s;
    QTest::addRow("maps-union-of-keys")
        << u"modelType == 'swamp/worker' ? {'b': 1, 'a': [1]} : {'c': attributes.state}"_s
        << u"a    b  c\n[1]  1\n        enrolled\n        running\n        active\n        running\n"_s;
    // A value may be a worker's text: one value, one line, nothing that steers the terminal.
    QTest::addRow("control-characters") << u"name + '\\n\\u001b[2J' + 'x'"_s
                                        << u"ci-linux-1\\n\\e[2Jx\nci\\n\\e[2Jx\nbuild\\n\\e[2Jx\n"
                                           "build#1\\n\\e[2Jx\nnightly\\n\\e[2Jx\n"_s;
    QTest::addRow("record-maps") << u"has(attributes.labels) ? attributes.labels : {}"_s
                                 << u"größe  os     region\n"
                                    "groß   linux  eu\n"
                                    "              \n"
                                    "              eu\n"
                                    "              \n"
                                    "              \n"_s;
}

void tst_QueryRender::selection()
{
    QFETCH(QString, expression);
    QFETCH(QString, expected);
    const auto compiled = Predicate::compile(expression);
    QVERIFY_RESULT(compiled);
    QJsonArray values;
    for (const QJsonObject &record :
         {QueryFixtures::worker(), QueryFixtures::token(), QueryFixtures::step(),
          QueryFixtures::lease(), QueryFixtures::run()}) {
        const auto value = compiled->evaluate(record, QueryFixtures::now());
        if (!value && expected == u"!") {
            continue;
        }
        QVERIFY_RESULT(value);
        values.append(*value);
    }
    QCOMPARE(renderSelection(values), expected);
}

namespace {

// A rows-form answer (protocol.md) with one table and `results` (JSON text), `tables` replacing it.
QJsonObject rowsAnswer(const QByteArray &results, const QByteArray &tables = {})
{
    const QByteArray table =
        R"({"modelType":"swamp/thing","name":"name","attributes":["createdAt","id","n","name","updatedAt"],"times":["createdAt","updatedAt"]})";
    const QByteArray text = R"({"predicate":"p","tables":)" + (tables.isEmpty() ? '[' + table + ']' : tables)
                            + R"(,"results":[)" + results + R"(],"total":2,"limited":false})";
    QJsonParseError error;
    const QJsonObject answer = QJsonDocument::fromJson(text, &error).object();
    if (error.error != QJsonParseError::NoError)
        qFatal("bad fixture %s: %s", text.constData(), qPrintable(error.errorString()));
    return answer;
}

} // namespace

void tst_QueryRender::rowsRebuildIntoRecords()
{
    // A row becomes the record around its attributes, times formatted as the records form writes
    // them (before 1970 and past 9999 too); a record written whole passes as it is, in its place.
    auto rebuilt = answerWithRecords(rowsAnswer(
        R"({"modelType":"swamp/worker","name":"w"},[0,-14182940000,"a",[1,{"x":null}],"n \"1\"",253402300800000],)"
        R"([0,null,"b",null,"b",0])"));
    QVERIFY(rebuilt.has_value());
    const QJsonArray results = rebuilt->value(u"results"_s).toArray();
    QCOMPARE(results.size(), 3);
    QCOMPARE(results.at(0).toObject(), (QJsonObject{{u"modelType"_s, u"swamp/worker"_s}, {u"name"_s, u"w"_s}}));
    const QJsonObject first = results.at(1).toObject();
    QCOMPARE(first.value(u"modelType"_s).toString(), u"swamp/thing"_s);
    QCOMPARE(first.value(u"name"_s).toString(), u"n \"1\""_s);
    QCOMPARE(first.value(u"id"_s).toString(), u"a"_s);
    QCOMPARE(first.value(u"createdAt"_s).toString(), u"1969-07-20T20:17:40.000Z"_s);
    QCOMPARE(first.value(u"updatedAt"_s).toString(), Swamp::isoUtcMs(253402300800000));
    QCOMPARE(first[u"attributes"_s][u"n"_s].toArray(), (QJsonArray{1, QJsonObject{{u"x"_s, QJsonValue::Null}}}));
    QCOMPARE(first[u"attributes"_s][u"createdAt"_s], first.value(u"createdAt"_s));
    const QJsonObject second = results.at(2).toObject();
    QVERIFY(second.value(u"createdAt"_s).isNull());
    QCOMPARE(second.value(u"updatedAt"_s).toString(), u"1970-01-01T00:00:00.000Z"_s);
    QVERIFY(!rebuilt->contains(u"tables"_s));
    QCOMPARE(rebuilt->value(u"total"_s).toInteger(), 2);
    // An answer in the records form (an older orchestrator, a --select) is given back as it is.
    const QJsonObject plain{{u"results"_s, QJsonArray{1, u"x"_s, QJsonArray{0, 1}}}, {u"total"_s, 3}};
    QCOMPARE(answerWithRecords(plain).value(), plain);
}

void tst_QueryRender::aMalformedRowsAnswerIsRefused_data()
{
    QTest::addColumn<QByteArray>("results");
    QTest::addColumn<QByteArray>("tables");
    QTest::addColumn<QString>("names");
    const QByteArray good = R"([0,1,"a",2,"n",3])";
    const auto row = [&](const char *name, const QByteArray &results, const QByteArray &tables, const QString &names) {
        QTest::addRow("%s", name) << results << tables << names;
    };
    row("tables not an array", good, R"({"0":1})", u"\"tables\" is not an array"_s);
    row("table without attributes", good, R"([{"modelType":"m","name":"name"}])", u"table 0"_s);
    row("table without model type", good, R"([{"name":"name","attributes":["id"]}])", u"table 0"_s);
    row("attribute twice", good, R"([{"modelType":"m","name":"id","attributes":["id","id","createdAt","updatedAt"]}])",
        u"twice"_s);
    row("attribute no name", good, R"([{"modelType":"m","name":"id","attributes":["id",7,"createdAt","updatedAt"]}])",
        u"no name"_s);
    row("time no attribute", good,
        R"([{"modelType":"m","name":"id","attributes":["id","createdAt","updatedAt"],"times":["endedAt"]}])", u"time"_s);
    row("no id", good, R"([{"modelType":"m","name":"name","attributes":["name","createdAt","updatedAt"]}])", u"\"id\""_s);
    row("no name attribute", good, R"([{"modelType":"m","name":"label","attributes":["id","createdAt","updatedAt"]}])",
        u"\"label\""_s);
    row("table index past the tables", R"([1,1,"a",2,"n",3])", {}, u"result 0 names no table"_s);
    row("negative table index", R"([-1,1,"a",2,"n",3])", {}, u"names no table"_s);
    row("table index a string", R"(["0",1,"a",2,"n",3])", {}, u"names no table"_s);
    row("table index a fraction", R"([0.5,1,"a",2,"n",3])", {}, u"names no table"_s);
    row("too few values", good + R"(,[0,1,"a"])", {}, u"result 1 has 2 values where its table has 5"_s);
    row("too many values", R"([0,1,"a",2,"n",3,4])", {}, u"6 values"_s);
    row("empty row", R"([])", {}, u"neither a record nor a row"_s);
    row("a number", R"(7)", {}, u"neither"_s);
    row("a string", R"("x")", {}, u"neither"_s);
    row("time a string", R"([0,"2026-12-06T00:00:00.000Z","a",2,"n",3])", {}, u"no whole number"_s);
    row("time a fraction", R"([0,1.5,"a",2,"n",3])", {}, u"no whole number"_s);
    row("time past 64 bits", R"([0,1e300,"a",2,"n",3])", {}, u"no whole number"_s);
    row("time an object", R"([0,1,"a",2,"n",{}])", {}, u"no whole number"_s);
}

// An orchestrator that breaks the rows form gets an error naming what, never a crash or records
// half rebuilt.
void tst_QueryRender::aMalformedRowsAnswerIsRefused()
{
    QFETCH(QByteArray, results);
    QFETCH(QByteArray, tables);
    QFETCH(QString, names);
    const auto rebuilt = answerWithRecords(rowsAnswer(results, tables));
    QVERIFY(!rebuilt.has_value());
    QCOMPARE(rebuilt.error().code, u"malformed_answer"_s);
    QVERIFY2(rebuilt.error().message.startsWith(u"the orchestrator's data.query answer is malformed: "_s),
             qPrintable(rebuilt.error().message));
    QVERIFY2(rebuilt.error().message.contains(names), qPrintable(rebuilt.error().message));
    QVERIFY(!rebuilt.error().fix.isEmpty());
}

QTEST_GUILESS_MAIN(tst_QueryRender)
#include "tst_query_render.moc"
