#pragma once

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QProcess>
#include <QStringDecoder>
#include <QTimer>

#include <memory>

namespace Swamp {

// Runs one dispatched step: QProcess on argv (or /bin/sh -c for shell steps) in its own process
// group, in a scratch directory under the cache dir that is removed afterwards, with a minimal
// environment (no SWAMP_* variables, never the worker's token). Every output frame and the final
// `finished` frame are kept until the orchestrator acknowledges the lease, so they can be sent
// again after a reconnect without a gap or a duplicate (sequence numbers).
class StepRunner final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StepRunner)

public:
    StepRunner(const QJsonObject &dispatch, const QString &workRoot, QObject *parent = nullptr);
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
    static QStringList minimalEnvironment(const QJsonObject &stepEnv);

Q_SIGNALS:
    void frameReady(const QJsonObject &frame); // started, output or finished
    void done();

private:
    void readStream(QProcess::ProcessChannel channel);
    void emitOutput(const QString &stream, const QString &data);
    void finish(const QString &outcome, std::optional<int> exitCode, const QString &error);
    void signalGroup(int signal);

    QString m_leaseId;
    QString m_stepId;
    QString m_name;
    QStringList m_command;
    bool m_shell = false;
    QJsonObject m_env;
    qint64 m_timeoutMs = 0;
    QString m_workDir;
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
