// `data.query`: the orchestrator's state as records of the built-in models, filtered by a
// compiled predicate. `modelType ==` and `attributes.state/status == <literal>` are pushed down to
// SQL; the predicate always has the final word.
#include "server/queryservice.h"

#include "common/duration.h"
#include "common/logging.h"
#include "query/predicate.h"
#include "server/stateview.h"
#include "store/store.h"

#include <QElapsedTimer>
#include <QJsonArray>

namespace Swamp {

namespace {
const QString WorkerModel = QStringLiteral("swamp/worker");
const QString TokenModel = QStringLiteral("swamp/enrollment-token");
const QString LeaseModel = QStringLiteral("swamp/step-lease");
const QString StepModel = QStringLiteral("swamp/step");
const QString RunModel = QStringLiteral("swamp/run");
const QString AuditModel = QStringLiteral("swamp/audit-event");

QJsonObject makeRecord(const QString &modelType, const QString &name, const QString &id,
                       const QJsonValue &createdAt, const QJsonValue &updatedAt, const QJsonObject &attributes)
{
    return QJsonObject{{QStringLiteral("modelType"), modelType}, {QStringLiteral("name"), name},
                       {QStringLiteral("id"), id},               {QStringLiteral("createdAt"), createdAt},
                       {QStringLiteral("updatedAt"), updatedAt}, {QStringLiteral("attributes"), attributes}};
}

// The string literal of `attributes.<field> == "<v>"` when the predicate has one.
QString equality(const Query::Predicate &predicate, const QString &field)
{
    for (const auto &[name, value] : predicate.attributeEqualities()) {
        if (name == field && value.isString())
            return value.toString();
    }
    return {};
}

} // namespace

// One `data.query`: the compiled predicate and select, and what the candidates gave so far.
// Each candidate record is built, evaluated and dropped unless it matches: a query over a large
// store never holds more than its results.
struct QueryRun
{
    Query::Predicate predicate;
    std::optional<QStringList> types; // the model types the predicate can match (all: nullopt)
    std::optional<Query::Predicate> select;
    qint64 limit = -1;
    QDateTime now;
    QJsonArray results;
    qint64 candidates = 0;
    qint64 total = 0;
    std::optional<Error> firstError;
    std::optional<Error> selectError;

    bool wants(const QString &model) const { return !types || types->contains(model); }

    void consider(const QString &modelType, const QString &name, const QString &id, const QJsonObject &attributes)
    {
        ++candidates;
        const QJsonObject record = makeRecord(modelType, name, id, attributes.value(QStringLiteral("createdAt")),
                                              attributes.value(QStringLiteral("updatedAt")), attributes);
        auto matched = predicate.matches(record, now);
        if (!matched) {
            // A record the predicate cannot decide (e.g. a missing label) does not match.
            if (!firstError)
                firstError = matched.error();
            return;
        }
        if (!*matched)
            return;
        ++total;
        if (limit >= 0 && results.size() >= limit)
            return;
        if (!select) {
            results << record;
            return;
        }
        auto value = select->evaluate(record, now);
        if (value)
            results << *value;
        else if (!selectError)
            selectError = value.error();
    }
};

QueryService::QueryService(Store *store, const StateView *view)
    : m_store(store)
    , m_view(view)
{
}

Result<QJsonObject> QueryService::dataQuery(const QJsonObject &params) const
{
    const QString text = params.value(QStringLiteral("predicate")).toString();
    auto predicate = Query::Predicate::compile(text);
    if (!predicate)
        return fail(predicate.error());
    QueryRun run{*predicate, predicate->modelTypes(), {}, params.value(QStringLiteral("limit")).toInteger(-1),
                 QDateTime::currentDateTimeUtc(), {}, 0, 0, {}, {}};
    const QString selectText = params.value(QStringLiteral("select")).toString();
    if (!selectText.isEmpty()) {
        auto compiled = Query::Predicate::compile(selectText);
        if (!compiled) {
            Error error = compiled.error();
            error.details.insert(QStringLiteral("in"), QStringLiteral("select"));
            return fail(error);
        }
        run.select = *compiled;
    }
    QElapsedTimer timer;
    timer.start();
    if (auto visited = visitCandidates(run); !visited)
        return fail(visited.error());
    if (run.selectError)
        return fail(*run.selectError);
    qCDebug(lcAdmin) << "data.query" << run.candidates << "candidates," << run.total << "matched in"
                     << timer.elapsed() << "ms";
    // A predicate that errors on every candidate is a mistake worth reporting, not "no results".
    if (run.total == 0 && run.firstError && run.firstError->code != u"query_runtime")
        return fail(*run.firstError);
    QJsonObject response{{QStringLiteral("predicate"), text},
                         {QStringLiteral("results"), run.results},
                         {QStringLiteral("total"), run.total},
                         {QStringLiteral("limited"), run.limit >= 0 && run.total > run.limit}};
    if (run.select)
        response.insert(QStringLiteral("select"), selectText);
    return response;
}

Result<void> QueryService::visitCandidates(QueryRun &run) const
{
    const QDateTime &now = run.now;
    if (run.wants(WorkerModel)) {
        auto workers = m_view->currentWorkers();
        if (!workers)
            return fail(workers.error());
        const QString status = equality(run.predicate, QStringLiteral("status"));
        for (const WorkerRecord &w : std::as_const(*workers)) {
            if (status.isEmpty() || workerStatusName(w.status) == status)
                run.consider(WorkerModel, w.name, w.id, w.toJson());
        }
    }
    if (run.wants(TokenModel)) {
        auto visited = m_view->forEachTokenJson(now, [&](const TokenRecord &t, const QJsonObject &json) {
            run.consider(TokenModel, t.name, t.id, json);
        });
        if (!visited)
            return fail(visited.error());
    }
    if (run.wants(StepModel)) {
        auto visited = m_store->forEachStepMatching(run.predicate.attributeEqualities(), [&](const StepRecord &stored) {
            const StepRecord s = m_view->current(stored);
            run.consider(StepModel, s.spec.name, s.id, s.toJson());
        });
        if (!visited)
            return fail(visited.error());
    }
    if (run.wants(LeaseModel)) {
        auto visited = m_store->forEachLeaseMatching(run.predicate.attributeEqualities(), [&](const LeaseRecord &l) {
            run.consider(LeaseModel, l.id, l.id, l.toJson());
        });
        if (!visited)
            return fail(visited.error());
    }
    if (run.wants(RunModel)) {
        auto runs = m_store->runs();
        auto byRun = m_store->stepCountsByRun();
        if (!runs)
            return fail(runs.error());
        if (!byRun)
            return fail(byRun.error());
        for (const RunRecord &r : std::as_const(*runs)) {
            QJsonObject json = r.toJson();
            const QHash<QString, int> stepCounts = byRun->value(r.id);
            int steps = 0;
            for (int n : stepCounts)
                steps += n;
            json.insert(QStringLiteral("steps"), steps);
            json.insert(QStringLiteral("succeeded"), stepCounts.value(QStringLiteral("succeeded")));
            json.insert(QStringLiteral("failed"), stepCounts.value(QStringLiteral("failed"))
                                                      + stepCounts.value(QStringLiteral("timed_out")));
            run.consider(RunModel, r.name, r.id, json);
        }
    }
    if (run.wants(AuditModel)) {
        auto records = m_store->auditRecordsMatching(run.predicate.attributeEqualities());
        if (!records)
            return fail(records.error());
        for (const AuditRecord &r : std::as_const(*records)) {
            QJsonObject json = r.toJson();
            json.insert(QStringLiteral("createdAt"), isoUtc(r.at));
            json.insert(QStringLiteral("updatedAt"), isoUtc(r.at));
            run.consider(AuditModel, r.workerName.isEmpty() ? r.tokenName : r.workerName, QString::number(r.id), json);
        }
    }
    return {};
}

} // namespace Swamp
