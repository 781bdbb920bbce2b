// The zsh and fish completion scripts: the same command tree as the bash one (completion.cpp),
// with each subcommand's summary and each option's description shown beside it.

#include "completion_p.h"

#include "version/version.h"

namespace Swamp::Cli::Internal {

namespace {

// `text` inside single quotes, in zsh (and any POSIX shell).
QString zshQuoted(const QString &text)
{
    return u'\'' + QString(text).replace(u'\'', QStringLiteral("'\\''")) + u'\'';
}

// `text` inside single quotes, in fish (which takes \' and \\ there).
QString fishQuoted(const QString &text)
{
    QString escaped = text;
    escaped.replace(u'\\', QStringLiteral("\\\\")).replace(u'\'', QStringLiteral("\\'"));
    return u'\'' + escaped + u'\'';
}

QString zshArray(const char *name, const QStringList &items)
{
    QStringList quoted;
    for (const QString &item : items)
        quoted.append(zshQuoted(item));
    return QStringLiteral("            %1=(%2)\n").arg(QLatin1String(name), quoted.join(u' '));
}

// One arm of the zsh `case $swamp_path in` per path: what the path offers, with descriptions
// ("word:description") where _describe shows them.
QString zshArm(const QMap<QString, Node> &nodes, const QString &path)
{
    const Node &node = nodes.value(path);
    QStringList subcommands;
    for (const QString &word : node.subcommands) {
        const QString child = path.isEmpty() ? word : path + u' ' + word;
        subcommands.append(word + u':' + nodes.value(child).summary);
    }
    QStringList options;
    QMap<ValueKind, QStringList> byKind;
    for (const OptionSpec &option : node.options) {
        options.append(QStringLiteral("--") + option.name + u':' + option.description);
        byKind[valueKind(option)].append(QStringLiteral("--") + option.name);
    }
    QString arm = QStringLiteral("        (%1)\n").arg(zshQuoted(path));
    if (!subcommands.isEmpty())
        arm += zshArray("subcommands", subcommands);
    arm += zshArray("options", options);
    const std::pair<const char *, ValueKind> kinds[] = {
        {"directory_options", ValueKind::Directory}, {"file_options", ValueKind::File},
        {"user_options", ValueKind::User},           {"worker_options", ValueKind::Worker},
        {"value_options", ValueKind::Other},
    };
    for (const auto &[name, kind] : kinds) {
        if (byKind.contains(kind))
            arm += zshArray(name, byKind.value(kind));
    }
    if (!node.choices.isEmpty())
        arm += zshArray("choices", node.choices);
    if (node.names != Names::None)
        arm += QStringLiteral("            names=%1\n").arg(namesWord(node.names));
    if (node.fileArgument)
        arm += QStringLiteral("            file_argument=1\n");
    return arm + QStringLiteral("            ;;\n");
}

// The fish arguments that complete the value of `option`, after `-l name`.
QString fishValue(const OptionSpec &option)
{
    switch (valueKind(option)) {
    case ValueKind::Switch:
        return {};
    case ValueKind::Directory:
        return QStringLiteral(" -x -a '(__fish_complete_directories (commandline -ct) \"\")'");
    case ValueKind::File:
        return QStringLiteral(" -r -F");
    case ValueKind::User:
        return QStringLiteral(" -x -a '(__fish_complete_users)'");
    case ValueKind::Worker:
        return QStringLiteral(" -x -a '(__swamp_names workers)'");
    case ValueKind::Other:
        return QStringLiteral(" -x");
    }
    return {};
}

// The `complete` lines of one path of the command tree.
QString fishLines(const QMap<QString, Node> &nodes, const QString &path)
{
    const Node &node = nodes.value(path);
    const QString prefix = QStringLiteral("complete -c swamp -n %1")
                               .arg(fishQuoted(QStringLiteral("__swamp_at \"%1\"").arg(path)));
    QString lines;
    for (const QString &word : node.subcommands) {
        const QString child = path.isEmpty() ? word : path + u' ' + word;
        lines += prefix + QStringLiteral(" -a %1 -d %2\n")
                              .arg(fishQuoted(word), fishQuoted(nodes.value(child).summary));
    }
    for (const OptionSpec &option : node.options)
        lines += prefix + QStringLiteral(" -l %1%2 -d %3\n")
                              .arg(option.name, fishValue(option), fishQuoted(option.description));
    if (!node.choices.isEmpty())
        lines += prefix + QStringLiteral(" -a %1\n").arg(fishQuoted(node.choices.join(u' ')));
    if (node.names != Names::None)
        lines += prefix + QStringLiteral(" -a '(__swamp_names %1)'\n").arg(namesWord(node.names));
    if (node.fileArgument)
        lines += prefix + QStringLiteral(" -F\n");
    return lines;
}

} // namespace

// The scripts are templates: they read better whole than in pieces.
QString zshScript()
{
    const QMap<QString, Node> nodes = completionNodes();
    QStringList paths;
    QString arms;
    for (auto it = nodes.cbegin(); it != nodes.cend(); ++it) {
        if (!it.key().isEmpty())
            paths.append(zshQuoted(it.key()));
        arms += zshArm(nodes, it.key());
    }
    return QStringLiteral(
               R"script(#compdef swamp
# zsh completion for swamp %1, generated by `swamp completion zsh` from its command table.
# Load it in the current shell (after compinit) with `source <(swamp completion zsh)`, or save it
# as _swamp in a directory of $fpath; the Debian package installs it as
# /usr/share/zsh/vendor-completions/_swamp.

# The names the orchestrator knows (workers, tokens, steps); nothing when it cannot be reached.
_swamp_names() {
    local -a names
    names=(${(f)"$(_call_program $1 ${words[1]} __complete $1 2>/dev/null)"})
    _wanted $1 expl $1 compadd -a names
}

_swamp() {
    local swamp_path="" next word i
    for ((i = 2; i < CURRENT; i++)); do
        word=${words[i]}
        if [[ $word == -- ]]; then
            # After `--` comes the step's own command line.
            words=("${(@)words[i+1,-1]}")
            (( CURRENT -= i ))
            _normal
            return
        fi
        next=${swamp_path:+$swamp_path }$word
        case $next in
            (%2) swamp_path=$next ;;
        esac
    done

    local -a subcommands options directory_options file_options user_options worker_options
    local -a value_options choices
    local names="" file_argument=""
    case $swamp_path in
%3    esac

    local prev=${words[CURRENT-1]}
    if (( ${directory_options[(Ie)$prev]} )); then
        _files -/
    elif (( ${file_options[(Ie)$prev]} )); then
        _files
    elif (( ${user_options[(Ie)$prev]} )); then
        _users
    elif (( ${worker_options[(Ie)$prev]} )); then
        _swamp_names workers
    elif (( ${value_options[(Ie)$prev]} )); then
        _message "value of $prev"
    elif [[ $PREFIX == -* ]]; then
        _describe -t options option options
    elif (( $#subcommands )); then
        _describe -t commands command subcommands
    elif (( $#choices )); then
        compadd -a choices
    elif [[ -n $names ]]; then
        _swamp_names $names
    elif [[ -n $file_argument ]]; then
        _files
    else
        _describe -t options option options
    fi
}

if [[ $funcstack[1] == _swamp ]]; then
    _swamp "$@"
else
    compdef _swamp swamp
fi
)script")
        .arg(Swamp::version(), paths.join(u'|'), arms);
}

QString fishScript()
{
    const QMap<QString, Node> nodes = completionNodes();
    QStringList paths;
    QString lines;
    for (auto it = nodes.cbegin(); it != nodes.cend(); ++it) {
        if (!it.key().isEmpty())
            paths.append(fishQuoted(it.key()));
        lines += fishLines(nodes, it.key());
    }
    return QStringLiteral(
               R"script(# fish completion for swamp %1, generated by `swamp completion fish` from its command table.
# Load it in the current shell with `swamp completion fish | source`; the Debian package installs
# it as /usr/share/fish/vendor_completions.d/swamp.fish.

set -g __swamp_paths %2

# The command words typed so far ("worker token"), or "--" after `--`.
function __swamp_path
    set -l path ''
    for word in (commandline -opc)[2..-1]
        if test "$word" = '--'
            printf '%s\n' --
            return
        end
        set -l next $word
        test -n "$path"; and set next "$path $word"
        contains -- $next $__swamp_paths; and set path $next
    end
    printf '%s\n' $path
end

function __swamp_at
    set -l path (__swamp_path)
    test "$path" = "$argv[1]"
end

# The names the orchestrator knows (workers, tokens, steps); nothing when it cannot be reached.
function __swamp_names
    set -l swamp (commandline -opc)[1]
    command $swamp __complete $argv[1] 2>/dev/null
end

complete -c swamp -f
# After `--` comes the step's own command line.
complete -c swamp -n '__swamp_at --' -F -a '(__fish_complete_command)'
%3)script")
        .arg(Swamp::version(), paths.join(u' '), lines);
}

} // namespace Swamp::Cli::Internal
