#include "protocol/enrollrequest.h"

#include "common/text.h"
#include "model/token.h"
#include "protocol/protocol.h"

#include <QRegularExpression>
#include <QUuid>

namespace Swamp::Protocol {

namespace {

std::unexpected<Error> invalid(const QString &why)
{
    return fail(QStringLiteral("invalid_enroll"), Tr::tr("invalid enroll frame: %1").arg(why),
                Tr::tr("run the same swamp version on the worker and the orchestrator; a worker of "
                       "your own must send every field docs/protocol.md marks required"));
}

// A required string field of 1..maxLength characters without control characters, matching
// `pattern` when one is given (`rule` says what it allows).
Result<QString> stringField(const QJsonObject &frame, const char *name, qsizetype maxLength,
                            const QRegularExpression *pattern = nullptr, const QString &rule = {})
{
    const QLatin1String field(name);
    const QJsonValue value = frame.value(field);
    if (value.isUndefined() || value.isNull())
        return invalid(Tr::tr("\"%1\" is missing").arg(field));
    if (!value.isString())
        return invalid(Tr::tr("\"%1\" must be a string").arg(field));
    const QString text = value.toString();
    if (text.isEmpty() || characterCount(text) > maxLength)
        return invalid(Tr::tr("\"%1\" must have 1 to %2 characters").arg(field).arg(maxLength));
    if (hasUnsafeCharacters(text))
        return invalid(Tr::tr("\"%1\" must not contain control characters").arg(field));
    if (pattern && !pattern->match(text).hasMatch())
        return invalid(Tr::tr("\"%1\" %2").arg(field, rule));
    return text;
}

// The optional "name": absent or null for the token's worker name, else a valid worker name.
Result<EnrollRequest> readName(const QJsonObject &frame, EnrollRequest request)
{
    const QJsonValue value = frame.value(QStringLiteral("name"));
    if (value.isUndefined() || value.isNull())
        return request;
    if (!value.isString())
        return invalid(Tr::tr("\"name\" must be a string"));
    if (auto valid = validateWorkerName(value.toString()); !valid)
        return invalid(Tr::tr("\"name\": %1 (%2)").arg(valid.error().message, valid.error().fix));
    request.name = value.toString();
    return request;
}

} // namespace

QJsonObject EnrollRequest::toJson() const
{
    QJsonObject frame{
        {QStringLiteral("type"), Type::Enroll},
        {QStringLiteral("id"), id},
        {QStringLiteral("protocol"), protocol},
        {QStringLiteral("version"), version},
        {QStringLiteral("token"), token},
        {QStringLiteral("machineId"), machineId},
        {QStringLiteral("machineKey"), machineKey},
        {QStringLiteral("instanceId"), instanceId},
        {QStringLiteral("hostname"), hostname},
        {QStringLiteral("platform"), platform},
        {QStringLiteral("arch"), arch},
        {QStringLiteral("labels"), labelsToJson(labels)},
        {QStringLiteral("capacity"), capacity},
    };
    if (!name.isEmpty())
        frame.insert(QStringLiteral("name"), name);
    return frame;
}

QString EnrollRequest::versionOf(const QJsonObject &frame)
{
    return frame.value(QStringLiteral("version")).toString();
}

int EnrollRequest::protocolOf(const QJsonObject &frame)
{
    return frame.value(QStringLiteral("protocol")).toInt(-1);
}

Result<EnrollRequest> EnrollRequest::fromJson(const QJsonObject &frame)
{
    static const QRegularExpression word(QStringLiteral("^[A-Za-z0-9._+-]+$"));
    static const QRegularExpression ascii(QStringLiteral("^[\\x21-\\x7e]+$"));
    static const QRegularExpression hex64(QStringLiteral("^[0-9a-f]{64}$"));
    EnrollRequest request;
    const auto take = [](Result<QString> field, QString *out) -> Result<void> {
        if (!field)
            return fail(field.error());
        *out = *field;
        return {};
    };
    const std::pair<Result<QString>, QString *> fields[] = {
        {stringField(frame, "id", 64), &request.id},
        {stringField(frame, "version", 64), &request.version},
        {stringField(frame, "token", 256), &request.token},
        {stringField(frame, "machineId", 64), &request.machineId},
        {stringField(frame, "machineKey", 64, &hex64, Tr::tr("must be 64 lowercase hex characters")),
         &request.machineKey},
        {stringField(frame, "instanceId", 64, &ascii, Tr::tr("must be printable ASCII without spaces")),
         &request.instanceId},
        {stringField(frame, "hostname", 255), &request.hostname},
        {stringField(frame, "platform", 64, &word, Tr::tr("may use letters, digits, '.', '_', '+' and '-'")),
         &request.platform},
        {stringField(frame, "arch", 64, &word, Tr::tr("may use letters, digits, '.', '_', '+' and '-'")),
         &request.arch},
    };
    for (const auto &[field, out] : fields) {
        if (auto taken = take(field, out); !taken)
            return fail(taken.error());
    }
    if (QUuid::fromString(request.machineId).isNull())
        return invalid(Tr::tr("\"machineId\" must be a UUID"));
    request.machineId = QUuid::fromString(request.machineId).toString(QUuid::WithoutBraces);
    // Every required field left out (or null) reads the same: "<field>" is missing.
    for (const char *required : {"protocol", "capacity"}) {
        const QJsonValue value = frame.value(QLatin1String(required));
        if (value.isUndefined() || value.isNull())
            return invalid(Tr::tr("\"%1\" is missing").arg(QLatin1String(required)));
    }
    const QJsonValue protocol = frame.value(QStringLiteral("protocol"));
    if (!protocol.isDouble() || protocol.toDouble() != double(protocol.toInt()))
        return invalid(Tr::tr("\"protocol\" must be a whole number"));
    request.protocol = protocol.toInt();
    const QJsonValue capacity = frame.value(QStringLiteral("capacity"));
    if (!capacity.isDouble() || capacity.toDouble() != double(capacity.toInteger())
        || capacity.toInteger() < 1 || capacity.toInteger() > MaxCapacity)
        return invalid(Tr::tr("\"capacity\" must be a whole number from 1 to %1").arg(MaxCapacity));
    request.capacity = int(capacity.toInteger());
    auto labels = labelsFromWire(frame.value(QStringLiteral("labels")), MaxWorkerLabels);
    if (!labels)
        return invalid(labels.error().message);
    request.labels = *labels;
    return readName(frame, request);
}

} // namespace Swamp::Protocol
