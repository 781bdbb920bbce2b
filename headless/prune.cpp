#include "cli.h"

#include "common/duration.h"
#include "common/table.h"
#include "model/token.h"
#include "model/worker.h"

#include <QDateTime>
#include <QJsonArray>

namespace Swamp::Cli {

namespace {

// The pruned workers (or those a dry run would prune) and what pruning them freed.
QString prunedWorkersText(const QJsonArray &workers, const QString &gracePeriod, bool dryRun)
{
    TextTable table({QStringLiteral("NAME"), QStringLiteral("STATUS"), QStringLiteral("TOKEN"),
                     QStringLiteral("MACHINE"), QStringLiteral("GONE SINCE")});
    const QDateTime now = QDateTime::currentDateTimeUtc();
    int freed = 0;
    for (const QJsonValue &value : workers) {
        const WorkerRecord w = WorkerRecord::fromJson(value.toObject());
        freed += value.toObject().value(QStringLiteral("bindingsFreed")).toInt();
        const QDateTime gone = w.disconnectedAt.isValid() ? w.disconnectedAt : w.lastSeenAt;
        table.addRow({w.name, workerStatusName(w.status), w.tokenName, machineIdSuffix(w.machineId),
                      formatRelative(gone, now)});
    }
    QString text = table.render();
    text += dryRun
                ? QStringLiteral("Would prune %1 worker(s) gone for longer than %2 (dry run: "
                                 "nothing was changed). "
                                 "Run it again without --dry-run to remove them.\n")
                      .arg(workers.size())
                      .arg(gracePeriod)
                : QStringLiteral(
                      "Pruned %1 worker(s) gone for longer than %2; %3 token enrollment(s) freed. "
                      "A pruned machine that connects again enrolls as a new worker.\n")
                      .arg(workers.size())
                      .arg(gracePeriod)
                      .arg(freed);
    return text;
}

// What `worker.prune` answered, for a person; `gracePeriod` as it was given ("7d").
QString pruneReport(const QJsonObject &result, const QString &gracePeriod, bool dryRun)
{
    const QJsonArray workers = result.value(QStringLiteral("workers")).toArray();
    const int inGrace = result.value(QStringLiteral("inReconnectGrace")).toInt();
    QString text;
    if (workers.isEmpty()) {
        text = QStringLiteral(
                   "No worker has been disconnected or lost for longer than %1; nothing to prune. "
                   "See every worker with 'swamp worker list --all', or pass a shorter "
                   "--grace-period.\n")
                   .arg(gracePeriod);
    } else {
        text = prunedWorkersText(workers, gracePeriod, dryRun);
    }
    if (inGrace > 0) {
        text +=
            QStringLiteral("Kept %1 worker(s) still within their reconnect grace: they may resume. "
                           "Prune again once they are lost.\n")
                .arg(inGrace);
    }
    return text;
}

} // namespace

int runWorkerPrune(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker prune");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addOptions({
        {QStringLiteral("grace-period"),
         QStringLiteral("Remove workers disconnected or lost for longer than this (default 24h; "
                        "0s: all of them)."),
         QStringLiteral("dur"), QStringLiteral("24h")},
        {QStringLiteral("dry-run"),
         QStringLiteral("List the workers that would be removed; change nothing.")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, command,
               QStringLiteral("Remove the records of workers that are long gone, and free their "
                              "token enrollments."),
               QStringLiteral(
                   "  swamp worker prune --dry-run\n  swamp worker prune --grace-period 7d\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (!parser.positionalArguments().isEmpty())
        return usageError(
            QStringLiteral(
                "unexpected argument \"%1\" — prune takes no worker names; use --grace-period")
                .arg(parser.positionalArguments().first()),
            command);
    auto grace = parseDurationOrZeroMs(parser.value(QStringLiteral("grace-period")));
    if (!grace)
        return usageError(QStringLiteral("--grace-period: ") + grace.error().text(), command);
    const bool dryRun = parser.isSet(QStringLiteral("dry-run"));

    auto result =
        adminCall(parser, QStringLiteral("worker.prune"),
                  {{QStringLiteral("gracePeriodMs"), *grace}, {QStringLiteral("dryRun"), dryRun}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    out(pruneReport(*result, parser.value(QStringLiteral("grace-period")).trimmed(), dryRun));
    return ExitOk;
}

} // namespace Swamp::Cli
