#include "store/walcheckpointer.h"

#include "common/logging.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>

namespace Swamp {

WalCheckpointer::WalCheckpointer(QString path, int intervalMs, QObject *parent)
    : QThread(parent), m_path(std::move(path)), m_intervalMs(intervalMs)
{
    setObjectName(QStringLiteral("swamp-checkpoint"));
}

WalCheckpointer::~WalCheckpointer()
{
    stop();
}

void WalCheckpointer::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    wait();
}

void WalCheckpointer::run()
{
    const QString name =
        QStringLiteral("swamp-checkpoint-%1").arg(QUuid::createUuid().toString(QUuid::Id128));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(m_path);
        if (!db.open()) {
            qCWarning(lcDb)
                << "cannot open a connection for WAL checkpoints; commits checkpoint instead:"
                << db.lastError().text();
        } else {
            QSqlQuery checkpoint(db);
            bool failing = false;
            for (;;) {
                {
                    std::unique_lock lock(m_mutex);
                    m_wake.wait_for(lock, std::chrono::milliseconds(m_intervalMs),
                                    [this] { return m_stopping.load(); });
                }
                if (m_stopping)
                    break;
                // Once per streak of failures (out of open files, say, it fails every time until
                // files are free again), not once per interval.
                if (!checkpoint.exec(QStringLiteral("PRAGMA wal_checkpoint(PASSIVE)"))) {
                    if (!std::exchange(failing, true)) {
                        qCWarning(lcDb) << "WAL checkpoint failed:" << checkpoint.lastError().text()
                                        << "(not logged again until checkpoints work again)";
                    }
                } else if (std::exchange(failing, false)) {
                    qCWarning(lcDb) << "WAL checkpoints work again";
                }
                checkpoint.finish();
                ++m_checkpoints;
            }
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
}

} // namespace Swamp
