#include "worker/steprunner.h"

#include "common/files.h"
#include "protocol/protocol.h"
#include "scheduling/steps.h"

#include <QDir>
#include <QJsonArray>
#include <QProcessEnvironment>

#include <csignal>
#include <sys/prctl.h>
#include <unistd.h>

namespace Swamp {

namespace {
constexpr int KillGraceMs = 5000;
constexpr qsizetype ChunkChars = 32 * 1024;
} // namespace

StepRunner::StepRunner(const QJsonObject &dispatch, const QString &workRoot, QObject *parent)
    : QObject(parent)
    , m_leaseId(dispatch.value(QStringLiteral("leaseId")).toString())
    , m_stepId(dispatch.value(QStringLiteral("stepId")).toString())
    , m_name(dispatch.value(QStringLiteral("name")).toString())
    , m_shell(dispatch.value(QStringLiteral("shell")).toBool())
    , m_env(dispatch.value(QStringLiteral("env")).toObject())
    , m_timeoutMs(dispatch.value(QStringLiteral("timeoutMs")).toInteger(0))
    , m_workDir(workRoot + u'/' + m_leaseId)
{
    for (const QJsonValue &arg : dispatch.value(QStringLiteral("command")).toArray())
        m_command << arg.toString();
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        m_stopOutcome = QStringLiteral("timed_out");
        signalGroup(SIGTERM);
        m_killTimer.start(KillGraceMs);
    });
    m_killTimer.setSingleShot(true);
    connect(&m_killTimer, &QTimer::timeout, this, [this] { signalGroup(SIGKILL); });
}

StepRunner::~StepRunner()
{
    if (m_process && m_process->state() != QProcess::NotRunning) {
        m_process->disconnect(this);
        signalGroup(SIGKILL);
        m_process->waitForFinished(1000);
    }
    QDir(m_workDir).removeRecursively();
}

QStringList StepRunner::minimalEnvironment(const QJsonObject &stepEnv)
{
    const QProcessEnvironment system = QProcessEnvironment::systemEnvironment();
    QProcessEnvironment env;
    for (const char *name : {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL"}) {
        const QString key = QLatin1String(name);
        if (system.contains(key))
            env.insert(key, system.value(key));
    }
    if (!env.contains(QStringLiteral("PATH")))
        env.insert(QStringLiteral("PATH"), QStringLiteral("/usr/local/bin:/usr/bin:/bin"));
    for (auto it = stepEnv.begin(); it != stepEnv.end(); ++it) {
        if (!it.key().startsWith(u"SWAMP_"))
            env.insert(it.key(), it.value().toString());
    }
    return env.toStringList();
}

void StepRunner::start()
{
    if (auto dir = ensurePrivateDirectory(m_workDir); !dir) {
        finish(QStringLiteral("failed_to_start"), std::nullopt, dir.error().text());
        return;
    }
    m_process = std::make_unique<QProcess>();
    m_process->setWorkingDirectory(m_workDir);
    m_process->setEnvironment(minimalEnvironment(m_env));
    m_process->setInputChannelMode(QProcess::ManagedInputChannel);
    // Its own process group, so a timeout or cancel reaches everything the step started.
    // If the worker dies (kill -9), the step dies with it instead of running on unsupervised.
    m_process->setChildProcessModifier([] {
        ::setsid();
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    });
    connect(m_process.get(), &QProcess::readyReadStandardOutput, this,
            [this] { readStream(QProcess::StandardOutput); });
    connect(m_process.get(), &QProcess::readyReadStandardError, this,
            [this] { readStream(QProcess::StandardError); });
    connect(m_process.get(), &QProcess::started, this, [this] {
        m_process->closeWriteChannel();
        if (m_timeoutMs > 0)
            m_timeout.start(int(std::min<qint64>(m_timeoutMs, std::numeric_limits<int>::max())));
        m_startedFrame = {{QStringLiteral("type"), Protocol::Type::Started},
                          {QStringLiteral("leaseId"), m_leaseId},
                          {QStringLiteral("pid"), m_process->processId()}};
        Q_EMIT frameReady(m_startedFrame);
    });
    connect(m_process.get(), &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart) {
            finish(QStringLiteral("failed_to_start"), std::nullopt,
                   tr("cannot start '%1': %2").arg(m_command.value(0), m_process->errorString()));
        }
    });
    connect(m_process.get(), &QProcess::finished, this, [this](int exitCode, QProcess::ExitStatus status) {
        readStream(QProcess::StandardOutput);
        readStream(QProcess::StandardError);
        m_timeout.stop();
        m_killTimer.stop();
        if (!m_stopOutcome.isEmpty())
            finish(m_stopOutcome, std::nullopt, QString());
        else if (status == QProcess::CrashExit)
            finish(QStringLiteral("crashed"), std::nullopt, tr("the step was killed by a signal"));
        else
            finish(QStringLiteral("exited"), exitCode, QString());
    });
    if (m_shell)
        m_process->start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), m_command.value(0)});
    else
        m_process->start(m_command.value(0), m_command.mid(1));
}

void StepRunner::cancel(const QString &)
{
    if (isDone())
        return;
    m_stopOutcome = QStringLiteral("cancelled");
    if (!m_process || m_process->state() == QProcess::NotRunning) {
        finish(QStringLiteral("cancelled"), std::nullopt, QString());
        return;
    }
    signalGroup(SIGTERM);
    m_killTimer.start(KillGraceMs);
}

void StepRunner::signalGroup(int signal)
{
    if (!m_process || m_process->state() == QProcess::NotRunning)
        return;
    const qint64 pid = m_process->processId();
    if (pid > 0 && ::kill(-pid_t(pid), signal) != 0)
        ::kill(pid_t(pid), signal);
}

void StepRunner::readStream(QProcess::ProcessChannel channel)
{
    if (!m_process)
        return;
    m_process->setReadChannel(channel);
    const QByteArray bytes = m_process->readAll();
    if (bytes.isEmpty())
        return;
    QStringDecoder &decoder = channel == QProcess::StandardOutput ? m_stdoutDecoder : m_stderrDecoder;
    const QString text = decoder.decode(bytes);
    const QString stream = channel == QProcess::StandardOutput ? QStringLiteral("stdout") : QStringLiteral("stderr");
    for (qsizetype at = 0; at < text.size(); at += ChunkChars)
        emitOutput(stream, text.mid(at, ChunkChars));
}

void StepRunner::emitOutput(const QString &stream, const QString &data)
{
    if (m_truncated)
        return;
    m_bytes += data.size();
    if (m_bytes > MaxStepOutputBytes)
        m_truncated = true; // the orchestrator stores the marker; nothing more is sent
    const QJsonObject frame{{QStringLiteral("type"), Protocol::Type::Output},
                            {QStringLiteral("leaseId"), m_leaseId},
                            {QStringLiteral("seq"), ++m_seq},
                            {QStringLiteral("stream"), stream},
                            {QStringLiteral("data"), data}};
    m_outputFrames << frame;
    Q_EMIT frameReady(frame);
}

void StepRunner::finish(const QString &outcome, std::optional<int> exitCode, const QString &error)
{
    if (isDone())
        return;
    QJsonObject frame{{QStringLiteral("type"), Protocol::Type::Finished},
                      {QStringLiteral("leaseId"), m_leaseId},
                      {QStringLiteral("outcome"), outcome},
                      {QStringLiteral("lastSeq"), m_seq}};
    frame.insert(QStringLiteral("exitCode"), exitCode ? QJsonValue(*exitCode) : QJsonValue(QJsonValue::Null));
    if (!error.isEmpty())
        frame.insert(QStringLiteral("error"), error);
    m_finishedFrame = frame;
    QDir(m_workDir).removeRecursively();
    Q_EMIT frameReady(frame);
    Q_EMIT done();
}

QList<QJsonObject> StepRunner::framesAfter(int lastSeq) const
{
    // `started` goes again too: the orchestrator ignores a repeat, and must not miss it (an
    // at-most-once step that started is never run twice).
    QList<QJsonObject> frames;
    if (!m_startedFrame.isEmpty())
        frames << m_startedFrame;
    for (const QJsonObject &frame : m_outputFrames) {
        if (frame.value(QStringLiteral("seq")).toInt() > lastSeq)
            frames << frame;
    }
    if (!m_finishedFrame.isEmpty())
        frames << m_finishedFrame;
    return frames;
}

} // namespace Swamp
