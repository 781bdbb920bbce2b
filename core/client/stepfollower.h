#pragma once

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QStringList>

namespace Swamp {

// Following steps with `run.follow {id, after}`: the bookkeeping the CLI (`swamp run`, `run logs
// --follow`) and the console's output view share, without their transport or their printing.
// Feed it every frame of the admin connection (handleFrame) and each run.follow result's step
// (handleStep); it hands on each output chunk once and in order, each change of a step's record,
// and each step's end once. After a reconnect the orchestrator has forgotten the follows:
// followRequests() are the params to send again, each after the last chunk handed on.
class StepFollower final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepFollower)

public:
    explicit StepFollower(QObject *parent = nullptr);

    // Starts following `stepId` from its first chunk (nothing if it is followed already).
    void follow(const QString &stepId);
    void clear();
    QStringList stepIds() const { return m_order; }

    // `run.follow` params for every followed step that has not ended: {id, after}.
    QList<QJsonObject> followRequests() const;
    // An `output` or `step` frame; frames of steps not followed are ignored.
    void handleFrame(const QJsonObject &frame);
    // A step record (a `step` frame's, or a run.follow result's).
    void handleStep(const QJsonObject &step);
    // Following it failed for good (no such step): it counts as ended, with no record.
    void abandon(const QString &stepId);

    bool isEnded(const QString &stepId) const;
    bool allEnded() const;
    int lastChunk(const QString &stepId) const;
    QJsonObject step(const QString &stepId) const;
    QString state(const QString &stepId) const;

Q_SIGNALS:
    // A chunk not handed on before, in order. `newAttempt`: its attempt differs from that of the
    // chunk before it (the step ran again).
    void output(const QString &stepId, const QJsonObject &chunk, bool newAttempt);
    // The step's record as now known; `previousState` is empty the first time.
    void stepUpdated(const QString &stepId, const QJsonObject &step, const QString &previousState);
    // The step reached a terminal state (once per step).
    void ended(const QString &stepId, const QJsonObject &step);

private:
    struct Followed
    {
        int lastChunk = 0;
        int lastAttempt = 0;
        QString state;
        QJsonObject step;
        bool ended = false;
    };

    QHash<QString, Followed> m_steps;
    QStringList m_order;
};

} // namespace Swamp
