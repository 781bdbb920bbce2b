#pragma once

#include <QString>
#include <QThread>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace Swamp {

// Checkpoints an SQLite write-ahead log from a thread of its own, on its own connection.
//
// SQLite's automatic checkpoint runs inside the commit that crosses the WAL's size threshold:
// that one commit copies pages into the database file and syncs it, a pause of several
// milliseconds for whatever the orchestrator was about to send. A PASSIVE checkpoint from
// another connection copies the same pages while the orchestrator keeps writing (it never
// takes the writer's lock and never waits), so the main thread's commits only append to the
// log. The owner raises its own connection's automatic checkpoint threshold far above what
// the log reaches between two of these (a safety net should this thread fall behind).
class WalCheckpointer final : public QThread
{
    Q_OBJECT

public:
    // `path`: the SQLite file the orchestrator has open (in WAL mode).
    explicit WalCheckpointer(QString path, int intervalMs, QObject *parent = nullptr);
    ~WalCheckpointer() override; // stops and joins the thread

    void stop();
    // Checkpoints run so far (for tests and diagnostics).
    qint64 checkpoints() const { return m_checkpoints.load(); }

protected:
    void run() override;

private:
    const QString m_path;
    const int m_intervalMs;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::atomic<bool> m_stopping = false;
    std::atomic<qint64> m_checkpoints = 0;
};

} // namespace Swamp
