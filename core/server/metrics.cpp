#include "server/metrics.h"

#include "store/store.h"
#include "version/version.h"

#include <QDateTime>
#include <QStringList>

#include <cmath>

namespace Swamp {

namespace {

// Every value of a label that can occur is exported from the start (as 0), so a rate() or an
// alert on a series that has not happened yet works.
const QStringList &knownEnrollmentResults()
{
    static const QStringList results{
        QStringLiteral("ok"),
        QStringLiteral("protocol_mismatch"),
        QStringLiteral("invalid_token"),
        QStringLiteral("token_not_found"),
        QStringLiteral("token_revoked"),
        QStringLiteral("token_expired"),
        QStringLiteral("rate_limited"),
        QStringLiteral("token_mismatch"),
        QStringLiteral("token_bound"),
        QStringLiteral("already_connected"),
        QStringLiteral("machine_key_mismatch"),
        QStringLiteral("invalid_enroll"),
        QStringLiteral("worker_name_taken"),
        QStringLiteral("bad_frame"),
    };
    return results;
}

const QStringList &knownRejectReasons()
{
    static const QStringList reasons{
        QStringLiteral("too_large"),      QStringLiteral("invalid_json"),
        QStringLiteral("not_an_object"),  QStringLiteral("missing_type"),
        QStringLiteral("binary"),         QStringLiteral("enroll_expected"),
        QStringLiteral("unknown_type"),   QStringLiteral("missing_id"),
        QStringLiteral("inactive_lease"), QStringLiteral("backlog"),
    };
    return reasons;
}

const QStringList &adminAuthFailureReasons()
{
    static const QStringList reasons{QStringLiteral("missing"), QStringLiteral("worker_token"),
                                     QStringLiteral("mismatch"), QStringLiteral("rate_limited")};
    return reasons;
}

const QStringList &workerStatuses()
{
    static const QStringList statuses{QStringLiteral("idle"), QStringLiteral("busy"),
                                      QStringLiteral("draining"), QStringLiteral("disconnected"),
                                      QStringLiteral("lost")};
    return statuses;
}

const QStringList &stepStates()
{
    static const QStringList states{QStringLiteral("queued"),   QStringLiteral("dispatched"),
                                    QStringLiteral("running"),  QStringLiteral("succeeded"),
                                    QStringLiteral("failed"),   QStringLiteral("cancelled"),
                                    QStringLiteral("timed_out")};
    return states;
}

QString number(double value)
{
    if (std::isinf(value))
        return value > 0 ? QStringLiteral("+Inf") : QStringLiteral("-Inf");
    return QString::number(value, 'f', QLocale::FloatingPointShortest);
}

// Writes the text format: a HELP and a TYPE line per family, then its samples.
class Exposition
{
public:
    void family(const char *name, const char *type, const QString &help)
    {
        m_text += QStringLiteral("# HELP %1 %2\n# TYPE %1 %3\n")
                      .arg(QLatin1String(name), escapeHelp(help), QLatin1String(type));
    }
    void sample(const QString &name, const QList<std::pair<QString, QString>> &labels,
                const QString &value)
    {
        m_text += name;
        if (!labels.isEmpty()) {
            QStringList parts;
            for (const auto &[label, labelValue] : labels)
                parts << label + QStringLiteral("=\"") + escapeLabel(labelValue) + u'"';
            m_text += u'{' + parts.join(u',') + u'}';
        }
        m_text += u' ' + value + u'\n';
    }
    void sample(const char *name, const QList<std::pair<QString, QString>> &labels, qint64 value)
    {
        sample(QLatin1String(name), labels, QString::number(value));
    }
    // One sample of `name` per entry of `counts`, labelled `labelName` with its key.
    void samples(const char *name, const char *labelName, const QMap<QString, qint64> &counts)
    {
        for (auto it = counts.cbegin(); it != counts.cend(); ++it)
            sample(name, labelled(labelName, it.key()), it.value());
    }
    static QList<std::pair<QString, QString>> labelled(const char *name, const QString &value)
    {
        return {{QLatin1String(name), value}};
    }
    QByteArray bytes() const { return m_text.toUtf8(); }

private:
    static QString escapeHelp(QString text)
    {
        return text.replace(u'\\', QStringLiteral("\\\\")).replace(u'\n', QStringLiteral("\\n"));
    }
    static QString escapeLabel(QString text)
    {
        return escapeHelp(std::move(text)).replace(u'"', QStringLiteral("\\\""));
    }

    QString m_text;
};

void renderDatabaseState(Exposition &out, const Metrics::DatabaseState &state)
{
    out.family("swamp_workers", "gauge",
               QStringLiteral("Worker records by status (database-wide)."));
    for (const QString &status : workerStatuses())
        out.sample("swamp_workers", Exposition::labelled("status", status),
                   state.workers.value(status));
    out.family("swamp_steps", "gauge", QStringLiteral("Steps by state (database-wide)."));
    QStringList states = stepStates();
    for (auto it = state.steps.cbegin(); it != state.steps.cend(); ++it) {
        if (!states.contains(it.key()))
            states << it.key(); // a state of a newer schema: shown rather than hidden
    }
    for (const QString &stepState : std::as_const(states))
        out.sample("swamp_steps", Exposition::labelled("state", stepState),
                   state.steps.value(stepState));
    out.family("swamp_active_leases", "gauge",
               QStringLiteral("Step leases in state active (database-wide)."));
    out.sample("swamp_active_leases", {}, state.activeLeases);
}

void renderOwnState(Exposition &out, const Metrics::OwnState &own)
{
    out.family(
        "swamp_worker_sessions", "gauge",
        QStringLiteral("Worker sessions this orchestrator holds: connected, or disconnected within "
                       "its reconnect grace (reconnecting)."));
    out.sample("swamp_worker_sessions", Exposition::labelled("state", QStringLiteral("connected")),
               own.connectedSessions);
    out.sample("swamp_worker_sessions",
               Exposition::labelled("state", QStringLiteral("reconnecting")), own.graceSessions);
    out.family("swamp_held_leases", "gauge",
               QStringLiteral("Active step leases on the workers this orchestrator holds."));
    out.sample("swamp_held_leases", {}, own.heldLeases);
    out.family("swamp_tokens_expiring_with_workers", "gauge",
               QStringLiteral("Enrollment tokens that expire within 24h while workers connected to this "
                              "orchestrator are enrolled on them: those workers stop when the token "
                              "expires (extend it with 'swamp worker token extend')."));
    out.sample("swamp_tokens_expiring_with_workers", {}, own.expiringTokensWithWorkers);
}

// `buckets`: the count per bucket of Metrics::dispatchLatencyBuckets(), the last one +Inf;
// Prometheus wants them cumulative.
void renderDispatchLatency(Exposition &out, const QList<qint64> &buckets, double sum, qint64 count)
{
    out.family("swamp_dispatch_latency_seconds", "histogram",
               QStringLiteral(
                   "Time from a step entering the queue (submitted or requeued) to its dispatch."));
    const QList<double> &bounds = Metrics::dispatchLatencyBuckets();
    qint64 cumulative = 0;
    for (qsizetype i = 0; i <= bounds.size(); ++i) {
        cumulative += buckets.at(i);
        const QString le = i < bounds.size() ? number(bounds.at(i)) : QStringLiteral("+Inf");
        out.sample("swamp_dispatch_latency_seconds_bucket", Exposition::labelled("le", le),
                   cumulative);
    }
    out.sample(QStringLiteral("swamp_dispatch_latency_seconds_sum"), {}, number(sum));
    out.sample("swamp_dispatch_latency_seconds_count", {}, count);
}

} // namespace

const QList<double> &Metrics::dispatchLatencyBuckets()
{
    static const QList<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return buckets;
}

Result<Metrics::DatabaseState> Metrics::readDatabaseState(Store &store, const QString &fleetId)
{
    DatabaseState state;
    if (store.dialect() == Store::Dialect::Postgres)
        state.roundTrips = store.roundTrips();
    if (!fleetId.isEmpty()) {
        auto leader = store.fleetLeader();
        if (!leader)
            return fail(leader.error());
        if (*leader != fleetId) {
            state.reported = false;
            m_finishedSynced.invalidate(); // should it lead later, its first scrape counts in full
            return state;
        }
    }
    auto workers = store.workerCountsByStatus();
    if (!workers)
        return fail(workers.error());
    state.workers = *workers;
    auto openSteps = store.stepCountsByState(Store::StepStates::Open);
    if (!openSteps)
        return fail(openSteps.error());
    if (!m_finishedSynced.isValid() || m_finishedSynced.hasExpired(FinishedStepsResyncMs)) {
        auto finished = store.stepCountsByState(Store::StepStates::Ended);
        if (!finished)
            return fail(finished.error());
        m_finishedSteps = *finished;
        m_finishedSynced.start();
    }
    state.steps = *openSteps;
    for (auto it = m_finishedSteps.cbegin(); it != m_finishedSteps.cend(); ++it)
        state.steps.insert(it.key(), it.value());
    auto leases = store.activeLeaseCount();
    if (!leases)
        return fail(leases.error());
    state.activeLeases = *leases;
    return state;
}

void Metrics::countFinishedStep(const QString &state)
{
    // Before the first full count there is nothing to advance: that count will include it.
    if (m_finishedSynced.isValid())
        ++m_finishedSteps[state];
}

Metrics::Metrics()
    : m_startedAtMs(QDateTime::currentMSecsSinceEpoch()),
      m_dispatchBuckets(dispatchLatencyBuckets().size() + 1, 0)
{
    m_uptime.start();
    for (const QString &result : knownEnrollmentResults())
        m_enrollments.insert(result, 0);
    for (const QString &reason : knownRejectReasons())
        m_rejectedFrames.insert(reason, 0);
    for (const QString &reason : adminAuthFailureReasons())
        m_adminAuthFailures.insert(reason, 0);
}

void Metrics::countAdminAuthFailure(const QString &reason)
{
    ++m_adminAuthFailures[reason];
}

void Metrics::countEnrollment(const QString &result)
{
    ++m_enrollments[result];
}

void Metrics::countRejectedFrame(const QString &reason)
{
    ++m_rejectedFrames[reason];
}

void Metrics::observeDispatchLatency(double seconds)
{
    seconds = std::max(0.0, seconds);
    const QList<double> &bounds = dispatchLatencyBuckets();
    const auto bucket = std::lower_bound(bounds.cbegin(), bounds.cend(), seconds);
    ++m_dispatchBuckets[bucket - bounds.cbegin()];
    m_dispatchSum += seconds;
    ++m_dispatchCount;
}

void Metrics::socketOpened(Endpoint endpoint)
{
    ++(endpoint == Endpoint::Worker ? m_workerSockets : m_adminSockets);
}

void Metrics::socketClosed(Endpoint endpoint)
{
    qint64 &count = endpoint == Endpoint::Worker ? m_workerSockets : m_adminSockets;
    count = std::max<qint64>(0, count - 1);
}

qint64 Metrics::sockets(Endpoint endpoint) const
{
    return endpoint == Endpoint::Worker ? m_workerSockets : m_adminSockets;
}

QByteArray Metrics::render(const Result<DatabaseState> &state, const OwnState &own) const
{
    Exposition out;
    out.family("swamp_build_info", "gauge",
               QStringLiteral("The swamp version this orchestrator runs (always 1)."));
    out.sample("swamp_build_info",
               {{QStringLiteral("version"), Swamp::version()},
                {QStringLiteral("protocol"), QString::number(Swamp::protocolVersion())},
                {QStringLiteral("qt"), QString::fromLatin1(qVersion())}},
               1);
    out.family("swamp_uptime_seconds", "gauge",
               QStringLiteral("Seconds since this orchestrator started."));
    out.sample(QStringLiteral("swamp_uptime_seconds"), {},
               number(double(m_uptime.elapsed()) / 1000.0));
    out.family("process_start_time_seconds", "gauge",
               QStringLiteral("Start time of the process since the Unix epoch, in seconds."));
    out.sample(QStringLiteral("process_start_time_seconds"), {},
               number(double(m_startedAtMs) / 1000.0));

    out.family("swamp_database_up", "gauge",
               QStringLiteral("1 when the database answered this scrape's state queries, else 0 "
                              "(and the state gauges are missing)."));
    out.sample("swamp_database_up", {}, state ? 1 : 0);
    if (state) {
        out.family("swamp_fleet_leader", "gauge",
                   QStringLiteral(
                       "1 when this orchestrator reports the database-wide gauges (it is alone, or "
                       "the oldest alive orchestrator of its fleet), else 0."));
        out.sample("swamp_fleet_leader", {}, state->reported ? 1 : 0);
        if (state->reported)
            renderDatabaseState(out, *state);
    }
    if (state && state->roundTrips) {
        out.family("swamp_database_round_trips_total", "counter",
                   QStringLiteral("Statements, transaction starts and commits this orchestrator sent to "
                                  "PostgreSQL on its main connection, each a network round trip."));
        out.sample("swamp_database_round_trips_total", {}, *state->roundTrips);
    }
    renderOwnState(out, own);

    out.family(
        "swamp_enrollments_total", "counter",
        QStringLiteral("Enroll frames answered, by result: ok or the error code of the refusal."));
    out.samples("swamp_enrollments_total", "result", m_enrollments);

    renderDispatchLatency(out, m_dispatchBuckets, m_dispatchSum, m_dispatchCount);

    out.family("swamp_rejected_frames_total", "counter",
               QStringLiteral("Frames refused by validation or fencing, by reason."));
    out.samples("swamp_rejected_frames_total", "reason", m_rejectedFrames);

    out.family("swamp_admin_auth_failures_total", "counter",
               QStringLiteral("Admin connections refused, by reason: missing (no token), worker_token, "
                              "mismatch, rate_limited (too many failures from the address)."));
    out.samples("swamp_admin_auth_failures_total", "reason", m_adminAuthFailures);

    out.family("swamp_connected_sockets", "gauge",
               QStringLiteral("Open WebSocket connections, by endpoint."));
    out.sample("swamp_connected_sockets",
               Exposition::labelled("endpoint", QStringLiteral("worker")), m_workerSockets);
    out.sample("swamp_connected_sockets", Exposition::labelled("endpoint", QStringLiteral("admin")),
               m_adminSockets);
    return out.bytes();
}

} // namespace Swamp
