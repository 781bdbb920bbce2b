#include "simfleet.h"

#include "benchclock.h"
#include "fleetshards.h"
#include "common/datadir.h"
#include "model/errorcodes.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "version/version.h"

#include <QJsonArray>
#include <QNetworkRequest>
#include <QRandomGenerator>
#include <QUuid>
#include <QWebSocket>

using namespace Swamp;

namespace SwampBench {

namespace {
const QString StepPrefix = QStringLiteral("bench-");
}

SimWorker::SimWorker(SimFleet *fleet, int index)
    : m_fleet(fleet)
    , m_index(index)
    , m_orchestrator(index % int(fleet->m_urls.size()))
    , m_machineId(QUuid::createUuid().toString(QUuid::WithoutBraces))
    , m_machineKey(randomHex32())
    , m_instanceId(QUuid::createUuid().toString(QUuid::WithoutBraces))
{
    m_reconnectTimer.setSingleShot(true);
    // Precise: coarse timers are moved to round boundaries of this process's clock, which would
    // line up the reconnects of 10,000 simulated machines that in reality each have their own.
    m_reconnectTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &SimWorker::connectNow);
}

SimWorker::~SimWorker()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void SimWorker::connectNow()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    ++m_attempt;
    m_enrolled = false;
    m_connecting = true;
    m_upgraded = false;
    m_connectStartedUs = nowUs();
    m_lastHeardUs = m_connectStartedUs;
    m_fleet->m_attemptTimesUs << m_connectStartedUs;
    m_socket = std::make_unique<QWebSocket>(QString(), QWebSocketProtocol::VersionLatest);
    m_socket->setMaxAllowedIncomingMessageSize(quint64(Protocol::MaxWorkerFrameBytes));
    connect(m_socket.get(), &QWebSocket::connected, this, &SimWorker::handleConnected);
    connect(m_socket.get(), &QWebSocket::textMessageReceived, this, &SimWorker::handleText);
    connect(m_socket.get(), &QWebSocket::disconnected, this, &SimWorker::handleDisconnected);
    connect(m_socket.get(), &QWebSocket::pong, this, [this](quint64, const QByteArray &) { m_lastHeardUs = nowUs(); });
    QUrl endpoint = m_fleet->m_urls.at(m_orchestrator);
    endpoint.setPath(QString::fromUtf16(Protocol::WorkerPath));
    m_socket->open(QNetworkRequest(endpoint));
}

void SimWorker::abort()
{
    if (m_socket)
        m_socket->abort();
}

bool SimWorker::restart()
{
    if (!m_enrolled || m_stopped)
        return false;
    dropSession();
    ++m_fleet->m_restarts;
    connectNow(); // drops the old socket without its disconnected()
    return true;
}

bool SimWorker::crash(int downMs)
{
    if (!m_enrolled || m_stopped)
        return false;
    dropSession();
    ++m_fleet->m_crashes;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    m_instanceId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_held.clear();
    m_unacked.clear();
    m_stepOfLease.clear();
    m_backoff.reset();
    m_reconnectTimer.start(downMs);
    return true;
}

void SimWorker::dropSession()
{
    m_enrolled = false;
    --m_fleet->m_enrolled;
    m_reconnectTimer.stop();
}

void SimWorker::stop()
{
    m_stopped = true;
    m_reconnectTimer.stop();
    abort();
}

void SimWorker::ping()
{
    if (m_enrolled && m_socket)
        m_socket->ping();
}

void SimWorker::handleConnected()
{
    m_upgraded = true;
    m_upgradedUs = nowUs();
    Protocol::EnrollRequest request;
    request.id = QString::number(m_attempt);
    request.protocol = Swamp::protocolVersion();
    request.version = Swamp::version();
    request.token = m_fleet->m_token;
    request.machineId = m_machineId;
    request.machineKey = m_machineKey;
    request.instanceId = m_instanceId;
    request.hostname = QStringLiteral("bench-%1").arg(m_index);
    request.platform = QStringLiteral("linux");
    request.arch = QStringLiteral("x86_64");
    request.labels = {{QStringLiteral("pool"), QStringLiteral("bench")}};
    request.capacity = m_fleet->m_capacity;
    m_socket->sendTextMessage(Protocol::encodeFrame(request.toJson()));
}

void SimWorker::send(const QByteArray &frame)
{
    if (m_socket && m_enrolled)
        m_socket->sendTextMessage(QString::fromUtf8(frame));
}

void SimWorker::handleText(const QString &text)
{
    m_lastHeardUs = nowUs();
    auto frame = Protocol::decodeFrame(text, Protocol::MaxWorkerFrameBytes);
    if (!frame)
        return;
    const QString type = frame->value(QStringLiteral("type")).toString();
    if (type == Protocol::Type::Enrolled) {
        const auto enrolled = Protocol::Enrolled::decode(*frame);
        m_enrolled = true;
        m_connecting = false;
        m_everEnrolled = true;
        m_backoff.reset();
        m_dropWindow.enrolled(enrolled.reconnectGraceMs, enrolled.reconnectWindowMs);
        // Leases the orchestrator no longer holds are stale: the real worker stops the step and
        // offers its result once (refused and acked); those it still holds get their result.
        const QJsonObject &leases = enrolled.leases;
        const QSet<QString> mine = QSet<QString>(m_held) + m_unacked;
        for (const QString &lease : mine) {
            if (leases.contains(lease) && m_held.contains(lease))
                continue;
            m_held.remove(lease);
            if (!leases.contains(lease))
                m_stepOfLease.insert(lease, -1); // its ack is not this step's result
            sendFinished(lease, leases.contains(lease) ? Protocol::Outcome::Exited : Protocol::Outcome::Cancelled);
        }
        // As the real worker does: a lease whose dispatch was lost with the old connection is
        // given back.
        for (auto it = leases.constBegin(); it != leases.constEnd(); ++it) {
            if (!mine.contains(it.key()))
                send(Protocol::Rejected{it.key(), QStringLiteral("the dispatch was lost with the connection")}
                         .encode());
        }
        m_fleet->workerEnrolled(this);
    } else if (type == Protocol::Type::Dispatch) {
        handleDispatch(Protocol::Dispatch::decode(*frame));
    } else if (type == Protocol::Type::Ack) {
        const QString leaseId = Protocol::Ack::decode(*frame).leaseId;
        m_unacked.remove(leaseId);
        const int step = m_stepOfLease.value(leaseId, -1);
        m_stepOfLease.remove(leaseId);
        if (StepTrace *trace = m_fleet->trace(step)) {
            if (trace->acks++ == 0)
                trace->ackUs = m_lastHeardUs;
            ++m_fleet->m_acks;
        }
    } else if (type == Protocol::Type::Refused) {
        ++m_fleet->m_refused;
        m_held.remove(Protocol::Refused::decode(*frame).leaseId);
    } else if (type == Protocol::Type::Cancel) {
        const QString leaseId = Protocol::Cancel::decode(*frame).leaseId;
        if (m_held.remove(leaseId))
            sendFinished(leaseId, Protocol::Outcome::Cancelled);
    } else if (type == Protocol::Type::Window) {
        m_dropWindow.update(Protocol::Window::decode(*frame).reconnectWindowMs);
    } else if (type == Protocol::Type::Shutdown) {
        // As the real worker does: spread the reconnect over the window the orchestrator asks.
        m_backoff.spreadOver(Protocol::Shutdown::decode(*frame).reconnectWindowMs);
    } else if (type == Protocol::Type::Error) {
        const QString code = frame->value(QStringLiteral("code")).toString();
        ++m_fleet->m_errorCodes[code];
        if (Codes::isPermanent(code))
            m_stopped = true;
    }
}

void SimWorker::handleDispatch(const Protocol::Dispatch &dispatch)
{
    const QString &leaseId = dispatch.leaseId;
    const QString &name = dispatch.name;
    bool ok = false;
    const qsizetype number = name.startsWith(StepPrefix) ? name.mid(StepPrefix.size()).toLongLong(&ok) : -1;
    int step = -1;
    if (StepTrace *trace = ok ? m_fleet->trace(number) : nullptr) {
        step = int(number);
        if (trace->dispatches++ == 0) {
            trace->dispatchUs = m_lastHeardUs;
            trace->ranOn = m_orchestrator;
        }
    } else {
        ++m_fleet->m_unknownSteps;
    }
    m_stepOfLease.insert(leaseId, step);
    send(Protocol::Started{leaseId, 0}.encode());
    if (m_fleet->m_holdSteps) {
        m_held.insert(leaseId);
    } else if (m_fleet->m_stepMs > 0) {
        m_held.insert(leaseId);
        finishLater(leaseId);
    } else {
        sendFinished(leaseId, Protocol::Outcome::Exited);
    }
}

void SimWorker::finishLater(const QString &leaseId)
{
    // The instance the step belongs to: a crash in between forgets it.
    const QString instance = m_instanceId;
    const int ms = int(QRandomGenerator::global()->bounded(m_fleet->m_stepMs + 1));
    QTimer::singleShot(ms, this, [this, leaseId, instance] {
        if (m_instanceId == instance && m_held.remove(leaseId))
            sendFinished(leaseId, Protocol::Outcome::Exited);
    });
}

void SimWorker::sendFinished(const QString &leaseId, Protocol::Outcome outcome)
{
    m_unacked.insert(leaseId);
    Protocol::Finished finished;
    finished.leaseId = leaseId;
    finished.outcome = outcome;
    if (outcome == Protocol::Outcome::Exited)
        finished.exitCode = 0;
    send(finished.encode());
}

void SimWorker::releaseHeld()
{
    const QSet<QString> held = std::exchange(m_held, {});
    for (const QString &leaseId : held)
        sendFinished(leaseId, Protocol::Outcome::Exited);
}

void SimWorker::handleDisconnected()
{
    const bool wasEnrolled = m_enrolled;
    const bool wasConnecting = m_connecting;
    m_enrolled = false;
    m_connecting = false;
    if (wasEnrolled) {
        --m_fleet->m_enrolled;
        ++m_fleet->m_disconnects;
        // As the real worker does after a drop without a `shutdown` frame.
        m_backoff.spreadAtLeast(m_dropWindow.ms());
        if (m_socket && m_socket->closeCode() != QWebSocketProtocol::CloseCodeNormal)
            ++m_fleet->m_closeReasons[QStringLiteral("%1 %2").arg(int(m_socket->closeCode())).arg(m_socket->closeReason())];
    }
    if (wasConnecting) {
        ++m_fleet->m_failedAttempts;
        if (m_fleet->m_failover)
            m_orchestrator = (m_orchestrator + 1) % int(m_fleet->m_urls.size());
        if (m_socket) {
            ++m_fleet->m_failureReasons[m_upgraded ? QStringLiteral("after the upgrade: %1 %2")
                                                         .arg(int(m_socket->closeCode())).arg(m_socket->closeReason())
                                                   : QStringLiteral("before the upgrade: %1").arg(m_socket->errorString())];
        }
        m_fleet->workerFailed(this);
    }
    if (m_stopped)
        return;
    m_reconnectTimer.start(int(m_backoff.nextDelayMs()));
}

QJsonObject countsToJson(const QMap<QString, int> &counts)
{
    QJsonObject object;
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
        object.insert(it.key(), it.value());
    return object;
}

SimFleet::SimFleet(QList<QUrl> urls, QString token, QObject *parent)
    : QObject(parent)
    , m_urls(std::move(urls))
    , m_token(std::move(token))
{
    Q_ASSERT(!m_urls.isEmpty());
    m_tick.setInterval(100);
    connect(&m_tick, &QTimer::timeout, this, &SimFleet::tick);
    m_tick.start();
}

SimFleet::~SimFleet() = default;

void SimFleet::setHeartbeat(qint64 intervalMs, qint64 timeoutMs)
{
    m_heartbeatIntervalMs = intervalMs;
    m_heartbeatTimeoutMs = timeoutMs;
}

void SimFleet::setHoldSteps(bool hold)
{
    m_holdSteps = hold;
    if (m_shards)
        m_shards->setHoldSteps(hold);
}

void SimFleet::setShards(int shardSize, const QString &program)
{
    m_shardSize = shardSize;
    m_shardProgram = program;
}

int SimFleet::shardCount() const
{
    return m_shards ? m_shards->shardCount() : 0;
}

int SimFleet::size() const
{
    return int(m_workers.size()) + (m_shards ? m_shards->size() : 0);
}

StepTrace *SimFleet::trace(qsizetype number)
{
    // A shard does not know how many steps the scenario submits: it traces any it is given,
    // up to a bound that no scenario reaches.
    constexpr qsizetype MostTracedSteps = 10'000'000;
    if (m_traceEveryStep && number >= 0 && number < MostTracedSteps && size_t(number) >= m_steps.size())
        m_steps.resize(size_t(number) + 1);
    if (number < 0 || size_t(number) >= m_steps.size())
        return nullptr;
    if (m_traceEveryStep)
        m_changedSteps.insert(number);
    return &m_steps[size_t(number)];
}

QList<qsizetype> SimFleet::takeChangedSteps()
{
    const QSet<qsizetype> changed = std::exchange(m_changedSteps, {});
    return QList<qsizetype>(changed.cbegin(), changed.cend());
}

QString SimFleet::stepName(qsizetype number)
{
    return StepPrefix + QString::number(number);
}

qsizetype SimFleet::heldCount() const
{
    qsizetype held = m_shards ? m_shards->heldCount() : 0;
    for (const auto &worker : m_workers)
        held += worker->heldCount();
    return held;
}

void SimFleet::grow(int count, int window)
{
    if (m_shardSize > 0 && count > m_shardSize) {
        if (!m_shards)
            m_shards = std::make_unique<FleetShards>(this, m_shardProgram);
        m_shards->grow(m_firstIndex + size(), count, window, m_shardSize);
        return;
    }
    m_window = std::max(1, window);
    for (int i = 0; i < count; ++i) {
        m_workers.push_back(std::make_unique<SimWorker>(this, m_firstIndex + size()));
        m_toConnect << m_workers.back().get();
    }
    pump();
}

void SimFleet::pump()
{
    while (!m_toConnect.isEmpty() && m_windowed.size() < m_window) {
        SimWorker *worker = m_toConnect.takeFirst();
        m_windowed.insert(worker);
        worker->connectNow();
    }
}

void SimFleet::workerEnrolled(SimWorker *worker)
{
    ++m_enrolled;
    m_enrollTimesUs << worker->lastHeardUs();
    m_enrollments.append({worker->connectStartedUs(), worker->upgradedUs(), worker->lastHeardUs()});
    if (m_windowed.remove(worker))
        pump();
}

void SimFleet::workerFailed(SimWorker *worker)
{
    // A failed first attempt frees its place in the window; the worker retries with backoff.
    if (m_windowed.remove(worker))
        pump();
}

bool SimFleet::restart(int index)
{
    return index >= 0 && size_t(index) < m_workers.size() && m_workers[size_t(index)]->restart();
}

bool SimFleet::crash(int index, int downMs)
{
    return index >= 0 && size_t(index) < m_workers.size()
        && m_workers[size_t(index)]->crash(downMs);
}

void SimFleet::releaseHeld()
{
    if (m_shards)
        m_shards->releaseHeld();
    for (const auto &worker : m_workers)
        worker->releaseHeld();
}

void SimFleet::closeAll()
{
    if (m_shards)
        m_shards->closeAll();
    for (const auto &worker : m_workers)
        worker->stop();
}

void SimFleet::tick()
{
    // Like the real worker: ping every heartbeat interval (spread over the interval), drop a
    // connection silent for the heartbeat timeout or one not enrolled within 15 s.
    const quint64 slices = quint64(std::max<qint64>(1, m_heartbeatIntervalMs / 100));
    const quint64 slice = m_ticks++ % slices;
    const qint64 now = nowUs();
    for (size_t i = 0; i < m_workers.size(); ++i) {
        SimWorker *worker = m_workers[i].get();
        if (worker->isConnecting()) {
            if (now - worker->connectStartedUs() > 15'000'000) {
                ++m_closeReasons[QStringLiteral("bench: no enrollment within 15 s")];
                worker->abort();
            }
            continue;
        }
        if (i % slices != slice || !worker->isEnrolled())
            continue;
        if (now - worker->lastHeardUs() > m_heartbeatTimeoutMs * 1000) {
            ++m_closeReasons[QStringLiteral("bench: orchestrator silent")];
            worker->abort();
        }
        else
            worker->ping();
    }
}

} // namespace SwampBench
