#include "server/waitreasons.h"

#include "common/error.h"

#include <QJsonArray>

#include <algorithm>

namespace Swamp {

namespace {

constexpr int ClosestShown = 3;

bool isConnected(const WorkerRecord &worker)
{
    return worker.status == WorkerStatus::Idle || worker.status == WorkerStatus::Busy
        || worker.status == WorkerStatus::Draining;
}

bool meets(const WorkerRecord &worker, const Requirement &requirement)
{
    return requirement.matches(worker.name, worker.instanceId, worker.labels, worker.platform, worker.arch);
}

// The parts of `requirement` that `worker` does not meet, each as the operator wrote it
// ("region=mars"), with what the worker has instead when it has something.
QStringList lacks(const WorkerRecord &worker, const Requirement &requirement)
{
    QStringList missing;
    if (!requirement.target.isEmpty()) {
        if (!meets(worker, requirement))
            missing << QStringLiteral("target=") + requirement.target;
        return missing;
    }
    for (auto it = requirement.labels.cbegin(); it != requirement.labels.cend(); ++it) {
        Requirement one;
        one.labels.insert(it.key(), it.value());
        if (meets(worker, one))
            continue;
        const auto has = worker.labels.constFind(it.key());
        missing << (has == worker.labels.cend()
                        ? QStringLiteral("%1=%2 (no %1)").arg(it.key(), it.value())
                        : QStringLiteral("%1=%2 (has %1=%3)").arg(it.key(), it.value(), *has));
    }
    Requirement platform;
    platform.platform = requirement.platform;
    if (!meets(worker, platform)) {
        missing << QStringLiteral("platform=%1 (is %2/%3)").arg(requirement.platform, worker.platform, worker.arch);
    }
    return missing;
}

QString names(const QList<const WorkerRecord *> &workers)
{
    QStringList list;
    for (const WorkerRecord *worker : workers)
        list << worker->name;
    return list.join(QStringLiteral(", "));
}

QJsonObject reason(const QString &code, const QString &message)
{
    return QJsonObject{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}};
}

} // namespace

WaitReasons::WaitReasons(QList<WorkerRecord> workers)
    : m_workers(std::move(workers))
{
}

QJsonObject WaitReasons::reasonFor(const Requirement &requirement)
{
    const QString key = requirement.text();
    auto known = m_byRequirement.constFind(key);
    if (known == m_byRequirement.cend())
        known = m_byRequirement.insert(key, compute(requirement));
    return *known;
}

QJsonObject WaitReasons::compute(const Requirement &requirement) const
{
    QList<const WorkerRecord *> connected;
    QList<const WorkerRecord *> matching;
    for (const WorkerRecord &worker : m_workers) {
        if (!isConnected(worker))
            continue;
        connected << &worker;
        if (meets(worker, requirement))
            matching << &worker;
    }
    if (connected.isEmpty()) {
        return reason(QStringLiteral("no_workers"),
                      Tr::tr("no worker is connected; start one with 'swamp worker connect'"));
    }
    if (matching.isEmpty())
        return noMatch(requirement, connected);
    int slots = 0;
    int used = 0;
    QList<const WorkerRecord *> open;
    QList<const WorkerRecord *> draining;
    QList<const WorkerRecord *> paused;
    for (const WorkerRecord *worker : std::as_const(matching)) {
        if (worker->draining || worker->status == WorkerStatus::Draining) {
            draining << worker;
            continue;
        }
        if (worker->paused) {
            paused << worker;
            continue;
        }
        open << worker;
        slots += worker->capacity;
        used += std::min(worker->activeSteps, worker->capacity);
    }
    if (open.isEmpty())
        return noneOpen(requirement, draining, paused);
    if (used >= slots) {
        return reason(QStringLiteral("busy"), Tr::tr("all %1 worker(s) with %2 are busy (%3 of %4 slots in use)")
                                                  .arg(open.size()).arg(requirement.text()).arg(used).arg(slots));
    }
    return {};
}

QJsonObject WaitReasons::noneOpen(const Requirement &requirement, const QList<const WorkerRecord *> &draining,
                                  const QList<const WorkerRecord *> &paused)
{
    if (paused.isEmpty()) {
        return reason(QStringLiteral("draining"),
                      Tr::tr("every worker with %1 is draining (%2); 'swamp worker undrain NAME' takes steps again")
                          .arg(requirement.text(), names(draining)));
    }
    if (draining.isEmpty()) {
        return reason(QStringLiteral("paused"),
                      Tr::tr("every worker with %1 is paused (%2); 'swamp worker resume NAME' lets it take steps again")
                          .arg(requirement.text(), names(paused)));
    }
    return reason(QStringLiteral("draining"),
                  Tr::tr("every worker with %1 is draining (%2) or paused (%3); 'swamp worker undrain NAME' or "
                         "'swamp worker resume NAME' lets it take steps again")
                      .arg(requirement.text(), names(draining), names(paused)));
}

QJsonObject WaitReasons::noMatch(const Requirement &requirement, const QList<const WorkerRecord *> &connected) const
{
    QList<std::pair<QStringList, const WorkerRecord *>> ranked;
    for (const WorkerRecord *worker : connected)
        ranked.append({lacks(*worker, requirement), worker});
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) {
        return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.second->name < b.second->name;
    });
    QJsonArray closest;
    QStringList shown;
    for (qsizetype i = 0; i < std::min<qsizetype>(ranked.size(), ClosestShown); ++i) {
        const auto &[missing, worker] = ranked.at(i);
        closest << QJsonObject{{QStringLiteral("name"), worker->name},
                               {QStringLiteral("lacks"), QJsonArray::fromStringList(missing)}};
        shown << QStringLiteral("%1 lacks %2").arg(worker->name, missing.join(QStringLiteral(", ")));
    }
    QJsonObject result = reason(QStringLiteral("no_match"),
                                Tr::tr("none of the %1 connected worker(s) has %2; closest: %3")
                                    .arg(connected.size()).arg(requirement.text(), shown.join(QStringLiteral("; "))));
    result.insert(QStringLiteral("closest"), closest);
    return result;
}

} // namespace Swamp
