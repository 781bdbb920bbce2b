#pragma once

#include "model/step.h"
#include "model/worker.h"

#include <QHash>
#include <QJsonObject>
#include <QList>

namespace Swamp {

// Why a queued step waits (issue 21): no worker connected, none connected with what it requires
// (and the closest ones, with what they lack), every matching worker draining or paused, or all
// of them busy. Computed on demand from the workers as StateView shows them, for the steps an operator
// asks about (run.status, worker.queue), never in a scheduling pass; one answer per requirement.
class WaitReasons final
{
public:
    explicit WaitReasons(QList<WorkerRecord> workers);

    // {"code", "message", "closest": [{"name", "lacks": [...]}] (no_match only)}; an empty object
    // when a connected worker that meets `requirement` has a free slot (the step starts now).
    QJsonObject reasonFor(const Requirement &requirement);

private:
    QJsonObject compute(const Requirement &requirement) const;
    QJsonObject noMatch(const Requirement &requirement, const QList<const WorkerRecord *> &connected) const;
    // Every matching worker draining or paused: code "draining" (any draining) or "paused" (all paused).
    static QJsonObject noneOpen(const Requirement &requirement, const QList<const WorkerRecord *> &draining,
                                const QList<const WorkerRecord *> &paused);

    QList<WorkerRecord> m_workers;
    QHash<QString, QJsonObject> m_byRequirement;
};

} // namespace Swamp
