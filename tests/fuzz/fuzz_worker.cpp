// libFuzzer harness for what the orchestrator does with a worker's frames on /v1/worker
// (core/server/: enrollment, the session, the scheduler's lease handling), through a real
// Orchestrator in this process (OrchestratorFixture) and a WebSocket client. See
// docs/protocol.md ("Fuzzing").
//
// An input is lines ('\n'), each sent as one text frame:
// - the first is the enroll frame. A JSON object is laid over a valid enroll frame (its fields
//   replace the valid one's, null removes a field; "{}" is the valid frame itself, which must
//   be answered `enrolled`); anything else is sent as it is;
// - the others follow as they are, except "!wait": the frames sent so far are handled and
//   committed, their answers arrive (OrchestratorFixture::sync()); "!reconnect": the connection
//   drops (no goodbye) and a new one sends the same enroll frame (the same instance id: the
//   session resumes).
// In every line @token@ is the valid token and @instance@ this input's instance id; @lease@ and
// @step@ are those of a step dispatched to this worker: when a line after the first names
// either, the harness submits a step once the worker has enrolled and waits for its dispatch.
// Then the client sends a close frame and the orchestrator must close the connection.
//
// Findings: sanitizer reports; a frame from the orchestrator that is not a JSON object of a type
// it sends to workers, or an error without code and message; a close code the protocol does not
// list; a failed commit; the valid enroll frame not answered `enrolled`; no answer to the enroll
// frame or the connection not closed within 10 s; anything WebSocketClient finds.

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

OrchestratorFixture *fixture = nullptr;
QString token;
int inputs = 0;

QJsonObject validEnroll(const QString &instanceId)
{
    return {
        {u"type"_s, u"enroll"_s},
        {u"id"_s, u"1"_s},
        {u"protocol"_s, Swamp::protocolVersion()},
        {u"version"_s, Swamp::version()},
        {u"token"_s, u"@token@"_s},
        {u"machineId"_s, u"18858f9e-90e4-4852-89cb-28ae0281126b"_s},
        {u"machineKey"_s, u"5c0ffee05c0ffee05c0ffee05c0ffee05c0ffee05c0ffee05c0ffee05c0ffee0"_s},
        {u"instanceId"_s, instanceId},
        {u"hostname"_s, u"fuzz"_s},
        {u"platform"_s, u"linux"_s},
        {u"arch"_s, u"x86_64"_s},
        {u"labels"_s, QJsonObject{{u"pool"_s, u"fuzz"_s}}},
        {u"capacity"_s, 2},
    };
}

QJsonObject frameOf(const WebSocketClient::Message &message)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(message.payload, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        finding("the orchestrator sent a frame that is not a JSON object");
    return document.object();
}

void checkFrames(const WebSocketClient &client)
{
    static const QSet<QString> types{u"enrolled"_s, u"error"_s,   u"dispatch"_s, u"cancel"_s,
                                     u"drain"_s,    u"undrain"_s, u"stop"_s,     u"shutdown"_s,
                                     u"window"_s,   u"ack"_s,     u"refused"_s};
    for (const WebSocketClient::Message &message : client.messages()) {
        const QJsonObject frame = frameOf(message);
        const QString type = frame.value(u"type"_s).toString();
        if (!types.contains(type)) {
            std::fprintf(stderr, "%s\n", message.payload.constData());
            finding("a frame of a type the orchestrator does not send to workers");
        }
        if (type == u"error" && (frame.value(u"code"_s).toString().isEmpty() ||
                                 frame.value(u"message"_s).toString().isEmpty())) {
            finding("an error frame without code or message");
        }
    }
    static const QSet<int> codes{1000, 1002, 1005, 1007, 1009, 4000, 4001, 4002, 4003, 4503};
    if (client.closeCode() && !codes.contains(*client.closeCode())) {
        std::fprintf(stderr, "close code %d\n", *client.closeCode());
        finding("a close code docs/protocol.md does not list");
    }
}

bool hasType(const WebSocketClient &client, const QString &type, QJsonObject *found = nullptr)
{
    for (const WebSocketClient::Message &message : client.messages()) {
        const QJsonObject frame = QJsonDocument::fromJson(message.payload).object();
        if (frame.value(u"type"_s) == type) {
            if (found)
                *found = frame;
            return true;
        }
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    initialize(argc, argv);
    fixture = new OrchestratorFixture(5000); // each input adds a few rows: a worker, events, a run
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fixture->ensure())
        token = fixture->createToken(u"fuzz"_s);
    const QList<QByteArray> input =
        lines(QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size)));
    const QString instanceId = u"fuzz-%1"_s.arg(++inputs);
    QByteArray lease;
    QByteArray step;
    const auto substitute = [&](QByteArray line) {
        return line.replace("@token@", token.toUtf8())
            .replace("@instance@", instanceId.toUtf8())
            .replace("@lease@", lease)
            .replace("@step@", step);
    };

    QByteArray enroll = input.first();
    bool validFrame = false;
    const QJsonDocument overlay = QJsonDocument::fromJson(enroll);
    if (overlay.isObject()) {
        QJsonObject frame = validEnroll(instanceId);
        const QJsonObject fields = overlay.object();
        for (auto it = fields.begin(); it != fields.end(); ++it) {
            if (it.value().isNull())
                frame.remove(it.key());
            else
                frame.insert(it.key(), it.value());
        }
        validFrame = fields.isEmpty();
        enroll = QJsonDocument(frame).toJson(QJsonDocument::Compact);
    }

    // One connection that enrolls: the first answer is in its messages when it returns.
    const QByteArray enrollText = substitute(enroll);
    const auto connectAndEnroll = [&] {
        auto client = std::make_unique<WebSocketClient>();
        if (!client->connectTo(fixture->port(), nextSourceAddress()) ||
            !client->handshake("/v1/worker")) {
            finding("no WebSocket connection to /v1/worker");
        }
        client->sendText(enrollText);
        if (!pumpUntil([&] { return !client->messages().isEmpty() || client->ended(); }, 10000))
            finding("no answer to the enroll frame within 10 s");
        return client;
    };
    std::unique_ptr<WebSocketClient> client = connectAndEnroll();
    const bool enrolled = hasType(*client, u"enrolled"_s);
    if (validFrame && !enrolled) {
        for (const auto &message : client->messages())
            std::fprintf(stderr, "%s\n", message.payload.constData());
        finding("the valid enroll frame was not answered enrolled");
    }

    QString runId;
    const QList<QByteArray> rest = input.mid(1);
    const bool wantsStep = std::any_of(rest.cbegin(), rest.cend(), [](const QByteArray &line) {
        return line.contains("@lease@") || line.contains("@step@");
    });
    if (enrolled && wantsStep) {
        const QJsonObject submitted = fixture->request(
            u"run.submit"_s,
            {{u"name"_s, u"fuzz"_s},
             {u"steps"_s, QJsonArray{QJsonObject{{u"name"_s, u"fuzz"_s},
                                                 {u"command"_s, QJsonArray{u"true"_s}}}}}});
        runId = submitted.value(u"runId"_s).toString();
        QJsonObject dispatch;
        pumpUntil([&] { return hasType(*client, u"dispatch"_s, &dispatch) || client->ended(); },
                  5000);
        lease = dispatch.value(u"leaseId"_s).toString().toUtf8();
        step = dispatch.value(u"stepId"_s).toString().toUtf8();
    }
    for (const QByteArray &line : rest) {
        if (line == "!reconnect") {
            // The connection drops (a reset, no goodbye) and the same process comes back.
            checkFrames(*client);
            client.reset();
            fixture->sync();
            client = connectAndEnroll();
            continue;
        }
        if (client->ended() || client->closeCode())
            break;
        if (line == "!wait")
            fixture->sync();
        else
            client->sendText(substitute(line));
    }
    if (!client->closeCode())
        client->sendClose(1000);
    if (!client->waitForEnd(10000))
        finding("the orchestrator did not close the connection within 10 s");
    checkFrames(*client);
    client.reset();
    // The orchestrator hears of the end from the event loop.
    QCoreApplication::processEvents();
    if (!runId.isEmpty()) {
        QString ignored;
        fixture->request(u"run.cancel"_s, {{u"id"_s, runId}}, &ignored);
    }
    deleteLaterNow();
    return 0;
}
