// The admin methods about one worker by its name (issue 21): worker.show, worker.pause,
// worker.resume, worker.label and worker.remove.
#include "server/adminservice.h"

#include "common/labels.h"
#include "common/logging.h"
#include "common/text.h"
#include "model/errorcodes.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp {

namespace {

// Recent events shown by `worker show`.
constexpr int ShownEvents = 20;

bool isGone(const WorkerRecord &record)
{
    return record.status == WorkerStatus::Disconnected || record.status == WorkerStatus::Lost;
}

// As many labels as an enrollment may carry.
constexpr qsizetype MaxLabels = 64;

QString withReason(const QString &message, const QString &reason)
{
    return reason.isEmpty() ? message : message + QStringLiteral(" (") + reason + u')';
}

// worker.label's "remove": absent, or an array of label keys (each checked as an enrollment's).
Result<QStringList> labelKeysFromWire(const QJsonValue &value)
{
    QStringList keys;
    if (value.isUndefined() || value.isNull())
        return keys;
    const auto notKeys = [] {
        return fail(QStringLiteral("invalid_label"), Tr::tr("\"remove\" must be an array of label keys"),
                    Tr::tr("send \"remove\": [\"key\", ...]"));
    };
    if (!value.isArray() || value.toArray().size() > MaxLabels)
        return notKeys();
    for (const QJsonValue &key : value.toArray()) {
        if (!key.isString())
            return notKeys();
        if (auto checked = checkLabel(key.toString(), QString()); !checked)
            return fail(checked.error());
        if (!keys.contains(key.toString()))
            keys << key.toString();
    }
    keys.sort();
    return keys;
}

// What worker.label asks for: the labels to set and the keys to remove.
struct LabelChange
{
    Labels set;
    QStringList remove;

    // "region=mars; removed gpu"
    QString text() const
    {
        QStringList parts;
        if (!set.isEmpty())
            parts << formatLabels(set);
        if (!remove.isEmpty())
            parts << Tr::tr("removed %1").arg(remove.join(QStringLiteral(", ")));
        return parts.join(QStringLiteral("; "));
    }

    // Validated as `swamp worker connect --label` is: keys and values as enrollment checks
    // them, a value required, no key both set and removed, something to change.
    static Result<LabelChange> fromParams(const QJsonObject &params)
    {
        LabelChange change;
        auto set = labelsFromWire(params.value(QStringLiteral("set")), MaxLabels);
        if (!set)
            return fail(set.error());
        auto remove = labelKeysFromWire(params.value(QStringLiteral("remove")));
        if (!remove)
            return fail(remove.error());
        change.set = *set;
        change.remove = *remove;
        for (auto it = change.set.cbegin(); it != change.set.cend(); ++it) {
            if (it.value().isEmpty()) {
                return fail(QStringLiteral("invalid_label"), Tr::tr("%1= has no value").arg(it.key()),
                            Tr::tr("write %1=<value>, or remove the label with --remove %1").arg(it.key()));
            }
            if (change.remove.contains(it.key())) {
                return fail(QStringLiteral("invalid_label"), Tr::tr("label \"%1\" is both set and removed").arg(it.key()),
                            Tr::tr("give each key once"));
            }
        }
        if (change.set.isEmpty() && change.remove.isEmpty()) {
            return fail(QStringLiteral("invalid_label"), Tr::tr("no label to set or remove"),
                        Tr::tr("give labels as key=value, or --remove KEY"));
        }
        return change;
    }

    // Every key to remove is one of `worker`'s labels (a typo is named, with the closest key).
    Result<void> checkRemovable(const WorkerRecord &worker) const
    {
        for (const QString &key : remove) {
            if (worker.labels.contains(key))
                continue;
            const QString meant = closestMatch(key, worker.labels.keys());
            return fail(QStringLiteral("not_found"), Tr::tr("worker %1 has no label \"%2\"").arg(worker.name, key),
                        meant.isEmpty() ? Tr::tr("its labels: %1").arg(formatLabels(worker.labels))
                                        : Tr::tr("did you mean \"%1\"? Its labels: %2").arg(meant, formatLabels(worker.labels)));
        }
        return {};
    }
};

} // namespace

bool WorkerFilter::matches(const WorkerRecord &record) const
{
    if (!status.isEmpty() && workerStatusName(record.status) != status)
        return false;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it) {
        if (!record.labels.contains(it.key()) || record.labels.value(it.key()) != it.value())
            return false;
    }
    return true;
}

Result<WorkerFilter> WorkerFilter::fromParams(const QJsonObject &params)
{
    WorkerFilter filter;
    auto labels = labelsFromWire(params.value(QStringLiteral("labels")));
    if (!labels)
        return fail(labels.error());
    filter.labels = *labels;
    filter.status = params.value(QStringLiteral("status")).toString();
    if (!filter.status.isEmpty() && !workerStatusNames().contains(filter.status)) {
        return fail(QStringLiteral("invalid_status"),
                    Tr::tr("unknown worker status \"%1\"").arg(printable(leftCharacters(filter.status, 40))),
                    Tr::tr("use one of %1").arg(workerStatusNames().join(QStringLiteral(", "))));
    }
    return filter;
}

Result<WorkerRecord> AdminService::workerNamed(const QString &name) const
{
    auto workers = m_view->currentWorkers();
    if (!workers)
        return fail(workers.error());
    // By name or id; of several records of one name (made before names were unique), the live
    // one, else the one heard from last.
    const WorkerRecord *found = nullptr;
    for (const WorkerRecord &record : std::as_const(*workers)) {
        if (record.name != name && record.id != name)
            continue;
        if (!found || (isGone(*found) && !isGone(record))
            || (isGone(*found) == isGone(record) && record.lastSeenAt > found->lastSeenAt))
            found = &record;
    }
    if (!found) {
        QStringList names;
        for (const WorkerRecord &record : std::as_const(*workers))
            names << record.name;
        const QString meant = closestMatch(name, names);
        return fail(QStringLiteral("not_found"),
                    meant.isEmpty() ? Tr::tr("no worker named '%1'").arg(printable(leftCharacters(name, 64)))
                                    : Tr::tr("no worker named '%1' — did you mean '%2'?")
                                          .arg(printable(leftCharacters(name, 64)), printable(meant)),
                    Tr::tr("see 'swamp worker list --all' for the names (a pruned or removed worker is gone)"));
    }
    return *found;
}

Result<QJsonObject> AdminService::showWorker(const QJsonObject &params)
{
    auto worker = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!worker)
        return fail(worker.error());
    QJsonObject result{{QStringLiteral("worker"), worker->toJson()}, {QStringLiteral("fleet"), shared()}};
    // Its active leases and the steps they run.
    auto leases = m_store->activeLeasesOfWorker(worker->id);
    if (!leases)
        return fail(leases.error());
    QJsonArray leaseList;
    QJsonArray steps;
    for (const LeaseRecord &lease : std::as_const(*leases)) {
        leaseList << lease.toJson();
        if (auto step = m_view->findStep(lease.stepId))
            steps << step->toJson();
    }
    result.insert(QStringLiteral("leases"), leaseList);
    result.insert(QStringLiteral("steps"), steps);
    auto events = m_store->recentEventsAbout(worker->name, ShownEvents);
    if (!events)
        return fail(events.error());
    QJsonArray eventList;
    for (const Event &event : std::as_const(*events))
        eventList << event.toJson();
    result.insert(QStringLiteral("events"), eventList);
    // The token it enrolled with, as `token list` shows it.
    auto tokens = m_store->tokensNamed(worker->tokenName);
    if (!tokens)
        return fail(tokens.error());
    for (const TokenRecord &token : std::as_const(*tokens)) {
        if (token.id == worker->tokenId)
            result.insert(QStringLiteral("token"), StateView::tokenJson(token, QDateTime::currentDateTimeUtc(), {}));
    }
    return result;
}

Result<QJsonObject> AdminService::pauseWorker(AdminConnection *connection, const QJsonObject &params, bool pause)
{
    const QString reason = params.value(QStringLiteral("reason")).toString();
    if (auto valid = validateReason(reason); !valid)
        return fail(valid.error());
    auto found = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!found)
        return fail(found.error());
    WorkerRecord worker = *found;
    const bool changed = worker.paused != pause;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (changed) {
        AuditRecord audit = workerAudit(connection, pause ? QStringLiteral("worker.pause") : QStringLiteral("worker.resume"),
                                        worker, reason, now);
        auto saved = audited(audit, [&] { return m_store->setWorkerPaused(worker.id, pause, now); });
        if (!saved)
            return fail(saved.error());
        worker.paused = pause;
        applyWorkerChange(worker.id);
        if (shared())
            m_fleet->notify(QStringLiteral("worker"), {{QStringLiteral("workerId"), worker.id}});
        const QString message = pause ? Tr::tr("worker %1 paused by an operator: it takes no new steps").arg(worker.name)
                                      : Tr::tr("worker %1 resumed by an operator: it takes steps again").arg(worker.name);
        m_events->append(pause ? QStringLiteral("worker.paused") : QStringLiteral("worker.resumed"), worker.name,
                         withReason(message, reason), {{QStringLiteral("workerId"), worker.id}, {QStringLiteral("reason"), reason}});
    }
    return QJsonObject{{QStringLiteral("worker"), worker.toJson()}, {QStringLiteral("changed"), changed}};
}

AuditRecord AdminService::workerAudit(AdminConnection *connection, const QString &action, const WorkerRecord &worker,
                                      const QString &reason, const QDateTime &now) const
{
    AuditRecord audit = auditRecord(connection, action, now);
    audit.tokenId = worker.tokenId;
    audit.tokenName = worker.tokenName;
    audit.workerName = worker.name;
    audit.reason = reason;
    return audit;
}

Result<QJsonObject> AdminService::labelWorker(AdminConnection *connection, const QJsonObject &params)
{
    const QString reason = params.value(QStringLiteral("reason")).toString();
    if (auto valid = validateReason(reason); !valid)
        return fail(valid.error());
    auto change = LabelChange::fromParams(params);
    if (!change)
        return fail(change.error());
    auto found = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!found)
        return fail(found.error());
    WorkerRecord worker = *found;
    if (auto present = change->checkRemovable(worker); !present)
        return fail(present.error());
    LabelOverrides overrides = worker.operatorLabels;
    overrides.change(change->set, change->remove);
    const Labels labels = overrides.appliedTo(worker.ownLabels);
    if (labels.size() > MaxLabels) {
        return fail(QStringLiteral("invalid_label"),
                    Tr::tr("worker %1 would have %2 labels; at most %3").arg(worker.name).arg(labels.size()).arg(MaxLabels),
                    Tr::tr("remove some with --remove KEY"));
    }
    const bool changed = overrides != worker.operatorLabels;
    if (changed) {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        AuditRecord audit = workerAudit(connection, QStringLiteral("worker.label"), worker, reason, now);
        auto saved = audited(audit, [&] { return m_store->setWorkerOperatorLabels(worker.id, overrides, now); });
        if (!saved)
            return fail(saved.error());
        worker.operatorLabels = overrides;
        worker.labels = labels;
        applyWorkerChange(worker.id);
        if (shared())
            m_fleet->notify(QStringLiteral("worker"), {{QStringLiteral("workerId"), worker.id}});
        m_events->append(QStringLiteral("worker.labelled"), worker.name,
                         withReason(Tr::tr("worker %1 labelled by an operator: %2").arg(worker.name, change->text()), reason),
                         {{QStringLiteral("workerId"), worker.id},
                          {QStringLiteral("set"), labelsToJson(change->set)},
                          {QStringLiteral("removed"), QJsonArray::fromStringList(change->remove)},
                          {QStringLiteral("labels"), labelsToJson(labels)},
                          {QStringLiteral("reason"), reason}});
    }
    return QJsonObject{{QStringLiteral("worker"), worker.toJson()}, {QStringLiteral("changed"), changed}};
}

Result<QJsonObject> AdminService::removeWorker(AdminConnection *connection, const QJsonObject &params)
{
    const QString reason = params.value(QStringLiteral("reason")).toString();
    if (auto valid = validateReason(reason); !valid)
        return fail(valid.error());
    auto found = workerNamed(params.value(QStringLiteral("name")).toString());
    if (!found)
        return fail(found.error());
    const WorkerRecord worker = *found;
    const QString wasStatus = workerStatusName(worker.status);
    // Its session here ends first (its steps back in the queue, the worker told why), so that the
    // row its end writes is the one removed.
    m_sessions->cutOffWorker(worker.id, reason);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    AuditRecord audit = workerAudit(connection, QStringLiteral("worker.remove"), worker, reason, now);
    int freed = 0;
    auto removed = audited(audit, [&]() -> Result<void> {
        auto bindings = m_store->removeWorker(worker);
        if (!bindings)
            return fail(bindings.error());
        freed = *bindings;
        return {};
    });
    if (!removed)
        return fail(removed.error());
    if (shared()) {
        m_fleet->notify(QStringLiteral("remove"),
                        {{QStringLiteral("workerId"), worker.id}, {QStringLiteral("reason"), reason}});
    }
    const QString message = freed > 0 ? Tr::tr("worker %1 removed by an operator (was %2); its enrollment on token '%3' is free again")
                                             .arg(worker.name, wasStatus, worker.tokenName)
                                       : Tr::tr("worker %1 removed by an operator (was %2)").arg(worker.name, wasStatus);
    m_events->append(QStringLiteral("worker.removed"), worker.name, withReason(message, reason),
                     {{QStringLiteral("workerId"), worker.id},
                      {QStringLiteral("tokenName"), worker.tokenName},
                      {QStringLiteral("status"), wasStatus},
                      {QStringLiteral("bindingsFreed"), freed},
                      {QStringLiteral("reason"), reason}});
    return QJsonObject{{QStringLiteral("worker"), worker.toJson()}, {QStringLiteral("bindingsFreed"), freed}};
}

void AdminService::applyWorkerRemoval(const QJsonObject &payload)
{
    const QString workerId = payload.value(QStringLiteral("workerId")).toString();
    WorkerSession *session = m_sessions->pool().find(workerId);
    if (!session)
        return;
    const WorkerRecord worker = session->record;
    m_sessions->cutOffWorker(workerId, payload.value(QStringLiteral("reason")).toString());
    // Ending the session wrote its row again; the orchestrator that answered removed it already.
    if (auto removed = m_store->removeWorker(worker); !removed)
        qCWarning(lcDb) << "could not remove worker" << worker.name << removed.error().message;
}

void AdminService::applyWorkerChange(const QString &workerId)
{
    // The session here (if any) takes what the database now says of the worker.
    WorkerSession *session = m_sessions->pool().find(workerId);
    if (!session)
        return;
    auto row = m_store->workerWithId(workerId);
    if (!row || !*row)
        return;
    WorkerRecord &record = session->record;
    record.paused = (*row)->paused;
    record.operatorLabels = (*row)->operatorLabels;
    record.labels = record.operatorLabels.appliedTo(record.ownLabels);
    if (!record.paused)
        m_scheduler->requestSchedule();
}

} // namespace Swamp
