#pragma once

// Parsers for tst_recipes: each reads a recipe in its own syntax. YAML and shell words come from
// tests/deploy/recipe.py (PyYAML and shlex under /usr/bin/python3); Dockerfiles, systemd units
// and EnvironmentFile= files are parsed here, following their documented rules.

#include "integration/swampharness.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>

#include <map>

#include <sys/stat.h>

namespace SwampTest::Recipes {

using namespace Qt::StringLiterals;

inline QString sourcePath(const QString &relative)
{
    return QStringLiteral(SWAMP_SOURCE_DIR) + u'/' + relative;
}

inline QString readText(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    return QString::fromUtf8(file.readAll());
}

inline bool writeText(const QString &path, const QString &text)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(text.toUtf8()) >= 0;
}

// A secret as a platform puts it down: `text` in a file of mode `mode` (e.g. 0600), written
// only once the mode is set.
inline bool writeSecret(const QString &path, const QString &text, uint mode)
{
    QFile::remove(path);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        ::fchmod(file.handle(), mode_t(mode)) != 0)
        return false;
    return file.write(text.toUtf8()) >= 0;
}

// A file mode as YAML carries it, which PyYAML's BaseLoader keeps as text: `0600` and `'0600'`
// are octal (YAML 1.1, as cloud-init and Kubernetes read them), `384` decimal. -1 when neither.
inline int fileMode(const QString &text)
{
    bool ok = false;
    const int mode = text.startsWith(u'0') ? text.toInt(&ok, 8) : text.toInt(&ok, 10);
    return ok && mode >= 0 && mode <= 07777 ? mode : -1;
}

// Runs a short tool to its end, waiting in the event loop so the orchestrator's pipes drain.
inline Run runTool(const QString &program, const QStringList &arguments,
                   const QByteArray &input = {})
{
    QProcess process;
    process.start(program, arguments);
    Run run;
    if (!process.waitForStarted(20000)) {
        run.err = u"cannot start %1: %2"_s.arg(program, process.errorString());
        return run;
    }
    process.write(input);
    process.closeWriteChannel();
    if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 60000)) {
        process.kill();
        process.waitForFinished(5000);
        run.err = u"%1 did not finish"_s.arg(program);
        return run;
    }
    run.crashed = process.exitStatus() != QProcess::NormalExit;
    run.exitCode = run.crashed ? -1 : process.exitCode();
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

inline const QString RecipeHelper = QStringLiteral(SWAMP_SOURCE_DIR "/tests/deploy/recipe.py");
inline const QString Python = u"/usr/bin/python3"_s;

// Every YAML document of a file (or of `text` when given) as JSON, parsed by PyYAML.
inline QJsonArray yamlDocuments(const QString &path, const QString &text = {})
{
    const Run run =
        runTool(Python, {RecipeHelper, u"yaml"_s, text.isNull() ? path : u"-"_s}, text.toUtf8());
    if (run.exitCode != 0)
        qWarning("cannot parse %s as YAML: %s", qPrintable(path), qPrintable(run.describe()));
    return QJsonDocument::fromJson(run.out.toUtf8()).array();
}

// Shell words of `text` as a POSIX shell splits them (shlex).
inline QStringList shellWords(const QString &text)
{
    const Run run = runTool(Python, {RecipeHelper, u"words"_s}, text.toUtf8());
    if (run.exitCode != 0)
        qWarning("cannot split into words: %s", qPrintable(run.describe()));
    QStringList words;
    for (const QJsonValue &word : QJsonDocument::fromJson(run.out.toUtf8()).array())
        words.append(word.toString());
    return words;
}

// The fenced code block that follows the line `marker` in the "Deploy a worker" section of
// docs/operations.md (which carries the guide's recipes as written).
inline QString guideBlock(const QString &marker)
{
    const QString docs = readText(sourcePath(u"docs/operations.md"_s));
    const qsizetype section = docs.indexOf(u"\n## Deploy a worker\n"_s);
    if (section < 0)
        return {};
    const qsizetype at = docs.indexOf(u'\n' + marker, section);
    if (at < 0)
        return {};
    const qsizetype open = docs.indexOf(u"```"_s, at);
    const qsizetype start = docs.indexOf(u'\n', open) + 1;
    const qsizetype close = docs.indexOf(u"\n```"_s, start);
    if (open < 0 || start <= 0 || close < 0)
        return {};
    return docs.mid(start, close - start + 1);
}

inline QStringList stringList(const QJsonValue &value)
{
    QStringList list;
    for (const QJsonValue &item : value.toArray())
        list.append(item.toString());
    return list;
}

// ---- Dockerfile -----------------------------------------------------------------------------

struct DockerInstruction
{
    QString keyword;
    QString arguments;
};

// Instructions of a Dockerfile: comments and blank lines dropped, `\` continuations joined.
inline QList<DockerInstruction> dockerInstructions(const QString &text)
{
    QList<DockerInstruction> instructions;
    QString pending;
    for (const QString &raw : text.split(u'\n')) {
        const QString line = raw.trimmed();
        if (pending.isEmpty() && (line.isEmpty() || line.startsWith(u'#')))
            continue;
        if (line.startsWith(u'#'))
            continue; // a comment inside a continued instruction
        if (line.endsWith(u'\\')) {
            pending += line.chopped(1) + u' ';
            continue;
        }
        pending += line;
        const qsizetype space = pending.indexOf(u' ');
        instructions.append({pending.left(space).toUpper(), pending.mid(space + 1).trimmed()});
        pending.clear();
    }
    return instructions;
}

// `ENV K=V` (and the legacy `ENV K V`) of a Dockerfile.
inline std::map<QString, QString> dockerEnvironment(const QList<DockerInstruction> &instructions)
{
    std::map<QString, QString> environment;
    for (const DockerInstruction &instruction : instructions) {
        if (instruction.keyword != u"ENV")
            continue;
        const QStringList words = shellWords(instruction.arguments);
        if (!words.isEmpty() && !words.first().contains(u'=')) {
            environment[words.first()] = words.mid(1).join(u' ');
            continue;
        }
        for (const QString &word : words)
            environment[word.section(u'=', 0, 0)] = word.section(u'=', 1);
    }
    return environment;
}

inline QString lastInstruction(const QList<DockerInstruction> &instructions, const QString &keyword)
{
    QString found;
    for (const DockerInstruction &instruction : instructions) {
        if (instruction.keyword == keyword)
            found = instruction.arguments;
    }
    return found;
}

// The shell commands a file shows in its comments to run `docker run`: comment lines whose text
// starts with `docker run`, joined with the comment lines they continue onto (`\`), as words.
inline QList<QStringList> dockerRunsInComments(const QString &text)
{
    QList<QStringList> runs;
    QString pending;
    for (const QString &raw : text.split(u'\n')) {
        const QString line = raw.trimmed();
        if (!line.startsWith(u'#')) {
            pending.clear();
            continue;
        }
        const QString comment = line.mid(1).trimmed();
        if (pending.isEmpty() && !comment.startsWith(u"docker run "_s))
            continue;
        pending += comment + u'\n';
        if (!comment.endsWith(u'\\')) {
            runs.append(shellWords(pending));
            pending.clear();
        }
    }
    return runs;
}

// `docker run [options] IMAGE [COMMAND...]`, for the options the recipes use.
struct DockerRun
{
    std::map<QString, QString> environment;         // -e/--env K=V
    QList<std::pair<QString, QString>> volumes;     // -v/--volume SOURCE:TARGET[:ro]
    QStringList options;                            // all of them, as written
    QString image;
    QStringList command;
    QString error;
};

inline DockerRun parseDockerRun(const QStringList &words)
{
    DockerRun run;
    if (words.size() < 3 || words.at(0) != u"docker" || words.at(1) != u"run") {
        run.error = u"not a docker run command: "_s + words.join(u' ');
        return run;
    }
    qsizetype i = 2;
    for (; i < words.size() && words.at(i).startsWith(u'-'); ++i) {
        const QString option = words.at(i).section(u'=', 0, 0);
        run.options.append(words.at(i));
        if (option == u"-d" || option == u"--detach" || option == u"--rm")
            continue;
        if (option != u"-e" && option != u"--env" && option != u"-v" && option != u"--volume" &&
            option != u"--name") {
            run.error = u"docker run option %1 is not known to this test"_s.arg(option);
            return run;
        }
        QString value = words.at(i).section(u'=', 1);
        if (!words.at(i).contains(u'=')) {
            if (++i >= words.size()) {
                run.error = u"docker run option %1 has no value"_s.arg(option);
                return run;
            }
            value = words.at(i);
            run.options.append(value);
        }
        if (option == u"-e" || option == u"--env") {
            if (!value.contains(u'=')) {
                run.error = u"-e %1 takes its value from the caller's environment"_s.arg(value);
                return run;
            }
            run.environment[value.section(u'=', 0, 0)] = value.section(u'=', 1);
        } else if (option == u"-v" || option == u"--volume") {
            const QStringList parts = value.split(u':');
            if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts.at(2) != u"ro")) {
                run.error = u"-v %1 is not SOURCE:TARGET[:ro]"_s.arg(value);
                return run;
            }
            run.volumes.append({parts.at(0), parts.at(1)});
        }
    }
    if (i >= words.size()) {
        run.error = u"docker run without an image: "_s + words.join(u' ');
        return run;
    }
    run.image = words.at(i);
    run.command = words.mid(i + 1);
    return run;
}

// ---- systemd ------------------------------------------------------------------------------

// A unit file as systemd reads it: [Section] headers, Key=Value lines (a key may repeat), `#`
// and `;` comments, `\` continuations.
using UnitFile = std::multimap<QString, QString>; // "Service/ExecStart" -> value, in file order

inline UnitFile parseUnit(const QString &text)
{
    UnitFile unit;
    QString section;
    QString pending;
    for (const QString &raw : text.split(u'\n')) {
        QString line = raw.trimmed();
        if (pending.isEmpty() && (line.isEmpty() || line.startsWith(u'#') || line.startsWith(u';')))
            continue;
        if (line.endsWith(u'\\')) {
            pending += line.chopped(1) + u' ';
            continue;
        }
        line = pending + line;
        pending.clear();
        if (line.startsWith(u'[') && line.endsWith(u']')) {
            section = line.mid(1, line.size() - 2);
            continue;
        }
        const qsizetype eq = line.indexOf(u'=');
        if (eq > 0)
            unit.emplace(section + u'/' + line.left(eq).trimmed(), line.mid(eq + 1).trimmed());
    }
    return unit;
}

inline QStringList unitValues(const UnitFile &unit, const QString &key)
{
    QStringList values;
    const auto range = unit.equal_range(key);
    for (auto it = range.first; it != range.second; ++it)
        values.append(it->second);
    return values;
}

// Splits a systemd command line into words: whitespace separates, "..." and '...' quote, and a
// backslash escapes the next character (systemd.syntax(7), "Quoting").
inline QStringList systemdWords(const QString &text)
{
    QStringList words;
    QString word;
    bool inWord = false;
    QChar quote;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (!quote.isNull()) {
            if (c == quote)
                quote = QChar();
            else if (c == u'\\' && i + 1 < text.size())
                word += text.at(++i);
            else
                word += c;
        } else if (c.isSpace()) {
            if (inWord)
                words.append(word);
            word.clear();
            inWord = false;
        } else if (c == u'"' || c == u'\'') {
            quote = c;
            inWord = true;
        } else if (c == u'\\' && i + 1 < text.size()) {
            word += text.at(++i);
            inWord = true;
        } else {
            word += c;
            inWord = true;
        }
    }
    if (inWord)
        words.append(word);
    return words;
}

// An EnvironmentFile=: KEY=VALUE lines, `#`/`;` comments, optional quotes, no expansion.
inline std::map<QString, QString> parseEnvironmentFile(const QString &text)
{
    std::map<QString, QString> environment;
    for (const QString &raw : text.split(u'\n')) {
        const QString line = raw.trimmed();
        if (line.isEmpty() || line.startsWith(u'#') || line.startsWith(u';'))
            continue;
        const qsizetype eq = line.indexOf(u'=');
        if (eq <= 0)
            continue;
        QString value = line.mid(eq + 1).trimmed();
        if (value.size() >= 2 && (value.startsWith(u'"') || value.startsWith(u'\'')) &&
            value.endsWith(value.at(0)))
            value = value.mid(1, value.size() - 2);
        environment[line.left(eq).trimmed()] = value;
    }
    return environment;
}

// ExecStart= expanded as systemd does (systemd.service(5), "Command lines"): specifiers first
// (%d is the credentials directory, %% a percent sign), then each `$NAME` word is replaced by the
// value split at whitespace and each `${NAME}` by the value as one word; unset names expand to
// nothing. Returns an empty list and warns on a specifier this test does not know.
inline QStringList expandExecStart(const QString &execStart,
                                   const std::map<QString, QString> &environment,
                                   const QString &credentialsDirectory)
{
    QString line = execStart;
    while (!line.isEmpty() && QStringLiteral("-@:+!").contains(line.at(0)))
        line.remove(0, 1);
    QString specified;
    for (qsizetype i = 0; i < line.size(); ++i) {
        if (line.at(i) != u'%' || i + 1 >= line.size()) {
            specified += line.at(i);
            continue;
        }
        const QChar specifier = line.at(++i);
        if (specifier == u'%') {
            specified += u'%';
        } else if (specifier == u'd') {
            specified += credentialsDirectory;
        } else {
            qWarning("unexpected specifier %%%c in ExecStart=", char(specifier.toLatin1()));
            return {};
        }
    }
    const auto value = [&](const QString &name) {
        const auto it = environment.find(name);
        return it == environment.end() ? QString() : it->second;
    };
    static const QRegularExpression whole(u"^\\$([A-Za-z_][A-Za-z0-9_]*)$"_s);
    static const QRegularExpression braced(u"\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}"_s);
    QStringList words;
    for (const QString &word : systemdWords(specified)) {
        const QRegularExpressionMatch match = whole.match(word);
        if (match.hasMatch()) {
            words +=
                value(match.captured(1)).split(QRegularExpression(u"\\s+"_s), Qt::SkipEmptyParts);
            continue;
        }
        QString expanded = word;
        QRegularExpressionMatch variable;
        while ((variable = braced.match(expanded)).hasMatch())
            expanded.replace(variable.capturedStart(), variable.capturedLength(),
                             value(variable.captured(1)));
        words.append(expanded);
    }
    return words;
}

} // namespace SwampTest::Recipes
