#include "scriptedpeer.h"

#include "protocol/protocol.h"
#include "version/version.h"

#include <QJsonDocument>
#include <QNetworkRequest>
#include <QTest>
#include <QUrl>
#include <QUuid>
#include <QWebSocket>

namespace SwampTest {

using namespace Qt::StringLiterals;

ScriptedPeer::ScriptedPeer(const QString &url, const QString &path,
                           const QList<std::pair<QByteArray, QByteArray>> &headers)
    : socket(std::make_unique<QWebSocket>())
{
    record();
    QNetworkRequest request(QUrl(url + path));
    for (const auto &[name, value] : headers)
        request.setRawHeader(name, value);
    socket->open(request);
}

ScriptedPeer::ScriptedPeer(QWebSocket *accepted) : socket(accepted)
{
    record();
}

ScriptedPeer::~ScriptedPeer()
{
    // A socket that closes as it goes must not write into this peer, half destroyed.
    QObject::disconnect(socket.get(), nullptr, nullptr, nullptr);
}

void ScriptedPeer::record()
{
    QObject::connect(
        socket.get(), &QWebSocket::textMessageReceived, socket.get(),
        [this](const QString &text) { frames << QJsonDocument::fromJson(text.toUtf8()).object(); });
    QObject::connect(socket.get(), &QWebSocket::disconnected, socket.get(), [this] {
        closed = true;
        closeCode = int(socket->closeCode());
    });
}

bool ScriptedPeer::waitOpen(int ms)
{
    return QTest::qWaitFor(
               [this] { return socket->state() == QAbstractSocket::ConnectedState || closed; },
               ms) &&
           !closed;
}

bool ScriptedPeer::waitClosed(int ms)
{
    return QTest::qWaitFor([this] { return closed; }, ms);
}

bool ScriptedPeer::waitFrames(qsizetype count, int ms)
{
    return QTest::qWaitFor([&] { return frames.size() >= count || closed; }, ms) &&
           frames.size() >= count;
}

void ScriptedPeer::send(const QJsonObject &frame)
{
    socket->sendTextMessage(Swamp::Protocol::encodeFrame(frame));
}

void ScriptedPeer::sendText(const QString &text)
{
    socket->sendTextMessage(text);
}

QJsonObject ScriptedPeer::first(const QString &type) const
{
    for (const QJsonObject &frame : frames) {
        if (frame.value(u"type"_s).toString() == type)
            return frame;
    }
    return {};
}

Swamp::Protocol::EnrollRequest enrollFrame(const QString &token, const QString &hostname)
{
    Swamp::Protocol::EnrollRequest request;
    request.id = u"1"_s;
    request.protocol = Swamp::protocolVersion();
    request.version = Swamp::version();
    request.token = token;
    request.machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    request.machineKey = QString(64, u'a');
    request.instanceId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    request.hostname = hostname;
    request.platform = u"linux"_s;
    request.arch = u"x86_64"_s;
    request.capacity = 1;
    return request;
}

} // namespace SwampTest
