// Commands about one worker by its name (issue 21): worker show, pause, resume.
#include "cli.h"

#include "common/duration.h"
#include "common/labels.h"
#include "common/text.h"
#include "model/token.h"
#include "model/worker.h"

#include <QJsonArray>
#include <QUrl>

namespace Swamp::Cli {

namespace {

// Parses `swamp <command> NAME` with the admin options; false (and `exitCode`) on --help or a
// mistake. `extra` adds the command's own options before parsing.
bool parseNamed(QCommandLineParser &parser, const QStringList &arguments, const QString &command,
                const QString &description, const QString &examples, QString *name, int *exitCode)
{
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Worker name (or id), as 'swamp worker list --all' shows it."));
    if (!parse(parser, arguments, command, description, examples, exitCode))
        return false;
    if (parser.positionalArguments().size() != 1) {
        *exitCode = usageError(QStringLiteral("name one worker"), command);
        return false;
    }
    *name = parser.positionalArguments().first();
    return true;
}

// "name: value" lines with the values aligned; values are escaped (they may come from the wire).
QString fields(const QList<std::pair<QString, QString>> &rows)
{
    qsizetype width = 0;
    for (const auto &[key, value] : rows)
        width = std::max(width, key.size() + 2);
    QString text;
    for (const auto &[key, value] : rows)
        text += QString(key + u':').leftJustified(width) + printable(value) + u'\n';
    return text;
}

QString workerSummary(const QJsonObject &result, const QDateTime &now)
{
    const WorkerRecord w = WorkerRecord::fromJson(result.value(QStringLiteral("worker")).toObject());
    const QJsonObject token = result.value(QStringLiteral("token")).toObject();
    QString status = workerStatusName(w.status);
    if (w.draining && w.status != WorkerStatus::Draining)
        status += QStringLiteral(" (draining)");
    if (w.paused)
        status += QStringLiteral(", paused: no new steps ('swamp worker resume %1' ends it)").arg(w.name);
    QString tokenText = w.tokenName;
    if (!token.isEmpty()) {
        const QDateTime expires = parseIsoUtc(token.value(QStringLiteral("expiresAt")).toString());
        tokenText += QStringLiteral(" (%1, expires %2)").arg(token.value(QStringLiteral("state")).toString(),
                                                            formatRelative(expires, now));
    }
    QList<std::pair<QString, QString>> rows{
        {QStringLiteral("Name"), w.name},
        {QStringLiteral("Status"), status},
        {QStringLiteral("Slots"), QStringLiteral("%1/%2 in use").arg(w.activeSteps).arg(w.capacity)},
        {QStringLiteral("Labels"), w.labels.isEmpty() ? QStringLiteral("-") : formatLabels(w.labels)},
        {QStringLiteral("Platform"), w.platform + u'/' + w.arch + QStringLiteral(", swamp ") + w.version},
        {QStringLiteral("Host"), w.hostname},
        {QStringLiteral("Machine"), machineIdSuffix(w.machineId) + QStringLiteral(" (") + w.machineId + u')'},
        {QStringLiteral("Token"), tokenText},
        {QStringLiteral("Enrolled"), isoUtc(w.enrolledAt)},
        {QStringLiteral("Last seen"), formatRelative(w.lastSeenAt, now)},
    };
    if (result.value(QStringLiteral("fleet")).toBool()) {
        const QUrl holder(w.orchestrator);
        rows << std::pair{QStringLiteral("Orchestrator"),
                          holder.host().isEmpty() ? QStringLiteral("-") : holder.host() + u':' + QString::number(holder.port())};
    }
    return fields(rows);
}

QString stepsTable(const QJsonObject &result, const QDateTime &now)
{
    const QJsonArray steps = result.value(QStringLiteral("steps")).toArray();
    if (steps.isEmpty())
        return QStringLiteral("\nSteps running: none\n");
    TextTable table({QStringLiteral("STEP"), QStringLiteral("NAME"), QStringLiteral("STATE"), QStringLiteral("ATTEMPT"),
                     QStringLiteral("STARTED")});
    colourStatusColumn(table, 2);
    for (const QJsonValue &value : steps) {
        const QJsonObject s = value.toObject();
        table.addRow({s.value(QStringLiteral("id")).toString(), s.value(QStringLiteral("name")).toString(),
                      s.value(QStringLiteral("state")).toString(), QString::number(s.value(QStringLiteral("attempt")).toInt()),
                      formatRelative(parseIsoUtc(s.value(QStringLiteral("startedAt")).toString()), now)});
    }
    return QStringLiteral("\nSteps running (%1 lease(s)):\n").arg(result.value(QStringLiteral("leases")).toArray().size())
           + table.render();
}

QString eventsTable(const QJsonObject &result)
{
    const QJsonArray events = result.value(QStringLiteral("events")).toArray();
    if (events.isEmpty())
        return QStringLiteral("\nRecent events: none\n");
    TextTable table({QStringLiteral("AT"), QStringLiteral("EVENT"), QStringLiteral("MESSAGE")});
    for (const QJsonValue &value : events) {
        const QJsonObject e = value.toObject();
        table.addRow({e.value(QStringLiteral("at")).toString(), e.value(QStringLiteral("kind")).toString(),
                      e.value(QStringLiteral("message")).toString()});
    }
    return QStringLiteral("\nRecent events:\n") + table.render();
}

} // namespace

Result<Labels> parseLabelArguments(const QStringList &items, bool valuesRequired)
{
    Labels labels;
    for (const QString &item : items) {
        for (const QString &part : item.split(u',', Qt::SkipEmptyParts)) {
            auto label = parseLabel(part.trimmed());
            if (!label)
                return fail(label.error());
            const auto &[key, value] = *label;
            if (valuesRequired && value.isEmpty()) {
                return fail(QStringLiteral("invalid_label"), Tr::tr("%1= has no value").arg(key),
                            Tr::tr("write --label %1=<value>").arg(key));
            }
            if (labels.contains(key) && labels.value(key) != value) {
                return fail(QStringLiteral("invalid_label"),
                            Tr::tr("label \"%1\" is given twice (%1=%2 and %1=%3)")
                                .arg(key, printable(labels.value(key)), printable(value)),
                            Tr::tr("give each key once"));
            }
            labels.insert(key, value);
        }
    }
    return labels;
}

int runWorkerShow(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker show");
    QCommandLineParser parser;
    QString name;
    int exitCode = 0;
    if (!parseNamed(parser, arguments, command,
                    QStringLiteral("One worker: its labels, slots, the steps it runs and their leases, its token, "
                                   "and its recent events."),
                    QStringLiteral("  swamp worker show gpu-01\n  swamp worker show gpu-01 --json\n"), &name, &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    auto result = adminCall(parser, QStringLiteral("worker.show"), {{QStringLiteral("name"), name}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    out(workerSummary(*result, now) + stepsTable(*result, now) + eventsTable(*result));
    return ExitOk;
}

int runWorkerPause(const QStringList &arguments, bool pause)
{
    const QString command = pause ? QStringLiteral("worker pause") : QStringLiteral("worker resume");
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("reason"), QStringLiteral("Why, kept in the audit trail and the event."), QStringLiteral("text")});
    QString name;
    int exitCode = 0;
    if (!parseNamed(parser, arguments, command,
                    pause ? QStringLiteral("Give a worker no new steps; it stays connected and finishes what it runs "
                                           "(drain makes it exit). Kept across its reconnects until 'worker resume'.")
                          : QStringLiteral("Let a paused worker take steps again."),
                    pause ? QStringLiteral("  swamp worker pause gpu-01 --reason 'driver update'\n")
                          : QStringLiteral("  swamp worker resume gpu-01\n"),
                    &name, &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    QJsonObject params{{QStringLiteral("name"), name}};
    if (parser.isSet(QStringLiteral("reason")))
        params.insert(QStringLiteral("reason"), parser.value(QStringLiteral("reason")));
    auto result = adminCall(parser, pause ? QStringLiteral("worker.pause") : QStringLiteral("worker.resume"), params);
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const WorkerRecord w = WorkerRecord::fromJson(result->value(QStringLiteral("worker")).toObject());
    const bool changed = result->value(QStringLiteral("changed")).toBool();
    if (pause) {
        out((changed ? QStringLiteral("Paused %1") : QStringLiteral("%1 was already paused")).arg(w.name)
            + QStringLiteral(": it takes no new steps and stays connected; %1 running step(s) finish. "
                             "'swamp worker resume %2' lets it take steps again.")
                  .arg(w.activeSteps)
                  .arg(w.name));
    } else {
        out((changed ? QStringLiteral("%1 takes steps again.") : QStringLiteral("%1 was not paused; it takes steps.")).arg(w.name));
    }
    return ExitOk;
}

} // namespace Swamp::Cli
