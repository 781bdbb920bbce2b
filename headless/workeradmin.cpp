// Commands about one worker by its name (issue 21): worker show, pause, resume, label, remove.
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
// `rest` (when given) takes the positional arguments after the name, described by `restSyntax`.
bool parseNamed(QCommandLineParser &parser, const QStringList &arguments, const QString &command,
                const QString &description, const QString &examples, QString *name, int *exitCode,
                QStringList *rest = nullptr, const QString &restSyntax = {})
{
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Worker name (or id), as 'swamp worker list --all' shows it."));
    if (rest)
        parser.addPositionalArgument(restSyntax, QStringLiteral("Labels to set."), restSyntax);
    if (!parse(parser, arguments, command, description, examples, exitCode))
        return false;
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty() || (!rest && positional.size() != 1)) {
        *exitCode = usageError(QStringLiteral("name one worker"), command);
        return false;
    }
    *name = positional.first();
    if (rest)
        *rest = positional.mid(1);
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

// Its labels, and which of them an operator set or removed (`swamp worker label`).
QString labelsText(const WorkerRecord &w)
{
    QString text = formatLabels(w.labels);
    QStringList byOperator;
    if (!w.operatorLabels.set.isEmpty())
        byOperator << QStringLiteral("set ") + formatLabels(w.operatorLabels.set);
    if (!w.operatorLabels.removed.isEmpty())
        byOperator << QStringLiteral("removed ") + w.operatorLabels.removed.join(QStringLiteral(", "));
    if (!byOperator.isEmpty())
        text += QStringLiteral(" (by an operator: %1)").arg(byOperator.join(QStringLiteral("; ")));
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
        {QStringLiteral("Labels"), labelsText(w)},
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

// An operator's change to one worker (pause, resume, label, remove): `--reason`, when given, goes
// with it into the audit trail. False with *exitCode set when there is nothing left to print: the
// call failed, or --json printed its result.
bool workerChange(QCommandLineParser &parser, const QString &method, QJsonObject params, QJsonObject *result,
                  int *exitCode)
{
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.isSet(QStringLiteral("reason")))
        params.insert(QStringLiteral("reason"), parser.value(QStringLiteral("reason")));
    auto answer = adminCall(parser, method, params);
    if (!answer) {
        *exitCode = failure(answer.error(), json);
        return false;
    }
    if (json) {
        printJson(*answer);
        *exitCode = ExitOk;
        return false;
    }
    *result = *answer;
    return true;
}

} // namespace

Result<Labels> parseLabelArguments(const QStringList &items, bool valuesRequired, const QString &option)
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
                            Tr::tr("write %1%2=<value>").arg(option, key));
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
    QJsonObject answer;
    if (!workerChange(parser, pause ? QStringLiteral("worker.pause") : QStringLiteral("worker.resume"),
                      {{QStringLiteral("name"), name}}, &answer, &exitCode))
        return exitCode;
    const WorkerRecord w = WorkerRecord::fromJson(answer.value(QStringLiteral("worker")).toObject());
    const bool changed = answer.value(QStringLiteral("changed")).toBool();
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

namespace {

// `swamp worker label`'s request: the labels to set and the keys to remove, checked as
// `worker connect --label` checks them; false (and `exitCode`) on a mistake.
bool labelParams(const QCommandLineParser &parser, const QStringList &items, const QString &command, QJsonObject *params,
                 int *exitCode)
{
    auto set = parseLabelArguments(items, true, QString());
    if (!set) {
        *exitCode = usageError(set.error().text(), command);
        return false;
    }
    QStringList remove;
    for (const QString &key : parser.values(QStringLiteral("remove"))) {
        if (auto checked = checkLabel(key, QString()); !checked) {
            *exitCode = usageError(QStringLiteral("--remove: ") + checked.error().text(), command);
            return false;
        }
        if (set->contains(key)) {
            *exitCode = usageError(QStringLiteral("label \"%1\" is both set and removed — give each key once").arg(key), command);
            return false;
        }
        remove << key;
    }
    if (set->isEmpty() && remove.isEmpty()) {
        *exitCode = usageError(QStringLiteral("no label to set or remove — give labels as key=value, or --remove KEY"), command);
        return false;
    }
    params->insert(QStringLiteral("set"), labelsToJson(*set));
    params->insert(QStringLiteral("remove"), QJsonArray::fromStringList(remove));
    return true;
}

} // namespace

int runWorkerLabel(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker label");
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("remove"), QStringLiteral("Remove this label, repeatable."), QStringLiteral("key")});
    parser.addOption({QStringLiteral("reason"), QStringLiteral("Why, kept in the audit trail and the event."), QStringLiteral("text")});
    QString name;
    QStringList items;
    int exitCode = 0;
    if (!parseNamed(parser, arguments, command,
                    QStringLiteral("Set or remove a worker's labels after its enrollment; the scheduler uses them at once, on "
                                   "every orchestrator of a fleet. For the keys set or removed here, this record wins over "
                                   "the worker's own --label (and its token's labels), also when it connects again; its "
                                   "other labels stay its own."),
                    QStringLiteral("  swamp worker label gpu-01 region=mars --reason 'moved racks'\n"
                                   "  swamp worker label gpu-01 --remove gpu\n"
                                   "  swamp worker label gpu-01 pool=ci,tier=2 --remove gpu\n"),
                    &name, &exitCode, &items, QStringLiteral("[k=v...]")))
        return exitCode;
    QJsonObject params{{QStringLiteral("name"), name}};
    if (!labelParams(parser, items, command, &params, &exitCode))
        return exitCode;
    QJsonObject answer;
    if (!workerChange(parser, QStringLiteral("worker.label"), params, &answer, &exitCode))
        return exitCode;
    const WorkerRecord w = WorkerRecord::fromJson(answer.value(QStringLiteral("worker")).toObject());
    out((answer.value(QStringLiteral("changed")).toBool() ? QStringLiteral("%1 labels: %2") : QStringLiteral("%1 already had those labels: %2"))
            .arg(w.name, printable(labelsText(w))));
    return ExitOk;
}

int runWorkerRemove(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker remove");
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("reason"), QStringLiteral("Why, kept in the audit trail and the event, and told to the worker."),
                      QStringLiteral("text")});
    QString name;
    int exitCode = 0;
    if (!parseNamed(parser, arguments, command,
                    QStringLiteral("Remove a worker for good (GitHub 'config.sh remove', 'gitlab-runner unregister'): a live "
                                   "session ends at once, on whichever orchestrator of a fleet holds it, and the worker exits "
                                   "3 (its systemd unit does not restart it); its running steps go back to the queue by their "
                                   "retry policy; its enrollment on its token is freed and its name is free. To bring it "
                                   "back, connect it again with a token."),
                    QStringLiteral("  swamp worker remove gpu-01 --reason 'decommissioned'\n"), &name, &exitCode))
        return exitCode;
    QJsonObject answer;
    if (!workerChange(parser, QStringLiteral("worker.remove"), {{QStringLiteral("name"), name}}, &answer, &exitCode))
        return exitCode;
    const WorkerRecord w = WorkerRecord::fromJson(answer.value(QStringLiteral("worker")).toObject());
    QString text = QStringLiteral("Removed %1 (was %2).").arg(w.name, workerStatusName(w.status));
    if (w.activeSteps > 0)
        text += QStringLiteral(" Its %1 running step(s) went back to the queue by their retry policy.").arg(w.activeSteps);
    if (answer.value(QStringLiteral("bindingsFreed")).toInt() > 0)
        text += QStringLiteral(" Its enrollment on token '%1' is free again.").arg(w.tokenName);
    out(text);
    return ExitOk;
}

} // namespace Swamp::Cli
