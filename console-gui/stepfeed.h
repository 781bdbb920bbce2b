#pragma once

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QSet>
#include <QTimer>

namespace Swamp {
struct Event;
}

namespace Swamp::Console {

class AdminSession;
class StepModel;

// Keeps a StepModel live without polling: a snapshot at every (re)connect from `data.query` (the
// open steps, then the most recently finished ones), then the `step.*` and `lease.expired` events
// (the row changes at once from the event, and the full record follows from `run.status`,
// requests for bursts of events coalesced per run), and the `step` frames of followed steps.
class StepFeed final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepFeed)

public:
    StepFeed(AdminSession *session, StepModel *model, QObject *parent = nullptr);

    // Ask for the full record of a step (and its run's leases) soon; answers as statusReceived.
    void fetch(const QString &stepId, const QString &runId = {});
    bool hasLoaded() const { return m_loaded; }
    QString lastError() const { return m_lastError; }

    // How long bursts of events are collapsed into one `run.status` per run, in ms.
    static constexpr int FetchDelayMs = 100;
    // At most this many finished steps are asked for per snapshot query.
    static constexpr int RecentLimit = 2000;

Q_SIGNALS:
    // A snapshot arrived (after each connect).
    void loaded();
    // A `run.status` answer: {run, steps, leases}.
    void statusReceived(const QJsonObject &status);

private:
    void load();
    void loadRecent(int window, quint64 generation);
    void handleEvent(const Swamp::Event &event);
    void handleFrame(const QJsonObject &frame);
    void flush();
    void finishLoad(const QString &error);

    AdminSession *m_session;
    StepModel *m_model;
    QTimer m_fetchTimer;
    QHash<QString, QSet<QString>> m_pending; // a key per run (or step), the step ids to refresh
    QSet<QString> m_openAtLoad;
    quint64 m_generation = 0;
    bool m_loaded = false;
    QString m_lastError;
};

} // namespace Swamp::Console
