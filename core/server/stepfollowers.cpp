#include "server/stepfollowers.h"

#include "protocol/protocol.h"
#include "server/stateview.h"
#include "server/transport/connections.h"

#include <QTimer>

namespace Swamp {

namespace {

QJsonObject outputFrame(const QString &stepId, QJsonObject chunk)
{
    chunk.insert(QStringLiteral("type"), Protocol::Type::Output);
    chunk.insert(QStringLiteral("stepId"), stepId);
    return chunk;
}

QJsonObject stepFrame(const StepRecord &step)
{
    return {{QStringLiteral("type"), QStringLiteral("step")}, {QStringLiteral("step"), step.toJson()}};
}

} // namespace

QJsonArray outputChunksJson(const QList<Store::OutputChunk> &chunks)
{
    QJsonArray list;
    for (const Store::OutputChunk &chunk : chunks) {
        list << QJsonObject{{QStringLiteral("chunk"), chunk.chunk},
                            {QStringLiteral("attempt"), chunk.attempt},
                            {QStringLiteral("stream"), chunk.stream},
                            {QStringLiteral("data"), chunk.data}};
    }
    return list;
}

StepFollowers::StepFollowers(Store *store, const StateView *view, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_view(view)
{
}

void StepFollowers::follow(AdminConnection *connection, const QString &stepId, int after)
{
    QTimer::singleShot(0, connection, [this, connection, stepId, after] {
        // The state first, then the output: a step that is over by now has all its output
        // stored, so none of it can slip in between the two reads (another orchestrator of a
        // fleet may finish the step at any moment).
        auto current = m_view->findStep(stepId);
        auto chunks = m_store->output(stepId, after, 1000000);
        if (chunks) {
            if (!chunks->isEmpty())
                m_forwardedChunk[stepId] = std::max(m_forwardedChunk.value(stepId), chunks->last().chunk);
            for (const QJsonValue &chunk : outputChunksJson(*chunks))
                connection->send(outputFrame(stepId, chunk.toObject()));
        }
        if (current) {
            connection->send(stepFrame(*current));
            if (isTerminal(current->state)) {
                if (!m_followers.contains(stepId))
                    m_forwardedChunk.remove(stepId);
                return;
            }
        }
        m_followers.insert(stepId, connection);
    });
}

void StepFollowers::unfollow(AdminConnection *connection, const QString &stepId)
{
    for (auto it = m_followers.find(stepId); it != m_followers.end() && it.key() == stepId;)
        it = it.value() == connection ? m_followers.erase(it) : std::next(it);
}

void StepFollowers::forget(AdminConnection *connection)
{
    for (auto it = m_followers.begin(); it != m_followers.end();)
        it = it.value() == connection ? m_followers.erase(it) : std::next(it);
}

void StepFollowers::stepChanged(const StepRecord &step)
{
    const auto followers = m_followers.values(step.id);
    if (!followers.isEmpty()) {
        const QJsonObject frame = stepFrame(step);
        for (const QPointer<AdminConnection> &follower : followers) {
            if (follower)
                follower->send(frame);
        }
    }
    if (isTerminal(step.state)) {
        m_followers.remove(step.id);
        m_forwardedChunk.remove(step.id);
    }
}

void StepFollowers::outputAppended(const QString &stepId, const QJsonObject &chunk)
{
    const auto followers = m_followers.values(stepId);
    if (followers.isEmpty())
        return;
    const int number = chunk.value(QStringLiteral("chunk")).toInt();
    if (number <= m_forwardedChunk.value(stepId))
        return; // already sent (stored replay, or read after another orchestrator's notification)
    m_forwardedChunk[stepId] = number;
    const QJsonObject frame = outputFrame(stepId, chunk);
    for (const QPointer<AdminConnection> &follower : followers) {
        if (follower)
            follower->send(frame);
    }
}

void StepFollowers::forwardStored(const QString &stepId)
{
    if (!m_followers.contains(stepId))
        return;
    auto chunks = m_store->output(stepId, m_forwardedChunk.value(stepId), 100000);
    if (!chunks)
        return;
    for (const QJsonValue &chunk : outputChunksJson(*chunks))
        outputAppended(stepId, chunk.toObject());
}

void StepFollowers::remoteStepChanged(const QString &stepId)
{
    if (!m_followers.contains(stepId))
        return;
    auto step = m_store->step(stepId);
    forwardStored(stepId);
    if (step && *step)
        stepChanged(**step);
}

} // namespace Swamp
