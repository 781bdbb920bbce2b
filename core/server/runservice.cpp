// Admin requests about steps: submit, status, logs, follow, cancel, the queue, drain/undrain.
#include "server/adminservice.h"

#include "common/duration.h"
#include "common/text.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/idresolver.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "server/stepfollowers.h"
#include "server/transport/connections.h"
#include "server/waitreasons.h"
#include "store/store.h"

#include <QJsonArray>

#include <optional>

namespace Swamp {

Result<QByteArray> AdminService::submitRun(const QJsonObject &params)
{
    const auto invalid = [](const QString &why, const QString &fix) {
        return fail(QStringLiteral("invalid_step"), why, fix);
    };
    const QJsonValue name = params.value(QStringLiteral("name"));
    if (!name.isUndefined() && !name.isNull() && (!name.isString() || hasUnsafeCharacters(name.toString())))
        return invalid(Tr::tr("the run's \"name\" must be a string without control characters"),
                       Tr::tr("see the run file format in docs/operations.md"));
    if (!params.value(QStringLiteral("steps")).isArray() || params.value(QStringLiteral("steps")).toArray().isEmpty())
        return invalid(Tr::tr("a run needs \"steps\": a non-empty list of steps"),
                       Tr::tr("see the run file format in docs/operations.md"));
    const QJsonArray stepsJson = params.value(QStringLiteral("steps")).toArray();
    if (stepsJson.size() > 10000)
        return invalid(Tr::tr("a run holds at most 10000 steps"), Tr::tr("split the run file"));
    QList<StepSpec> specs;
    for (qsizetype i = 0; i < stepsJson.size(); ++i) {
        if (!stepsJson.at(i).isObject()) {
            return invalid(Tr::tr("step %1: a step is an object with a \"command\"").arg(i + 1),
                           Tr::tr("see the run file format in docs/operations.md"));
        }
        auto spec = StepSpec::fromJson(stepsJson.at(i).toObject());
        if (!spec) {
            Error error = spec.error();
            if (stepsJson.size() > 1)
                error.message = Tr::tr("step %1: %2").arg(i + 1).arg(error.message);
            return fail(error);
        }
        specs << *spec;
    }
    return m_scheduler->submit(leftCharacters(name.toString(), 128), specs);
}

Result<QJsonObject> AdminService::withResolvedId(const QString &method, const QJsonObject &params) const
{
    int kinds = 0;
    if (method == u"run.status" || method == u"run.logs" || method == u"run.cancel")
        kinds = IdResolver::Step | IdResolver::Run;
    else if (method == u"run.follow")
        kinds = IdResolver::Step;
    if (kinds == 0)
        return params;
    auto resolved = IdResolver::resolve(*m_store, params.value(QStringLiteral("id")).toString(), kinds);
    if (!resolved)
        return fail(resolved.error());
    QJsonObject next = params;
    next.insert(QStringLiteral("id"), resolved->id);
    return next;
}

namespace {

// A step as run.status and worker.queue show it: with why it waits, when it is queued.
QJsonObject stepJson(const StepRecord &step, std::optional<WaitReasons> &reasons,
                     const std::function<QList<WorkerRecord>()> &workers)
{
    QJsonObject json = step.toJson();
    if (step.state != StepState::Queued)
        return json;
    if (!reasons)
        reasons.emplace(workers());
    const QJsonObject reason = reasons->reasonFor(step.spec.requirement);
    if (!reason.isEmpty())
        json.insert(QStringLiteral("waitReason"), reason);
    return json;
}

} // namespace

std::function<QList<WorkerRecord>()> AdminService::currentWorkersOrNone() const
{
    return [this] {
        auto workers = m_view->currentWorkers();
        return workers ? *workers : QList<WorkerRecord>();
    };
}

Result<QJsonObject> AdminService::runStatus(const QJsonObject &params)
{
    const QString id = params.value(QStringLiteral("id")).toString();
    QString runId = id;
    auto step = m_view->findStep(id);
    if (step)
        runId = step->runId;
    auto run = m_store->run(runId);
    if (!run)
        return fail(run.error());
    if (!*run) {
        return fail(QStringLiteral("not_found"), Tr::tr("no run or step with id '%1'").arg(id),
                    Tr::tr("'swamp run --detach' prints ids; 'swamp data query' lists them"));
    }
    auto steps = m_store->stepsOfRun(runId);
    if (!steps)
        return fail(steps.error());
    QJsonArray list;
    std::optional<WaitReasons> reasons; // read once, when a step is queued
    for (const StepRecord &stored : std::as_const(*steps))
        list << stepJson(m_view->current(stored), reasons, currentWorkersOrNone());
    auto leases = m_store->leasesOfRun(runId);
    QJsonArray leaseList;
    if (leases) {
        for (const LeaseRecord &lease : std::as_const(*leases))
            leaseList << lease.toJson();
    }
    return QJsonObject{{QStringLiteral("run"), (*run)->toJson()}, {QStringLiteral("steps"), list},
                       {QStringLiteral("leases"), leaseList}};
}

Result<QJsonObject> AdminService::runLogs(const QJsonObject &params)
{
    const QString id = params.value(QStringLiteral("id")).toString();
    auto step = m_view->findStep(id);
    if (!step && step.error().code == u"not_found")
        return runLogsOfRun(id); // resolved: a run id
    if (!step)
        return fail(step.error());
    auto chunks = m_store->output(step->id, params.value(QStringLiteral("after")).toInt(0), 100000);
    if (!chunks)
        return fail(chunks.error());
    return QJsonObject{{QStringLiteral("step"), step->toJson()}, {QStringLiteral("chunks"), outputChunksJson(*chunks)}};
}

Result<QJsonObject> AdminService::runLogsOfRun(const QString &runId)
{
    auto run = m_store->run(runId);
    if (!run)
        return fail(run.error());
    if (!*run) {
        return fail(QStringLiteral("not_found"), Tr::tr("no step or run with id '%1'").arg(runId),
                    Tr::tr("'swamp run --detach' prints ids; 'swamp data query' lists them"));
    }
    auto steps = m_store->stepsOfRun(runId);
    if (!steps)
        return fail(steps.error());
    QJsonArray list;
    for (const StepRecord &stored : std::as_const(*steps)) {
        auto chunks = m_store->output(stored.id, 0, 100000);
        if (!chunks)
            return fail(chunks.error());
        list << QJsonObject{{QStringLiteral("step"), m_view->current(stored).toJson()},
                            {QStringLiteral("chunks"), outputChunksJson(*chunks)}};
    }
    return QJsonObject{{QStringLiteral("run"), (*run)->toJson()}, {QStringLiteral("steps"), list}};
}

Result<QJsonObject> AdminService::followStep(AdminConnection *connection, const QJsonObject &params)
{
    auto step = m_view->findStep(params.value(QStringLiteral("id")).toString());
    if (!step)
        return fail(step.error());
    m_followers->follow(connection, step->id, params.value(QStringLiteral("after")).toInt(0));
    return QJsonObject{{QStringLiteral("step"), step->toJson()}};
}

Result<QJsonObject> AdminService::cancelRun(const QJsonObject &params)
{
    return m_scheduler->cancel(params.value(QStringLiteral("id")).toString());
}

Result<QJsonObject> AdminService::workerQueue()
{
    QJsonArray steps;
    std::optional<WaitReasons> reasons;
    for (const StepRecord &step : m_scheduler->queuedSteps())
        steps << stepJson(step, reasons, currentWorkersOrNone());
    return QJsonObject{{QStringLiteral("steps"), steps}, {QStringLiteral("count"), steps.size()}};
}

Result<QJsonObject> AdminService::drainWorker(const QJsonObject &params, bool drain)
{
    const QString name = params.value(QStringLiteral("name")).toString();
    WorkerSession *found = nullptr;
    for (WorkerSession *session : m_sessions->pool().all()) {
        if (session->record.name == name || session->record.id == name || session->record.instanceId == name) {
            if (!found || session->isConnected())
                found = session;
        }
    }
    if (!found && shared()) {
        // Held by another orchestrator of the fleet: it applies the drain.
        auto workers = m_view->currentWorkers();
        if (!workers)
            return fail(workers.error());
        for (const WorkerRecord &record : std::as_const(*workers)) {
            const bool live = record.status != WorkerStatus::Disconnected && record.status != WorkerStatus::Lost;
            if (live && (record.name == name || record.id == name || record.instanceId == name)) {
                m_fleet->notify(QStringLiteral("drain"),
                                {{QStringLiteral("workerId"), record.id}, {QStringLiteral("drain"), drain},
                                 {QStringLiteral("deadlineMs"), params.value(QStringLiteral("deadlineMs")).toInteger(0)}});
                WorkerRecord next = record;
                next.draining = drain;
                return QJsonObject{{QStringLiteral("worker"), next.toJson()}};
            }
        }
    }
    if (!found) {
        return fail(QStringLiteral("not_found"), Tr::tr("no connected worker named '%1'").arg(name),
                    Tr::tr("see 'swamp worker list'"));
    }
    if (drain) {
        m_sessions->startDrain(found, QStringLiteral("operator"), Tr::tr("drained by an operator"),
                   params.value(QStringLiteral("deadlineMs")).toInteger(0));
    } else if (auto undrained = m_sessions->undrain(found); !undrained) {
        Error error = undrained.error();
        error.message = Tr::tr("worker '%1' %2").arg(name, error.message);
        return fail(error);
    }
    WorkerRecord record = found->record;
    record.activeSteps = int(found->leaseIds.size());
    return QJsonObject{{QStringLiteral("worker"), record.toJson()}};
}

} // namespace Swamp
