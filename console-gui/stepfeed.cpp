#include "stepfeed.h"

#include "client/adminsession.h"
#include "model/step.h"
#include "query/answer.h"
#include "stepmodel.h"

#include <QJsonArray>

namespace Swamp::Console {

namespace {
// Finished steps are asked for by a shrinking window: `data.query` returns the oldest matches
// first, so when a window holds more than RecentLimit the next, shorter one is tried.
constexpr const char16_t *Windows[] = {u"24h", u"1h", u"5m"};

QList<QJsonObject> stepsOf(const QJsonObject &queryResult)
{
    QList<QJsonObject> steps;
    const QJsonArray results = queryResult.value(QStringLiteral("results")).toArray();
    for (const QJsonValue &value : results) {
        const QJsonObject record = value.toObject();
        QJsonObject step = record.value(QStringLiteral("attributes")).toObject();
        if (!step.contains(QStringLiteral("id")))
            step.insert(QStringLiteral("id"), record.value(QStringLiteral("id")));
        steps << step;
    }
    return steps;
}
} // namespace

StepFeed::StepFeed(AdminSession *session, StepModel *model, QObject *parent)
    : QObject(parent)
    , m_session(session)
    , m_model(model)
{
    m_fetchTimer.setSingleShot(true);
    m_fetchTimer.setInterval(FetchDelayMs);
    connect(&m_fetchTimer, &QTimer::timeout, this, &StepFeed::flush);
    connect(m_session, &AdminSession::sessionStarted, this, &StepFeed::load);
    connect(m_session, &AdminSession::eventReceived, this, &StepFeed::handleEvent);
    connect(m_session, &AdminSession::frameReceived, this, &StepFeed::handleFrame);
}

void StepFeed::load()
{
    const quint64 generation = ++m_generation;
    m_openAtLoad.clear();
    m_session->request(
        QStringLiteral("data.query"),
        {{QStringLiteral("predicate"), QStringLiteral("modelType == \"swamp/step\" && attributes.finishedAt == null")},
         {QStringLiteral("rows"), true}},
        this, [this, generation](const Result<QJsonObject> &answer) {
            if (generation != m_generation)
                return;
            const Result<QJsonObject> result = Query::answerWithRecords(answer);
            if (!result) {
                finishLoad(result.error().text());
                return;
            }
            const QList<QJsonObject> steps = stepsOf(*result);
            for (const QJsonObject &step : steps)
                m_openAtLoad.insert(step.value(QStringLiteral("id")).toString());
            m_model->upsertAll(steps);
            loadRecent(0, generation);
        });
}

void StepFeed::loadRecent(int window, quint64 generation)
{
    const QString predicate = QStringLiteral("modelType == \"swamp/step\" && attributes.finishedAt != null && "
                                             "attributes.finishedAt > now - duration(\"%1\")")
                                  .arg(QString::fromUtf16(Windows[window]));
    m_session->request(QStringLiteral("data.query"),
                       {{QStringLiteral("predicate"), predicate}, {QStringLiteral("limit"), RecentLimit},
                        {QStringLiteral("rows"), true}},
                       this, [this, window, generation](const Result<QJsonObject> &answer) {
        if (generation != m_generation)
            return;
        const Result<QJsonObject> result = Query::answerWithRecords(answer);
        if (!result) {
            finishLoad(result.error().text());
            return;
        }
        if (result->value(QStringLiteral("limited")).toBool() && window + 1 < int(std::size(Windows))) {
            loadRecent(window + 1, generation);
            return;
        }
        m_model->upsertAll(stepsOf(*result));
        finishLoad({});
    });
}

void StepFeed::finishLoad(const QString &error)
{
    m_lastError = error;
    // Rows that were open before a reconnect and are no longer: they finished meanwhile.
    if (error.isEmpty()) {
        for (int row = 0; row < m_model->rowCount(); ++row) {
            const QJsonObject &step = m_model->stepAt(row);
            const QString id = step.value(QStringLiteral("id")).toString();
            if (!isTerminalStateName(step.value(QStringLiteral("state")).toString())
                && !m_openAtLoad.contains(id))
                fetch(id, step.value(QStringLiteral("runId")).toString());
        }
    }
    m_loaded = true;
    Q_EMIT loaded();
}

void StepFeed::handleEvent(const Event &event)
{
    const QJsonObject data = event.data();
    const QString stepId = data.value(QStringLiteral("stepId")).toString();
    if (stepId.isEmpty())
        return;
    if (event.kind.startsWith(u"step.")) {
        m_model->applyEvent(stepId, data);
        fetch(stepId, data.value(QStringLiteral("runId")).toString());
    } else if (event.kind == u"lease.expired") {
        const QJsonObject *step = m_model->step(stepId);
        fetch(stepId, step ? step->value(QStringLiteral("runId")).toString() : QString());
    }
}

void StepFeed::handleFrame(const QJsonObject &frame)
{
    if (frame.value(QStringLiteral("type")).toString() == u"step")
        m_model->upsert(frame.value(QStringLiteral("step")).toObject());
}

void StepFeed::fetch(const QString &stepId, const QString &runId)
{
    if (stepId.isEmpty())
        return;
    m_pending[runId.isEmpty() ? stepId : runId].insert(stepId);
    if (!m_fetchTimer.isActive())
        m_fetchTimer.start();
}

void StepFeed::flush()
{
    const auto pending = std::exchange(m_pending, {});
    for (const QSet<QString> &ids : pending) {
        m_session->request(QStringLiteral("run.status"), {{QStringLiteral("id"), *ids.cbegin()}}, this,
                           [this, ids](const Result<QJsonObject> &result) {
            if (!result)
                return;
            const QJsonArray steps = result->value(QStringLiteral("steps")).toArray();
            for (const QJsonValue &value : steps) {
                const QJsonObject step = value.toObject();
                const QString id = step.value(QStringLiteral("id")).toString();
                if (ids.contains(id) || m_model->rowOf(id) >= 0)
                    m_model->upsert(step);
            }
            Q_EMIT statusReceived(*result);
        });
    }
}

} // namespace Swamp::Console
