#pragma once

#include "commands.h"

#include <QMap>
#include <QStringList>

// The command tree as the completion scripts of every shell see it (completion.cpp), and the
// scripts themselves (completion.cpp: bash, completionshells.cpp: zsh and fish).
namespace Swamp::Cli::Internal {

// What completes the value of an option, from the option's value name ("dir", "path", ...).
enum class ValueKind { Switch, Directory, File, User, Worker, Other };

ValueKind valueKind(const OptionSpec &option);

// What the completion offers at one position in the command tree (a group or a command).
struct Node
{
    QString summary; // the command's, or "<group> commands" for a group
    QStringList subcommands;
    QList<OptionSpec> options; // --help first
    QStringList choices;       // fixed candidates of the first argument
    Names names = Names::None; // the first argument names what the orchestrator knows
    bool fileArgument = false; // the first argument is a file (`backup <file>`)
};

// The command tree, by path: the command words joined by spaces; "" is `swamp` itself.
QMap<QString, Node> completionNodes();

// The word `swamp __complete` takes for `names`: "workers", "tokens", "steps"; empty for None.
QString namesWord(Names names);

QString zshScript();
QString fishScript();

} // namespace Swamp::Cli::Internal
