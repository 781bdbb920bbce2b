#pragma once

#include "model/step.h"
#include "store/store.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QMultiHash>
#include <QObject>
#include <QPointer>

namespace Swamp {

class AdminConnection;
class StateView;

// `output` objects of run.logs and run.follow: chunk, attempt, stream, data.
QJsonArray outputChunksJson(const QList<Store::OutputChunk> &chunks);

// The admin clients following steps (run.follow). A follower gets the stored output after the
// chunk it has, then the step's state, then every chunk and state change as it is committed, each
// chunk once (they are numbered): also when a chunk comes both from this orchestrator's scheduler
// and from the store, where another orchestrator of a fleet wrote it. A step that ends lets its
// followers go.
class StepFollowers final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepFollowers)

public:
    StepFollowers(Store *store, const StateView *view, QObject *parent = nullptr);

    // After the response to run.follow (on the next turn): what is stored after `after`, the
    // state, and from then on what comes.
    void follow(AdminConnection *connection, const QString &stepId, int after);
    void unfollow(AdminConnection *connection, const QString &stepId);
    // The connection closed: it follows nothing any more.
    void forget(AdminConnection *connection);
    bool isFollowed(const QString &stepId) const { return m_followers.contains(stepId); }

    // This orchestrator's scheduler changed a step, or stored a chunk of its output.
    void stepChanged(const StepRecord &step);
    void outputAppended(const QString &stepId, const QJsonObject &chunk);
    // A fleet: another orchestrator stored output of the step (its notification) ...
    void forwardStored(const QString &stepId);
    // ... or changed the step (its event): the state is read first, then the output, since a
    // step that is over by then has all its output stored.
    void remoteStepChanged(const QString &stepId);

private:
    Store *m_store;
    const StateView *m_view;
    QMultiHash<QString, QPointer<AdminConnection>> m_followers; // step id → clients following it
    QHash<QString, int> m_forwardedChunk;                      // step id → last chunk sent to them
};

} // namespace Swamp
