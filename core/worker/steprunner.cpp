#include "worker/steprunner.h"

#include "common/files.h"
#include "common/logging.h"
#include "model/limits.h"
#include "protocol/protocol.h"
#include "worker/stepcgroups.h"
#include "worker/stepuser.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcessEnvironment>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace Swamp {

namespace {
constexpr int KillGraceMs = 5000;
constexpr qsizetype ChunkChars = 32 * 1024;

// What the step's child does between fork and exec, prepared before the fork: a forked child of
// a threaded process may only make async-signal-safe calls (no allocation, no locks).
struct ChildSetup
{
    QByteArray workDir;
    QByteArray cgroupProcs; // empty: no cgroup
    bool switchUser = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    pid_t parent = 0;
};

[[noreturn]] void childFails(const char *message, size_t length)
{
    ssize_t written = ::write(STDERR_FILENO, message, length);
    Q_UNUSED(written);
    ::_exit(126);
}

// A session and process group of its own (so signals reach everything it starts), its cgroup,
// then the step user (groups, gid, uid: in that order, and checked: a step must never run with
// the worker's privileges by mistake), no capabilities, and death with the worker.
void setUpChild(const ChildSetup &setup)
{
    static const char cannotSwitch[] = "swamp: cannot switch to the step user; the step was not run\n";
    static const char noWorkDir[] = "swamp: cannot enter the step's work directory; the step was not run\n";
    ::setsid();
    if (!setup.cgroupProcs.isEmpty()) {
        const int fd = ::open(setup.cgroupProcs.constData(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t written = ::write(fd, "0", 1);
            Q_UNUSED(written);
            ::close(fd);
        }
    }
    if (setup.switchUser) {
        if (::setgroups(setup.groups.size(), setup.groups.data()) != 0 || ::setgid(setup.gid) != 0
            || ::setuid(setup.uid) != 0 || ::getuid() != setup.uid || ::geteuid() != setup.uid
            || ::getegid() != setup.gid || ::setuid(0) == 0)
            childFails(cannotSwitch, sizeof cannotSwitch - 1);
    }
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // No descriptor of the worker's reaches the step (its sockets to the orchestrator among them:
    // a step could write frames on them). Close-on-exec rather than closed: QProcess reports a
    // failed exec through a pipe of its own until then.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        rlimit limit{};
        const long open = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? long(limit.rlim_cur) : 65536;
        for (int fd = 3; fd < open; ++fd)
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (::chdir(setup.workDir.constData()) != 0)
        childFails(noWorkDir, sizeof noWorkDir - 1);
    // After the user switch, which clears it. If the worker died before this, die now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != setup.parent)
        ::_exit(127);
}
} // namespace

StepRunner::StepRunner(const Protocol::Dispatch &dispatch, const StepLaunch &launch, QObject *parent)
    : QObject(parent)
    , m_dispatch(dispatch)
    , m_workDir(launch.workRoot + u'/' + dispatch.leaseId)
    , m_launch(launch)
{
    QStringList secrets;
    for (const QJsonValue &value : std::as_const(m_dispatch.secretEnv))
        secrets << value.toString();
    m_stdoutMasker = SecretMasker(secrets);
    m_stderrMasker = SecretMasker(secrets);
    m_timeout.setSingleShot(true);
    connect(&m_timeout, &QTimer::timeout, this, [this] {
        m_stopOutcome = Protocol::Outcome::TimedOut;
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
    killLeftovers();
    QDir(m_workDir).removeRecursively();
}

QStringList StepRunner::minimalEnvironment(const QJsonObject &stepEnv, const StepUser *user,
                                           const QJsonObject &secretEnv)
{
    const QProcessEnvironment system = QProcessEnvironment::systemEnvironment();
    QProcessEnvironment env;
    for (const char *name : {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL"}) {
        const QString key = QLatin1String(name);
        if (system.contains(key))
            env.insert(key, system.value(key));
    }
    if (user) {
        // The worker's TMPDIR may be its own: the step user gets the system's.
        env.remove(QStringLiteral("TMPDIR"));
        env.insert(QStringLiteral("USER"), user->name);
        env.insert(QStringLiteral("LOGNAME"), user->name);
        env.insert(QStringLiteral("HOME"), user->home);
        if (!user->shell.isEmpty())
            env.insert(QStringLiteral("SHELL"), user->shell);
    }
    if (!env.contains(QStringLiteral("PATH")))
        env.insert(QStringLiteral("PATH"), QStringLiteral("/usr/local/bin:/usr/bin:/bin"));
    for (const QJsonObject &variables : {stepEnv, secretEnv}) {
        for (auto it = variables.begin(); it != variables.end(); ++it) {
            if (!it.key().startsWith(u"SWAMP_"))
                env.insert(it.key(), it.value().toString());
        }
    }
    return env.toStringList();
}

void StepRunner::start()
{
    if (auto dir = ensurePrivateDirectory(m_workDir); !dir) {
        finish(Protocol::Outcome::FailedToStart, std::nullopt, dir.error().text());
        return;
    }
    ChildSetup setup;
    setup.workDir = QFile::encodeName(m_workDir);
    setup.parent = ::getpid();
    if (const StepUser *user = m_launch.user) {
        // The step's own directory; everything above it stays the worker's.
        if (::chown(setup.workDir.constData(), user->uid, user->gid) != 0) {
            finish(Protocol::Outcome::FailedToStart, std::nullopt,
                   tr("cannot give the work directory %1 to the step user %2: %3")
                       .arg(m_workDir, user->name, QString::fromLocal8Bit(std::strerror(errno))));
            return;
        }
        setup.switchUser = true;
        setup.uid = user->uid;
        setup.gid = user->gid;
        setup.groups = user->groups;
    }
    if (m_launch.cgroups) {
        auto cgroup = m_launch.cgroups->create(m_dispatch.leaseId);
        if (cgroup) {
            m_cgroup = *cgroup;
            setup.cgroupProcs = StepCgroups::procsFile(m_cgroup);
        } else {
            qCWarning(lcWorker).noquote() << cgroup.error().text();
        }
    }
    m_process = std::make_unique<QProcess>();
    m_process->setEnvironment(minimalEnvironment(m_dispatch.env, m_launch.user, m_dispatch.secretEnv));
    m_process->setInputChannelMode(QProcess::ManagedInputChannel);
    m_process->setChildProcessModifier([setup] { setUpChild(setup); });
    connect(m_process.get(), &QProcess::readyReadStandardOutput, this,
            [this] { readStream(QProcess::StandardOutput); });
    connect(m_process.get(), &QProcess::readyReadStandardError, this,
            [this] { readStream(QProcess::StandardError); });
    connect(m_process.get(), &QProcess::started, this, [this] {
        m_pid = m_process->processId();
        m_process->closeWriteChannel();
        if (m_dispatch.timeoutMs > 0)
            m_timeout.start(int(std::min<qint64>(m_dispatch.timeoutMs, std::numeric_limits<int>::max())));
        m_started = Protocol::Started{m_dispatch.leaseId, m_process->processId()};
        Q_EMIT frameReady(m_started->encode());
        Q_EMIT started();
    });
    connect(m_process.get(), &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart) {
            finish(Protocol::Outcome::FailedToStart, std::nullopt,
                   tr("cannot start '%1': %2").arg(m_dispatch.command.value(0), m_process->errorString()));
        }
    });
    connect(m_process.get(), &QProcess::finished, this, [this](int exitCode, QProcess::ExitStatus status) {
        readStream(QProcess::StandardOutput);
        readStream(QProcess::StandardError);
        // What the maskers held back in case a secret continued: the streams are over.
        emitText(Protocol::OutputStream::Stdout, m_stdoutMasker.flush());
        emitText(Protocol::OutputStream::Stderr, m_stderrMasker.flush());
        m_timeout.stop();
        m_killTimer.stop();
        killLeftovers();
        if (m_stopOutcome)
            finish(*m_stopOutcome, std::nullopt, QString());
        else if (status == QProcess::CrashExit)
            finish(Protocol::Outcome::Crashed, std::nullopt, tr("the step was killed by a signal"));
        else
            finish(Protocol::Outcome::Exited, exitCode, QString());
    });
    if (m_dispatch.shell)
        m_process->start(QStringLiteral("/bin/sh"), {QStringLiteral("-c"), m_dispatch.command.value(0)});
    else
        m_process->start(m_dispatch.command.value(0), m_dispatch.command.mid(1));
}

void StepRunner::cancel(const QString &)
{
    if (isDone())
        return;
    m_stopOutcome = Protocol::Outcome::Cancelled;
    if (!m_process || m_process->state() == QProcess::NotRunning) {
        finish(Protocol::Outcome::Cancelled, std::nullopt, QString());
        return;
    }
    signalGroup(SIGTERM);
    m_killTimer.start(KillGraceMs);
}

void StepRunner::signalGroup(int signal)
{
    if (!m_cgroup.isEmpty())
        StepCgroups::signalAll(m_cgroup, signal);
    if (!m_process || m_process->state() == QProcess::NotRunning)
        return;
    const qint64 pid = m_process->processId();
    if (pid > 0 && ::kill(-pid_t(pid), signal) != 0)
        ::kill(pid_t(pid), signal);
}

void StepRunner::killLeftovers()
{
    // The step's process has ended (or is being killed): its group and cgroup may still hold
    // what it started in the background. Its pid stays its group's id while any member lives.
    if (m_pid > 0)
        ::kill(-pid_t(m_pid), SIGKILL);
    m_pid = 0;
    if (!m_cgroup.isEmpty())
        StepCgroups::release(std::exchange(m_cgroup, QString()));
}

void StepRunner::readStream(QProcess::ProcessChannel channel)
{
    if (!m_process)
        return;
    m_process->setReadChannel(channel);
    const QByteArray bytes = m_process->readAll();
    if (bytes.isEmpty())
        return;
    const bool out = channel == QProcess::StandardOutput;
    QStringDecoder &decoder = out ? m_stdoutDecoder : m_stderrDecoder;
    SecretMasker &masker = out ? m_stdoutMasker : m_stderrMasker;
    emitText(out ? Protocol::OutputStream::Stdout : Protocol::OutputStream::Stderr, masker.feed(decoder.decode(bytes)));
}

void StepRunner::emitText(Protocol::OutputStream stream, const QString &text)
{
    // A chunk never ends inside a surrogate pair: each half alone is not UTF-8 on the wire.
    for (qsizetype at = 0; at < text.size();) {
        qsizetype size = std::min(ChunkChars, text.size() - at);
        if (at + size < text.size() && text.at(at + size - 1).isHighSurrogate() && size > 1)
            --size;
        emitOutput(stream, text.mid(at, size));
        at += size;
    }
}

void StepRunner::emitOutput(Protocol::OutputStream stream, const QString &data)
{
    if (m_truncated)
        return;
    m_bytes += data.size();
    if (m_bytes > MaxStepOutputBytes)
        m_truncated = true; // the orchestrator stores the marker; nothing more is sent
    m_outputs << Protocol::Output{m_dispatch.leaseId, ++m_seq, stream, data};
    Q_EMIT frameReady(m_outputs.constLast().encode());
}

void StepRunner::finish(Protocol::Outcome outcome, std::optional<int> exitCode, const QString &error)
{
    if (isDone())
        return;
    Protocol::Finished finished;
    finished.leaseId = m_dispatch.leaseId;
    finished.outcome = outcome;
    finished.outcomeText = Protocol::outcomeName(outcome);
    finished.exitCode = exitCode;
    finished.error = error;
    finished.lastSeq = m_seq;
    m_finished = finished;
    QDir(m_workDir).removeRecursively();
    Q_EMIT frameReady(finished.encode());
    Q_EMIT done();
}

QList<QByteArray> StepRunner::framesAfter(int lastSeq) const
{
    // `started` goes again too: the orchestrator ignores a repeat, and must not miss it (an
    // at-most-once step that started is never run twice).
    QList<QByteArray> frames;
    if (m_started)
        frames << m_started->encode();
    for (const Protocol::Output &output : m_outputs) {
        if (output.seq > lastSeq)
            frames << output.encode();
    }
    if (m_finished)
        frames << m_finished->encode();
    return frames;
}

} // namespace Swamp
