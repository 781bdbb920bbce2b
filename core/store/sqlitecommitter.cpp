#include "store/sqlitecommitter.h"

#include <sqlite3.h>

namespace Swamp {

SqliteCommitter::SqliteCommitter(QString path, QObject *parent)
    : QThread(parent)
    , m_path(std::move(path))
{
    setObjectName(QStringLiteral("swamp-commit"));
}

SqliteCommitter::~SqliteCommitter()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    wait();
    m_writer.clear();
    if (m_db)
        sqlite3_close_v2(m_db);
}

std::expected<void, QString> SqliteCommitter::start(int autocheckpointPages)
{
    if (sqlite3_open_v2(m_path.toUtf8().constData(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr)
        != SQLITE_OK) {
        const QString error = m_db ? QString::fromUtf8(sqlite3_errmsg(m_db)) : QStringLiteral("out of memory");
        sqlite3_close_v2(m_db);
        m_db = nullptr;
        return std::unexpected(error);
    }
    sqlite3_busy_timeout(m_db, 5000);
    m_writer.attach(m_db);
    const QString checkpoint = QStringLiteral("PRAGMA wal_autocheckpoint=%1").arg(autocheckpointPages);
    for (const QString &pragma : {QStringLiteral("PRAGMA foreign_keys=ON"), QStringLiteral("PRAGMA synchronous=NORMAL"),
                                  QStringLiteral("PRAGMA temp_store=MEMORY"), checkpoint}) {
        if (sqlite3_exec(m_db, pragma.toUtf8().constData(), nullptr, nullptr, nullptr) != SQLITE_OK)
            return std::unexpected(QString::fromUtf8(sqlite3_errmsg(m_db)));
    }
    QThread::start();
    return {};
}

void SqliteCommitter::submit(Job job, QObject *context, Done done)
{
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back(Queued{std::move(job), context, std::move(done)});
    }
    m_wake.notify_one();
}

std::optional<QString> SqliteCommitter::waitIdle()
{
    std::unique_lock lock(m_mutex);
    m_idle.wait(lock, [this] { return m_queue.empty() && !m_busy; });
    return m_error;
}

qint64 SqliteCommitter::commits() const
{
    std::lock_guard lock(m_mutex);
    return m_commits;
}

std::expected<void, QString> SqliteCommitter::writeAll(const std::deque<Queued> &jobs)
{
    if (auto begun = m_writer.write(QStringLiteral("BEGIN IMMEDIATE"), {}); !begun)
        return std::unexpected(begun.error());
    for (const Queued &queued : jobs) {
        if (auto written = queued.job(m_writer); !written) {
            m_writer.write(QStringLiteral("ROLLBACK"), {});
            return std::unexpected(written.error());
        }
    }
    if (auto committed = m_writer.write(QStringLiteral("COMMIT"), {}); !committed) {
        m_writer.write(QStringLiteral("ROLLBACK"), {});
        return std::unexpected(committed.error());
    }
    return {};
}

void SqliteCommitter::run()
{
    for (;;) {
        std::deque<Queued> jobs;
        std::optional<QString> failed;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty())
                return; // stopping, and everything is written
            jobs.swap(m_queue);
            m_busy = true;
            failed = m_error;
        }
        if (!failed) {
            if (auto written = writeAll(jobs); !written)
                failed = written.error();
        }
        {
            std::lock_guard lock(m_mutex);
            if (failed && !m_error)
                m_error = failed;
            else if (!failed)
                ++m_commits;
            m_busy = false;
        }
        m_idle.notify_all();
        for (Queued &queued : jobs) {
            QMetaObject::invokeMethod(queued.context, [done = std::move(queued.done), failed] { done(failed); },
                                      Qt::QueuedConnection);
        }
    }
}

} // namespace Swamp
