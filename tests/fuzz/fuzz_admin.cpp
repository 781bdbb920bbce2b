// libFuzzer harness for the orchestrator's admin endpoint /v1/admin (core/server/
// adminservice.cpp, runservice.cpp, queryservice.cpp, retentionservice.cpp), through a real
// Orchestrator in this process (OrchestratorFixture) and a WebSocket client. See
// docs/protocol.md ("Fuzzing").
//
// The orchestrator has a token, a worker connected with it that runs every step it is given at
// once (started, one line of output, exit code 0; `finished` cancelled on a cancel), and a run of
// two steps. An input is lines ('\n'), each sent as one text frame on a new admin connection,
// except:
// - a first line "!auth <value>" is the Authorization header instead of the admin token's
//   (empty: none);
// - "!wait": what was sent so far is handled and committed, and the answers, the worker's
//   frames and followed output have arrived (OrchestratorFixture::sync()).
// In every line @admin@ is the admin token, @token@ the token's name, @worker@ the worker's name,
// @run@ and @step@ the run's id and its first step's. After the lines the harness sends a
// `version` request and waits for its answer, then closes.
//
// Findings: sanitizer reports; a frame that is not a JSON object of a type the admin endpoint
// sends, or an error without code and message; answers (result or error) whose ids are not
// those of the requests, in order; with the admin token and only valid requests (UTF-8, a JSON
// object, a "type" and an "id" of 1 to 64 characters), the connection closed or the last request
// not answered; a failed commit; no answer or no close within 10 s.

#include "fuzzsupport.h"
#include "orchestratorfixture.h"
#include "websocketclient.h"

#include "version/version.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <cstdint>
#include <cstdio>
#include <memory>

using namespace Qt::StringLiterals;
using namespace Swamp::Fuzz;

namespace {

// The fixture's worker: enrolled with its own token, runs whatever it is given at once.
struct Worker
{
    std::unique_ptr<WebSocketClient> client;
    QString tokenName;
    QString name;
    bool stopped = false; // told to exit (an operator's drain completed)
};

OrchestratorFixture *fixture = nullptr;
Worker worker;
QString runId;
QString stepId;
int tokens = 0;

void runAsWorker(WebSocketClient *client, const WebSocketClient::Message &message)
{
    const QJsonObject frame = QJsonDocument::fromJson(message.payload).object();
    const QString type = frame.value(u"type"_s).toString();
    const QJsonValue lease = frame.value(u"leaseId"_s);
    const auto send = [client](const QJsonObject &reply) {
        client->sendText(QJsonDocument(reply).toJson(QJsonDocument::Compact));
    };
    if (type == u"dispatch") {
        send({{u"type"_s, u"started"_s}, {u"leaseId"_s, lease}, {u"pid"_s, 4242}});
        send({{u"type"_s, u"output"_s},
              {u"leaseId"_s, lease},
              {u"seq"_s, 1},
              {u"stream"_s, u"stdout"_s},
              {u"data"_s, u"hi\n"_s}});
        send({{u"type"_s, u"finished"_s},
              {u"leaseId"_s, lease},
              {u"outcome"_s, u"exited"_s},
              {u"exitCode"_s, 0},
              {u"lastSeq"_s, 1}});
    } else if (type == u"cancel") {
        send({{u"type"_s, u"finished"_s}, {u"leaseId"_s, lease}, {u"outcome"_s, u"cancelled"_s}});
    } else if (type == u"stop") {
        worker.stopped = true;
    }
}

void connectWorker()
{
    worker = Worker{};
    worker.tokenName = u"fuzz-%1"_s.arg(++tokens);
    const QString token = fixture->createToken(worker.tokenName);
    worker.client = std::make_unique<WebSocketClient>();
    WebSocketClient *client = worker.client.get();
    if (!client->connectTo(fixture->port()) || !client->handshake("/v1/worker"))
        finding("the fixture's worker cannot connect");
    const QJsonObject enroll{
        {u"type"_s, u"enroll"_s},
        {u"id"_s, u"1"_s},
        {u"protocol"_s, Swamp::protocolVersion()},
        {u"version"_s, Swamp::version()},
        {u"token"_s, token},
        {u"machineId"_s, u"0e55689b-7595-42a4-975e-982cbf4dbd6c"_s},
        {u"machineKey"_s, u"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"_s},
        {u"instanceId"_s, worker.tokenName},
        {u"hostname"_s, u"fuzz"_s},
        {u"platform"_s, u"linux"_s},
        {u"arch"_s, u"x86_64"_s},
        {u"labels"_s, QJsonObject{{u"pool"_s, u"fuzz"_s}}},
        {u"capacity"_s, 4},
    };
    client->sendText(QJsonDocument(enroll).toJson(QJsonDocument::Compact));
    QJsonObject enrolled;
    pumpUntil(
        [&] {
            if (client->messages().isEmpty())
                return client->ended();
            enrolled = QJsonDocument::fromJson(client->messages().constFirst().payload).object();
            return true;
        },
        10000);
    if (enrolled.value(u"type"_s).toString() != u"enrolled")
        finding("the fixture's worker did not enroll");
    worker.name = enrolled.value(u"workerName"_s).toString();
    client->setMessageHandler(
        [client](const WebSocketClient::Message &message) { runAsWorker(client, message); });
}

void prepare()
{
    if (fixture->ensure()) {
        connectWorker();
        const QJsonObject submitted = fixture->request(
            u"run.submit"_s,
            {{u"name"_s, u"seed"_s},
             {u"steps"_s,
              QJsonArray{
                  QJsonObject{{u"name"_s, u"a"_s}, {u"command"_s, QJsonArray{u"echo"_s, u"hi"_s}}},
                  QJsonObject{
                      {u"name"_s, u"b"_s}, {u"command"_s, u"sleep 1"_s}, {u"shell"_s, true}}}}});
        runId = submitted.value(u"runId"_s).toString();
        stepId = submitted.value(u"stepIds"_s).toArray().first().toString();
        return;
    }
    // A revoked token or a completed drain took the worker away: another one takes its place.
    if (worker.client->ended() || worker.client->closeCode() || worker.stopped)
        connectWorker();
}

void checkFrame(const QJsonObject &frame, const QByteArray &payload)
{
    static const QSet<QString> types{u"result"_s, u"error"_s, u"event"_s, u"output"_s, u"step"_s};
    const QString type = frame.value(u"type"_s).toString();
    if (!types.contains(type)) {
        std::fprintf(stderr, "%s\n", payload.constData());
        finding("a frame of a type the admin endpoint does not send");
    }
    if (type == u"error" && (frame.value(u"code"_s).toString().isEmpty() ||
                             frame.value(u"message"_s).toString().isEmpty())) {
        finding("an error frame without code or message");
    }
}

// A request the orchestrator must answer without closing the connection; its id.
std::optional<QString> validRequestId(const QByteArray &text)
{
    if (!text.isValidUtf8()) // a text message must be UTF-8 (RFC 6455 closes with 1007)
        return std::nullopt;
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    const QJsonValue type = document.object().value(u"type"_s);
    const QJsonValue id = document.object().value(u"id"_s);
    if (!type.isString() || type.toString().isEmpty() || type.toString().size() > 64 ||
        !id.isString() || id.toString().isEmpty() || id.toString().size() > 64) {
        return std::nullopt;
    }
    return id.toString();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    initialize(argc, argv);
    // events.subscribe {"after": 0} sends every event so far: a younger orchestrator keeps that
    // cheap.
    fixture = new OrchestratorFixture(2000);
    prepare(); // the token, the worker and the run exist before the first input
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prepare();
    QList<QByteArray> input =
        lines(QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size)));
    const auto substitute = [](QByteArray line) {
        return line.replace("@admin@", fixture->adminToken())
            .replace("@token@", worker.tokenName.toUtf8())
            .replace("@worker@", worker.name.toUtf8())
            .replace("@run@", runId.toUtf8())
            .replace("@step@", stepId.toUtf8());
    };
    QByteArray authorization = "Bearer " + fixture->adminToken();
    if (input.first().startsWith("!auth ")) {
        authorization = substitute(input.takeFirst().mid(6));
        authorization.replace('\r', ' ');
    }
    const bool authorized = authorization == "Bearer " + fixture->adminToken();
    QByteArray headers = "User-Agent: swamp-fuzz\r\n";
    if (!authorization.isEmpty())
        headers += "Authorization: " + authorization + "\r\n";

    {
        WebSocketClient client;
        if (!client.connectTo(fixture->port(), nextSourceAddress()) ||
            !client.handshake("/v1/admin", headers)) {
            finding("no WebSocket connection to /v1/admin");
        }
        QStringList expectedIds;
        bool mayClose = !authorized;
        for (const QByteArray &line : std::as_const(input)) {
            if (client.ended() || client.closeCode())
                break;
            if (line == "!wait") {
                fixture->sync();
                continue;
            }
            const QByteArray text = substitute(line);
            if (const auto id = validRequestId(text))
                expectedIds << *id;
            else
                mayClose = true;
            client.sendText(text);
        }
        if (!client.ended() && !client.closeCode()) {
            client.sendText("{\"type\":\"version\",\"id\":\"fuzz-last\"}");
            expectedIds << u"fuzz-last"_s;
        }
        QStringList answeredIds;
        qsizetype checked = 0;
        const bool answered = pumpUntil(
            [&] {
                for (; checked < client.messages().size(); ++checked) {
                    const QByteArray &payload = client.messages().at(checked).payload;
                    const QJsonDocument document = QJsonDocument::fromJson(payload);
                    if (!document.isObject())
                        finding("the orchestrator sent a frame that is not a JSON object");
                    const QJsonObject frame = document.object();
                    checkFrame(frame, payload);
                    const QString type = frame.value(u"type"_s).toString();
                    if (type == u"result" || (type == u"error" && frame.contains(u"id"_s)))
                        answeredIds << frame.value(u"id"_s).toString();
                }
                return answeredIds.size() >= expectedIds.size() || client.ended();
            },
            10000);
        if (!answered)
            finding("an admin request was not answered within 10 s");
        if (answeredIds != expectedIds.first(std::min(answeredIds.size(), expectedIds.size())) ||
            answeredIds.size() > expectedIds.size()) {
            std::fprintf(stderr, "expected %s\nanswered %s\n", qPrintable(expectedIds.join(u' ')),
                         qPrintable(answeredIds.join(u' ')));
            finding("answers that are not those of the requests, in order");
        }
        if (!mayClose && answeredIds != expectedIds)
            finding("valid requests were not all answered on an open connection");
        if (!client.closeCode())
            client.sendClose(1000);
        if (!client.waitForEnd(10000))
            finding("the orchestrator did not close the admin connection within 10 s");
        static const QSet<int> codes{1000, 1002, 1005, 1007, 1009, 4000, 4401, 4503};
        if (client.closeCode() && !codes.contains(*client.closeCode())) {
            std::fprintf(stderr, "close code %d\n", *client.closeCode());
            finding("a close code docs/protocol.md does not list");
        }
        QCoreApplication::processEvents();
    }
    deleteLaterNow();
    return 0;
}
