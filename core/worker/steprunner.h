#pragma once

#include "common/secretmasker.h"
#include "protocol/workerframes.h"

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
    StepRunner(const Protocol::Dispatch &dispatch, const StepLaunch &launch, QObject *parent = nullptr);
    ~StepRunner() override;

    void start();
    // Terminates the process group, then kills it after a grace; ends with outcome "cancelled".
    void cancel(const QString &reason);

    QString leaseId() const { return m_dispatch.leaseId; }
    QString stepId() const { return m_dispatch.stepId; }
    QString name() const { return m_dispatch.name; }
    int attempt() const { return m_dispatch.attempt; }
    bool isDone() const { return m_finished.has_value(); }
    // Encoded frames to (re)send after the orchestrator has stored output up to `lastSeq`.
    QList<QByteArray> framesAfter(int lastSeq) const;
    // The result once isDone().
    const Protocol::Finished &finished() const { return *m_finished; }
    // PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ, TMPDIR and SHELL of the worker (the step
    // user's own HOME, USER, LOGNAME and SHELL with one), plus the step's variables (env, then
    // its --secret-env) but SWAMP_*.
    static QStringList minimalEnvironment(const QJsonObject &stepEnv, const StepUser *user = nullptr,
                                          const QJsonObject &secretEnv = {});

Q_SIGNALS:
    void frameReady(const QByteArray &frame); // started, output or finished, encoded
    void started();                            // after its `started` frame
    void done();                               // after its `finished` frame

private:
    void readStream(QProcess::ProcessChannel channel);
    // Sends `text` of `stream` in chunks of at most ChunkChars.
    void emitText(Protocol::OutputStream stream, const QString &text);
    void emitOutput(Protocol::OutputStream stream, const QString &data);
    void finish(Protocol::Outcome outcome, std::optional<int> exitCode, const QString &error);
    // `signal` to the step's process group and cgroup.
    void signalGroup(int signal);
    // The step's process is gone: what it left behind (background children, daemons) is killed.
    void killLeftovers();

    Protocol::Dispatch m_dispatch; // secretEnv (--secret-env): into the environment, masked in the output
    SecretMasker m_stdoutMasker;
    SecretMasker m_stderrMasker;
    QString m_workDir;
    StepLaunch m_launch;
    QString m_cgroup; // empty: none
    qint64 m_pid = 0; // of the step's process, its process group and session
    std::unique_ptr<QProcess> m_process;
    QTimer m_timeout;
    QTimer m_killTimer;
    std::optional<Protocol::Outcome> m_stopOutcome; // TimedOut or Cancelled once a stop was asked
    QStringDecoder m_stdoutDecoder{QStringDecoder::Utf8};
    QStringDecoder m_stderrDecoder{QStringDecoder::Utf8};
    int m_seq = 0;
    qint64 m_bytes = 0;
    bool m_truncated = false;
    std::optional<Protocol::Started> m_started;
    QList<Protocol::Output> m_outputs;
    std::optional<Protocol::Finished> m_finished;
};

} // namespace Swamp
