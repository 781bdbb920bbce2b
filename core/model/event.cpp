#include "model/event.h"

#include "common/duration.h"
#include "common/jsonwriter.h"

#include <QJsonDocument>

using namespace Qt::StringLiterals;

namespace Swamp {

QJsonObject Event::data() const
{
    if (!dataObject.isEmpty() || dataJson.isEmpty())
        return dataObject;
    return QJsonDocument::fromJson(dataJson).object();
}

void Event::setData(const QJsonObject &data)
{
    dataJson = data.isEmpty() ? QByteArray() : QJsonDocument(data).toJson(QJsonDocument::Compact);
    dataObject = data;
}

QJsonObject Event::toJson() const
{
    return QJsonDocument::fromJson(toJsonText()).object();
}

QByteArray Event::toJsonText() const
{
    return JsonObjectWriter()
        .add("id"_L1, id)
        .add("at"_L1, isoUtc(at))
        .add("kind"_L1, kind)
        .add("subject"_L1, subject)
        .add("message"_L1, message)
        .addRaw("data"_L1, dataJson.isEmpty() ? QByteArrayView("{}") : QByteArrayView(dataJson))
        .finish();
}

Event Event::fromJson(const QJsonObject &o)
{
    Event event{o.value(QStringLiteral("id")).toInteger(),
                parseIsoUtc(o.value(QStringLiteral("at")).toString()),
                o.value(QStringLiteral("kind")).toString(),
                o.value(QStringLiteral("subject")).toString(),
                o.value(QStringLiteral("message")).toString(),
                {}};
    event.setData(o.value(QStringLiteral("data")).toObject());
    return event;
}

} // namespace Swamp
