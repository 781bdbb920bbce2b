#pragma once

#include "fakelink.h"

#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "store/store.h"

#include <QTemporaryDir>
#include <QtGlobal>

#include <memory>

// The orchestrator's parts its services' in-process tests build on: a real store (SQLite in a
// temporary dir, or a PostgreSQL database), the event log, the worker sessions (and their pool)
// and the scheduler on a FakeLink that records what each worker would be sent.
struct ServerParts
{
    std::unique_ptr<QTemporaryDir> dir;
    std::unique_ptr<Swamp::Store> store;
    std::unique_ptr<Swamp::EventLog> events;
    std::unique_ptr<Swamp::WorkerSessions> sessions;
    FakeLink link;
    std::unique_ptr<Swamp::Fleet> fleet; // PostgreSQL: the scheduler's, as one of a fleet
    std::unique_ptr<Swamp::Scheduler> scheduler;

    // False, with a warning that says why, when a part cannot be made. With `postgresUrl` the
    // store is that database and the scheduler runs as one of a fleet (with a Fleet of its own
    // that never joins: no heartbeat, nobody takes it for alive).
    bool open(const Swamp::WorkerSessions::Settings &settings = {}, const QString &postgresUrl = {})
    {
        dir = std::make_unique<QTemporaryDir>();
        if (!dir->isValid()) {
            qWarning("cannot create a temporary directory");
            return false;
        }
        auto opened = Swamp::Store::open(postgresUrl.isEmpty() ? dir->filePath(QStringLiteral("swamp.db")) : postgresUrl);
        if (!opened) {
            qWarning().noquote() << "cannot open the store:" << opened.error().message;
            return false;
        }
        store = std::move(*opened);
        events = std::make_unique<Swamp::EventLog>(store.get());
        sessions = std::make_unique<Swamp::WorkerSessions>(settings, store.get(), events.get());
        link = FakeLink();
        if (auto recovered = startScheduler(); !recovered) {
            qWarning().noquote() << "the scheduler did not recover:" << recovered.error().message;
            return false;
        }
        return true;
    }

    // A new scheduler (and on PostgreSQL a new Fleet) on the same store, as when `swamp serve`
    // starts again: what its recover() returned.
    Swamp::Result<int> startScheduler()
    {
        scheduler.reset();
        if (store->dialect() == Swamp::Store::Dialect::Postgres)
            fleet = std::make_unique<Swamp::Fleet>(store.get(), 1000, 3000);
        scheduler = std::make_unique<Swamp::Scheduler>(store.get(), events.get(), &sessions->pool(), &link, 600000);
        scheduler->setFleet(fleet.get(), fleet != nullptr);
        sessions->setScheduler(scheduler.get());
        return scheduler->recover();
    }

    // A session as enrollment makes one, every column of its row filled; not in the pool yet.
    static std::unique_ptr<Swamp::WorkerSession> makeSession(const QString &id, const QString &name,
                                                            int capacity = 1)
    {
        auto session = std::make_unique<Swamp::WorkerSession>();
        Swamp::WorkerRecord &record = session->record;
        record.id = id;
        record.name = name;
        record.machineId = QStringLiteral("machine-") + id;
        record.tokenId = QStringLiteral("token-1");
        record.tokenName = QStringLiteral("pool");
        record.instanceId = QStringLiteral("instance-") + id;
        record.platform = QStringLiteral("linux");
        record.arch = QStringLiteral("x86_64");
        record.version = QStringLiteral("0.1.0");
        record.hostname = QStringLiteral("host");
        record.orchestrator = QStringLiteral("ws://127.0.0.1:1");
        record.capacity = capacity;
        record.status = Swamp::WorkerStatus::Idle;
        record.enrolledAt = record.createdAt = record.lastSeenAt = QDateTime::currentDateTimeUtc();
        session->lastHeardMs = record.lastSeenAt.toMSecsSinceEpoch();
        return session;
    }

    // In the reverse order of open().
    void close()
    {
        scheduler.reset();
        fleet.reset();
        sessions.reset();
        events.reset();
        store.reset();
        dir.reset();
    }
};
