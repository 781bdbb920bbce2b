#pragma once

#include "websocketclient.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <memory>

class QTemporaryDir;

namespace Swamp {
class Orchestrator;
}

namespace Swamp::Fuzz {

// An in-process orchestrator for the harnesses of /v1/worker and /v1/admin: SQLite in a fresh
// data dir (on /dev/shm when there is one), listening on 127.0.0.1 port 0, with an admin
// connection of its own for requests the harness needs (tokens, runs). Heartbeats are an hour
// apart, so no ping or liveness check falls into an input; the reconnect grace is 100 ms.
//
// State carries over from input to input, as on a real orchestrator; ensure() starts a fresh one
// every `restartEvery` inputs so that what a long run accumulates (tokens, workers, events) does
// not slow it down. A commit that fails (the orchestrator's `failed` signal) is a finding.
class OrchestratorFixture final
{
public:
    explicit OrchestratorFixture(int restartEvery);
    ~OrchestratorFixture();
    OrchestratorFixture(const OrchestratorFixture &) = delete;
    OrchestratorFixture &operator=(const OrchestratorFixture &) = delete;

    // Call first for each input: true when a fresh orchestrator was started.
    bool ensure();

    quint16 port() const { return m_port; }
    QByteArray adminToken() const { return m_adminToken; }
    // An admin request on the fixture's connection; its result. Any other answer is a finding,
    // unless `error` is given: then it receives the error code and the result is empty.
    QJsonObject request(const QString &method, const QJsonObject &params = {},
                        QString *error = nullptr);
    // Creates an enrollment token (unlimited enrollments, one day); returns "<name>.<secret>".
    QString createToken(const QString &name);
    // Waits for what was sent so far to be handled: a request answered on the fixture's
    // connection comes after the commit of everything handled before it.
    void sync();

private:
    void start();
    void stop();

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<Orchestrator> m_orchestrator;
    std::unique_ptr<WebSocketClient> m_admin;
    QByteArray m_adminToken;
    int m_restartEvery;
    int m_inputs = 0;
    int m_requests = 0;
    quint16 m_port = 0;
};

} // namespace Swamp::Fuzz
