#include "client/stepfollower.h"

#include "model/step.h"

namespace Swamp {

StepFollower::StepFollower(QObject *parent)
    : QObject(parent)
{
}

void StepFollower::follow(const QString &stepId)
{
    if (m_steps.contains(stepId))
        return;
    m_steps.insert(stepId, Followed{});
    m_order << stepId;
}

void StepFollower::clear()
{
    m_steps.clear();
    m_order.clear();
}

QList<QJsonObject> StepFollower::followRequests() const
{
    QList<QJsonObject> requests;
    for (const QString &id : m_order) {
        const Followed &followed = m_steps[id];
        if (!followed.ended)
            requests << QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("after"), followed.lastChunk}};
    }
    return requests;
}

void StepFollower::handleFrame(const QJsonObject &frame)
{
    const QString type = frame.value(QStringLiteral("type")).toString();
    if (type == u"step") {
        handleStep(frame.value(QStringLiteral("step")).toObject());
        return;
    }
    if (type != u"output")
        return;
    const QString stepId = frame.value(QStringLiteral("stepId")).toString();
    auto it = m_steps.find(stepId);
    const int chunk = frame.value(QStringLiteral("chunk")).toInt();
    if (it == m_steps.end() || chunk <= it->lastChunk)
        return; // not ours, or a replay of what was handed on (following the same step twice)
    it->lastChunk = chunk;
    const int attempt = frame.value(QStringLiteral("attempt")).toInt();
    const bool newAttempt = it->lastAttempt != 0 && attempt != it->lastAttempt;
    it->lastAttempt = attempt;
    Q_EMIT output(stepId, frame, newAttempt);
}

void StepFollower::handleStep(const QJsonObject &step)
{
    const QString stepId = step.value(QStringLiteral("id")).toString();
    auto it = m_steps.find(stepId);
    if (it == m_steps.end() || step.isEmpty())
        return;
    const QString previous = it->state;
    it->step = step;
    it->state = step.value(QStringLiteral("state")).toString();
    Q_EMIT stepUpdated(stepId, step, previous);
    // The signal's receiver may have cleared or changed what is followed.
    it = m_steps.find(stepId);
    if (it == m_steps.end() || it->ended || !isTerminalStateName(it->state))
        return;
    it->ended = true;
    Q_EMIT ended(stepId, step);
}

void StepFollower::abandon(const QString &stepId)
{
    if (auto it = m_steps.find(stepId); it != m_steps.end())
        it->ended = true;
}

bool StepFollower::isEnded(const QString &stepId) const
{
    return m_steps.value(stepId).ended;
}

bool StepFollower::allEnded() const
{
    return std::all_of(m_steps.cbegin(), m_steps.cend(), [](const Followed &f) { return f.ended; });
}

int StepFollower::lastChunk(const QString &stepId) const
{
    return m_steps.value(stepId).lastChunk;
}

QJsonObject StepFollower::step(const QString &stepId) const
{
    return m_steps.value(stepId).step;
}

QString StepFollower::state(const QString &stepId) const
{
    return m_steps.value(stepId).state;
}

} // namespace Swamp
