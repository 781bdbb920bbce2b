#pragma once

// Helpers shared by the steps, leases and soak suites, on top of the integration harness.

#include "integration/swampharness.h"

#include <QJsonArray>

namespace SwampTest {

// `swamp run status <id> --json`
inline QJsonObject runStatus(Harness &h, const QString &id)
{
    return h.cli({u"run"_s, u"status"_s, id, u"--json"_s}).json();
}

inline QJsonObject stepOf(Harness &h, const QString &stepId)
{
    const QJsonArray steps = runStatus(h, stepId).value(u"steps"_s).toArray();
    for (const QJsonValue &step : steps) {
        if (step.toObject().value(u"id"_s).toString() == stepId)
            return step.toObject();
    }
    return {};
}

inline QString stepState(Harness &h, const QString &stepId)
{
    return stepOf(h, stepId).value(u"state"_s).toString();
}

// Submits one detached step; returns its id.
inline QString detach(Harness &h, const QStringList &runArguments)
{
    const Run run = h.cli(QStringList{u"run"_s, u"--detach"_s} + runArguments);
    if (run.exitCode != 0) {
        qWarning("run --detach failed: %s", qPrintable(run.describe()));
        return {};
    }
    return run.outLines().value(0).trimmed();
}

// Records of a model from `swamp data query --json`.
inline QJsonArray query(Harness &h, const QString &predicate)
{
    return h.cli({u"data"_s, u"query"_s, predicate, u"--json"_s}).json().value(u"results"_s).toArray();
}

// How many records match `predicate`, counted by the orchestrator (`data query --limit 0`); -1
// when the query failed.
inline int total(Harness &h, const QString &predicate)
{
    return h.cli({u"data"_s, u"query"_s, predicate, u"--json"_s, u"--limit"_s, u"0"_s})
        .json()
        .value(u"total"_s)
        .toInt(-1);
}

} // namespace SwampTest
