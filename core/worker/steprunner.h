#pragma once

#include "common/secretmasker.h"

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QProcess>
#include <QStringDecoder>
#include <QTimer>

#include <memory>

namespace Swamp {

class StepCgroups;
struct StepUser;

// Where and as whom the worker's steps run, decided once when it starts.
struct StepLaunch
{
    QString workRoot;                   // each step gets <workRoot>/<lease id>, removed afterwards
    const StepUser *user = nullptr;     // --step-user; null: the worker's own user
    const StepCgroups *cgroups = nullptr; // null: no usable cgroup v2 (the process group only)
};

// Runs one dispatched step: QProcess on argv (or /bin/sh -c for shell steps) in a session and
// process group of its own (and a cgroup of its own where the worker has one), as the step user
// when one is set, in a scratch directory that is removed afterwards, with a minimal environment
// (no SWAMP_* variables, never the worker's token). When the step's process ends (exit, cancel,
// timeout), everything else it started is killed: its process group and its cgroup. Every output
// frame and the final `finished` frame are kept until the orchestrator acknowledges the lease, so
// they can be sent again after a reconnect without a gap or a duplicate (sequence numbers).
class StepRunner final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepRunner)

public:
    StepRunner(const QJsonObject &dispatch, const StepLaunch &launch, QObject *parent = nullptr);
    ~StepRunner() override;

    void start();
    // Terminates the process group, then kills it after a grace; ends with outcome "cancelled".
    void cancel(const QString &reason);

    QString leaseId() const { return m_leaseId; }
    QString stepId() const { return m_stepId; }
    QString name() const { return m_name; }
    bool isDone() const { return !m_finishedFrame.isEmpty(); }
    // Frames to (re)send after the orchestrator has stored output up to `lastSeq`.
    QList<QJsonObject> framesAfter(int lastSeq) const;
    QJsonObject finishedFrame() const { return m_finishedFrame; }
    // PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ, TMPDIR and SHELL of the worker (the step
    // user's own HOME, USER, LOGNAME and SHELL with one), plus the step's variables (env, then
    // its --secret-env) but SWAMP_*.
    static QStringList minimalEnvironment(const QJsonObject &stepEnv, const StepUser *user = nullptr,
                                          const QJsonObject &secretEnv = {});

Q_SIGNALS:
    void frameReady(const QJsonObject &frame); // started, output or finished
    void done();

private:
    void readStream(QProcess::ProcessChannel channel);
    // Sends `text` of `stream` in chunks of at most ChunkChars.
    void emitText(const QString &stream, const QString &text);
    void emitOutput(const QString &stream, const QString &data);
    void finish(const QString &outcome, std::optional<int> exitCode, const QString &error);
    // `signal` to the step's process group and cgroup.
    void signalGroup(int signal);
    // The step's process is gone: what it left behind (background children, daemons) is killed.
    void killLeftovers();

    QString m_leaseId;
    QString m_stepId;
    QString m_name;
    QStringList m_command;
    bool m_shell = false;
    QJsonObject m_env;
    QJsonObject m_secretEnv; // --secret-env: into the environment, masked in the output
    SecretMasker m_stdoutMasker;
    SecretMasker m_stderrMasker;
    qint64 m_timeoutMs = 0;
    QString m_workDir;
    StepLaunch m_launch;
    QString m_cgroup; // empty: none
    qint64 m_pid = 0; // of the step's process, its process group and session
    std::unique_ptr<QProcess> m_process;
    QTimer m_timeout;
    QTimer m_killTimer;
    QString m_stopOutcome; // "timed_out" or "cancelled" once a stop was asked
    QStringDecoder m_stdoutDecoder{QStringDecoder::Utf8};
    QStringDecoder m_stderrDecoder{QStringDecoder::Utf8};
    int m_seq = 0;
    qint64 m_bytes = 0;
    bool m_truncated = false;
    QJsonObject m_startedFrame;
    QList<QJsonObject> m_outputFrames;
    QJsonObject m_finishedFrame;
};

} // namespace Swamp
