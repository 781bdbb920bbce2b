#include "protocol/protocol.h"

#include "common/text.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace Swamp::Protocol {

// `reason`: a stable code in details.reason ("too_large", "invalid_json", "not_an_object",
// "missing_type", "invalid_field"), under which the orchestrator counts rejected frames.
static std::unexpected<Swamp::Error> badFrame(const QString &why, const QString &reason)
{
    Swamp::Error error = Swamp::makeError(
        QStringLiteral("bad_frame"), why,
        Tr::tr("the peer speaks another protocol; run the same swamp version on both sides"));
    error.details.insert(QStringLiteral("reason"), reason);
    return std::unexpected<Swamp::Error>(std::move(error));
}

Swamp::Result<QJsonObject> decodeFrame(const QString &text, qint64 maxBytes)
{
    // A QChar is at least one byte of UTF-8; check the cheap bound before converting.
    if (text.size() > maxBytes)
        return badFrame(Tr::tr("frame larger than %1 bytes").arg(maxBytes), QStringLiteral("too_large"));
    const QByteArray utf8 = text.toUtf8();
    if (utf8.size() > maxBytes)
        return badFrame(Tr::tr("frame larger than %1 bytes").arg(maxBytes), QStringLiteral("too_large"));
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(utf8, &error);
    if (error.error != QJsonParseError::NoError) {
        // Qt's parser takes only an object or an array at the top: a scalar (`1`, `null`,
        // `"x"`) is valid JSON that is not an object, which the reason must say.
        QJsonParseError wrapped;
        const QByteArray list = '[' + utf8 + ']';
        const QJsonDocument array = QJsonDocument::fromJson(list, &wrapped);
        if (wrapped.error == QJsonParseError::NoError && array.array().size() == 1)
            return badFrame(Tr::tr("frame is not a JSON object"), QStringLiteral("not_an_object"));
        return badFrame(Tr::tr("frame is not valid JSON at offset %1").arg(error.offset), QStringLiteral("invalid_json"));
    }
    if (!document.isObject())
        return badFrame(Tr::tr("frame is not a JSON object"), QStringLiteral("not_an_object"));
    const QJsonObject frame = document.object();
    const QJsonValue type = frame.value(QStringLiteral("type"));
    if (!type.isString() || type.toString().isEmpty() || characterCount(type.toString()) > 64)
        return badFrame(Tr::tr("frame has no \"type\""), QStringLiteral("missing_type"));
    return frame;
}

QByteArray encodeFrameUtf8(const QJsonObject &frame)
{
    return QJsonDocument(frame).toJson(QJsonDocument::Compact);
}

QString encodeFrame(const QJsonObject &frame)
{
    return QString::fromUtf8(encodeFrameUtf8(frame));
}

Swamp::Result<QString> requireString(const QJsonObject &frame, const QString &field,
                                     qsizetype maxLength)
{
    const QJsonValue value = frame.value(field);
    if (!value.isString())
        return badFrame(Tr::tr("field \"%1\" must be a string").arg(field), QStringLiteral("invalid_field"));
    const QString text = value.toString();
    if (characterCount(text) > maxLength)
        return badFrame(Tr::tr("field \"%1\" is longer than %2 characters").arg(field).arg(maxLength), QStringLiteral("invalid_field"));
    return text;
}

Swamp::Result<qint64> requireInt(const QJsonObject &frame, const QString &field, qint64 min,
                                 qint64 max)
{
    const QJsonValue value = frame.value(field);
    const double number = value.toDouble(-1e300);
    if (!value.isDouble() || number != double(qint64(number)) || number < double(min)
        || number > double(max)) {
        return badFrame(Tr::tr("field \"%1\" must be a whole number from %2 to %3")
                            .arg(field).arg(min).arg(max), QStringLiteral("invalid_field"));
    }
    return qint64(number);
}

} // namespace Swamp::Protocol
