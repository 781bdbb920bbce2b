#pragma once

#include "store/sqlitewriter.h"

#include <QObject>
#include <QString>
#include <QThread>

#include <condition_variable>
#include <deque>
#include <expected>
#include <functional>
#include <mutex>
#include <optional>

struct sqlite3;

namespace Swamp {

// Commits the store's write-behind batches (see Store::enableWriteBehind()) on a thread and a
// connection of its own, while the orchestrator's thread goes on with the next batch.
//
// Each batch is a job: a function that writes its rows through the given SqliteWriter. Jobs run
// in the order they were queued; jobs that queued up while one was being written are written in
// one transaction. A job's `done` runs on the thread of `context` once its transaction committed
// or failed, also in order (`context` must outlive this object: the store's owner). After a
// failure every later job fails too (the owner stops).
class SqliteCommitter final : public QThread
{
    Q_OBJECT

public:
    using Job = std::function<std::expected<void, QString>(SqliteWriter &writer)>;
    using Done = std::function<void(const std::optional<QString> &error)>;

    explicit SqliteCommitter(QString path, QObject *parent = nullptr);
    ~SqliteCommitter() override; // writes what is queued, then stops and joins the thread

    // Opens the connection (WAL already on; foreign keys, synchronous=NORMAL, a busy timeout and
    // `autocheckpointPages` set as the store's own connection has them) and starts the thread.
    std::expected<void, QString> start(int autocheckpointPages);
    void submit(Job job, QObject *context, Done done);
    // Blocks until every queued job is written; the first error of any job so far, if one failed.
    std::optional<QString> waitIdle();
    // Transactions committed so far (for tests and diagnostics).
    qint64 commits() const;

protected:
    void run() override;

private:
    struct Queued
    {
        Job job;
        QObject *context = nullptr;
        Done done;
    };
    std::expected<void, QString> writeAll(const std::deque<Queued> &jobs);

    const QString m_path;
    sqlite3 *m_db = nullptr;
    SqliteWriter m_writer; // used on the thread only
    mutable std::mutex m_mutex;
    std::condition_variable m_wake; // a job was queued, or stop
    std::condition_variable m_idle; // the queue ran empty
    std::deque<Queued> m_queue;
    bool m_busy = false;
    bool m_stopping = false;
    std::optional<QString> m_error;
    qint64 m_commits = 0;
};

} // namespace Swamp
