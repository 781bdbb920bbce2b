// The metrics listener (a real QTcpServer on 127.0.0.1:0, spoken to over TCP) and the
// registry's exposition, read back with a strict parser of the text format.
#include "httptest.h"
#include "prometheustext.h"
#include "testsupport.h"

#include "server/metrics.h"
#include "server/transport/metricsserver.h"
#include "store/store.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;
using namespace Swamp;
using SwampTest::httpExchange;
using SwampTest::httpGet;
using SwampTest::parsePrometheusText;

class tst_MetricsServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void metrics();
    void headHasNoBody();
    void health();
    void healthFailing();
    void notFound_data();
    void notFound();
    void methodNotAllowed_data();
    void methodNotAllowed();
    void requestInPieces();
    void queryStringIgnored();
    void http10();
    void badRequests_data();
    void badRequests();
    void oversizedHead();
    void silentClient();
    void idleClientDroppedQuickly();
    void idleConnectionsDoNotStarveProbes();
    void exposition();
    void histogramBuckets();
    void labelEscaping();
    void databaseState();
    void databaseStateOnlyFromTheFleetsLeader();
    void databaseDown();

private:
    void startServer();

    std::unique_ptr<MetricsServer> m_server;
    QByteArray m_body = "# HELP up fake\n# TYPE up gauge\nup 1\n";
    Result<void> m_health;
    int m_scrapes = 0;
};

void tst_MetricsServer::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    m_health = {};
    m_scrapes = 0;
    startServer();
}

void tst_MetricsServer::cleanup()
{
    m_server.reset();
}

void tst_MetricsServer::startServer()
{
    m_server = std::make_unique<MetricsServer>(
        [this] {
            ++m_scrapes;
            return m_body;
        },
        [this] { return m_health; });
    QVERIFY_RESULT(m_server->listen(QHostAddress::LocalHost, 0));
    QVERIFY(m_server->port() != 0);
    QCOMPARE(m_server->url(), u"http://127.0.0.1:%1/metrics"_s.arg(m_server->port()));
}

void tst_MetricsServer::metrics()
{
    const auto reply = httpGet(m_server->port(), "/metrics");
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.headers.value("content-type"),
             QByteArray("text/plain; version=0.0.4; charset=utf-8"));
    QCOMPARE(reply.headers.value("connection"), QByteArray("close"));
    QCOMPARE(reply.headers.value("content-length").toInt(), int(m_body.size()));
    QCOMPARE(reply.body, m_body);
    QVERIFY(reply.closedByServer);
    QCOMPARE(m_scrapes, 1);
}

void tst_MetricsServer::headHasNoBody()
{
    const auto reply = httpGet(m_server->port(), "/metrics", "HEAD");
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.headers.value("content-length").toInt(), int(m_body.size()));
    QCOMPARE(reply.body, QByteArray());
}

void tst_MetricsServer::health()
{
    const auto reply = httpGet(m_server->port(), "/healthz");
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.body, QByteArray("ok\n"));
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::healthFailing()
{
    m_health = fail(u"database"_s, u"database is locked"_s);
    const auto reply = httpGet(m_server->port(), "/healthz");
    QCOMPARE(reply.status, 503);
    QCOMPARE(reply.statusLine, QByteArray("HTTP/1.1 503 Service Unavailable"));
    QCOMPARE(reply.body, QByteArray("database is locked\n"));
}

void tst_MetricsServer::notFound_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addRow("root") << QByteArray("/");
    QTest::addRow("prefix") << QByteArray("/metricsx");
    QTest::addRow("below") << QByteArray("/healthz/deep");
    QTest::addRow("websocket-endpoint") << QByteArray("/v1/worker");
}

void tst_MetricsServer::notFound()
{
    QFETCH(QByteArray, path);
    const auto reply = httpGet(m_server->port(), path);
    QCOMPARE(reply.status, 404);
    QVERIFY(reply.closedByServer);
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::methodNotAllowed_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addRow("post-metrics") << QByteArray("POST") << QByteArray("/metrics");
    QTest::addRow("put-healthz") << QByteArray("PUT") << QByteArray("/healthz");
    QTest::addRow("delete-metrics") << QByteArray("DELETE") << QByteArray("/metrics");
}

void tst_MetricsServer::methodNotAllowed()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    const auto reply = httpGet(m_server->port(), path, method);
    QCOMPARE(reply.status, 405);
    QCOMPARE(reply.headers.value("allow"), QByteArray("GET, HEAD"));
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::requestInPieces()
{
    const auto reply =
        httpExchange(m_server->port(), {"GE", "T /metr", "ics HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                        "Accept: text/plain\r\n", "\r\n"});
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.body, m_body);
    QCOMPARE(m_scrapes, 1);
}

void tst_MetricsServer::queryStringIgnored()
{
    QCOMPARE(httpGet(m_server->port(), "/metrics?name[]=up").status, 200);
}

void tst_MetricsServer::http10()
{
    const auto reply = httpExchange(m_server->port(), {"GET /healthz HTTP/1.0\r\n\r\n"});
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.body, QByteArray("ok\n"));
}

void tst_MetricsServer::badRequests_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addRow("garbage") << QByteArray("garbage\r\n\r\n") << 400;
    QTest::addRow("no-version") << QByteArray("GET /metrics\r\n\r\n") << 400;
    QTest::addRow("not-http") << QByteArray("GET /metrics SPDY/3\r\n\r\n") << 400;
    QTest::addRow("relative-target") << QByteArray("GET metrics HTTP/1.1\r\n\r\n") << 400;
    QTest::addRow("http2") << QByteArray("GET /metrics HTTP/2.0\r\n\r\n") << 505;
    QTest::addRow("bare-newlines") << QByteArray("GET /healthz HTTP/1.1\n\n") << 200;
}

void tst_MetricsServer::badRequests()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    const auto reply = httpExchange(m_server->port(), {request});
    QCOMPARE(reply.status, status);
    QVERIFY(reply.closedByServer);
}

void tst_MetricsServer::oversizedHead()
{
    // Headers that never end: answered once the limit is passed, without waiting for the rest.
    const QByteArray head =
        "GET /metrics HTTP/1.1\r\nX-Padding: " + QByteArray(MetricsServer::MaxRequestBytes, 'a');
    const auto reply = httpExchange(m_server->port(), {head});
    QCOMPARE(reply.status, 431);
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::silentClient()
{
    m_server->setRequestHeadTimeoutMs(200);
    const auto reply = httpExchange(m_server->port(), {"GET /metrics HTTP/1.1\r\n"});
    QCOMPARE(reply.status, 408);
    QVERIFY(reply.closedByServer);
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::idleClientDroppedQuickly()
{
    // A connection that sends nothing holds its slot for RequestHeadTimeoutMs, not longer.
    QElapsedTimer clock;
    clock.start();
    const auto reply = httpExchange(m_server->port(), {});
    const qint64 elapsed = clock.elapsed();
    QCOMPARE(reply.status, 408);
    QVERIFY(reply.closedByServer);
    // Coarse timers fire up to 5 % early.
    QVERIFY2(elapsed >= MetricsServer::RequestHeadTimeoutMs * 9 / 10,
             qPrintable(QString::number(elapsed)));
    // Far below the 10 s that let idle connections starve the probes; generous for a loaded
    // machine.
    QVERIFY2(elapsed < MetricsServer::RequestHeadTimeoutMs + 4000,
             qPrintable(QString::number(elapsed)));
}

void tst_MetricsServer::idleConnectionsDoNotStarveProbes()
{
    // Idle connections that would hold their slots for the whole test: only taking their places
    // lets the probes in.
    m_server->setRequestHeadTimeoutMs(120000);
    constexpr int Idle = MetricsServer::MaxConnections + 6;
    std::vector<std::unique_ptr<QTcpSocket>> idle;
    for (int i = 0; i < Idle; ++i) {
        idle.push_back(std::make_unique<QTcpSocket>());
        idle.back()->connectToHost(QHostAddress::LocalHost, m_server->port());
        // One after another, so that "oldest" is well defined.
        QVERIFY(QTest::qWaitFor(
            [&] { return idle.back()->state() == QAbstractSocket::ConnectedState; }, 20000));
    }
    const auto dropped = [&] {
        return std::count_if(idle.cbegin(), idle.cend(), [](const auto &s) {
            return s->state() == QAbstractSocket::UnconnectedState;
        });
    };
    // The server took all of them: the six beyond the cap each replaced the oldest.
    QTRY_COMPARE_WITH_TIMEOUT(dropped(), Idle - MetricsServer::MaxConnections, 20000);
    for (int i = 0; i < Idle - MetricsServer::MaxConnections; ++i)
        QCOMPARE(idle[size_t(i)]->state(), QAbstractSocket::UnconnectedState);

    // 60 probes at once, as load balancers and kubelets send them: all connected before any
    // sends its request, so each needs a slot of its own.
    constexpr int Probes = 60;
    struct Probe
    {
        QTcpSocket socket;
        QByteArray received;
    };
    std::vector<std::unique_ptr<Probe>> probes;
    for (int i = 0; i < Probes; ++i) {
        probes.push_back(std::make_unique<Probe>());
        Probe *probe = probes.back().get();
        connect(&probe->socket, &QTcpSocket::readyRead, &probe->socket,
                [probe] { probe->received += probe->socket.readAll(); });
        probe->socket.connectToHost(QHostAddress::LocalHost, m_server->port());
        QVERIFY(QTest::qWaitFor(
            [&] { return probe->socket.state() == QAbstractSocket::ConnectedState; }, 20000));
    }
    for (const auto &probe : probes)
        probe->socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QVERIFY(QTest::qWaitFor(
        [&] {
            return std::all_of(probes.cbegin(), probes.cend(), [](const auto &probe) {
                return probe->socket.state() == QAbstractSocket::UnconnectedState;
            });
        },
        30000));
    int answered = 0;
    for (const auto &probe : probes) {
        probe->received += probe->socket.readAll();
        const auto reply = SwampTest::parseHttpReply(probe->received);
        QCOMPARE(reply.status, 200);
        QCOMPARE(reply.body, QByteArray("ok\n"));
        ++answered;
    }
    QCOMPARE(answered, Probes);
    // Each probe took the place of one idle connection, oldest first; the newest are still open.
    QCOMPARE(dropped(), Idle - MetricsServer::MaxConnections + Probes);
    for (int i = 0; i < Idle; ++i) {
        QCOMPARE(idle[size_t(i)]->state(), i < Idle - MetricsServer::MaxConnections + Probes
                                               ? QAbstractSocket::UnconnectedState
                                               : QAbstractSocket::ConnectedState);
    }
    QCOMPARE(m_scrapes, 0);
}

void tst_MetricsServer::exposition()
{
    Metrics metrics;
    metrics.countEnrollment(u"ok"_s);
    metrics.countEnrollment(u"ok"_s);
    metrics.countEnrollment(u"token_mismatch"_s);
    metrics.countRejectedFrame(u"invalid_json"_s);
    metrics.socketOpened(Metrics::Endpoint::Worker);
    metrics.socketOpened(Metrics::Endpoint::Worker);
    metrics.socketOpened(Metrics::Endpoint::Admin);
    metrics.socketClosed(Metrics::Endpoint::Worker);
    Metrics::DatabaseState state;
    state.workers.insert(u"idle"_s, 3);
    state.steps.insert(u"succeeded"_s, 7);
    state.activeLeases = 2;
    const auto doc = parsePrometheusText(metrics.render(state));
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));

    const QMap<QString, QString> types{
        {u"swamp_build_info"_s, u"gauge"_s},
        {u"swamp_uptime_seconds"_s, u"gauge"_s},
        {u"process_start_time_seconds"_s, u"gauge"_s},
        {u"swamp_database_up"_s, u"gauge"_s},
        {u"swamp_workers"_s, u"gauge"_s},
        {u"swamp_steps"_s, u"gauge"_s},
        {u"swamp_active_leases"_s, u"gauge"_s},
        {u"swamp_enrollments_total"_s, u"counter"_s},
        {u"swamp_dispatch_latency_seconds"_s, u"histogram"_s},
        {u"swamp_rejected_frames_total"_s, u"counter"_s},
        {u"swamp_connected_sockets"_s, u"gauge"_s},
    };
    for (auto it = types.cbegin(); it != types.cend(); ++it) {
        QCOMPARE(doc.types.value(it.key()), it.value());
        QVERIFY2(!doc.help.value(it.key()).isEmpty(), qPrintable(it.key()));
    }
    QCOMPARE(doc.valueOr(u"swamp_database_up"_s), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"ok"_s}}), 2.0);
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"token_mismatch"_s}}), 1.0);
    // Known results are there before they happen, so alerts on them work from the start.
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"token_expired"_s}}), 0.0);
    QCOMPARE(doc.valueOr(u"swamp_rejected_frames_total"_s, {{u"reason"_s, u"invalid_json"_s}}),
             1.0);
    QCOMPARE(doc.valueOr(u"swamp_rejected_frames_total"_s, {{u"reason"_s, u"too_large"_s}}), 0.0);
    QCOMPARE(doc.valueOr(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"worker"_s}}), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"admin"_s}}), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_workers"_s, {{u"status"_s, u"idle"_s}}), 3.0);
    QCOMPARE(doc.family(u"swamp_workers"_s).size(), 5);
    for (const char *status : {"busy", "draining", "disconnected", "lost"})
        QCOMPARE(doc.valueOr(u"swamp_workers"_s, {{u"status"_s, QLatin1String(status)}}), 0.0);
    QCOMPARE(doc.family(u"swamp_steps"_s).size(), 7);
    QCOMPARE(doc.valueOr(u"swamp_steps"_s, {{u"state"_s, u"succeeded"_s}}), 7.0);
    QCOMPARE(doc.valueOr(u"swamp_steps"_s, {{u"state"_s, u"timed_out"_s}}), 0.0);
    QCOMPARE(doc.valueOr(u"swamp_active_leases"_s), 2.0);
    QVERIFY(doc.valueOr(u"swamp_uptime_seconds"_s) >= 0);
    const auto build = doc.family(u"swamp_build_info"_s);
    QCOMPARE(build.size(), 1);
    QCOMPARE(build.first().value, 1.0);
    QVERIFY(!build.first().labels.value(u"version"_s).isEmpty());
}

void tst_MetricsServer::histogramBuckets()
{
    Metrics metrics;
    metrics.observeDispatchLatency(0.0005); // on the first bound: counted in it (le)
    metrics.observeDispatchLatency(0.003);
    metrics.observeDispatchLatency(0.003);
    metrics.observeDispatchLatency(10);
    metrics.observeDispatchLatency(42); // beyond the last bound: only +Inf
    const auto doc = parsePrometheusText(metrics.render(Metrics::DatabaseState{}));
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    const QString bucket = u"swamp_dispatch_latency_seconds_bucket"_s;
    const auto le = [&](const QString &bound) { return doc.valueOr(bucket, {{u"le"_s, bound}}); };
    QCOMPARE(le(u"0.0005"_s), 1.0);
    QCOMPARE(le(u"0.001"_s), 1.0);
    QCOMPARE(le(u"0.0025"_s), 1.0);
    QCOMPARE(le(u"0.005"_s), 3.0);
    QCOMPARE(le(u"5"_s), 3.0);
    QCOMPARE(le(u"10"_s), 4.0);
    QCOMPARE(le(u"+Inf"_s), 5.0);
    QCOMPARE(doc.family(bucket).size(), Metrics::dispatchLatencyBuckets().size() + 1);
    // Cumulative: never decreasing.
    double previous = 0;
    for (const auto &sample : doc.family(bucket)) {
        QVERIFY(sample.value >= previous);
        previous = sample.value;
    }
    QCOMPARE(doc.valueOr(u"swamp_dispatch_latency_seconds_count"_s), 5.0);
    QVERIFY(qAbs(doc.valueOr(u"swamp_dispatch_latency_seconds_sum"_s) - 52.0065) < 1e-9);
}

void tst_MetricsServer::labelEscaping()
{
    Metrics metrics;
    const QString odd = u"quote\" backslash\\ newline\n end"_s;
    metrics.countRejectedFrame(odd);
    const auto doc = parsePrometheusText(metrics.render(Metrics::DatabaseState{}));
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    QCOMPARE(doc.valueOr(u"swamp_rejected_frames_total"_s, {{u"reason"_s, odd}}), 1.0);
}

void tst_MetricsServer::databaseState()
{
    QTemporaryDir dir;
    auto store = Store::open(dir.filePath(u"swamp.db"_s));
    QVERIFY_RESULT(store);
    const auto insert = [&](const QString &name, WorkerStatus status) {
        WorkerRecord w;
        w.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
        w.name = name;
        w.machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
        w.tokenId = u"token-id"_s;
        w.tokenName = u"ci"_s;
        w.instanceId = u"instance"_s;
        w.platform = u"linux"_s;
        w.arch = u"x86_64"_s;
        w.version = u"0.1.0"_s;
        w.hostname = u"build-7"_s;
        w.orchestrator = u"ws://127.0.0.1:9090"_s;
        w.status = status;
        w.createdAt = w.updatedAt = w.enrolledAt = w.lastSeenAt = QDateTime::currentDateTimeUtc();
        return (*store)->upsertWorker(w);
    };
    QVERIFY_RESULT(insert(u"a"_s, WorkerStatus::Idle));
    QVERIFY_RESULT(insert(u"b"_s, WorkerStatus::Idle));
    QVERIFY_RESULT(insert(u"c"_s, WorkerStatus::Lost));
    QVERIFY_RESULT((*store)->execute(u"INSERT INTO runs (id, name, state, created_at, updated_at) "
                                     "VALUES ('r', 'run', 'running', 0, 0)"_s));
    int seq = 0;
    const auto step = [&](const QString &state) {
        ++seq;
        return (*store)->execute(
            u"INSERT INTO steps (id, run_id, seq, name, command, queue_timeout_ms, "
            "max_attempts, state, queued_at, created_at, updated_at) "
            "VALUES (?, 'r', ?, 'x', '[]', 1, 1, ?, 0, 0, 0)"_s,
            {u"s%1"_s.arg(seq), seq, state});
    };
    for (const char *state : {"queued", "queued", "running", "succeeded", "succeeded", "failed"})
        QVERIFY_RESULT(step(QLatin1String(state)));

    Metrics metrics;
    auto state = metrics.readDatabaseState(**store);
    QVERIFY_RESULT(state);
    QCOMPARE(state->workers.value(u"idle"_s), 2);
    QCOMPARE(state->workers.value(u"lost"_s), 1);
    QCOMPARE(state->workers.value(u"busy"_s), 0);
    QCOMPARE(state->activeLeases, 0);
    QCOMPARE(state->steps.value(u"queued"_s), 2);
    QCOMPARE(state->steps.value(u"running"_s), 1);
    QCOMPARE(state->steps.value(u"succeeded"_s), 2);
    QCOMPARE(state->steps.value(u"failed"_s), 1);

    // Open states are counted at every scrape; finished ones are advanced by what this process
    // finishes until the next full count, so a scrape never counts every step ever run.
    // (Here a step finished by "another orchestrator" is written without being counted.)
    QVERIFY_RESULT(step(u"queued"_s));
    QVERIFY_RESULT(step(u"succeeded"_s));
    QVERIFY_RESULT(step(u"failed"_s));
    metrics.countFinishedStep(u"failed"_s);
    state = metrics.readDatabaseState(**store);
    QVERIFY_RESULT(state);
    QCOMPARE(state->steps.value(u"queued"_s), 3);
    QCOMPARE(state->steps.value(u"succeeded"_s), 2); // until the next full count
    QCOMPARE(state->steps.value(u"failed"_s), 2);

    // A registry that has not counted yet does not advance: its first count includes the step.
    Metrics fresh;
    fresh.countFinishedStep(u"failed"_s);
    state = fresh.readDatabaseState(**store);
    QVERIFY_RESULT(state);
    QCOMPARE(state->steps.value(u"failed"_s), 2);
    QCOMPARE(state->steps.value(u"succeeded"_s), 3);
}

void tst_MetricsServer::databaseStateOnlyFromTheFleetsLeader()
{
    QTemporaryDir dir;
    auto store = Store::open(dir.filePath(u"swamp.db"_s));
    QVERIFY_RESULT(store);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const auto join = [&](const QString &id, const QDateTime &startedAt) {
        return (*store)->registerOrchestrator({id,
                                               id,
                                               u"ws://127.0.0.1:9090"_s,
                                               u"0.1.0"_s,
                                               u"alive"_s,
                                               startedAt,
                                               startedAt,
                                               {},
                                               {}});
    };
    QVERIFY_RESULT(join(u"younger"_s, now));
    QVERIFY_RESULT(join(u"older"_s, now.addSecs(-60)));

    // Only the oldest alive orchestrator reports the database-wide gauges; every one reports
    // what it holds itself.
    Metrics follower;
    auto state = follower.readDatabaseState(**store, u"younger"_s);
    QVERIFY_RESULT(state);
    QVERIFY(!state->reported);
    SwampTest::PromDocument doc =
        parsePrometheusText(follower.render(state, Metrics::OwnState{3, 1, 2}));
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    QCOMPARE(doc.valueOr(u"swamp_database_up"_s), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_fleet_leader"_s), 0.0);
    for (const char *family : {"swamp_workers", "swamp_steps", "swamp_active_leases"})
        QVERIFY2(!doc.types.contains(QLatin1String(family)), family);
    QCOMPARE(doc.valueOr(u"swamp_worker_sessions"_s, {{u"state"_s, u"connected"_s}}), 3.0);
    QCOMPARE(doc.valueOr(u"swamp_worker_sessions"_s, {{u"state"_s, u"reconnecting"_s}}), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_held_leases"_s), 2.0);

    Metrics leader;
    state = leader.readDatabaseState(**store, u"older"_s);
    QVERIFY_RESULT(state);
    QVERIFY(state->reported);
    doc = parsePrometheusText(leader.render(state, {}));
    QCOMPARE(doc.valueOr(u"swamp_fleet_leader"_s), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_workers"_s, {{u"status"_s, u"idle"_s}}), 0.0);

    // The leader gone, the next oldest leads.
    QVERIFY_RESULT((*store)->endOrchestrator(u"older"_s, u"stopped"_s, u"stopped"_s, now));
    state = follower.readDatabaseState(**store, u"younger"_s);
    QVERIFY_RESULT(state);
    QVERIFY(state->reported);
    // Alone (no fleet id): always.
    state = Metrics().readDatabaseState(**store);
    QVERIFY_RESULT(state);
    QVERIFY(state->reported);
}

void tst_MetricsServer::databaseDown()
{
    Metrics metrics;
    const auto doc = parsePrometheusText(metrics.render(fail(u"database"_s, u"connection lost"_s)));
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    QCOMPARE(doc.valueOr(u"swamp_database_up"_s), 0.0);
    QVERIFY(doc.family(u"swamp_workers"_s).isEmpty());
    QVERIFY(doc.family(u"swamp_steps"_s).isEmpty());
    QVERIFY(!doc.types.contains(u"swamp_workers"_s));
    // What the process itself counts is still there.
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"ok"_s}}), 0.0);
}

QTEST_GUILESS_MAIN(tst_MetricsServer)
#include "tst_metricsserver.moc"
