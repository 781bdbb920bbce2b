#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QJsonObject>

namespace Swamp {

class StateView;
class Store;
struct QueryRun;

// `data.query`: the orchestrator's state as records of the built-in models (swamp/worker,
// swamp/enrollment-token, swamp/step, swamp/step-lease, swamp/run, swamp/audit-event), filtered
// by a compiled predicate (core/query/, docs/query.md). `modelType ==` and
// `attributes.state/status == <literal>` are pushed down to the store; the predicate always has
// the final word. Read-only: it reads through the StateView and the store's named queries.
class QueryService final
{
    Q_DISABLE_COPY_MOVE(QueryService)

public:
    QueryService(Store *store, const StateView *view);

    // params: predicate, select (optional), limit (optional, -1: all). The result object as
    // compact JSON text (its results are written as text, never built as objects), appended to
    // `head` (the reply's frame so far: an answer of tens of MB is not copied into it).
    Result<QByteArray> dataQuery(const QJsonObject &params, QByteArray head = {}) const;

private:
    // Every record of the types the predicate can match, read as narrowly as it allows.
    Result<void> visitCandidates(QueryRun &run) const;
    // Steps and leases are rows read field by field, in no order, and ordered as they are kept.
    Result<void> visitSteps(QueryRun &run) const;
    Result<void> visitLeases(QueryRun &run) const;
    Result<void> visitRuns(QueryRun &run) const;

    Store *m_store;
    const StateView *m_view;
};

} // namespace Swamp
