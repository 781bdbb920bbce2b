#pragma once

#include "server/workerlink.h"
#include "server/workerpool.h"

#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QSet>

// A WorkerLink for in-process tests of the scheduler and the sessions: records every frame per
// worker id; a worker is connected unless the test says otherwise.
class FakeLink final : public Swamp::WorkerLink
{
public:
    bool isConnected(const Swamp::WorkerSession &session) const override
    {
        return !disconnected.contains(session.record.id);
    }
    void send(const Swamp::WorkerSession &session, QByteArray frame) override
    {
        frames[session.record.id] << QJsonDocument::fromJson(frame).object();
    }

    // The frames of `type` sent to `workerId`, oldest first.
    QList<QJsonObject> sent(const QString &workerId, const QString &type) const
    {
        QList<QJsonObject> matching;
        for (const QJsonObject &frame : frames.value(workerId)) {
            if (frame.value(QStringLiteral("type")).toString() == type)
                matching << frame;
        }
        return matching;
    }

    QHash<QString, QList<QJsonObject>> frames;
    QSet<QString> disconnected;
};
