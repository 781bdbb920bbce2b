#include "cli.h"

#include "common/duration.h"
#include "common/table.h"
#include "model/token.h"

#include <QDateTime>
#include <QJsonArray>

namespace Swamp::Cli {

int runTokenCreate(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker token create");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Token name: [a-z0-9][a-z0-9-]{0,62}."));
    parser.addOptions({
        {QStringLiteral("duration"), QStringLiteral("Lifetime (default 24h, at most 365d). When it ends, the workers enrolled with the token stop too (they drain, then exit 1); extend it with 'swamp worker token extend'."), QStringLiteral("dur"), QStringLiteral("24h")},
        {QStringLiteral("max-enrollments"), QStringLiteral("Distinct machines that may enroll: N or unlimited (default 1)."), QStringLiteral("N|unlimited"), QStringLiteral("1")},
        {QStringLiteral("label"), QStringLiteral("Label k=v given to every worker enrolled on it, repeatable."), QStringLiteral("k=v")},
        {QStringLiteral("reason"), QStringLiteral("Why (recorded in the audit trail)."), QStringLiteral("text")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Create an enrollment token; its secret is shown once."),
               QStringLiteral("  swamp worker token create ci --duration 7d --max-enrollments 10 --label pool=ci\n"
                              "  swamp worker token create build-01 --reason \"new build host, ticket OPS-42\"\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1)
        return usageError(positional.isEmpty() ? QStringLiteral("missing token name") : QStringLiteral("one token name at a time"), command);
    if (auto valid = validateTokenName(positional.first()); !valid)
        return usageError(valid.error().text(), command);
    auto duration = parseTokenLifetime(parser.value(QStringLiteral("duration")));
    if (!duration)
        return usageError(QStringLiteral("--duration: ") + duration.error().text(), command);
    qint64 maxEnrollments = 0;
    const QString max = parser.value(QStringLiteral("max-enrollments"));
    if (max != u"unlimited") {
        bool ok = false;
        maxEnrollments = max.toLongLong(&ok);
        if (!ok || maxEnrollments < 1 || maxEnrollments > 1000000)
            return usageError(QStringLiteral("--max-enrollments must be a whole number from 1 to 1000000, or unlimited"), command);
    }
    auto labels = parseLabels(parser.values(QStringLiteral("label")));
    if (!labels)
        return usageError(labels.error().text(), command);
    if (auto valid = validateReason(parser.value(QStringLiteral("reason"))); !valid)
        return usageError(valid.error().message, command);

    auto result = adminCall(parser, QStringLiteral("token.create"),
                            {{QStringLiteral("name"), positional.first()},
                             {QStringLiteral("durationMs"), *duration},
                             {QStringLiteral("maxEnrollments"), maxEnrollments},
                             {QStringLiteral("labels"), labelsToJson(*labels)},
                             {QStringLiteral("reason"), parser.value(QStringLiteral("reason"))}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QDateTime expires = parseIsoUtc(result->value(QStringLiteral("expiresAt")).toString());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QString name = positional.first();
    out(result->value(QStringLiteral("token")).toString());
    out(QStringLiteral("This token is shown once and will not be displayed again — store it now."));
    err(QStringLiteral("Token '%1' expires %2 (%3); enrollments: %4; labels: %5")
            .arg(name, isoUtc(expires), formatRelative(expires, now),
                 maxEnrollments == 0 ? QStringLiteral("unlimited") : QString::number(maxEnrollments),
                 formatLabels(*labels)));
    err(QStringLiteral("Its expiry ends their sessions too: %1; move it later with "
                       "'swamp worker token extend %2 --duration 30d'.")
            .arg(tokenStopText(expires, now), name));
    if (const QString workerUrl = result->value(QStringLiteral("workerUrl")).toString(); !workerUrl.isEmpty())
        err(QStringLiteral("Connect a worker: swamp worker connect %1 --token <token> --cache-dir /var/lib/swamp-worker")
                .arg(workerUrl));
    return ExitOk;
}

int runTokenList(const QStringList &arguments)
{
    QCommandLineParser parser;
    addAdminOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("worker token list"),
               QStringLiteral("List enrollment tokens with their state and expiry."),
               QStringLiteral("  swamp worker token list --json\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    auto result = adminCall(parser, QStringLiteral("token.list"));
    if (!result)
        return failure(result.error(), json);
    const QJsonArray tokens = result->value(QStringLiteral("tokens")).toArray();
    if (json) {
        printJson(tokens);
        return ExitOk;
    }
    if (tokens.isEmpty()) {
        out(QStringLiteral("No enrollment tokens. Create one with 'swamp worker token create <name>'."));
        return ExitOk;
    }
    TextTable table({QStringLiteral("NAME"), QStringLiteral("STATE"), QStringLiteral("EXPIRES"),
                     QStringLiteral("ENROLLMENTS"), QStringLiteral("LABELS")});
    colourStatusColumn(table, 1);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const QJsonValue &value : tokens) {
        const QJsonObject t = value.toObject();
        const QJsonValue max = t.value(QStringLiteral("maxEnrollments"));
        const QString state = t.value(QStringLiteral("state")).toString();
        // A revoked token does not expire any more: when it was revoked is what matters.
        const QString expires =
            state == u"revoked"
                ? QStringLiteral("revoked %1").arg(formatRelative(parseIsoUtc(t.value(QStringLiteral("revokedAt")).toString()), now))
                : formatRelative(parseIsoUtc(t.value(QStringLiteral("expiresAt")).toString()), now);
        table.addRow({t.value(QStringLiteral("name")).toString(), state, expires,
                      QStringLiteral("%1/%2").arg(t.value(QStringLiteral("enrollments")).toInt())
                          .arg(max.isNull() ? QStringLiteral("unlimited") : QString::number(max.toInt())),
                      formatLabels(labelsFromJson(t.value(QStringLiteral("labels")).toObject()))});
    }
    out(table.render());
    for (const QJsonValue &value : tokens) {
        if (const QString warning = tokenExpiryWarning(value.toObject(), now); !warning.isEmpty())
            err(QStringLiteral("warning: ") + warning);
    }
    return ExitOk;
}

int runTokenRevoke(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker token revoke");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Token name."));
    parser.addOption({QStringLiteral("reason"), QStringLiteral("Why (recorded in the audit trail)."), QStringLiteral("text")});
    int exitCode = 0;
    if (!parse(parser, arguments, command,
               QStringLiteral("Revoke an enrollment token and disconnect its workers at once."),
               QStringLiteral("  swamp worker token revoke ci --reason \"leaked in a build log\"\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one token to revoke"), command);
    if (auto valid = validateReason(parser.value(QStringLiteral("reason"))); !valid)
        return usageError(valid.error().message, command);
    auto result = adminCall(parser, QStringLiteral("token.revoke"),
                            {{QStringLiteral("name"), parser.positionalArguments().first()},
                             {QStringLiteral("reason"), parser.value(QStringLiteral("reason"))}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QString name = result->value(QStringLiteral("name")).toString();
    QStringList disconnected;
    for (const QJsonValue &value : result->value(QStringLiteral("disconnected")).toArray())
        disconnected << value.toString();
    out(result->value(QStringLiteral("alreadyRevoked")).toBool()
            ? QStringLiteral("Enrollment token '%1' was already revoked or expired.").arg(name)
            : QStringLiteral("Revoked enrollment token '%1'.").arg(name));
    out(disconnected.isEmpty() ? QStringLiteral("No worker was connected on it.")
                               : QStringLiteral("Disconnected %1 worker(s): %2").arg(disconnected.size()).arg(disconnected.join(QStringLiteral(", "))));
    return ExitOk;
}

int runTokenExtend(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker token extend");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Token name."));
    parser.addOptions({
        {QStringLiteral("duration"), QStringLiteral("The new lifetime, counted from now (at most 365d); required."), QStringLiteral("dur")},
        {QStringLiteral("reason"), QStringLiteral("Why (recorded in the audit trail)."), QStringLiteral("text")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, command,
               QStringLiteral("Move a token's expiry to --duration from now: new enrollments and the sessions of its "
                              "workers (which stop when it expires) last until then. Also revives an expired token; a "
                              "revoked one stays revoked."),
               QStringLiteral("  swamp worker token extend ci --duration 30d --reason \"build fleet, ticket OPS-7\"\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one token to extend"), command);
    const QString name = parser.positionalArguments().first();
    if (auto valid = validateTokenName(name); !valid)
        return usageError(valid.error().text(), command);
    if (!parser.isSet(QStringLiteral("duration")))
        return usageError(QStringLiteral("missing --duration — say how long from now the token should live, for example --duration 30d"), command);
    auto duration = parseTokenLifetime(parser.value(QStringLiteral("duration")));
    if (!duration)
        return usageError(QStringLiteral("--duration: ") + duration.error().text(), command);
    if (auto valid = validateReason(parser.value(QStringLiteral("reason"))); !valid)
        return usageError(valid.error().message, command);
    auto result = adminCall(parser, QStringLiteral("token.extend"),
                            {{QStringLiteral("name"), name},
                             {QStringLiteral("durationMs"), *duration},
                             {QStringLiteral("reason"), parser.value(QStringLiteral("reason"))}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QDateTime expires = parseIsoUtc(result->value(QStringLiteral("expiresAt")).toString());
    const QDateTime previous = parseIsoUtc(result->value(QStringLiteral("previousExpiresAt")).toString());
    out(QStringLiteral("Extended enrollment token '%1': expires %2 (%3), was %4.")
            .arg(name, isoUtc(expires), formatRelative(expires, now), isoUtc(previous)));
    QStringList workers;
    for (const QJsonValue &worker : result->value(QStringLiteral("workers")).toArray())
        workers << worker.toString();
    out(workers.isEmpty() ? QStringLiteral("No worker is connected on it.")
                          : QStringLiteral("%1 connected worker(s) now stop at %2: %3")
                                .arg(workers.size()).arg(isoUtc(expires), workers.join(QStringLiteral(", "))));
    return ExitOk;
}

} // namespace Swamp::Cli
