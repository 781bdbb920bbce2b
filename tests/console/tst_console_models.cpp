// The console's models: live upserts without resets, per-column ticks, and the item-model
// contract (QAbstractItemModelTester) for each.
#include "auditmodel.h"
#include "eventmodel.h"
#include "jsontreemodel.h"
#include "queryresultmodel.h"
#include "stepmodel.h"
#include "tokenmodel.h"
#include "workermodel.h"

#include "common/duration.h"
#include "model/step.h"

#include <QAbstractItemModelTester>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace Swamp;
using namespace Swamp::Console;

namespace {
const QDateTime T0 = QDateTime(QDate(2026, 11, 24), QTime(10, 0), Qt::UTC);

WorkerRecord worker(const QString &id, const QString &name, WorkerStatus status = WorkerStatus::Idle)
{
    WorkerRecord w;
    w.id = id;
    w.name = name;
    w.status = status;
    w.tokenName = QStringLiteral("ci");
    w.platform = QStringLiteral("linux");
    w.arch = QStringLiteral("x86_64");
    w.version = QStringLiteral("0.1.0");
    w.capacity = 4;
    w.labels = {{QStringLiteral("region"), QStringLiteral("eu")}};
    w.lastSeenAt = T0.addSecs(-12);
    w.enrolledAt = T0.addSecs(-3600);
    return w;
}

QJsonObject token(const QString &id, const QString &name, const QString &state, const QDateTime &expires)
{
    return {{QStringLiteral("id"), id},
            {QStringLiteral("name"), name},
            {QStringLiteral("state"), state},
            {QStringLiteral("createdAt"), isoUtc(T0.addSecs(-60))},
            {QStringLiteral("expiresAt"), isoUtc(expires)},
            {QStringLiteral("revokedAt"), QJsonValue::Null},
            {QStringLiteral("maxEnrollments"), 2},
            {QStringLiteral("enrollments"), 1},
            {QStringLiteral("bindings"), QJsonArray()},
            {QStringLiteral("labels"), QJsonObject{{QStringLiteral("pool"), QStringLiteral("ci")}}}};
}
QJsonObject step(const QString &id, const QString &state, int queuedSecs, int finishedSecs = 0)
{
    const bool finished = isTerminalStateName(state);
    return {{QStringLiteral("id"), id},
            {QStringLiteral("runId"), QString(QStringLiteral("run-") + id)},
            {QStringLiteral("name"), QString(QStringLiteral("build-") + id)},
            {QStringLiteral("state"), state},
            {QStringLiteral("command"), QJsonArray{QStringLiteral("make"), QStringLiteral("-j4")}},
            {QStringLiteral("attempt"), state == u"queued" ? 0 : 1},
            {QStringLiteral("maxAttempts"), 3},
            {QStringLiteral("exitCode"), state == u"succeeded" ? QJsonValue(0)
                                         : state == u"failed" ? QJsonValue(2) : QJsonValue(QJsonValue::Null)},
            {QStringLiteral("error"), state == u"failed" ? QJsonValue(QStringLiteral("exit code 2")) : QJsonValue(QJsonValue::Null)},
            {QStringLiteral("workerName"), state == u"queued" ? QJsonValue(QJsonValue::Null) : QJsonValue(QStringLiteral("edge"))},
            {QStringLiteral("queuedAt"), isoUtc(T0.addSecs(queuedSecs))},
            {QStringLiteral("startedAt"), state == u"queued" ? QJsonValue(QJsonValue::Null) : QJsonValue(isoUtc(T0.addSecs(queuedSecs + 1)))},
            {QStringLiteral("finishedAt"), finished ? QJsonValue(isoUtc(T0.addSecs(finishedSecs))) : QJsonValue(QJsonValue::Null)},
            {QStringLiteral("updatedAt"), isoUtc(T0.addSecs(finished ? finishedSecs : queuedSecs + 1))}};
}
} // namespace

class tst_ConsoleModels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { QTest::failOnWarning(QRegularExpression(QStringLiteral(".*"))); }

    void workerUpsertsWithoutReset();
    void workerSetRemovesMissing();
    void workerTickTouchesLastSeenOnly();
    void workerDisplay_data();
    void workerDisplay();
    void workerSortsByRawValue();
    void tokenExpiresByTime();
    void tokenEnrollments_data();
    void tokenEnrollments();
    void eventCapacity();
    void queryShapes_data();
    void queryShapes();
    void jsonTree();
    void auditInsertsWithoutReset();
    void stepUpsertsWithoutReset();
    void stepEventThenFullRecord();
    void stepOlderRecordIgnored();
    void stepBoundKeepsNewestFinished();
    void stepSnapshotSortedNewestFirst();
    void stepDisplay_data();
    void stepDisplay();
    void stepTickTouchesTimesOnly();
};

void tst_ConsoleModels::workerUpsertsWithoutReset()
{
    WorkerModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

    model.upsert(worker(QStringLiteral("a"), QStringLiteral("alpha")));
    model.upsert(worker(QStringLiteral("b"), QStringLiteral("beta")));
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(model.rowOf(QStringLiteral("b")), 1);

    model.upsert(worker(QStringLiteral("b"), QStringLiteral("beta"))); // unchanged: silent
    QCOMPARE(changed.count(), 0);

    model.upsert(worker(QStringLiteral("b"), QStringLiteral("beta"), WorkerStatus::Busy));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.first().at(0).toModelIndex().row(), 1);
    QCOMPARE(changed.first().at(1).toModelIndex().row(), 1);
    QCOMPARE(model.index(1, WorkerModel::Status).data(WorkerModel::RawStatusRole).toString(), u"busy");
    QCOMPARE(reset.count(), 0);
}

void tst_ConsoleModels::workerSetRemovesMissing()
{
    WorkerModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setWorkers({worker(QStringLiteral("a"), QStringLiteral("alpha")),
                      worker(QStringLiteral("b"), QStringLiteral("beta")),
                      worker(QStringLiteral("c"), QStringLiteral("gamma"))});
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setWorkers({worker(QStringLiteral("a"), QStringLiteral("alpha")),
                      worker(QStringLiteral("c"), QStringLiteral("gamma"), WorkerStatus::Disconnected)});
    QCOMPARE(removed.count(), 1);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.rowOf(QStringLiteral("c")), 1); // the hash follows the rows
    QCOMPARE(model.rowOf(QStringLiteral("b")), -1);
    QCOMPARE(model.worker(QStringLiteral("c"))->status, WorkerStatus::Disconnected);
    QCOMPARE(reset.count(), 0);
}

void tst_ConsoleModels::workerTickTouchesLastSeenOnly()
{
    WorkerModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setNow(T0);
    model.setWorkers({worker(QStringLiteral("a"), QStringLiteral("alpha"), WorkerStatus::Disconnected),
                      worker(QStringLiteral("b"), QStringLiteral("beta"), WorkerStatus::Lost)});
    QCOMPARE(model.index(0, WorkerModel::LastSeen).data().toString(), formatRelative(T0.addSecs(-12), T0));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setNow(T0.addSecs(60));
    QCOMPARE(changed.count(), 1);
    const QModelIndex topLeft = changed.first().at(0).toModelIndex();
    const QModelIndex bottomRight = changed.first().at(1).toModelIndex();
    QCOMPARE(topLeft.column(), int(WorkerModel::LastSeen));
    QCOMPARE(bottomRight.column(), int(WorkerModel::LastSeen));
    QCOMPARE(topLeft.row(), 0);
    QCOMPARE(bottomRight.row(), 1);
    QCOMPARE(model.index(0, WorkerModel::LastSeen).data().toString(),
             formatRelative(T0.addSecs(-12), T0.addSecs(60)));
}

void tst_ConsoleModels::workerDisplay_data()
{
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("expected");
    QTest::addRow("name") << int(WorkerModel::Name) << QStringLiteral("alpha");
    QTest::addRow("slots-active-over-capacity") << int(WorkerModel::Slots) << QStringLiteral("0/4");
    QTest::addRow("labels") << int(WorkerModel::Labels) << QStringLiteral("region=eu");
    QTest::addRow("platform-with-arch") << int(WorkerModel::Platform) << QStringLiteral("linux/x86_64");
    QTest::addRow("version") << int(WorkerModel::Version) << QStringLiteral("0.1.0");
    QTest::addRow("token") << int(WorkerModel::Token) << QStringLiteral("ci");
}

void tst_ConsoleModels::workerDisplay()
{
    QFETCH(int, column);
    QFETCH(QString, expected);
    WorkerModel model;
    model.upsert(worker(QStringLiteral("a"), QStringLiteral("alpha")));
    QCOMPARE(model.index(0, column).data().toString(), expected);
}

void tst_ConsoleModels::workerSortsByRawValue()
{
    WorkerModel model;
    model.setNow(T0);
    WorkerRecord old = worker(QStringLiteral("a"), QStringLiteral("old"), WorkerStatus::Disconnected);
    old.lastSeenAt = T0.addDays(-2); // "2d ago" sorts before "5s ago" only by the raw value
    WorkerRecord recent = worker(QStringLiteral("b"), QStringLiteral("recent"), WorkerStatus::Disconnected);
    recent.lastSeenAt = T0.addSecs(-5);
    model.setWorkers({recent, old});
    QSortFilterProxyModel proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    proxy.setSortRole(WorkerModel::SortRole);
    proxy.sort(WorkerModel::LastSeen, Qt::AscendingOrder);
    QCOMPARE(proxy.index(0, WorkerModel::Name).data().toString(), u"old");
    QCOMPARE(proxy.index(1, WorkerModel::Name).data().toString(), u"recent");
}

void tst_ConsoleModels::tokenExpiresByTime()
{
    TokenModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setNow(T0);
    model.setTokens({token(QStringLiteral("1"), QStringLiteral("ci"), QStringLiteral("enrolled"), T0.addSecs(30))});
    QCOMPARE(model.index(0, TokenModel::State).data(TokenModel::RawStateRole).toString(), u"enrolled");
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setNow(T0.addSecs(31));
    QCOMPARE(model.index(0, TokenModel::State).data(TokenModel::RawStateRole).toString(), u"expired");
    QVERIFY(changed.count() >= 1);
    for (const auto &arguments : std::as_const(changed)) {
        const int column = arguments.at(0).toModelIndex().column();
        QVERIFY2(column != TokenModel::Name && column != TokenModel::Labels, "ticks touch time columns only");
    }
    QCOMPARE(reset.count(), 0);

    // Revoked stays revoked, whatever the time.
    QJsonObject revoked = token(QStringLiteral("1"), QStringLiteral("ci"), QStringLiteral("revoked"), T0.addSecs(30));
    revoked.insert(QStringLiteral("revokedAt"), isoUtc(T0));
    model.upsert(revoked);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, TokenModel::State).data(TokenModel::RawStateRole).toString(), u"revoked");
}

void tst_ConsoleModels::tokenEnrollments_data()
{
    QTest::addColumn<QJsonValue>("max");
    QTest::addColumn<QString>("expected");
    QTest::addRow("bounded") << QJsonValue(2) << QStringLiteral("1/2");
    QTest::addRow("unlimited-is-null") << QJsonValue(QJsonValue::Null) << QStringLiteral("1/unlimited");
}

void tst_ConsoleModels::tokenEnrollments()
{
    QFETCH(QJsonValue, max);
    QFETCH(QString, expected);
    TokenModel model;
    QJsonObject t = token(QStringLiteral("1"), QStringLiteral("ci"), QStringLiteral("enrolled"), T0.addDays(1));
    t.insert(QStringLiteral("maxEnrollments"), max);
    model.upsert(t);
    QCOMPARE(model.index(0, TokenModel::Enrollments).data().toString(), expected);
}

void tst_ConsoleModels::eventCapacity()
{
    EventModel model(3);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy kinds(&model, &EventModel::kindAdded);
    for (int i = 1; i <= 5; ++i)
        model.append(Event{i, T0.addSecs(i), i % 2 ? QStringLiteral("worker.enrolled") : QStringLiteral("token.created"),
                           QStringLiteral("w%1").arg(i), QStringLiteral("message %1").arg(i), {}});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.eventAt(0).id, 3); // the oldest went first
    QCOMPARE(model.lastId(), 5);
    QCOMPARE(kinds.count(), 2);
    QCOMPARE(model.index(2, EventModel::Message).data().toString(), u"message 5");
}

void tst_ConsoleModels::queryShapes_data()
{
    QTest::addColumn<QJsonArray>("results");
    QTest::addColumn<int>("shape");
    QTest::addColumn<int>("columns");
    QTest::addColumn<QString>("firstCell");
    const QJsonObject record{{QStringLiteral("modelType"), QStringLiteral("swamp/worker")},
                             {QStringLiteral("name"), QStringLiteral("alpha")},
                             {QStringLiteral("id"), QStringLiteral("1")},
                             {QStringLiteral("attributes"), QJsonObject{{QStringLiteral("status"), QStringLiteral("idle")}}}};
    QTest::addRow("records") << QJsonArray{record} << int(QueryResultModel::Shape::Records) << 5
                             << QStringLiteral("swamp/worker");
    QTest::addRow("selected-maps")
        << QJsonArray{QJsonObject{{QStringLiteral("n"), QStringLiteral("alpha")}},
                      QJsonObject{{QStringLiteral("n"), QStringLiteral("beta")}, {QStringLiteral("s"), 1}}}
        << int(QueryResultModel::Shape::Maps) << 2 << QStringLiteral("alpha");
    QTest::addRow("selected-scalars") << QJsonArray{QStringLiteral("alpha"), 3} << int(QueryResultModel::Shape::Values)
                                      << 1 << QStringLiteral("alpha");
}

void tst_ConsoleModels::queryShapes()
{
    QFETCH(QJsonArray, results);
    QFETCH(int, shape);
    QFETCH(int, columns);
    QFETCH(QString, firstCell);
    QueryResultModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setResults(results);
    QCOMPARE(int(model.shape()), shape);
    QCOMPARE(model.columnCount(), columns);
    QCOMPARE(model.rowCount(), results.size());
    QCOMPARE(model.index(0, 0).data().toString(), firstCell);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void tst_ConsoleModels::jsonTree()
{
    JsonTreeModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    const QJsonObject record{{QStringLiteral("name"), QStringLiteral("w1")},
                             {QStringLiteral("attributes"),
                              QJsonObject{{QStringLiteral("capacity"), 2},
                                          {QStringLiteral("labels"), QJsonObject{{QStringLiteral("gpu"), QStringLiteral("a100")}}},
                                          {QStringLiteral("command"), QJsonArray{QStringLiteral("sleep"), QStringLiteral("3")}},
                                          {QStringLiteral("disconnectedAt"), QJsonValue::Null},
                                          {QStringLiteral("draining"), false}}}};
    model.setValue(record);
    QCOMPARE(model.rowCount(), 2);
    const QModelIndex attributes = model.find({QStringLiteral("attributes")});
    QCOMPARE(model.rowCount(attributes), 5);
    const auto value = [&model](const QStringList &path) {
        return model.find(path).siblingAtColumn(JsonTreeModel::Value).data().toString();
    };
    QCOMPARE(value({QStringLiteral("attributes"), QStringLiteral("capacity")}), u"2");
    QCOMPARE(value({QStringLiteral("attributes"), QStringLiteral("command")}), u"[2 item(s)]");
    QCOMPARE(value({QStringLiteral("attributes"), QStringLiteral("command"), QStringLiteral("[1]")}), u"3");
    QCOMPARE(value({QStringLiteral("attributes"), QStringLiteral("disconnectedAt")}), u"null");
    QCOMPARE(value({QStringLiteral("attributes"), QStringLiteral("draining")}), u"false");
    QCOMPARE(model.find({QStringLiteral("attributes"), QStringLiteral("command")}).data(JsonTreeModel::JsonRole).toString(),
             u"[\"sleep\",\"3\"]");
    QCOMPARE(model.parent(model.find({QStringLiteral("attributes"), QStringLiteral("labels")})), attributes);
    QVERIFY(!model.find({QStringLiteral("attributes"), QStringLiteral("nope")}).isValid());
    // A scalar (a --select projection) is one row; nothing is empty.
    model.setValue(QStringLiteral("idle"));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, JsonTreeModel::Value).data().toString(), u"idle");
    model.setValue(QJsonValue(QJsonValue::Undefined));
    QCOMPARE(model.rowCount(), 0);
}

void tst_ConsoleModels::auditInsertsWithoutReset()
{
    AuditModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    const auto entry = [](int id, const QString &action, const QString &worker) {
        return QJsonObject{{QStringLiteral("id"), id},
                           {QStringLiteral("modelType"), QStringLiteral("swamp/audit-event")},
                           {QStringLiteral("attributes"),
                            QJsonObject{{QStringLiteral("action"), action},
                                        {QStringLiteral("at"), QStringLiteral("2026-12-01T08:03:13.149Z")},
                                        {QStringLiteral("tokenName"), QStringLiteral("ci")},
                                        {QStringLiteral("workerName"), worker.isEmpty() ? QJsonValue() : QJsonValue(worker)},
                                        {QStringLiteral("client"), QJsonObject{{QStringLiteral("name"), QStringLiteral("swamp/0.1.0")},
                                                                               {QStringLiteral("adminKey"), QStringLiteral("sha256:00")}}},
                                        {QStringLiteral("address"), QStringLiteral("127.0.0.1")},
                                        {QStringLiteral("reason"), QStringLiteral("why")}}}};
    };
    model.setEntries({entry(1, QStringLiteral("token.create"), QString())});
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.setEntries({entry(1, QStringLiteral("token.create"), QString()), entry(2, QStringLiteral("worker.prune"), QStringLiteral("b1"))});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(reset.count(), 0);
    QCOMPARE(model.index(0, AuditModel::Subject).data().toString(), u"token ci");
    QCOMPARE(model.index(1, AuditModel::Subject).data().toString(), u"worker b1 (token ci)");
    QCOMPARE(model.index(1, AuditModel::Client).data().toString(), u"swamp/0.1.0");
    QCOMPARE(model.index(1, AuditModel::Action).data(AuditModel::ActionRole).toString(), u"worker.prune");
    model.setEntries({entry(2, QStringLiteral("worker.prune"), QStringLiteral("b1"))});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(reset.count(), 0);
}

void tst_ConsoleModels::stepUpsertsWithoutReset()
{
    StepModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy queued(&model, &StepModel::queuedCountChanged);
    model.upsert(step(QStringLiteral("a"), QStringLiteral("queued"), 0));
    model.upsert(step(QStringLiteral("b"), QStringLiteral("queued"), 1));
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(model.queuedCount(), 2);
    QCOMPARE(queued.last().at(0).toInt(), 2);

    model.upsert(step(QStringLiteral("b"), QStringLiteral("running"), 1));
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(changed.count(), 1);
    // One row, every column of it.
    QCOMPARE(changed.at(0).at(0).toModelIndex(), model.index(1, 0));
    QCOMPARE(changed.at(0).at(1).toModelIndex(), model.index(1, StepModel::ColumnCount - 1));
    QCOMPARE(model.index(1, StepModel::State).data(StepModel::RawStateRole).toString(), u"running");
    QCOMPARE(model.queuedCount(), 1);
    // The same record again changes nothing.
    model.upsert(step(QStringLiteral("b"), QStringLiteral("running"), 1));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(reset.count(), 0);
}

void tst_ConsoleModels::stepEventThenFullRecord()
{
    StepModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    // An event for a step not seen yet makes a row from what it says...
    model.applyEvent(QStringLiteral("s"), {{QStringLiteral("state"), QStringLiteral("queued")},
                                           {QStringLiteral("runId"), QStringLiteral("run-s")},
                                           {QStringLiteral("workerName"), QString()},
                                           {QStringLiteral("attempt"), 0}});
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, StepModel::State).data(StepModel::RawStateRole).toString(), u"queued");
    // ...the next event updates that row in place...
    model.applyEvent(QStringLiteral("s"), {{QStringLiteral("state"), QStringLiteral("running")},
                                           {QStringLiteral("workerName"), QStringLiteral("edge")},
                                           {QStringLiteral("attempt"), 1}});
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.index(0, StepModel::Worker).data().toString(), u"edge");
    QCOMPARE(model.index(0, StepModel::Attempt).data().toString(), u"1");
    // ...and the full record fills in the rest.
    model.upsert(step(QStringLiteral("s"), QStringLiteral("running"), 0));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(model.index(0, StepModel::Name).data().toString(), u"build-s");
    QCOMPARE(model.index(0, StepModel::Attempt).data().toString(), u"1/3");
    QCOMPARE(model.index(0, StepModel::Name).data(Qt::ToolTipRole).toString(), u"make -j4");
}

void tst_ConsoleModels::stepOlderRecordIgnored()
{
    StepModel model;
    model.upsert(step(QStringLiteral("s"), QStringLiteral("succeeded"), 0, 10));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.upsert(step(QStringLiteral("s"), QStringLiteral("running"), 0)); // updatedAt 1s < 10s
    QCOMPARE(changed.count(), 0);
    QCOMPARE(model.index(0, StepModel::State).data(StepModel::RawStateRole).toString(), u"succeeded");
}

void tst_ConsoleModels::stepBoundKeepsNewestFinished()
{
    StepModel model(3);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.upsert(step(QStringLiteral("open"), QStringLiteral("running"), 0));
    for (int i = 1; i <= 5; ++i)
        model.upsert(step(QStringLiteral("f%1").arg(i), QStringLiteral("succeeded"), i, 100 + i));
    // The open step stays whatever its age; of the finished ones the newest three.
    QCOMPARE(model.rowCount(), 4);
    QVERIFY(model.step(QStringLiteral("open")));
    QVERIFY(!model.step(QStringLiteral("f1")));
    QVERIFY(!model.step(QStringLiteral("f2")));
    for (const QString &id : {QStringLiteral("f3"), QStringLiteral("f4"), QStringLiteral("f5")})
        QVERIFY2(model.step(id), qPrintable(id));
    // The id→row hash follows the removals.
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.rowOf(model.stepAt(row).value(QStringLiteral("id")).toString()), row);
    // The open one finishing (newest) pushes out the oldest finished.
    model.upsert(step(QStringLiteral("open"), QStringLiteral("failed"), 0, 200));
    QCOMPARE(model.rowCount(), 3);
    QVERIFY(!model.step(QStringLiteral("f3")));
    QCOMPARE(model.index(model.rowOf(QStringLiteral("open")), StepModel::Error).data().toString(), u"exit code 2");
}

void tst_ConsoleModels::stepSnapshotSortedNewestFirst()
{
    StepModel model(2);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    // Oldest first, as data.query returns them; only the two newest finished ones are inserted.
    model.upsertAll({step(QStringLiteral("old"), QStringLiteral("succeeded"), 0, 10),
                     step(QStringLiteral("mid"), QStringLiteral("failed"), 1, 20),
                     step(QStringLiteral("new"), QStringLiteral("cancelled"), 2, 30),
                     step(QStringLiteral("q"), QStringLiteral("queued"), 3)});
    QCOMPARE(inserted.count(), 3);
    QCOMPARE(removed.count(), 0);
    QVERIFY(!model.step(QStringLiteral("old")));

    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.setSortRole(StepModel::SortRole);
    QAbstractItemModelTester proxyTester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.sort(StepModel::Queued, Qt::DescendingOrder);
    QStringList order;
    for (int row = 0; row < proxy.rowCount(); ++row)
        order << proxy.index(row, 0).data(StepModel::IdRole).toString();
    QCOMPARE(order, (QStringList{QStringLiteral("q"), QStringLiteral("new"), QStringLiteral("mid")}));
    proxy.sort(StepModel::ExitCode, Qt::AscendingOrder); // null exit codes first, then 2
    QCOMPARE(proxy.index(proxy.rowCount() - 1, 0).data(StepModel::IdRole).toString(), u"mid");
}

void tst_ConsoleModels::stepDisplay_data()
{
    QTest::addColumn<QString>("state");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("text");
    QTest::addRow("queued-state") << "queued" << int(StepModel::State) << "queued";
    QTest::addRow("timed-out-state") << "timed_out" << int(StepModel::State) << "timed out";
    QTest::addRow("queued-no-attempt") << "queued" << int(StepModel::Attempt) << "";
    QTest::addRow("queued-no-worker") << "queued" << int(StepModel::Worker) << "";
    QTest::addRow("running-attempt") << "running" << int(StepModel::Attempt) << "1/3";
    QTest::addRow("running-worker") << "running" << int(StepModel::Worker) << "edge";
    QTest::addRow("succeeded-exit") << "succeeded" << int(StepModel::ExitCode) << "0";
    QTest::addRow("failed-exit") << "failed" << int(StepModel::ExitCode) << "2";
    QTest::addRow("queued-relative") << "queued" << int(StepModel::Queued) << formatRelative(T0, T0.addSecs(12));
    QTest::addRow("running-not-finished") << "running" << int(StepModel::Finished) << "";
    QTest::addRow("short-id") << "running" << int(StepModel::Id) << "23456789";
}

void tst_ConsoleModels::stepDisplay()
{
    QFETCH(QString, state);
    QFETCH(int, column);
    QFETCH(QString, text);
    StepModel model;
    model.setNow(T0.addSecs(12));
    model.upsert(step(QStringLiteral("abcdef0123456789"), state, 0, 5));
    QCOMPARE(model.index(0, column).data().toString(), text);
}

void tst_ConsoleModels::stepTickTouchesTimesOnly()
{
    StepModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.upsert(step(QStringLiteral("a"), QStringLiteral("running"), 0));
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setNow(T0.addSecs(120));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex().column(), int(StepModel::Queued));
    QCOMPARE(changed.at(0).at(1).toModelIndex().column(), int(StepModel::Finished));
    QCOMPARE(model.index(0, StepModel::Queued).data().toString(), formatRelative(T0, T0.addSecs(120)));
}

QTEST_MAIN(tst_ConsoleModels)
#include "tst_console_models.moc"
