#pragma once

// What the fleet tests share: their own PostgreSQL server, a fresh database per test function,
// one admin token file for every orchestrator (as an operator's fleet has), and orchestrators
// started on that database with a short fleet timeout.
//
//     void initTestCase() { SWAMP_START_POSTGRES(m_fleet.server); QVERIFY(m_fleet.writeAdminToken()); }
//     void init() { QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString())); }
//     void cleanup() { m_fleet.orchestrators.clear(); } // kills every child of every harness

#include "integration/swampharness.h"
#include "support/pgserver.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>

#include <memory>
#include <vector>

namespace SwampTest {

struct FleetFixture
{
    PostgresServer server;
    QString database;
    QTemporaryDir dir;
    QString adminTokenFile;
    std::vector<std::unique_ptr<Harness>> orchestrators;

    bool writeAdminToken()
    {
        adminTokenFile = dir.filePath(QStringLiteral("admin-token"));
        QFile file(adminTokenFile);
        if (!file.open(QIODevice::WriteOnly))
            return false;
        file.write("fleet-admin-token-0123456789abcdef0123456789abcdef\n");
        file.close();
        return file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }

    bool newDatabase()
    {
        database = server.createDatabase();
        return !database.isEmpty();
    }

    // Another orchestrator on the database; all share the admin token. Null when it did not start.
    Harness *startOrchestrator(const QStringList &extra = {})
    {
        auto harness = std::make_unique<Harness>();
        harness->orchestratorEnvironment.insert(QStringLiteral("PGPASSWORD"), server.password());
        if (!harness->startOrchestrator(0, serveArguments() + extra))
            return nullptr;
        orchestrators.push_back(std::move(harness));
        return orchestrators.back().get();
    }

    // Starts the orchestrator of `harness` again after it ended (killed, evicted), on its port and
    // data dir, as a service manager does: its workers' URLs stay right. False when it did not start.
    bool restartOrchestrator(Harness &harness, const QStringList &extra = {})
    {
        return harness.startOrchestrator(harness.port(), serveArguments() + extra);
    }

    QStringList serveArguments() const
    {
        return {QStringLiteral("--database"), database, QStringLiteral("--orchestrator-timeout"), QStringLiteral("3s"),
                QStringLiteral("--admin-token-file"), adminTokenFile};
    }

    // Every orchestrator's URL, starting with the one at `first`: what a worker is given.
    QString fleetUrls(int first) const
    {
        QStringList urls;
        for (size_t i = 0; i < orchestrators.size(); ++i)
            urls << orchestrators[(first + i) % orchestrators.size()]->url();
        return urls.join(u',');
    }

    // Two orchestrators on the database, a token `pool` (5 enrollments) and a worker called
    // `name` (--name, plus `extra`) enrolled on the first. A null member when that part did not start.
    struct TwoWithWorker
    {
        Harness *a = nullptr;
        Harness *b = nullptr;
        QString token;
        Child *worker = nullptr;
    };
    TwoWithWorker twoWithWorkerOnFirst(const QString &name, const QStringList &extra = {})
    {
        TwoWithWorker fleet;
        fleet.a = startOrchestrator();
        fleet.b = fleet.a ? startOrchestrator() : nullptr;
        if (!fleet.b)
            return fleet;
        fleet.token = fleet.a->createToken(QStringLiteral("pool"), {QStringLiteral("--max-enrollments"), QStringLiteral("5")});
        if (!fleet.token.isEmpty()) {
            fleet.worker = fleet.a->startEnrolledWorker(fleet.token, fleet.a->newCacheDir(), name,
                                                        QStringList{QStringLiteral("--name"), name} + extra);
        }
        return fleet;
    }

    // Whether `via` has the orchestrator at `url` stored as no longer alive. Only an answer that
    // lists `via` itself (alive: it answers) was read from the database; a failed or empty one
    // (the database away, a commit held for a lock) says nothing of `url`.
    static bool declaredDead(Harness &via, const QString &url)
    {
        QStringList alive;
        for (const QJsonValue &o : via.workerList(false).value(QStringLiteral("orchestrators")).toArray())
            alive << o.toObject().value(QStringLiteral("url")).toString();
        return alive.contains(via.url()) && !alive.contains(url);
    }

    // The worker named `name` in a `worker list --json` answer, or {}.
    static QJsonObject workerIn(const QJsonObject &list, const QString &name)
    {
        for (const QJsonValue &value : list.value(QStringLiteral("workers")).toArray()) {
            if (value.toObject().value(QStringLiteral("name")).toString() == name)
                return value.toObject();
        }
        return {};
    }
};

} // namespace SwampTest
