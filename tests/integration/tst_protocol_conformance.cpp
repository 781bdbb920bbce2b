// docs/protocol.md against a live orchestrator (issue 19, "code and doc agree"). The test reads
// the document at run time and takes every JSON example out of its ```json blocks: each example
// is one JSON object on one or more lines. Every example is classified by where it stands (the
// endpoint of its section, the direction its heading or paragraph names, its "type") and then
// walked on a real `swamp serve` on 127.0.0.1:
// - a frame a worker sends is sent in a real session (a token from `swamp worker token create`,
//   the lease ids of the live session in place of the document's);
// - a frame the orchestrator sends is compared with what it really sends: the same keys, values
//   of the same JSON types (an example with a "..." key shows some keys only);
// - an admin request is sent as written, and its reply compared with the example after it; a
//   result shown without its request is compared with the reply to the request the test makes.
// The enroll table is walked too (each field marked required is refused when left out), and the
// `Server` header the document shows is the upgrade response's. An example the test cannot
// classify, or one no walk covered, fails the test: a new example in the document needs a walk
// here. `window` goes out only when the fleet's reconnect window doubles (2,000 connected workers):
// its example is compared with what the orchestrator's one codec writes, and tst_sessions
// provokes it in-process; so is `resend`'s (a database that refuses a worker's frames).
#include "hostilepeer.h"
#include "swampharness.h"

#include "protocol/workerframes.h"
#include "query/answer.h"
#include "version/version.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>
#include <QUuid>
#include <QWebSocket>

using namespace Qt::StringLiterals;
using namespace SwampTest;

namespace {

// One JSON example of docs/protocol.md.
struct Example
{
    int line = 0;       // where it starts (1-based)
    QString section;    // its "## " heading
    QString heading;    // its "### " heading, or the section's when it has none
    QString direction;  // "worker" or "orchestrator": who sends it (worker endpoint only)
    QString recordName; // under "Objects": the object the paragraph before it names
    QJsonObject object;

    QString type() const { return object.value(u"type"_s).toString(); }
    QString where() const
    {
        return u"docs/protocol.md:%1 (%2, %3)"_s.arg(line).arg(heading, type());
    }
};

const QStringList WorkerSections{u"Worker frames"_s, u"Steps: dispatch to finished"_s,
                                 u"Resume after reconnect"_s};
const QStringList AdminSections{u"Admin endpoint"_s, u"Admin methods"_s};
const QStringList WorkerSends{u"enroll"_s,   u"started"_s, u"output"_s, u"finished"_s,
                              u"rejected"_s, u"drain"_s,   u"goodbye"_s};
const QStringList OrchestratorSendsToWorkers{
    u"enrolled"_s, u"error"_s,   u"dispatch"_s, u"ack"_s,      u"refused"_s, u"cancel"_s,
    u"drain"_s,    u"undrain"_s, u"stop"_s,     u"shutdown"_s, u"window"_s, u"resend"_s};
const QStringList OrchestratorSendsToAdmins{u"result"_s, u"error"_s, u"event"_s, u"output"_s,
                                            u"step"_s};
// Nested objects that are records (compared key by key), not maps of the caller's data.
const QStringList Records{u"result"_s, u"event"_s, u"step"_s, u"run"_s, u"details"_s};

// Examples no walk here can provoke, each with the reason; anything else must be walked.
// Frame types no walk can provoke, with why (none at present: `window` is compared with the codec
// that writes it, see windowAsTheOrchestratorWritesIt()).
const QHash<QString, QString> NotProvoked{};

QString jsonType(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return u"null"_s;
    case QJsonValue::Bool:
        return u"bool"_s;
    case QJsonValue::Double:
        return value.toDouble() == double(value.toInteger()) ? u"integer"_s : u"number"_s;
    case QJsonValue::String:
        return u"string"_s;
    case QJsonValue::Array:
        return u"array"_s;
    case QJsonValue::Object:
        return u"object"_s;
    case QJsonValue::Undefined:
        break;
    }
    return u"missing"_s;
}

// How `actual` differs from the example `expected`: the keys (all of them, or those shown when
// the example has a "..." key) and the JSON type of each value. A null on either side is a
// nullable field in another state and matches any type.
void compareShape(const QJsonObject &expected, const QJsonObject &actual, const QString &path,
                  QStringList *problems)
{
    const bool elided = expected.contains(u"..."_s);
    for (auto it = expected.begin(); it != expected.end(); ++it) {
        if (it.key() == u"...")
            continue;
        const QString at = path.isEmpty() ? it.key() : path + u'.' + it.key();
        if (!actual.contains(it.key())) {
            *problems << u"%1: in the doc, not sent"_s.arg(at);
            continue;
        }
        const QJsonValue value = actual.value(it.key());
        const QString want = jsonType(it.value());
        const QString got = jsonType(value);
        if (want != got && want != u"null" && got != u"null" &&
            !(want == u"number" && got == u"integer")) {
            *problems << u"%1: %2 in the doc, %3 sent"_s.arg(at, want, got);
            continue;
        }
        if (Records.contains(it.key()) && it.value().isObject() && value.isObject())
            compareShape(it.value().toObject(), value.toObject(), at, problems);
        if (it.value().isArray() && value.isArray() && !it.value().toArray().isEmpty() &&
            !value.toArray().isEmpty()) {
            const QJsonValue first = it.value().toArray().first();
            if (jsonType(first) != jsonType(value.toArray().first()))
                *problems << u"%1[]: %2 in the doc, %3 sent"_s.arg(
                    at, jsonType(first), jsonType(value.toArray().first()));
        }
    }
    if (!elided) {
        for (auto it = actual.begin(); it != actual.end(); ++it) {
            if (!expected.contains(it.key()))
                *problems << u"%1: sent, not in the doc"_s.arg(
                    path.isEmpty() ? it.key() : path + u'.' + it.key());
        }
    }
}

QString compact(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

} // namespace

class tst_ProtocolConformance : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void everyExampleIsClassified();
    void theVersionToSendIsInTheUpgradeResponse();
    void enrollFieldsAreRequiredAsMarked();
    void workerSession();
    void workerError();
    void resumeAfterReconnect();
    void adminAuthentication();
    void adminRequests();
    void shutdown();
    void windowAsTheOrchestratorWritesIt();
    void resendAsTheOrchestratorWritesIt();
    void everyExampleWasWalked();

    void init();

private:
    bool readDocument(QString *why);
    // The one example of `type` whose heading contains `heading`; records it as walked.
    const Example *example(const QString &heading, const QString &type,
                           const QString &direction = {});
    // Compares a frame the orchestrator sent with `expected`; records the example as walked.
    bool conforms(const Example *expected, const QJsonObject &actual);
    // The next frame of `type` on `peer` after `*cursor` (which moves past it); empty if none.
    static QJsonObject next(ScriptedPeer &peer, qsizetype *cursor, const QString &type,
                            int ms = 15000);
    QJsonObject enrollFrameFromDoc(const QString &machineId, const QString &instanceId) const;
    // Sends an admin request and returns its reply (result or error).
    QJsonObject request(const QJsonObject &frame);
    // run.submit of one step that runs for a minute (`sleep 60`), as request `id`.
    QJsonObject submitLongStep(const QString &id);
    QJsonObject sendAs(const Example *sent, const QString &leaseId);

    std::unique_ptr<Harness> h;
    QString m_workerToken;
    QByteArray m_adminToken;
    QList<Example> m_examples;
    QStringList m_unclassified;
    QSet<int> m_walked;       // lines of the examples walked
    QStringList m_mismatches; // of the running case; everyExampleWasWalked() sees them all
    QStringList m_allMismatches;
    std::unique_ptr<ScriptedPeer> m_admin;
    qsizetype m_adminCursor = 0;
    QString m_docVersion;
    int m_docProtocol = 0;
    QHash<QString, bool> m_enrollFields; // the enroll table: field → marked required
};

bool tst_ProtocolConformance::readDocument(QString *why)
{
    QFile file(QStringLiteral(SWAMP_SOURCE_DIR) + u"/docs/protocol.md"_s);
    if (!file.open(QIODevice::ReadOnly)) {
        *why = file.errorString();
        return false;
    }
    const QStringList lines = QString::fromUtf8(file.readAll()).split(u'\n');
    static const QRegularExpression title(u"^# .*\\(protocol (\\d+), swamp (\\S+)\\)$"_s);
    static const QRegularExpression direction(
        u"^\\(?(worker|orchestrator) → (worker|orchestrator)"_s,
        QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression headingDirection(
        u"\\((worker|orchestrator) → (worker|orchestrator)\\)"_s);
    static const QRegularExpression record(u"^\\*\\*(\\w+)\\*\\*:"_s);
    static const QRegularExpression tableRow(u"^\\| `(\\w+)` \\| ([^|]*) \\|"_s);
    QString section;
    QString heading;
    QString paragraphDirection;
    QString headingSender;
    QString recordName;
    bool inBlock = false;
    bool jsonBlock = false;
    QString pending;
    int pendingLine = 0;
    for (int i = 0; i < lines.size(); ++i) {
        const QString &line = lines.at(i);
        if (line.startsWith(u"```")) {
            if (inBlock && jsonBlock && !pending.trimmed().isEmpty())
                m_unclassified << u"docs/protocol.md:%1: not a JSON object: %2"_s.arg(pendingLine)
                                      .arg(pending.left(80));
            inBlock = !inBlock;
            jsonBlock = inBlock && line.mid(3).trimmed() == u"json";
            pending.clear();
            continue;
        }
        if (inBlock && !jsonBlock) {
            // An example outside a ```json block would escape this test.
            const QJsonDocument parsed = QJsonDocument::fromJson(line.trimmed().toUtf8());
            if (parsed.isObject())
                m_unclassified
                    << u"docs/protocol.md:%1: a JSON object outside a ```json block"_s.arg(i + 1);
            continue;
        }
        if (inBlock) {
            if (pending.isEmpty() && line.trimmed().isEmpty())
                continue;
            if (pending.isEmpty())
                pendingLine = i + 1;
            pending += line + u'\n';
            QJsonParseError error;
            const QJsonDocument parsed = QJsonDocument::fromJson(pending.toUtf8(), &error);
            if (error.error != QJsonParseError::NoError)
                continue;
            pending.clear();
            if (!parsed.isObject()) {
                m_unclassified << u"docs/protocol.md:%1: a JSON example that is not an object"_s
                                      .arg(pendingLine);
                continue;
            }
            Example example;
            example.line = pendingLine;
            example.section = section;
            example.heading = heading;
            example.recordName = recordName;
            example.object = parsed.object();
            example.direction = paragraphDirection.isEmpty() ? headingSender : paragraphDirection;
            m_examples << example;
            continue;
        }
        if (const auto match = title.match(line); match.hasMatch()) {
            m_docProtocol = match.captured(1).toInt();
            m_docVersion = match.captured(2);
        } else if (line.startsWith(u"## ")) {
            section = heading = line.mid(3).trimmed();
            headingSender.clear();
            paragraphDirection.clear();
            recordName.clear();
        } else if (line.startsWith(u"### ")) {
            heading = line.mid(4).trimmed();
            const auto match = headingDirection.match(heading);
            headingSender = match.hasMatch() ? match.captured(1).toLower() : QString();
            paragraphDirection.clear();
            recordName.clear();
        } else if (const auto match = tableRow.match(line);
                   match.hasMatch() && heading.startsWith(u"`enroll`")) {
            m_enrollFields.insert(match.captured(1), match.captured(2).contains(u"required"_s));
        } else if (const auto match = direction.match(line); match.hasMatch()) {
            paragraphDirection = match.captured(1).toLower();
        } else if (const auto match = record.match(line); match.hasMatch()) {
            recordName = match.captured(1);
        }
    }
    if (m_docProtocol == 0)
        *why = u"no title \"# ... (protocol N, swamp V)\""_s;
    return m_docProtocol != 0;
}

void tst_ProtocolConformance::initTestCase()
{
    QString why;
    QVERIFY2(readDocument(&why), qPrintable(why));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
    QVERIFY(h->url().startsWith(u"ws://127.0.0.1:"_s));
    m_workerToken = h->createToken(u"conformance"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!m_workerToken.isEmpty());
    QFile adminJson(h->dataDir() + u"/admin.json"_s);
    QVERIFY(adminJson.open(QIODevice::ReadOnly));
    m_adminToken = QJsonDocument::fromJson(adminJson.readAll())
                       .object()
                       .value(u"adminToken"_s)
                       .toString()
                       .toLatin1();
    QVERIFY(!m_adminToken.isEmpty());
    m_admin = std::make_unique<ScriptedPeer>(
        h->url(), QString::fromUtf16(Swamp::Protocol::AdminPath),
        QList<std::pair<QByteArray, QByteArray>>{{"Authorization", "Bearer " + m_adminToken},
                                                 {"User-Agent", "swamp-conformance/1"}});
    QVERIFY(m_admin->waitOpen());
}

void tst_ProtocolConformance::cleanupTestCase()
{
    m_admin.reset();
    h.reset();
}

void tst_ProtocolConformance::init()
{
    m_mismatches.clear();
}

void tst_ProtocolConformance::everyExampleIsClassified()
{
    QCOMPARE(m_docProtocol, Swamp::protocolVersion());
    for (Example &example : m_examples) {
        const QString type = example.type();
        if (WorkerSections.contains(example.section)) {
            if (example.direction.isEmpty()) {
                // No heading or paragraph names it: the type must.
                const bool byWorker = WorkerSends.contains(type);
                const bool byOrchestrator = OrchestratorSendsToWorkers.contains(type);
                if (byWorker != byOrchestrator)
                    example.direction = byWorker ? u"worker"_s : u"orchestrator"_s;
            }
            const QStringList &known =
                example.direction == u"worker" ? WorkerSends : OrchestratorSendsToWorkers;
            if (example.direction.isEmpty() || !known.contains(type))
                m_unclassified << example.where() +
                                      u": no worker frame of that type and direction"_s;
        } else if (AdminSections.contains(example.section)) {
            if (type.isEmpty()) {
                // A result shown alone (under its method), or an object of "Objects".
                static const QRegularExpression method(u"^`([a-z]+\\.[a-z]+)`$"_s);
                if (!method.match(example.heading).hasMatch() &&
                    !(example.heading == u"Objects" && !example.recordName.isEmpty()))
                    m_unclassified
                        << example.where() +
                               u": an object without a type, under no method or object"_s;
            } else if (!OrchestratorSendsToAdmins.contains(type) &&
                       !example.object.value(u"id"_s).isString()) {
                m_unclassified << example.where() + u": an admin request without an id"_s;
            }
        } else {
            m_unclassified << example.where() + u": outside the worker and admin sections"_s;
        }
    }
    qInfo("%lld JSON examples in docs/protocol.md", qlonglong(m_examples.size()));
    QVERIFY(m_examples.size() >= 30);
    QVERIFY2(m_unclassified.isEmpty(), qPrintable(m_unclassified.join(u'\n')));
}

const Example *tst_ProtocolConformance::example(const QString &heading, const QString &type,
                                                const QString &direction)
{
    const Example *found = nullptr;
    for (const Example &example : std::as_const(m_examples)) {
        if (example.heading.contains(heading) && example.type() == type &&
            (direction.isEmpty() || example.direction == direction)) {
            if (found) {
                qWarning("two examples of %s under %s", qPrintable(type), qPrintable(heading));
                return nullptr;
            }
            found = &example;
        }
    }
    if (!found)
        qWarning("no example of \"%s\" under \"%s\"", qPrintable(type), qPrintable(heading));
    else
        m_walked.insert(found->line);
    return found;
}

bool tst_ProtocolConformance::conforms(const Example *expected, const QJsonObject &actual)
{
    if (!expected)
        return false;
    QStringList problems;
    if (actual.isEmpty())
        problems << u"nothing was sent"_s;
    else
        compareShape(expected->object, actual, QString(), &problems);
    if (problems.isEmpty())
        return true;
    m_mismatches << u"%1 against %2:\n  %3"_s.arg(expected->where(), compact(actual),
                                                  problems.join(u"\n  "_s));
    m_allMismatches << m_mismatches.last();
    qWarning("%s", qPrintable(m_mismatches.last()));
    return false;
}

QJsonObject tst_ProtocolConformance::next(ScriptedPeer &peer, qsizetype *cursor,
                                          const QString &type, int ms)
{
    QJsonObject found;
    (void)QTest::qWaitFor(
        [&] {
            for (; *cursor < peer.frames.size(); ++*cursor) {
                if (peer.frames.at(*cursor).value(u"type"_s).toString() == type) {
                    found = peer.frames.at((*cursor)++);
                    return true;
                }
            }
            return peer.closed;
        },
        ms);
    return found;
}

QJsonObject tst_ProtocolConformance::enrollFrameFromDoc(const QString &machineId,
                                                        const QString &instanceId) const
{
    QJsonObject frame;
    for (const Example &example : m_examples) {
        if (example.type() == u"enroll")
            frame = example.object;
    }
    // The live session's values in place of the document's: its token and a machine of its own.
    // The document's version is this build's (the title says so, checked above), but a build
    // of another SWAMP_VERSION must still enroll.
    frame.insert(u"token"_s, m_workerToken);
    frame.insert(u"machineId"_s, machineId);
    frame.insert(u"instanceId"_s, instanceId);
    frame.insert(u"version"_s, Swamp::version());
    // A worker name is one machine's: each machine of the session asks for its own.
    if (frame.contains(u"name"_s))
        frame.insert(u"name"_s, QString(frame.value(u"name"_s).toString() + u'-' + machineId.left(8)));
    return frame;
}

QJsonObject tst_ProtocolConformance::submitLongStep(const QString &id)
{
    const QJsonObject step{{u"command"_s, QJsonArray{u"sleep"_s, u"60"_s}}};
    return request(QJsonObject{{u"type"_s, u"run.submit"_s},
                               {u"id"_s, id},
                               {u"params"_s, QJsonObject{{u"steps"_s, QJsonArray{step}}}}});
}

QJsonObject tst_ProtocolConformance::request(const QJsonObject &frame)
{
    const QString id = frame.value(u"id"_s).toString();
    m_admin->send(frame);
    QJsonObject reply;
    (void)QTest::qWaitFor(
        [&] {
            for (; m_adminCursor < m_admin->frames.size(); ++m_adminCursor) {
                const QJsonObject candidate = m_admin->frames.at(m_adminCursor);
                const QString type = candidate.value(u"type"_s).toString();
                if ((type == u"result" || type == u"error") &&
                    candidate.value(u"id"_s).toString() == id) {
                    reply = candidate;
                    ++m_adminCursor;
                    return true;
                }
            }
            return m_admin->closed;
        },
        15000);
    return reply;
}

// The example frame a worker sends, with the live lease id in place of the document's.
QJsonObject tst_ProtocolConformance::sendAs(const Example *sent, const QString &leaseId)
{
    if (!sent)
        return {};
    QJsonObject frame = sent->object;
    if (frame.contains(u"leaseId"_s))
        frame.insert(u"leaseId"_s, leaseId);
    return frame;
}

void tst_ProtocolConformance::theVersionToSendIsInTheUpgradeResponse()
{
    // The doc's sentence gives the header with an example value; the orchestrator's must have
    // that form with this build's version and protocol.
    QFile file(QStringLiteral(SWAMP_SOURCE_DIR) + u"/docs/protocol.md"_s);
    QVERIFY(file.open(QIODevice::ReadOnly));
    static const QRegularExpression documented(u"`Server: swamp/([^ `]+) swamp-protocol/(\\d+)`"_s);
    const auto match = documented.match(QString::fromUtf8(file.readAll()));
    QVERIFY2(match.hasMatch(),
             "docs/protocol.md shows no `Server: swamp/<version> swamp-protocol/<n>` example");
    for (const QByteArray &path : {QByteArray("/v1/worker"), QByteArray("/v1/admin")}) {
        const QByteArray head = upgradeResponseHead(h->port(), path);
        QVERIFY2(head.startsWith("HTTP/1.1 101"), head.constData());
        QCOMPARE(
            QString::fromLatin1(headerValue(head, "server")),
            u"swamp/%1 swamp-protocol/%2"_s.arg(Swamp::version()).arg(Swamp::protocolVersion()));
    }
}

void tst_ProtocolConformance::enrollFieldsAreRequiredAsMarked()
{
    // The enroll table marks each field required or optional: the example's fields are the
    // table's, a required one left out is refused naming it (version and protocol: checked first,
    // protocol_mismatch), and an optional one left out enrolls. Nine refusals: under the ten a
    // minute after which an address is answered rate_limited.
    const Example *enroll = example(u"`enroll`"_s, u"enroll"_s);
    QVERIFY(enroll);
    QStringList exampleFields = enroll->object.keys();
    exampleFields.removeOne(u"type"_s);
    QStringList tableFields = m_enrollFields.keys();
    exampleFields.sort();
    tableFields.sort();
    QCOMPARE(tableFields, exampleFields);
    for (auto it = m_enrollFields.cbegin(); it != m_enrollFields.cend(); ++it) {
        QJsonObject frame = enrollFrameFromDoc(QUuid::createUuid().toString(QUuid::WithoutBraces),
                                               QUuid::createUuid().toString(QUuid::WithoutBraces));
        frame.remove(it.key());
        ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
        QVERIFY(worker.waitOpen());
        worker.send(frame);
        QVERIFY(worker.waitFrames(1));
        const QJsonObject reply = worker.frames.first();
        if (!it.value()) {
            QVERIFY2(reply.value(u"type"_s).toString() == u"enrolled"_s,
                     qPrintable(it.key() + u": "_s + compact(reply)));
            worker.send(QJsonObject{{u"type"_s, u"goodbye"_s}, {u"reason"_s, u"done"_s}});
            QVERIFY(worker.waitClosed());
        } else if (it.key() == u"version" || it.key() == u"protocol") {
            QCOMPARE(reply.value(u"code"_s).toString(), u"protocol_mismatch"_s);
        } else {
            QCOMPARE(reply.value(u"code"_s).toString(), u"invalid_enroll"_s);
            QCOMPARE(reply.value(u"message"_s).toString(),
                     u"invalid enroll frame: \"%1\" is missing"_s.arg(it.key()));
        }
    }
}

void tst_ProtocolConformance::workerSession()
{
    // enroll → enrolled
    const Example *enroll = example(u"`enroll`"_s, u"enroll"_s);
    QVERIFY(enroll);
    ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(worker.waitOpen());
    qsizetype cursor = 0;
    const QString machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    worker.send(enrollFrameFromDoc(machineId, QUuid::createUuid().toString(QUuid::WithoutBraces)));
    const QJsonObject enrolled = next(worker, &cursor, u"enrolled"_s);
    QVERIFY2(conforms(example(u"`enrolled`"_s, u"enrolled"_s), enrolled),
             qPrintable(compact(enrolled)));
    QCOMPARE(enrolled.value(u"id"_s), enroll->object.value(u"id"_s));
    const QString workerName = enrolled.value(u"workerName"_s).toString();

    // run.submit (its result is shown alone) → dispatch
    const QJsonObject submitted = request(QJsonObject{
        {u"type"_s, u"run.submit"_s},
        {u"id"_s, u"submit-1"_s},
        {u"params"_s, QJsonObject{{u"name"_s, u"nightly"_s},
                                  {u"steps"_s, QJsonArray{QJsonObject{
                                                   {u"name"_s, u"echo"_s},
                                                   {u"command"_s, QJsonArray{u"echo"_s, u"hi"_s}},
                                                   {u"env"_s, QJsonObject{{u"A"_s, u"1"_s}}}}}}}}});
    QCOMPARE(submitted.value(u"type"_s).toString(), u"result"_s);
    QVERIFY(
        conforms(example(u"`run.submit`"_s, QString()), submitted.value(u"result"_s).toObject()));
    const QString stepId =
        submitted.value(u"result"_s).toObject().value(u"stepIds"_s).toArray().first().toString();
    const QJsonObject first = next(worker, &cursor, u"dispatch"_s);
    QVERIFY(conforms(example(u"`dispatch`"_s, u"dispatch"_s), first));
    QCOMPARE(first.value(u"stepId"_s).toString(), stepId);

    // rejected: the lease ends cancelled, and the step comes back (after the one-second hold) as
    // a new attempt.
    worker.send(
        sendAs(example(u"`rejected`"_s, u"rejected"_s), first.value(u"leaseId"_s).toString()));
    const QJsonObject dispatch = next(worker, &cursor, u"dispatch"_s);
    QVERIFY(conforms(example(u"`dispatch`"_s, u"dispatch"_s), dispatch));
    QCOMPARE(dispatch.value(u"attempt"_s).toInt(), first.value(u"attempt"_s).toInt() + 1);
    const QString leaseId = dispatch.value(u"leaseId"_s).toString();
    QVERIFY(leaseId != first.value(u"leaseId"_s).toString());

    // run.follow from here on: the admin side of started/output/finished.
    const QJsonObject followed =
        request(QJsonObject{{u"type"_s, u"run.follow"_s},
                            {u"id"_s, u"follow-1"_s},
                            {u"params"_s, QJsonObject{{u"id"_s, stepId}}}});
    QCOMPARE(followed.value(u"type"_s).toString(), u"result"_s);
    qsizetype adminCursor = m_adminCursor;
    QVERIFY(!next(*m_admin, &adminCursor, u"step"_s).isEmpty()); // the current state

    // started, output, finished → ack; the follower gets the live output and the final step.
    worker.send(sendAs(example(u"`started`"_s, u"started"_s), leaseId));
    QCOMPARE(next(*m_admin, &adminCursor, u"step"_s)
                 .value(u"step"_s)
                 .toObject()
                 .value(u"state"_s)
                 .toString(),
             u"running"_s);
    const Example *output = example(u"`output` (worker"_s, u"output"_s);
    QVERIFY(output);
    worker.send(sendAs(output, leaseId));
    const QJsonObject chunk = next(*m_admin, &adminCursor, u"output"_s);
    QVERIFY(conforms(example(u"`run.follow`"_s, u"output"_s), chunk));
    QCOMPARE(chunk.value(u"data"_s), output->object.value(u"data"_s));
    QCOMPARE(chunk.value(u"workerName"_s).toString(), workerName);
    const Example *finished = example(u"`finished`"_s, u"finished"_s);
    QVERIFY(finished);
    worker.send(sendAs(finished, leaseId));
    const QJsonObject ack = next(worker, &cursor, u"ack"_s);
    QVERIFY(conforms(example(u"`ack`"_s, u"ack"_s), ack));
    QCOMPARE(ack.value(u"leaseId"_s).toString(), leaseId);
    QJsonObject step;
    QVERIFY(QTest::qWaitFor(
        [&] {
            const QJsonObject frame = next(*m_admin, &adminCursor, u"step"_s, 0);
            if (frame.value(u"step"_s).toObject().value(u"state"_s).toString() == u"succeeded")
                step = frame;
            return !step.isEmpty();
        },
        15000));
    QVERIFY(conforms(example(u"`run.follow`"_s, u"step"_s), step));
    m_adminCursor = adminCursor;

    // data.query's rows form over the lease that just completed: the document's shape, and,
    // rebuilt, the records form's answer.
    QJsonObject rowsQuery{{u"type"_s, u"data.query"_s},
                          {u"id"_s, u"11"_s},
                          {u"params"_s, QJsonObject{{u"predicate"_s, u"modelType == \"swamp/step-lease\" && "
                                                                     "attributes.state == \"completed\""_s},
                                                    {u"rows"_s, true}}}};
    const QJsonObject rows = request(rowsQuery);
    QVERIFY(conforms(example(u"`data.query`"_s, u"result"_s), rows));
    QCOMPARE(rows.value(u"result"_s)[u"results"_s].toArray().size(), 1);
    rowsQuery.insert(u"params"_s, QJsonObject{{u"predicate"_s, rowsQuery[u"params"_s][u"predicate"_s]}});
    const auto rebuilt = Swamp::Query::answerWithRecords(rows.value(u"result"_s).toObject());
    QVERIFY(rebuilt.has_value());
    QCOMPARE(*rebuilt, request(rowsQuery).value(u"result"_s).toObject());

    // The same finished again names a lease that is no longer active: refused, and acked.
    worker.send(sendAs(finished, leaseId));
    const QJsonObject refused = next(worker, &cursor, u"refused"_s);
    QVERIFY(conforms(example(u"`refused`"_s, u"refused"_s), refused));
    QCOMPARE(next(worker, &cursor, u"ack"_s).value(u"leaseId"_s).toString(), leaseId);

    // An operator cancels a running step → cancel; the cancelled finished is acked.
    const QJsonObject longRun = submitLongStep(u"submit-2"_s);
    const QString longStep =
        longRun.value(u"result"_s).toObject().value(u"stepIds"_s).toArray().first().toString();
    const QString longLease = next(worker, &cursor, u"dispatch"_s).value(u"leaseId"_s).toString();
    QVERIFY(!longLease.isEmpty());
    worker.send(sendAs(example(u"`started`"_s, u"started"_s), longLease));
    QCOMPARE(request(QJsonObject{{u"type"_s, u"run.cancel"_s},
                                 {u"id"_s, u"cancel-1"_s},
                                 {u"params"_s, QJsonObject{{u"id"_s, longStep}}}})
                 .value(u"type"_s)
                 .toString(),
             u"result"_s);
    const Example *cancelExample = example(u"`cancel`"_s, u"cancel"_s);
    const QJsonObject cancel = next(worker, &cursor, u"cancel"_s);
    QVERIFY(conforms(cancelExample, cancel));
    QCOMPARE(cancel.value(u"reason"_s), cancelExample->object.value(u"reason"_s));
    QJsonObject cancelled = sendAs(finished, longLease);
    cancelled.insert(u"outcome"_s, u"cancelled"_s);
    cancelled.remove(u"exitCode"_s);
    worker.send(cancelled);
    QCOMPARE(next(worker, &cursor, u"ack"_s).value(u"leaseId"_s).toString(), longLease);

    // The worker drains itself → the orchestrator echoes it with code "worker".
    const Example *ownDrain = example(u"`drain`"_s, u"drain"_s, u"worker"_s);
    QVERIFY(ownDrain);
    worker.send(ownDrain->object);
    const Example *drainExample = example(u"`drain`"_s, u"drain"_s, u"orchestrator"_s);
    QJsonObject echo = next(worker, &cursor, u"drain"_s);
    QVERIFY(conforms(drainExample, echo));
    QCOMPARE(echo.value(u"code"_s).toString(), u"worker"_s);
    QCOMPARE(echo.value(u"reason"_s), ownDrain->object.value(u"reason"_s));

    // undrain, then an operator's drain → drain (operator) and, with no lease left, stop.
    const QJsonObject undrained =
        request(QJsonObject{{u"type"_s, u"worker.undrain"_s},
                            {u"id"_s, u"undrain-1"_s},
                            {u"params"_s, QJsonObject{{u"name"_s, workerName}}}});
    QCOMPARE(undrained.value(u"type"_s).toString(), u"result"_s);
    QVERIFY(conforms(example(u"`undrain`, `stop`"_s, u"undrain"_s),
                     next(worker, &cursor, u"undrain"_s)));
    const QJsonObject drained =
        request(QJsonObject{{u"type"_s, u"worker.drain"_s},
                            {u"id"_s, u"drain-1"_s},
                            {u"params"_s, QJsonObject{{u"name"_s, workerName}}}});
    QCOMPARE(drained.value(u"type"_s).toString(), u"result"_s);
    echo = next(worker, &cursor, u"drain"_s);
    QVERIFY(conforms(drainExample, echo));
    QCOMPARE(echo, drainExample->object); // the example is exactly an operator's drain
    const Example *stopExample = example(u"`undrain`, `stop`"_s, u"stop"_s);
    const QJsonObject stop = next(worker, &cursor, u"stop"_s);
    QVERIFY(conforms(stopExample, stop));
    QCOMPARE(stop, stopExample->object);

    // goodbye → close 1000 "goodbye".
    worker.send(example(u"`goodbye`"_s, u"goodbye"_s)->object);
    QVERIFY(worker.waitClosed());
    QCOMPARE(worker.closeCode, 1000);
    QCOMPARE(worker.socket->closeReason(), u"goodbye"_s);
    QVERIFY2(m_mismatches.isEmpty(), qPrintable(m_mismatches.join(u'\n')));
}

void tst_ProtocolConformance::workerError()
{
    // The error example answers an enroll of swamp 0.0.9; its message is exact, with this
    // build's version for the document's.
    const Example *error = example(u"`error` (orchestrator"_s, u"error"_s);
    QVERIFY(error);
    ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(worker.waitOpen());
    QJsonObject frame = enrollFrameFromDoc(QUuid::createUuid().toString(QUuid::WithoutBraces),
                                           QUuid::createUuid().toString(QUuid::WithoutBraces));
    frame.insert(u"version"_s, u"0.0.9"_s);
    worker.send(frame);
    qsizetype cursor = 0;
    const QJsonObject reply = next(worker, &cursor, u"error"_s);
    QVERIFY(conforms(error, reply));
    QCOMPARE(reply.value(u"message"_s).toString(),
             error->object.value(u"message"_s).toString().replace(m_docVersion, Swamp::version()));
    QCOMPARE(reply.value(u"code"_s), error->object.value(u"code"_s));
    QCOMPARE(reply.value(u"fix"_s), error->object.value(u"fix"_s));
    QCOMPARE(reply.value(u"details"_s).toObject().value(u"orchestratorVersion"_s).toString(),
             Swamp::version());
    QVERIFY(worker.waitClosed());
    QCOMPARE(worker.closeCode, int(Swamp::Protocol::CloseEnrollmentFailed));
    QCOMPARE(worker.socket->closeReason(), u"protocol_mismatch"_s);
}

void tst_ProtocolConformance::resumeAfterReconnect()
{
    // A worker drops (no goodbye) with a running step and comes back as the same process: the
    // enrolled frame of "Resume after reconnect" names the lease and the last seq stored.
    const QString machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    const QString instanceId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    auto first =
        std::make_unique<ScriptedPeer>(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(first->waitOpen());
    qsizetype cursor = 0;
    first->send(enrollFrameFromDoc(machineId, instanceId));
    QVERIFY(!next(*first, &cursor, u"enrolled"_s).isEmpty());
    const QJsonObject submitted = submitLongStep(u"submit-3"_s);
    QCOMPARE(submitted.value(u"type"_s).toString(), u"result"_s);
    const QString leaseId = next(*first, &cursor, u"dispatch"_s).value(u"leaseId"_s).toString();
    QVERIFY(!leaseId.isEmpty());
    first->send(sendAs(example(u"`started`"_s, u"started"_s), leaseId));
    first->send(sendAs(example(u"`output` (worker"_s, u"output"_s), leaseId));
    // Stored once the orchestrator has it: follow the step to see the chunk arrive.
    const QString stepId =
        submitted.value(u"result"_s).toObject().value(u"stepIds"_s).toArray().first().toString();
    QTRY_COMPARE_WITH_TIMEOUT(
        request(QJsonObject{{u"type"_s, u"run.logs"_s},
                            {u"id"_s, u"logs-%1"_s.arg(QRandomGenerator::global()->generate())},
                            {u"params"_s, QJsonObject{{u"id"_s, stepId}}}})
            .value(u"result"_s)
            .toObject()
            .value(u"chunks"_s)
            .toArray()
            .size(),
        1, 15000);
    first->socket->abort();
    first.reset();

    ScriptedPeer again(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(again.waitOpen());
    cursor = 0;
    again.send(enrollFrameFromDoc(machineId, instanceId));
    const QJsonObject resumed = next(again, &cursor, u"enrolled"_s);
    QVERIFY(conforms(example(u"Resume after reconnect"_s, u"enrolled"_s), resumed));
    QCOMPARE(resumed.value(u"resumed"_s).toBool(), true);
    QCOMPARE(resumed.value(u"leases"_s).toObject(), (QJsonObject{{leaseId, 1}}));
    // The step ends as the document says a worker ends it after a resume.
    QJsonObject done = sendAs(example(u"`finished`"_s, u"finished"_s), leaseId);
    again.send(done);
    QCOMPARE(next(again, &cursor, u"ack"_s).value(u"leaseId"_s).toString(), leaseId);
    again.send(example(u"`goodbye`"_s, u"goodbye"_s)->object);
    QVERIFY(again.waitClosed());
    QVERIFY2(m_mismatches.isEmpty(), qPrintable(m_mismatches.join(u'\n')));
}

void tst_ProtocolConformance::adminAuthentication()
{
    // Each of the three unauthorized errors, matched to its example by its exact message.
    const QList<QList<std::pair<QByteArray, QByteArray>>> attempts{
        {},
        {{"Authorization", "Bearer " + m_workerToken.toLatin1()}},
        {{"Authorization", "Bearer " + QByteArray(64, 'f')}},
    };
    QList<const Example *> examples;
    for (const Example &example : std::as_const(m_examples)) {
        if (example.heading == u"Authentication" && example.type() == u"error")
            examples << &example;
    }
    QCOMPARE(examples.size(), attempts.size());
    for (const auto &headers : attempts) {
        ScriptedPeer peer(h->url(), QString::fromUtf16(Swamp::Protocol::AdminPath), headers);
        QVERIFY(peer.waitClosed());
        QCOMPARE(peer.closeCode, int(Swamp::Protocol::CloseUnauthorized));
        QCOMPARE(peer.frames.size(), 1);
        const QJsonObject error = peer.frames.first();
        const auto match =
            std::find_if(examples.cbegin(), examples.cend(), [&](const Example *example) {
                return example->object.value(u"message"_s) == error.value(u"message"_s);
            });
        QVERIFY2(match != examples.cend(),
                 qPrintable(u"no example has the message of "_s + compact(error)));
        m_walked.insert((*match)->line);
        QVERIFY(conforms(*match, error));
        QCOMPARE(error, (*match)->object);
    }
}

void tst_ProtocolConformance::adminRequests()
{
    // Requests written in the document are sent as written; the reply is the example after it
    // with the same id, when there is one.
    for (qsizetype i = 0; i < m_examples.size(); ++i) {
        const Example &sent = m_examples.at(i);
        if (!AdminSections.contains(sent.section) || sent.type().isEmpty() ||
            OrchestratorSendsToAdmins.contains(sent.type()))
            continue;
        m_walked.insert(sent.line);
        const QJsonObject reply = request(sent.object);
        QVERIFY2(!reply.isEmpty(), qPrintable(sent.where() + u": no reply"_s));
        const Example *expected = nullptr;
        if (i + 1 < m_examples.size()) {
            const Example &after = m_examples.at(i + 1);
            if (after.heading == sent.heading &&
                after.object.value(u"id"_s) == sent.object.value(u"id"_s) &&
                OrchestratorSendsToAdmins.contains(after.type()))
                expected = &after;
        }
        if (!expected) {
            QCOMPARE(reply.value(u"type"_s).toString(), u"result"_s);
            continue;
        }
        m_walked.insert(expected->line);
        QVERIFY(conforms(expected, reply));
        QCOMPARE(reply.value(u"type"_s), expected->object.value(u"type"_s));
        if (reply.value(u"type"_s).toString() == u"error") {
            QCOMPARE(reply.value(u"code"_s), expected->object.value(u"code"_s));
            QCOMPARE(reply.value(u"message"_s), expected->object.value(u"message"_s));
        }
        if (sent.type() == u"events.subscribe") {
            // Then every stored event after `after`: the first one has the example's shape.
            qsizetype cursor = m_adminCursor;
            const QJsonObject event = next(*m_admin, &cursor, u"event"_s);
            QVERIFY(conforms(example(u"`events.subscribe`"_s, u"event"_s), event));
        }
    }

    // Results the document shows without their request.
    const QJsonObject created = request(
        QJsonObject{{u"type"_s, u"token.create"_s},
                    {u"id"_s, u"4"_s},
                    {u"params"_s, QJsonObject{{u"name"_s, u"pool-a"_s},
                                              {u"durationMs"_s, 3600000},
                                              {u"maxEnrollments"_s, 0},
                                              {u"labels"_s, QJsonObject{{u"pool"_s, u"a"_s}}}}}});
    QVERIFY(conforms(example(u"`token.create`"_s, u"result"_s), created));
    const QJsonObject unknownField = request(QJsonObject{
        {u"type"_s, u"data.query"_s},
        {u"id"_s, u"8"_s},
        {u"params"_s, QJsonObject{{u"predicate"_s, u"attributes.stauts == \"idle\""_s}}}});
    const Example *queryError = example(u"`data.query`"_s, u"error"_s);
    QVERIFY(conforms(queryError, unknownField));
    QCOMPARE(unknownField.value(u"code"_s), queryError->object.value(u"code"_s));
    QCOMPARE(unknownField.value(u"message"_s), queryError->object.value(u"message"_s));
    // A worker connected now, whatever ran before.
    ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(worker.waitOpen());
    qsizetype cursor = 0;
    worker.send(enrollFrameFromDoc(QUuid::createUuid().toString(QUuid::WithoutBraces),
                                   QUuid::createUuid().toString(QUuid::WithoutBraces)));
    QVERIFY(!next(worker, &cursor, u"enrolled"_s).isEmpty());
    const QJsonObject workers = request(QJsonObject{{u"type"_s, u"worker.list"_s},
                                                    {u"id"_s, u"list-1"_s},
                                                    {u"params"_s, QJsonObject{{u"all"_s, true}}}});
    const QJsonArray list = workers.value(u"result"_s).toObject().value(u"workers"_s).toArray();
    QVERIFY(!list.isEmpty());
    const Example *workerObject = nullptr;
    for (const Example &example : std::as_const(m_examples)) {
        if (example.heading == u"Objects" && example.recordName == u"worker")
            workerObject = &example;
    }
    QVERIFY(workerObject);
    m_walked.insert(workerObject->line);
    for (const QJsonValue &worker : list)
        QVERIFY(conforms(workerObject, worker.toObject()));
    QVERIFY2(m_mismatches.isEmpty(), qPrintable(m_mismatches.join(u'\n')));
}

void tst_ProtocolConformance::shutdown()
{
    // A connected worker when the orchestrator stops: shutdown, then close 4503.
    ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
    QVERIFY(worker.waitOpen());
    qsizetype cursor = 0;
    worker.send(enrollFrameFromDoc(QUuid::createUuid().toString(QUuid::WithoutBraces),
                                   QUuid::createUuid().toString(QUuid::WithoutBraces)));
    QVERIFY(!next(worker, &cursor, u"enrolled"_s).isEmpty());
    QVERIFY(h->stopOrchestrator());
    const Example *shutdownExample = example(u"`undrain`, `stop`"_s, u"shutdown"_s);
    const QJsonObject frame = next(worker, &cursor, u"shutdown"_s);
    QVERIFY(conforms(shutdownExample, frame));
    QCOMPARE(frame.value(u"reason"_s), shutdownExample->object.value(u"reason"_s));
    QVERIFY(worker.waitClosed());
    QCOMPARE(worker.closeCode, int(Swamp::Protocol::CloseShutdown));
}

void tst_ProtocolConformance::windowAsTheOrchestratorWritesIt()
{
    const Example *windowExample = example(u"`undrain`, `stop`"_s, u"window"_s);
    QVERIFY(windowExample);
    const qint64 windowMs = windowExample->object.value(u"reconnectWindowMs"_s).toInteger();
    const QJsonObject written =
        QJsonDocument::fromJson(Swamp::Protocol::Window{windowMs}.encode()).object();
    QVERIFY(conforms(windowExample, written));
    QCOMPARE(written, windowExample->object);
}

// `resend` goes out only when the database refused what a worker sent (tst_postgres_serve stops
// PostgreSQL to provoke it, tst_worker_resume answers it): its example is compared with what the
// orchestrator's one codec writes.
void tst_ProtocolConformance::resendAsTheOrchestratorWritesIt()
{
    const Example *resendExample = example(u"`resend`"_s, u"resend"_s);
    QVERIFY(resendExample);
    const QJsonObject &documented = resendExample->object;
    const QJsonObject written = QJsonDocument::fromJson(
        Swamp::Protocol::Resend{documented.value(u"leaseId"_s).toString(), documented.value(u"afterSeq"_s).toInt()}
            .encode()).object();
    QVERIFY(conforms(resendExample, written));
    QCOMPARE(written, documented);
}

void tst_ProtocolConformance::everyExampleWasWalked()
{
    QStringList missed;
    int skipped = 0;
    for (const Example &example : std::as_const(m_examples)) {
        if (m_walked.contains(example.line))
            continue;
        if (NotProvoked.contains(example.type())) {
            qInfo("%s: not provoked: %s", qPrintable(example.where()),
                  qPrintable(NotProvoked.value(example.type())));
            ++skipped;
            continue;
        }
        missed << example.where();
    }
    qInfo("%lld examples walked against the live orchestrator, %d not provoked",
          qlonglong(m_walked.size()), skipped);
    QVERIFY2(missed.isEmpty(), qPrintable(u"examples no walk covered:\n"_s + missed.join(u'\n')));
    QVERIFY2(m_allMismatches.isEmpty(), qPrintable(m_allMismatches.join(u'\n')));
}

QTEST_GUILESS_MAIN(tst_ProtocolConformance)
#include "tst_protocol_conformance.moc"
