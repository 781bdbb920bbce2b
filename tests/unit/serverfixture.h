#pragma once

#include "fakelink.h"

#include "server/eventlog.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "store/store.h"

#include <QTemporaryDir>
#include <QtGlobal>

#include <memory>

// The orchestrator's parts its services' in-process tests build on: a real store (SQLite in a
// temporary dir), the event log, the worker sessions (and their pool) and the scheduler on a
// FakeLink that records what each worker would be sent.
struct ServerParts
{
    std::unique_ptr<QTemporaryDir> dir;
    std::unique_ptr<Swamp::Store> store;
    std::unique_ptr<Swamp::EventLog> events;
    std::unique_ptr<Swamp::WorkerSessions> sessions;
    FakeLink link;
    std::unique_ptr<Swamp::Scheduler> scheduler;

    // False, with a warning that says why, when a part cannot be made.
    bool open(const Swamp::WorkerSessions::Settings &settings = {})
    {
        dir = std::make_unique<QTemporaryDir>();
        if (!dir->isValid()) {
            qWarning("cannot create a temporary directory");
            return false;
        }
        auto opened = Swamp::Store::open(dir->filePath(QStringLiteral("swamp.db")));
        if (!opened) {
            qWarning().noquote() << "cannot open the store:" << opened.error().message;
            return false;
        }
        store = std::move(*opened);
        events = std::make_unique<Swamp::EventLog>(store.get());
        sessions = std::make_unique<Swamp::WorkerSessions>(settings, store.get(), events.get());
        link = FakeLink();
        scheduler = std::make_unique<Swamp::Scheduler>(store.get(), events.get(), &sessions->pool(), &link, 600000);
        sessions->setScheduler(scheduler.get());
        if (auto recovered = scheduler->recover(); !recovered) {
            qWarning().noquote() << "the scheduler did not recover:" << recovered.error().message;
            return false;
        }
        return true;
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
        sessions.reset();
        events.reset();
        store.reset();
        dir.reset();
    }
};
