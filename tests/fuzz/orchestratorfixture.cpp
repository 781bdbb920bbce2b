#include "orchestratorfixture.h"

#include "fuzzsupport.h"

#include "server/orchestrator.h"

#include <QCoreApplication>
#include <QDir>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QUrl>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace Swamp::Fuzz {

OrchestratorFixture::OrchestratorFixture(int restartEvery)
    : m_adminToken("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"),
      m_restartEvery(restartEvery)
{
}

OrchestratorFixture::~OrchestratorFixture()
{
    stop();
}

bool OrchestratorFixture::ensure()
{
    if (m_orchestrator && ++m_inputs < m_restartEvery)
        return false;
    stop();
    start();
    m_inputs = 0;
    return true;
}

void OrchestratorFixture::start()
{
    const QString base = QDir(u"/dev/shm"_s).exists() ? u"/dev/shm"_s : QDir::tempPath();
    m_dir = std::make_unique<QTemporaryDir>(base + u"/swamp-fuzz-XXXXXX"_s);
    OrchestratorConfig config;
    config.listenHost = u"127.0.0.1"_s;
    config.listenPort = 0;
    config.dataDir = m_dir->filePath(u"data"_s);
    config.heartbeatIntervalMs = 3600 * 1000;
    config.heartbeatTimeoutMs = 2 * 3600 * 1000;
    config.reconnectGraceMs = 100;
    config.ghostProbeMs = 20;
    config.adminToken = QString::fromLatin1(m_adminToken);
    m_orchestrator = std::make_unique<Orchestrator>(config);
    QObject::connect(
        m_orchestrator.get(), &Orchestrator::failed, m_orchestrator.get(), [](const Error &error) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(error.code), qPrintable(error.message));
            finding("a commit failed");
        });
    if (auto started = m_orchestrator->start(); !started) {
        std::fprintf(stderr, "%s\n", qPrintable(started.error().message));
        finding("the orchestrator did not start");
    }
    m_port = quint16(QUrl(m_orchestrator->url()).port());
    m_admin = std::make_unique<WebSocketClient>();
    if (!m_admin->connectTo(m_port) ||
        !m_admin->handshake("/v1/admin", QByteArray("Authorization: Bearer " + m_adminToken +
                                                    "\r\nUser-Agent: swamp-fuzz\r\n"))) {
        finding("the fixture's admin connection failed");
    }
}

void OrchestratorFixture::stop()
{
    m_admin.reset();
    if (m_orchestrator) {
        m_orchestrator->stop();
        deleteLaterNow();
        m_orchestrator.reset();
        deleteLaterNow();
    }
    m_dir.reset();
}

QJsonObject OrchestratorFixture::request(const QString &method, const QJsonObject &params,
                                         QString *error)
{
    const QString id = u"fixture-%1"_s.arg(++m_requests);
    const qsizetype seen = m_admin->messages().size();
    m_admin->sendText(
        QJsonDocument(QJsonObject{{u"type"_s, method}, {u"id"_s, id}, {u"params"_s, params}})
            .toJson(QJsonDocument::Compact));
    QJsonObject answer;
    const bool answered = pumpUntil(
        [&] {
            const auto &messages = m_admin->messages();
            for (qsizetype i = seen; i < messages.size(); ++i) {
                const QJsonObject frame = QJsonDocument::fromJson(messages.at(i).payload).object();
                if (frame.value(u"id"_s).toString() == id) {
                    answer = frame;
                    return true;
                }
            }
            return m_admin->ended();
        },
        10000);
    if (!answered || answer.isEmpty())
        finding("the orchestrator did not answer the fixture's admin request");
    if (answer.value(u"type"_s).toString() == u"result")
        return answer.value(u"result"_s).toObject();
    if (!error) {
        std::fprintf(stderr, "%s: %s\n", qPrintable(method),
                     QJsonDocument(answer).toJson(QJsonDocument::Compact).constData());
        finding("the fixture's admin request failed");
    }
    *error = answer.value(u"code"_s).toString();
    return {};
}

QString OrchestratorFixture::createToken(const QString &name)
{
    const QJsonObject token =
        request(u"token.create"_s,
                {{u"name"_s, name}, {u"durationMs"_s, 86400000}, {u"maxEnrollments"_s, qint64(0)}});
    return token.value(u"token"_s).toString();
}

void OrchestratorFixture::sync()
{
    request(u"version"_s);
    QCoreApplication::processEvents(); // the answers released with it
}

} // namespace Swamp::Fuzz
