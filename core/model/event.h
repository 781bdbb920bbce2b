#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QString>

namespace Swamp {

// An operator event (SPEC / STYLE 22): increasing ids, a kind like "worker.enrolled",
// the subject (worker or token name), a human message, and structured data.
struct Event
{
    qint64 id = 0;
    QDateTime at;
    QString kind;
    QString subject;
    QString message;
    // The structured data: one JSON object as compact UTF-8 text, the form the events table and
    // the event frames carry. An event the orchestrator only stores and forwards is never built
    // as a QJsonObject (issue 8: that was a fifth of its time per step). Empty means {}.
    QByteArray dataJson;
    // The same as an object where one was at hand (setData(), an event read from a frame), so
    // that data() need not parse it again; empty on the orchestrator's hot path.
    QJsonObject dataObject;

    QJsonObject data() const;
    void setData(const QJsonObject &data);
    QJsonObject toJson() const;
    // toJson() as compact text, written without building an object.
    QByteArray toJsonText() const;
    static Event fromJson(const QJsonObject &object);
};

} // namespace Swamp
