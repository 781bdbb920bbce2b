#pragma once

#include <QList>
#include <QStringList>

// The table of `swamp` commands. Dispatch, `swamp --help`, the help of command groups
// (`swamp worker --help`) and the shell completion scripts are all generated from it and from
// the commands' own parsers, so a command added here is everywhere at once.
namespace Swamp::Cli {

// Names only the orchestrator knows, completed by asking it (`swamp __complete workers`).
enum class Names { None, Workers, Tokens, Steps };

struct Command
{
    QStringList words; // {"worker", "token", "create"}
    QString arguments; // shown after the words in `swamp --help`: "<name>"
    QString summary;   // one line in `swamp --help`
    QString group;     // heading in `swamp --help`
    // Must hand its parser to parse() (cli.h) before it does anything else: describe() runs it.
    int (*run)(const QStringList &arguments) = nullptr;
    QStringList argumentChoices; // completion candidates of the first argument, if a fixed set
    Names argumentNames = Names::None; // what the first argument names, completed from the orchestrator
};

const QList<Command> &commands();

// One option as the command's parser declares it.
struct OptionSpec
{
    QString name;      // "cache-dir"
    QString valueName; // "dir"; empty for a switch
    QString description; // as --help shows it, on one line
};

// What a command's parser declares: collected by running the command in describe mode, in which
// parse() records its parser and returns before the command does anything.
struct CommandSpec
{
    bool described = false;
    QString description;
    QString examples;
    QList<OptionSpec> options;
};

CommandSpec describe(const Command &command);

// Set while describe() runs a command; parse() fills it (cli.cpp).
CommandSpec *describing();

// Parses the "Options:" section of QCommandLineParser::helpText().
QList<OptionSpec> optionsFromHelpText(const QString &helpText);

// "Commands:" and the commands one word below `words` (`run` -> `run status`, ...), or empty.
QString subcommandHelp(const QStringList &words);

// Runs `swamp <arguments>`: the longest command of the table whose words begin the arguments.
int dispatch(const QStringList &arguments);

int runCompletion(const QStringList &arguments);

// `swamp __complete workers|tokens|steps` (hidden): the names the orchestrator knows, one a line,
// for the completion scripts. Prints nothing and exits 0 when there is no orchestrator to ask.
int runCompleteNames(const QStringList &arguments);

// `swamp help --man` (hidden): the manual page swamp(1) in roff, from the command table.
QString manPage();

} // namespace Swamp::Cli
