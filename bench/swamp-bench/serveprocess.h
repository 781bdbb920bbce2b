#pragma once

#include "common/result.h"

#include <QProcess>
#include <QString>
#include <QStringList>

namespace SwampBench {

// A real `swamp serve` child on 127.0.0.1 with its own data dir. Its operator-event output goes
// to <data dir>/../serve-<n>.log (as it would go to a journal), not through a pipe the bench
// would have to drain. The first start listens on port 0; restarts reuse the port it got.
class ServeProcess final
{
    Q_DISABLE_COPY_MOVE(ServeProcess)

public:
    ServeProcess(QString binary, QString workDir, QStringList extraArguments);
    ~ServeProcess();

    // Arguments appended to the next starts (--database, --admin-token-file).
    void addArguments(const QStringList &arguments) { m_extra += arguments; }
    // Variables added to the orchestrator's environment at every start (PGPASSWORD).
    void setExtraEnvironment(const QProcessEnvironment &environment) { m_extraEnvironment = environment; }

    // Starts and waits for the `Listening on` line (at most `timeoutMs`).
    Swamp::Result<void> start(int timeoutMs = 60000);
    // SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). Returns the exit code.
    int stop(int timeoutMs = 60000);

    bool isRunning() const { return m_process.state() != QProcess::NotRunning; }
    qint64 pid() const { return m_process.processId(); }
    QString url() const { return m_url; }
    quint16 port() const { return m_port; }
    QString dataDir() const { return m_dataDir; }
    QString logPath() const { return m_logPath; }
    // Microseconds (bench clock) from start() to the `Listening on` line of the last start.
    qint64 bootUs() const { return m_bootUs; }

    // From /proc/<pid>/status and /proc/<pid>/fd; -1 when not running.
    qint64 rssKb() const;
    // VmHWM: the highest RSS since the process started.
    qint64 peakRssKb() const;
    // A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...), -1 when there is none. Any thread.
    static qint64 statusKb(qint64 pid, QByteArrayView field);
    qint64 openFiles() const;
    // User + system CPU seconds the orchestrator used so far (from /proc/<pid>/stat): on a shared,
    // loaded machine its CPU per step is steadier than wall-clock rates.
    double cpuSeconds() const;
    // The lines of the current log that contain `text`.
    QStringList logLines(const QString &text) const;
    // With --metrics-listen among the arguments: a sample of /metrics without labels (e.g.
    // swamp_database_round_trips_total); -1 when there is no such sample or no metrics.
    qint64 metric(QByteArrayView name) const;

private:
    QString m_binary;
    QString m_dataDir;
    QString m_workDir;
    QStringList m_extra;
    QProcessEnvironment m_extraEnvironment;
    QProcess m_process;
    QString m_logPath;
    QString m_url;
    QString m_metricsUrl;
    quint16 m_port = 0;
    int m_starts = 0;
    qint64 m_bootUs = 0;
    int m_pid = 0; // tracked for killRunningServeProcesses()
};

// Async-signal-safe: SIGKILLs every orchestrator still running (the bench's SIGINT/SIGTERM handler;
// destructors do not run then).
void killRunningServeProcesses();

} // namespace SwampBench
