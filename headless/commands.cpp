#include "commands.h"

#include "cli.h"

#include "common/text.h"

#include <QHash>
#include <QRegularExpression>

#include <algorithm>

namespace Swamp::Cli {

static int runWorkerDrainCommand(const QStringList &arguments)
{
    return runWorkerDrain(arguments, true);
}

static int runWorkerUndrainCommand(const QStringList &arguments)
{
    return runWorkerDrain(arguments, false);
}

static int runWorkerPauseCommand(const QStringList &arguments)
{
    return runWorkerPause(arguments, true);
}

static int runWorkerResumeCommand(const QStringList &arguments)
{
    return runWorkerPause(arguments, false);
}

const QList<Command> &commands()
{
    const auto words = [](const char *text) { return QString::fromLatin1(text).split(u' '); };
    const QString orchestrator = QStringLiteral("Orchestrator");
    const QString workers = QStringLiteral("Workers");
    const QString steps = QStringLiteral("Steps");
    const QString data = QStringLiteral("Data");
    const QString other = QStringLiteral("Other");
    // One line per command, in the order `swamp --help` lists them.
    // clang-format off
    static const QList<Command> table{
        {words("serve"), {}, QStringLiteral("Run the orchestrator."), orchestrator, runServe},
        {words("backup"), QStringLiteral("<file>"), QStringLiteral("Copy the SQLite database to a new file, also while serve runs."), orchestrator, runBackup},
        {words("worker connect"), QStringLiteral("<url>[,<url>...]"), QStringLiteral("Connect this machine as a worker."), workers, runWorkerConnect},
        {words("worker list"), {}, QStringLiteral("List workers."), workers, runWorkerList},
        {words("worker show"), QStringLiteral("<name>"), QStringLiteral("One worker: labels, slots, steps, leases, token, recent events."), workers, runWorkerShow, {}, Names::Workers},
        {words("worker queue"), {}, QStringLiteral("Steps waiting for a worker."), workers, runWorkerQueue},
        {words("worker drain"), QStringLiteral("<name>"), QStringLiteral("Finish running steps, take no new ones, then exit."), workers, runWorkerDrainCommand, {}, Names::Workers},
        {words("worker undrain"), QStringLiteral("<name>"), QStringLiteral("Take steps again."), workers, runWorkerUndrainCommand, {}, Names::Workers},
        {words("worker pause"), QStringLiteral("<name>"), QStringLiteral("Give a worker no new steps; it stays connected."), workers, runWorkerPauseCommand, {}, Names::Workers},
        {words("worker resume"), QStringLiteral("<name>"), QStringLiteral("Let a paused worker take steps again."), workers, runWorkerResumeCommand, {}, Names::Workers},
        {words("worker label"), QStringLiteral("<name> k=v... [--remove k]..."), QStringLiteral("Set or remove a worker's labels (the operator's record wins)."), workers, runWorkerLabel, {}, Names::Workers},
        {words("worker remove"), QStringLiteral("<name>"), QStringLiteral("Remove a worker: end its session, free its enrollment."), workers, runWorkerRemove, {}, Names::Workers},
        {words("worker prune"), {}, QStringLiteral("Remove workers gone for longer than --grace-period."), workers, runWorkerPrune},
        {words("worker token create"), QStringLiteral("<name>"), QStringLiteral("Create an enrollment token (secret shown once)."), workers, runTokenCreate},
        {words("worker token list"), {}, QStringLiteral("List enrollment tokens."), workers, runTokenList},
        {words("worker token extend"), QStringLiteral("<name> --duration <dur>"), QStringLiteral("Move a token's expiry (and its workers' stop) later."), workers, runTokenExtend, {}, Names::Tokens},
        {words("worker token revoke"), QStringLiteral("<name>"), QStringLiteral("Revoke a token and disconnect its workers."), workers, runTokenRevoke, {}, Names::Tokens},
        {words("run"), QStringLiteral("[placement] -- CMD..."), QStringLiteral("Run a command on a worker (or --file run.json) and stream its output."), steps, runRun},
        {words("run status"), QStringLiteral("<id>"), QStringLiteral("A run's steps and their state."), steps, runRunStatus, {}, Names::Steps},
        {words("run logs"), QStringLiteral("<id> [--follow]"), QStringLiteral("A step's output."), steps, runRunLogs, {}, Names::Steps},
        {words("run cancel"), QStringLiteral("<id>"), QStringLiteral("Cancel a step or a run."), steps, runRunCancel, {}, Names::Steps},
        {words("data query"), QStringLiteral("'<predicate>'"), QStringLiteral("Query the orchestrator's records."), data, runDataQuery},
        {words("version"), {}, QStringLiteral("Print the version."), other, runVersion},
        {words("completion"), QStringLiteral("bash|zsh|fish"), QStringLiteral("Print the completion script of a shell."), other, runCompletion, {QStringLiteral("bash"), QStringLiteral("zsh"), QStringLiteral("fish")}},
    };
    // clang-format on
    return table;
}

static CommandSpec *s_describing = nullptr;

CommandSpec *describing()
{
    return s_describing;
}

CommandSpec describe(const Command &command)
{
    CommandSpec spec;
    s_describing = &spec;
    command.run({});
    s_describing = nullptr;
    return spec;
}

QList<OptionSpec> optionsFromHelpText(const QString &helpText)
{
    // QCommandLineParser lists each option as "  -h, --help" or "  --name <value>" followed by
    // its description; wrapped description lines are indented further.
    static const QRegularExpression line(
        QStringLiteral(R"(^  (?:-\w, )?--([\w-]+)(?: <([^>]*)>)?(?:\s+(.*))?$)"));
    QList<OptionSpec> options;
    bool inOptions = false;
    for (const QString &text : helpText.split(u'\n')) {
        if (text == u"Options:") {
            inOptions = true;
            continue;
        }
        if (!inOptions)
            continue;
        if (text.isEmpty() || !text.startsWith(u' '))
            break;
        const QRegularExpressionMatch match = line.match(text);
        if (match.hasMatch())
            options.append({match.captured(1), match.captured(2), match.captured(3).trimmed()});
        else if (!options.isEmpty() && text.startsWith(QStringLiteral("   ")))
            options.last().description += u' ' + text.trimmed();
    }
    return options;
}

namespace {

QString joined(const QStringList &words)
{
    return words.join(u' ');
}

bool startsWith(const QStringList &list, const QStringList &prefix)
{
    return list.size() >= prefix.size() && list.mid(0, prefix.size()) == prefix;
}

// The commands below a group (`worker`, `worker token`), or every command for an empty group.
QList<Command> commandsUnder(const QStringList &group)
{
    QList<Command> found;
    for (const Command &command : commands()) {
        if (command.words.size() > group.size() && startsWith(command.words, group))
            found.append(command);
    }
    return found;
}

// One line per command: its words (without the first `skipWords`) and arguments, then its
// summary; grouped under headings when the whole table is listed.
QString commandList(const QList<Command> &list, qsizetype skipWords, const QString &prefix = {})
{
    QStringList left;
    qsizetype width = 28;
    for (const Command &command : list) {
        QString text = prefix + joined(command.words.mid(skipWords));
        if (!command.arguments.isEmpty())
            text += u' ' + command.arguments;
        left.append(text);
        width = std::max(width, text.size() + 2);
    }
    QString text;
    QString group;
    for (qsizetype i = 0; i < list.size(); ++i) {
        if (skipWords == 0 && prefix.isEmpty() && list.at(i).group != group) {
            group = list.at(i).group;
            text +=
                (text.isEmpty() ? QString() : QStringLiteral("\n")) + group + QStringLiteral(":\n");
        }
        text += QStringLiteral("  ") + left.at(i).leftJustified(width) + list.at(i).summary + u'\n';
    }
    return text;
}

QString usage()
{
    return QStringLiteral("Usage: swamp <command> [options]\n\n") + commandList(commands(), 0) +
           QStringLiteral(
               "\nExamples:\n"
               "  swamp serve --listen 0.0.0.0:9090 --tls-cert cert.pem --tls-key key.pem\n"
               "  swamp worker token create ci --duration 7d --max-enrollments 10\n"
               "  swamp worker connect wss://orchestrator:9090 --token \"$TOKEN\" --cache-dir "
               "/var/lib/swamp-worker\n"
               "  swamp run --label pool=ci --timeout 10m -- make test\n"
               "  swamp data query 'modelType == \"swamp/worker\"'\n"
               "  source <(swamp completion bash)\n"
               "  man swamp\n"
               "\nRun 'swamp <command> --help' for a command's options.\n");
}

// `swamp worker --help`: the group's commands and an example of each.
QString groupUsage(const QStringList &group)
{
    const QString name = joined(group);
    const QList<Command> list = commandsUnder(group);
    QString examples;
    for (const Command &command : list) {
        const QString example = describe(command).examples.section(u'\n', 0, 0);
        if (!example.isEmpty())
            examples += example + u'\n';
    }
    return QStringLiteral("Usage: swamp %1 <command> [options]\n\nCommands:\n").arg(name) +
           commandList(list, group.size()) + QStringLiteral("\nExamples:\n") + examples +
           QStringLiteral("\nRun 'swamp %1 <command> --help' for a command's options.\n").arg(name);
}

bool isHelp(const QString &argument)
{
    return argument == u"--help" || argument == u"-h";
}

// How many words of `typed` differ from `words`, each one close to its word (closestMatch());
// -1 when a word is not close.
qsizetype mistypedWords(const QStringList &typed, const QStringList &words)
{
    qsizetype differ = 0;
    for (qsizetype i = 0; i < words.size(); ++i) {
        if (typed.value(i) == words.at(i))
            continue;
        if (closestMatch(typed.value(i), {words.at(i)}).isEmpty())
            return -1;
        ++differ;
    }
    return differ;
}

// The command (or group) a mistyped command line most likely meant: "wroker list" → "worker
// list". Of the commands of as many words as possible, the one with the fewest words mistyped,
// each close to its word; empty when none is, or when nothing was mistyped.
QString closestCommand(const QStringList &arguments)
{
    QHash<qsizetype, QList<QStringList>> byWordCount; // commands and groups ("worker", "worker token")
    for (const Command &command : commands()) {
        for (qsizetype count = 1; count <= command.words.size(); ++count) {
            const QStringList words = command.words.mid(0, count);
            if (!byWordCount[count].contains(words))
                byWordCount[count] << words;
        }
    }
    for (qsizetype count = std::min<qsizetype>(arguments.size(), 3); count > 0; --count) {
        QStringList best;
        qsizetype fewest = count + 1;
        for (const QStringList &words : byWordCount.value(count)) {
            const qsizetype differ = mistypedWords(arguments.mid(0, count), words);
            if (differ > 0 && differ < fewest) {
                best = words;
                fewest = differ;
            }
        }
        if (!best.isEmpty())
            return joined(best);
    }
    return {};
}

} // namespace

QString subcommandHelp(const QStringList &words)
{
    QList<Command> below;
    for (const Command &command : commandsUnder(words)) {
        if (command.words.size() == words.size() + 1)
            below.append(command);
    }
    return below.isEmpty()
               ? QString()
               : QStringLiteral("\nCommands:\n") + commandList(below, 0, QStringLiteral("swamp "));
}

int dispatch(const QStringList &arguments)
{
    if (arguments.isEmpty()) {
        out(usage());
        return ExitUsage;
    }
    const QString first = arguments.first();
    if (isHelp(first) || (first == u"help" && arguments.size() == 1)) {
        out(usage());
        return ExitOk;
    }
    if (first == u"help" && arguments.size() == 2 && arguments.at(1) == u"--man") {
        out(manPage());
        return ExitOk;
    }
    if (first == u"__complete")
        return runCompleteNames(arguments.mid(1));
    if (first == u"help")
        return dispatch(arguments.mid(1) + QStringList{QStringLiteral("--help")});
    if (first == u"--version")
        return runVersion(arguments.mid(1));

    const Command *match = nullptr;
    for (const Command &command : commands()) {
        if (startsWith(arguments, command.words) &&
            (!match || command.words.size() > match->words.size()))
            match = &command;
    }
    if (match)
        return match->run(arguments.mid(match->words.size()));

    // A group (`worker`, `worker token`, `data`) without one of its commands.
    QStringList group;
    for (const QString &word : arguments) {
        QStringList longer = group;
        longer.append(word);
        if (commandsUnder(longer).isEmpty())
            break;
        group = longer;
    }
    const QStringList rest = arguments.mid(group.size());
    if (!group.isEmpty() && !rest.isEmpty() && isHelp(rest.first())) {
        out(groupUsage(group));
        return ExitOk;
    }
    if (!group.isEmpty() && rest.isEmpty()) {
        err(QStringLiteral("error: 'swamp %1' needs a command\n").arg(joined(group)) +
            groupUsage(group));
        return ExitUsage;
    }
    const QString suggestion = closestCommand(arguments);
    err(QStringLiteral("error: unknown command '%1'").arg(printable(leftCharacters(joined(group + rest.mid(0, 1)), 80))) +
        (suggestion.isEmpty() ? QString() : QStringLiteral(" — did you mean 'swamp %1'?").arg(suggestion)) + u'\n' +
        (group.isEmpty() ? usage() : groupUsage(group)));
    return ExitUsage;
}

} // namespace Swamp::Cli
