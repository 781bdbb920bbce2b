#include "common/error.h"

namespace Swamp {

QString Error::text() const
{
    if (fix.isEmpty())
        return message;
    return message + QStringLiteral(" — ") + fix;
}

QJsonObject Error::toJson() const
{
    QJsonObject object{{QStringLiteral("code"), code}, {QStringLiteral("message"), message}};
    if (!fix.isEmpty())
        object.insert(QStringLiteral("fix"), fix);
    if (!details.isEmpty())
        object.insert(QStringLiteral("details"), details);
    return object;
}

Error Error::fromJson(const QJsonObject &object)
{
    return Error{object.value(QStringLiteral("code")).toString(),
                 object.value(QStringLiteral("message")).toString(),
                 object.value(QStringLiteral("fix")).toString(),
                 object.value(QStringLiteral("details")).toObject()};
}

Error makeError(const QString &code, const QString &message, const QString &fix)
{
    return Error{code, message, fix, {}};
}

} // namespace Swamp
