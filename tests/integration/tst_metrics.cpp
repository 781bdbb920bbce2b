// `swamp serve --metrics-listen` against real processes: the exposition is parsed as the
// Prometheus text format and read by series (never grepped), and follows what happens: workers
// enrolling, a bad token, a step dispatched and finished, a bad frame, a worker killed.
#include "swampharness.h"

#include "support/scriptedpeer.h"
#include "unit/httptest.h"
#include "unit/prometheustext.h"

#include <QWebSocketProtocol>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_Metrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void metricsLineAndFormat();
    void followsTheFleet();
    void tokensExpiringWithWorkers();
    void rejectedFrames();
    void healthAndErrors();

private:
    PromDocument scrape();
    double value(const QString &name, const QMap<QString, QString> &labels = {})
    {
        return scrape().valueOr(name, labels);
    }

    std::unique_ptr<Harness> h;
    quint16 m_metricsPort = 0;
};

void tst_Metrics::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator(0, {u"--metrics-listen"_s, u"127.0.0.1:0"_s}));
    // The line after `Listening on` carries the real port.
    static const QRegularExpression line(u"^Metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics$"_s);
    QRegularExpressionMatch match;
    QTRY_VERIFY2_WITH_TIMEOUT(
        [&] {
            const QStringList lines = h->orchestrator()->out().split(u'\n');
            match = line.match(lines.value(1));
            return match.hasMatch();
        }(),
        qPrintable(h->orchestrator()->describe()), 20000);
    m_metricsPort = quint16(match.captured(1).toUInt());
    QVERIFY(m_metricsPort != 0 && m_metricsPort != h->port());
}

void tst_Metrics::cleanup()
{
    h.reset();
}

PromDocument tst_Metrics::scrape()
{
    const HttpReply reply = httpGet(m_metricsPort, "/metrics");
    PromDocument document = parsePrometheusText(reply.body);
    if (reply.status != 200)
        document.errors.prepend(u"HTTP status %1"_s.arg(reply.status));
    if (reply.headers.value("content-type") != "text/plain; version=0.0.4; charset=utf-8")
        document.errors.prepend(
            u"content type %1"_s.arg(QString::fromLatin1(reply.headers.value("content-type"))));
    return document;
}

void tst_Metrics::metricsLineAndFormat()
{
    const PromDocument doc = scrape();
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    const Run version = h->cli({u"version"_s});
    QCOMPARE_EXIT(version, 0);
    const auto build = doc.family(u"swamp_build_info"_s);
    QCOMPARE(build.size(), 1);
    QVERIFY2(version.out.startsWith(u"swamp %1 "_s.arg(build.first().labels.value(u"version"_s))),
             qPrintable(version.out));
    for (const char *family :
         {"swamp_workers", "swamp_steps", "swamp_active_leases", "swamp_enrollments_total",
          "swamp_dispatch_latency_seconds", "swamp_rejected_frames_total",
          "swamp_connected_sockets", "swamp_uptime_seconds", "swamp_database_up", "swamp_tokens_expiring_with_workers"}) {
        QVERIFY2(doc.types.contains(QLatin1String(family)), family);
        QVERIFY2(!doc.help.value(QLatin1String(family)).isEmpty(), family);
    }
    QCOMPARE(doc.valueOr(u"swamp_database_up"_s), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_workers"_s, {{u"status"_s, u"idle"_s}}), 0.0);
    QCOMPARE(doc.valueOr(u"swamp_dispatch_latency_seconds_count"_s), 0.0);
    // A loopback metrics address prints no warning (read after the exit: all output is in).
    QVERIFY(h->stopOrchestrator());
    QVERIFY2(!h->orchestrator()->err().contains(u"warning"_s),
             qPrintable(h->orchestrator()->describe()));
}

void tst_Metrics::followsTheFleet()
{
    const QString token = h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!token.isEmpty());
    Child *first = h->startEnrolledWorker(token, h->newCacheDir());
    QVERIFY(first);
    Child *second = h->startEnrolledWorker(token, h->newCacheDir());
    QVERIFY(second);
    const QMap<QString, QString> idle{{u"status"_s, u"idle"_s}};
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_workers"_s, idle), 2.0, 20000);
    PromDocument doc = scrape();
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"ok"_s}}), 2.0);
    QCOMPARE(doc.valueOr(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"worker"_s}}), 2.0);

    // A wrong secret: the worker exits 1 and the refusal is counted under its code.
    const QString wrong = u"fleet."_s + QString(64, u'0');
    Child *refused = h->startWorker(wrong, h->newCacheDir());
    QVERIFY(refused->waitForExit(30000));
    QCOMPARE(refused->exitCode(), 1);
    doc = scrape();
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"token_mismatch"_s}}), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_enrollments_total"_s, {{u"result"_s, u"ok"_s}}), 2.0);

    // A step: one dispatch observed, one succeeded step, no lease left active.
    const Run run = h->cli({u"run"_s, u"--"_s, u"echo"_s, u"measured"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"measured\n"_s);
    doc = scrape();
    QCOMPARE(doc.valueOr(u"swamp_dispatch_latency_seconds_count"_s), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_dispatch_latency_seconds_bucket"_s, {{u"le"_s, u"+Inf"_s}}), 1.0);
    QVERIFY(doc.valueOr(u"swamp_dispatch_latency_seconds_sum"_s) >= 0);
    QCOMPARE(doc.valueOr(u"swamp_steps"_s, {{u"state"_s, u"succeeded"_s}}), 1.0);
    QCOMPARE(doc.valueOr(u"swamp_steps"_s, {{u"state"_s, u"queued"_s}}), 0.0);
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_active_leases"_s), 0.0, 20000);

    // Killed: disconnected within the reconnect grace (2s in the harness), then lost.
    first->signal(SIGKILL);
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_workers"_s, {{u"status"_s, u"disconnected"_s}}), 1.0,
                              20000);
    // The other worker is idle; if the step ran on it, its busy→idle flip is written at the
    // next sweep (250 ms), which the kill above may have beaten.
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_workers"_s, idle), 1.0, 5000);
    doc = scrape();
    QCOMPARE(doc.valueOr(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"worker"_s}}), 1.0);
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_workers"_s, {{u"status"_s, u"lost"_s}}), 1.0, 20000);
    QCOMPARE(value(u"swamp_workers"_s, {{u"status"_s, u"disconnected"_s}}), 0.0);
}

void tst_Metrics::tokensExpiringWithWorkers()
{
    // A token nobody is enrolled on does not count; one (24h) with a connected worker does.
    QVERIFY(!h->createToken(u"idle-token"_s).isEmpty());
    QCOMPARE(value(u"swamp_tokens_expiring_with_workers"_s), 0.0);
    const QString token = h->createToken(u"daily"_s);
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), u"daily"_s));
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_tokens_expiring_with_workers"_s), 1.0, 10000);
    // Extended past a day: no longer.
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"token"_s, u"extend"_s, u"daily"_s, u"--duration"_s, u"30d"_s}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_tokens_expiring_with_workers"_s), 0.0, 10000);
}

void tst_Metrics::rejectedFrames()
{
    // A client that is not a worker: not JSON, then JSON without the enroll frame.
    // Returns the close code the orchestrator sent, or -1.
    const auto sendAndWaitForClose = [&](const QString &text) {
        ScriptedPeer peer(h->url(), u"/v1/worker"_s);
        if (!peer.waitOpen(20000))
            return -1;
        peer.sendText(text);
        return peer.waitClosed(20000) ? peer.closeCode : -1;
    };
    QCOMPARE(sendAndWaitForClose(u"this is not json"_s), 4000);
    QCOMPARE(sendAndWaitForClose(u"{\"type\":\"output\"}"_s), 4000);
    QCOMPARE(sendAndWaitForClose(u"[1,2]"_s), 4000);
    // Over the worker endpoint's frame limit (1 MiB; 64 KiB before enrolling): refused by the
    // WebSocket layer itself.
    QCOMPARE(sendAndWaitForClose(u"{\"type\":\"enroll\",\"pad\":\""_s + QString(1024 * 1024, u'x') +
                                 u"\"}"_s),
             int(QWebSocketProtocol::CloseCodeTooMuchData));
    // The too-large frame is refused by its header: the client hears the close while the rest of
    // its message is still on the way, and the refusal is counted when the orchestrator's side of
    // the connection ends.
    QTRY_COMPARE_WITH_TIMEOUT(value(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"worker"_s}}),
                              0.0, 20000);
    const PromDocument doc = scrape();
    QVERIFY2(doc.errors.isEmpty(), qPrintable(doc.errors.join(u'\n')));
    const QString rejected = u"swamp_rejected_frames_total"_s;
    QCOMPARE(doc.valueOr(rejected, {{u"reason"_s, u"invalid_json"_s}}), 1.0);
    QCOMPARE(doc.valueOr(rejected, {{u"reason"_s, u"enroll_expected"_s}}), 1.0);
    QCOMPARE(doc.valueOr(rejected, {{u"reason"_s, u"not_an_object"_s}}), 1.0);
    QCOMPARE(doc.valueOr(rejected, {{u"reason"_s, u"too_large"_s}}), 1.0);
    QCOMPARE(doc.valueOr(rejected, {{u"reason"_s, u"binary"_s}}), 0.0);
}

void tst_Metrics::healthAndErrors()
{
    HttpReply reply = httpGet(m_metricsPort, "/healthz");
    QCOMPARE(reply.status, 200);
    QCOMPARE(reply.body, QByteArray("ok\n"));
    reply = httpGet(m_metricsPort, "/nothing-here");
    QCOMPARE(reply.status, 404);
    reply = httpGet(m_metricsPort, "/metrics", "POST");
    QCOMPARE(reply.status, 405);
    QCOMPARE(reply.headers.value("allow"), QByteArray("GET, HEAD"));
    // The WebSocket listener does not answer metrics, the metrics listener no WebSocket.
    reply = httpGet(h->port(), "/metrics");
    QVERIFY(reply.status != 200);
}

QTEST_GUILESS_MAIN(tst_Metrics)
#include "tst_metrics.moc"
