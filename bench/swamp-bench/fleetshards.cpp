#include "fleetshards.h"

#include "common/openfiles.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QSocketNotifier>
#include <QTextStream>
#include <QTimer>

#include <cerrno>
#include <cstdio>
#include <unistd.h>

namespace SwampBench {

namespace {

// The keys of the lines between the bench and its shards.
namespace Key {
const QString Urls = QStringLiteral("urls");
const QString Token = QStringLiteral("token");
const QString First = QStringLiteral("first");
const QString Count = QStringLiteral("count");
const QString Window = QStringLiteral("window");
const QString Capacity = QStringLiteral("capacity");
const QString Hold = QStringLiteral("hold");
const QString HeartbeatMs = QStringLiteral("heartbeatMs");
const QString HeartbeatTimeoutMs = QStringLiteral("heartbeatTimeoutMs");
const QString Command = QStringLiteral("command");
const QString Attempts = QStringLiteral("attempts");
const QString Enrollments = QStringLiteral("enrollments");
const QString Steps = QStringLiteral("steps");
const QString Counters = QStringLiteral("counters");
const QString ErrorCodes = QStringLiteral("errorCodes");
const QString CloseReasons = QStringLiteral("closeReasons");
const QString FailureReasons = QStringLiteral("failureReasons");
} // namespace Key

QByteArray line(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
}

// Adds what a shard counted since its last report to the fleet's total.
template<typename T>
void addChange(T &total, T &seen, T now)
{
    total += now - seen;
    seen = now;
}

void addChanges(QMap<QString, int> &total, QMap<QString, int> &seen, const QJsonObject &now)
{
    for (auto it = now.constBegin(); it != now.constEnd(); ++it)
        addChange(total[it.key()], seen[it.key()], it.value().toInt());
}

} // namespace

// What the parent knows of one shard: its counters as last reported, and its step traces.
struct FleetShards::Shard
{
    int number = 0;
    int size = 0;
    std::unique_ptr<QProcess> process;
    bool closing = false;
    bool exited = false;
    int enrolled = 0;
    int restarts = 0;
    int failed = 0;
    int disconnects = 0;
    qint64 refused = 0;
    qint64 unknownSteps = 0;
    qint64 acks = 0;
    qint64 held = 0;
    QMap<QString, int> errorCodes;
    QMap<QString, int> closeReasons;
    QMap<QString, int> failureReasons;
    QHash<qsizetype, StepTrace> steps;
};

FleetShards::FleetShards(SimFleet *fleet, QString program, QObject *parent)
    : QObject(parent)
    , m_fleet(fleet)
    , m_program(std::move(program))
{
}

FleetShards::~FleetShards()
{
    for (const auto &shard : m_shards) {
        shard->process->disconnect(this);
        shard->process->closeWriteChannel();
    }
    for (const auto &shard : m_shards) {
        if (!shard->process->waitForFinished(5000)) {
            shard->process->kill();
            shard->process->waitForFinished(5000);
        }
    }
}

void FleetShards::grow(int firstIndex, int count, int window, int shardSize)
{
    const int shards = (count + shardSize - 1) / shardSize;
    QJsonArray urls;
    for (const QUrl &url : std::as_const(m_fleet->m_urls))
        urls << url.toString();
    int next = firstIndex;
    for (int i = 0; i < shards; ++i) {
        auto shard = std::make_unique<Shard>();
        shard->number = int(m_shards.size());
        shard->size = count / shards + (i < count % shards ? 1 : 0);
        shard->process = std::make_unique<QProcess>();
        shard->process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        Shard *raw = shard.get();
        connect(shard->process.get(), &QProcess::readyReadStandardOutput, this, [this, raw] { readReports(*raw); });
        connect(shard->process.get(), &QProcess::finished, this, [this, raw](int exitCode, QProcess::ExitStatus status) {
            shardExited(*raw, status == QProcess::NormalExit ? exitCode : -1);
        });
        shard->process->start(m_program, {QStringLiteral("--shard")});
        // The window is shared out in proportion; the token goes on stdin, not the command line.
        shard->process->write(line({{Key::Urls, urls},
                                    {Key::Token, m_fleet->m_token},
                                    {Key::First, next},
                                    {Key::Count, shard->size},
                                    {Key::Window, std::max(1, int(qint64(window) * shard->size / count))},
                                    {Key::Capacity, m_fleet->m_capacity},
                                    {Key::Hold, m_fleet->m_holdSteps},
                                    {Key::HeartbeatMs, m_fleet->m_heartbeatIntervalMs},
                                    {Key::HeartbeatTimeoutMs, m_fleet->m_heartbeatTimeoutMs}}));
        next += shard->size;
        m_size += shard->size;
        m_shards.push_back(std::move(shard));
    }
}

void FleetShards::sendAll(const QJsonObject &command)
{
    const QByteArray text = line(command);
    for (const auto &shard : m_shards) {
        if (!shard->exited)
            shard->process->write(text);
    }
}

void FleetShards::setHoldSteps(bool hold)
{
    sendAll({{Key::Command, Key::Hold}, {Key::Hold, hold}});
}

void FleetShards::releaseHeld()
{
    sendAll({{Key::Command, QStringLiteral("release")}});
}

void FleetShards::closeAll()
{
    for (const auto &shard : m_shards)
        shard->closing = true;
    sendAll({{Key::Command, QStringLiteral("close")}});
}

qsizetype FleetShards::heldCount() const
{
    qsizetype held = 0;
    for (const auto &shard : m_shards)
        held += shard->held;
    return held;
}

void FleetShards::readReports(Shard &shard)
{
    while (shard.process->canReadLine()) {
        const QJsonObject report = QJsonDocument::fromJson(shard.process->readLine()).object();
        if (!report.isEmpty())
            apply(shard, report);
    }
}

void FleetShards::apply(Shard &shard, const QJsonObject &report)
{
    SimFleet &fleet = *m_fleet;
    for (const QJsonValue &attempt : report.value(Key::Attempts).toArray())
        fleet.m_attemptTimesUs << attempt.toInteger();
    for (const QJsonValue &value : report.value(Key::Enrollments).toArray()) {
        const QJsonArray times = value.toArray();
        const Enrollment enrollment{times.at(0).toInteger(), times.at(1).toInteger(), times.at(2).toInteger()};
        fleet.m_enrollments << enrollment;
        fleet.m_enrollTimesUs << enrollment.enrolledUs;
    }
    applySteps(shard, report.value(Key::Steps).toArray());
    const QJsonObject counters = report.value(Key::Counters).toObject();
    const auto number = [&counters](const char *name) { return counters.value(QLatin1String(name)).toInteger(); };
    addChange(fleet.m_enrolled, shard.enrolled, int(number("enrolled")));
    addChange(fleet.m_restarts, shard.restarts, int(number("restarts")));
    addChange(fleet.m_failedAttempts, shard.failed, int(number("failed")));
    addChange(fleet.m_disconnects, shard.disconnects, int(number("disconnects")));
    addChange(fleet.m_refused, shard.refused, number("refused"));
    addChange(fleet.m_unknownSteps, shard.unknownSteps, number("unknownSteps"));
    addChange(fleet.m_acks, shard.acks, number("acks"));
    shard.held = number("held");
    addChanges(fleet.m_errorCodes, shard.errorCodes, report.value(Key::ErrorCodes).toObject());
    addChanges(fleet.m_closeReasons, shard.closeReasons, report.value(Key::CloseReasons).toObject());
    addChanges(fleet.m_failureReasons, shard.failureReasons, report.value(Key::FailureReasons).toObject());
}

void FleetShards::applySteps(Shard &shard, const QJsonArray &steps)
{
    std::vector<StepTrace> &traces = m_fleet->m_steps;
    for (const QJsonValue &value : steps) {
        const QJsonArray fields = value.toArray();
        const qsizetype number = fields.at(0).toInteger();
        StepTrace &seen = shard.steps[number];
        seen.dispatches = fields.at(1).toInt();
        seen.acks = fields.at(2).toInt();
        seen.dispatchUs = fields.at(3).toInteger();
        seen.ackUs = fields.at(4).toInteger();
        seen.ranOn = fields.at(5).toInt();
        if (number < 0 || size_t(number) >= traces.size())
            continue;
        // Across the shards: every dispatch and ack counts, the first of each is the step's.
        StepTrace &trace = traces[size_t(number)];
        trace.dispatches = trace.acks = 0;
        trace.dispatchUs = trace.ackUs = 0;
        for (const auto &other : m_shards) {
            const auto it = other->steps.constFind(number);
            if (it == other->steps.cend())
                continue;
            if (it->dispatches > 0 && (trace.dispatches == 0 || it->dispatchUs < trace.dispatchUs)) {
                trace.dispatchUs = it->dispatchUs;
                trace.ranOn = it->ranOn;
            }
            if (it->acks > 0 && (trace.acks == 0 || it->ackUs < trace.ackUs))
                trace.ackUs = it->ackUs;
            trace.dispatches += it->dispatches;
            trace.acks += it->acks;
        }
    }
}

void FleetShards::shardExited(Shard &shard, int exitCode)
{
    readReports(shard);
    shard.exited = true;
    if (shard.closing && exitCode == 0)
        return;
    // Its workers are gone: they count as dropped, with the reason.
    const QString reason = QStringLiteral("bench: shard %1 exited with status %2").arg(shard.number).arg(exitCode);
    QTextStream(stderr) << "error: " << reason << Qt::endl;
    m_fleet->m_closeReasons[reason] += shard.enrolled;
    m_fleet->m_disconnects += shard.enrolled;
    addChange(m_fleet->m_enrolled, shard.enrolled, 0);
    shard.held = 0;
}

namespace {

// The child's side: a SimFleet of its own, driven by lines on stdin, reported on stdout.
class ShardChild final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ShardChild)

public:
    ShardChild()
        : m_stdin(STDIN_FILENO, QSocketNotifier::Read)
    {
        connect(&m_stdin, &QSocketNotifier::activated, this, &ShardChild::readCommands);
        m_report.setInterval(50);
        connect(&m_report, &QTimer::timeout, this, &ShardChild::report);
    }

private:
    void readCommands();
    void handle(const QJsonObject &command);
    void start(const QJsonObject &config);
    void finish();
    void report();

    QSocketNotifier m_stdin;
    QByteArray m_buffer;
    std::unique_ptr<SimFleet> m_fleet;
    QTimer m_report;
    qsizetype m_sentAttempts = 0;
    qsizetype m_sentEnrollments = 0;
    QJsonObject m_sentState; // counters and reasons as last reported
};

void ShardChild::readCommands()
{
    char chunk[65536];
    const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got <= 0) { // the bench is gone
        finish();
        return;
    }
    m_buffer.append(chunk, got);
    qsizetype end = 0;
    while ((end = m_buffer.indexOf('\n')) >= 0) {
        const QJsonObject command = QJsonDocument::fromJson(m_buffer.left(end)).object();
        m_buffer.remove(0, end + 1);
        handle(command);
    }
}

void ShardChild::handle(const QJsonObject &command)
{
    if (!m_fleet) {
        start(command);
        return;
    }
    const QString name = command.value(Key::Command).toString();
    if (name == Key::Hold)
        m_fleet->setHoldSteps(command.value(Key::Hold).toBool());
    else if (name == u"release")
        m_fleet->releaseHeld();
    else if (name == u"close")
        finish();
}

void ShardChild::start(const QJsonObject &config)
{
    QList<QUrl> urls;
    for (const QJsonValue &url : config.value(Key::Urls).toArray())
        urls << QUrl(url.toString());
    if (urls.isEmpty()) {
        QTextStream(stderr) << "error: swamp-bench --shard reads its configuration from the bench on stdin" << Qt::endl;
        QCoreApplication::exit(2);
        return;
    }
    const int count = config.value(Key::Count).toInt();
    Swamp::raiseOpenFileLimit(); // one socket per worker
    m_fleet = std::make_unique<SimFleet>(urls, config.value(Key::Token).toString());
    m_fleet->setFirstIndex(config.value(Key::First).toInt());
    m_fleet->traceEveryStep();
    m_fleet->setCapacity(config.value(Key::Capacity).toInt(1));
    m_fleet->setHoldSteps(config.value(Key::Hold).toBool());
    m_fleet->setHeartbeat(config.value(Key::HeartbeatMs).toInteger(5000),
                          config.value(Key::HeartbeatTimeoutMs).toInteger(15000));
    m_fleet->grow(count, config.value(Key::Window).toInt(1));
    m_report.start();
}

void ShardChild::finish()
{
    m_stdin.setEnabled(false);
    if (m_fleet) {
        m_fleet->closeAll();
        report();
    }
    QCoreApplication::exit(0);
}

void ShardChild::report()
{
    const SimFleet &fleet = *m_fleet;
    QJsonObject out;
    QJsonArray attempts;
    for (qint64 t : fleet.connectAttemptTimesUs().mid(m_sentAttempts))
        attempts << t;
    m_sentAttempts = fleet.connectAttemptTimesUs().size();
    QJsonArray enrollments;
    for (const Enrollment &e : fleet.enrollments().mid(m_sentEnrollments))
        enrollments << QJsonArray{e.startedUs, e.upgradedUs, e.enrolledUs};
    m_sentEnrollments = fleet.enrollments().size();
    QJsonArray steps;
    for (qsizetype number : m_fleet->takeChangedSteps()) {
        const StepTrace &t = m_fleet->steps()[size_t(number)];
        steps << QJsonArray{number, t.dispatches, t.acks, t.dispatchUs, t.ackUs, t.ranOn};
    }
    const QJsonObject state{
        {Key::Counters, QJsonObject{{QStringLiteral("enrolled"), fleet.enrolledCount()},
                                    {QStringLiteral("restarts"), fleet.restarts()},
                                    {QStringLiteral("failed"), fleet.failedAttempts()},
                                    {QStringLiteral("disconnects"), fleet.disconnects()},
                                    {QStringLiteral("refused"), fleet.refused()},
                                    {QStringLiteral("unknownSteps"), fleet.unknownSteps()},
                                    {QStringLiteral("acks"), fleet.finishedSteps()},
                                    {QStringLiteral("held"), fleet.heldCount()}}},
        {Key::ErrorCodes, countsToJson(fleet.errorCodes())},
        {Key::CloseReasons, countsToJson(fleet.closeReasons())},
        {Key::FailureReasons, countsToJson(fleet.failureReasons())}};
    if (attempts.isEmpty() && enrollments.isEmpty() && steps.isEmpty() && state == m_sentState)
        return;
    m_sentState = state;
    out = state;
    out.insert(Key::Attempts, attempts);
    out.insert(Key::Enrollments, enrollments);
    out.insert(Key::Steps, steps);
    const QByteArray text = line(out);
    std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
    std::fflush(stdout);
}

} // namespace

int runFleetShard()
{
    ShardChild child;
    return QCoreApplication::exec();
}

} // namespace SwampBench

#include "fleetshards.moc"
