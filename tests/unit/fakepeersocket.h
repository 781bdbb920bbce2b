#pragma once

#include "server/transport/peersocket.h"

#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>

// A PeerSocket without a network, for in-process tests of what the orchestrator's services send
// a peer: every text frame it is given is kept (parsed), and so is how it was closed. A test
// hands it frames (receive()) and pongs as the peer would.
class FakePeerSocket final : public Swamp::PeerSocket
{
public:
    explicit FakePeerSocket(const QString &address = QStringLiteral("127.0.0.1"))
        : m_address(address)
    {
    }

    void setMaxMessageBytes(qint64 bytes) override { Q_UNUSED(bytes); }
    qint64 unsentBytes() const override { return 0; }
    void sendTexts(const QList<QByteArray> &utf8) override
    {
        if (!m_open)
            return;
        for (const QByteArray &text : utf8)
            sent << QJsonDocument::fromJson(text).object();
    }
    void close(int code, const QString &reason) override
    {
        if (!std::exchange(m_open, false))
            return;
        m_closeCode = code;
        closeReason = reason;
    }
    void abort() override
    {
        if (std::exchange(m_open, false))
            m_closeCode = 1006;
        aborted = true;
    }
    void ping() override { ++pings; }
    bool isOpen() const override { return m_open; }
    int closeCode() const override { return m_closeCode; }
    QHostAddress peerAddress() const override { return QHostAddress(m_address); }
    QString requestPath() const override { return QStringLiteral("/v1/worker"); }
    QByteArray requestHeader(const QByteArray &name) const override
    {
        Q_UNUSED(name);
        return {};
    }

    // The peer sends `frame`.
    void receive(const QJsonObject &frame)
    {
        Q_EMIT textMessageReceived(QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    }
    void pong() { Q_EMIT pongReceived(); }
    // The frames of `type` it was sent, oldest first.
    QList<QJsonObject> sentOfType(const QString &type) const
    {
        QList<QJsonObject> matching;
        for (const QJsonObject &frame : sent) {
            if (frame.value(QStringLiteral("type")).toString() == type)
                matching << frame;
        }
        return matching;
    }

    QList<QJsonObject> sent;
    QString closeReason;
    bool aborted = false;
    int pings = 0;

private:
    QString m_address;
    bool m_open = true;
    int m_closeCode = 0;
};
