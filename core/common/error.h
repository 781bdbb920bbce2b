#pragma once

#include <QCoreApplication>
#include <QJsonObject>
#include <QString>

namespace Swamp {

struct Tr
{
    Q_DECLARE_TR_FUNCTIONS(Swamp)
};

// An error as operators see it: a stable machine code ("token_expired"), a message that names
// the cause, and a fix that says what to do about it. `details` carries structured extras
// (a position in a query, the workers a revoke disconnected, ...).
struct Error
{
    QString code;
    QString message;
    QString fix;
    QJsonObject details;

    // "<message> — <fix>", or just the message when there is no fix.
    QString text() const;

    QJsonObject toJson() const;
    static Error fromJson(const QJsonObject &object);
};

Error makeError(const QString &code, const QString &message, const QString &fix = {});

} // namespace Swamp
