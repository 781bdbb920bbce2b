#include "cli.h"
#include "commands.h"

#include "common/text.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <unistd.h>

namespace Swamp::Cli {

// UTF-8 text as it is, ending in a newline (written apart: an answer of tens of MB is not copied
// to add one).
static void write(FILE *stream, const QByteArray &utf8)
{
    std::fwrite(utf8.constData(), 1, size_t(utf8.size()), stream);
    if (!utf8.endsWith('\n'))
        std::fputc('\n', stream);
    std::fflush(stream);
}

static void write(FILE *stream, const QString &text)
{
    write(stream, text.toUtf8());
}

void out(const QString &text)
{
    write(stdout, text);
}

void err(const QString &text)
{
    write(stderr, text);
}

void printJson(const QJsonValue &value)
{
    const QJsonDocument document = value.isArray() ? QJsonDocument(value.toArray())
                                                   : QJsonDocument(value.toObject());
    write(stdout, document.toJson(QJsonDocument::Indented)); // JSON's UTF-8, never through a QString
}

void printJsonLine(const QJsonObject &object)
{
    write(stdout, QJsonDocument(object).toJson(QJsonDocument::Compact));
}

static QString s_usageNote;

void setUsageNote(const QString &note)
{
    s_usageNote = note;
}

int usageError(const QString &message, const QString &command)
{
    err(QStringLiteral("error: %1\n%2Run 'swamp %3 --help' for usage.")
            .arg(message, s_usageNote.isEmpty() ? QString() : s_usageNote + u'\n', command));
    return ExitUsage;
}

int failure(const Error &error, bool json)
{
    if (json)
        printJson(QJsonObject{{QStringLiteral("error"), error.toJson()}});
    else
        err(QStringLiteral("error: ") + error.text());
    const bool usage = error.code.startsWith(u"invalid_") || error.code.startsWith(u"query_");
    return usage ? ExitUsage : ExitFailed;
}

bool colourEnabled()
{
    return ::isatty(STDOUT_FILENO) && qEnvironmentVariableIsEmpty("NO_COLOR");
}

QString statusColour(const QString &status)
{
    if (status == u"idle" || status == u"unused" || status == u"succeeded")
        return QStringLiteral("32");
    if (status == u"busy" || status == u"enrolled" || status == u"running")
        return QStringLiteral("36");
    if (status == u"draining" || status == u"expired")
        return QStringLiteral("33");
    if (status == u"disconnected" || status == u"lost" || status == u"revoked" || status == u"failed")
        return QStringLiteral("31");
    return {};
}

QString colourStatus(const QString &status)
{
    const QString code = statusColour(status);
    if (!colourEnabled() || code.isEmpty())
        return printable(status);
    return QStringLiteral("\x1b[%1m%2\x1b[0m").arg(code, printable(status));
}

void colourStatusColumn(TextTable &table, int column)
{
    if (colourEnabled())
        table.setColumnColour(column, &statusColour);
}

void addAdminOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("server"), QStringLiteral("Orchestrator URL (env SWAMP_SERVER); default: the local admin.json."), QStringLiteral("url")},
        {QStringLiteral("admin-token"), QStringLiteral("Admin token (env SWAMP_ADMIN_TOKEN)."), QStringLiteral("token")},
        {QStringLiteral("admin-token-file"), QStringLiteral("File holding the admin token (env SWAMP_ADMIN_TOKEN_FILE)."), QStringLiteral("path")},
        {QStringLiteral("ca-cert"), QStringLiteral("CA certificate (PEM) to trust for wss:// (env SWAMP_CA_CERT)."), QStringLiteral("pem")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON document.")},
    });
}

Result<AdminEndpoint> adminEndpoint(const QCommandLineParser &parser)
{
    return resolveAdminEndpoint(AdminEndpointOptions{parser.value(QStringLiteral("server")),
                                                     parser.value(QStringLiteral("admin-token")),
                                                     parser.value(QStringLiteral("admin-token-file")),
                                                     parser.value(QStringLiteral("ca-cert")), QString()});
}

Result<QJsonObject> adminCall(const QCommandLineParser &parser, const QString &method,
                              const QJsonObject &params)
{
    auto endpoint = adminEndpoint(parser);
    if (!endpoint)
        return fail(endpoint.error());
    AdminClient client(*endpoint);
    return client.call(method, params);
}

// " Did you mean --label?" for the first unknown option close to one of the command's.
static QString optionSuggestion(const QCommandLineParser &parser)
{
    QStringList known;
    for (const OptionSpec &option : optionsFromHelpText(parser.helpText()))
        known << option.name;
    for (const QString &unknown : parser.unknownOptionNames()) {
        const QString match = closestMatch(unknown, known);
        if (!match.isEmpty())
            return QStringLiteral(" Did you mean --%1?").arg(match);
    }
    return {};
}

bool parse(QCommandLineParser &parser, const QStringList &arguments, const QString &command,
           const QString &description, const QString &examples, int *exitCode)
{
    parser.setApplicationDescription(description);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help."));
    parser.addOption(help);
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    if (CommandSpec *spec = describing()) {
        spec->described = true;
        spec->description = description;
        spec->examples = examples;
        spec->options = optionsFromHelpText(parser.helpText());
        *exitCode = ExitOk;
        return false;
    }
    QStringList argv = arguments;
    argv.prepend(QStringLiteral("swamp ") + command);
    if (!parser.parse(argv)) {
        *exitCode = usageError(printable(leftCharacters(parser.errorText(), 200)) + optionSuggestion(parser), command);
        return false;
    }
    if (parser.isSet(help)) {
        // helpText() names the binary's path; operators type `swamp <command>`.
        QString text = parser.helpText();
        const qsizetype lineEnd = text.indexOf(u'\n');
        QString usage = text.left(lineEnd);
        const qsizetype options = usage.indexOf(QStringLiteral(" [options]"));
        usage = QStringLiteral("Usage: swamp ") + command + (options >= 0 ? usage.mid(options) : QString());
        text = usage + text.mid(lineEnd);
        text += subcommandHelp(command.split(u' ')); // `run` lists `run status` and the others
        out(text + (examples.isEmpty() ? QString() : QStringLiteral("\nExamples:\n") + examples));
        *exitCode = ExitOk;
        return false;
    }
    return true;
}

} // namespace Swamp::Cli
