// `swamp help --man`: the manual page swamp(1), from the command table and each command's own
// parser (description, options, examples), so a command added to the table is in the manual too.
// The exit codes, environment and files are the operator guide's (docs/operations.md).

#include "commands.h"

#include "version/version.h"

#include <QDateTime>

namespace Swamp::Cli {

namespace {

// `text` as roff input: backslashes, minus signs (so that options copy as typed), characters
// beyond ASCII and a control character at the start of a line escaped.
QString roff(const QString &text)
{
    QString escaped;
    for (const char32_t c : text.toUcs4()) {
        if (c == U'\\')
            escaped += QStringLiteral("\\e");
        else if (c == U'-')
            escaped += QStringLiteral("\\-");
        else if (c > 0x7f)
            escaped += QStringLiteral("\\[u%1]").arg(
                QString::number(uint(c), 16).toUpper().rightJustified(4, u'0'));
        else
            escaped += QChar(c);
    }
    QStringList lines = escaped.split(u'\n');
    for (QString &line : lines) {
        if (line.startsWith(u'.') || line.startsWith(u'\''))
            line.prepend(QStringLiteral("\\&"));
    }
    return lines.join(u'\n');
}

// Roff input lines of text (no requests) broken at spaces to at most 80 bytes, as linters want:
// roff fills them again.
QString filled(const QString &text)
{
    constexpr qsizetype width = 78;
    QStringList lines;
    for (const QString &line : text.split(u'\n')) {
        QString current;
        for (const QString &word : line.split(u' ', Qt::SkipEmptyParts)) {
            if (!current.isEmpty() && current.size() + 1 + word.size() > width) {
                lines.append(current);
                // A continuation line must not read as a request.
                current = word.startsWith(u'.') || word.startsWith(u'\'') ? QStringLiteral("\\&")
                                                                          : QString();
                current += word;
                continue;
            }
            current += (current.isEmpty() ? QString() : QStringLiteral(" ")) + word;
        }
        lines.append(current);
    }
    return lines.join(u'\n');
}

// A macro argument in double quotes.
QString roffArgument(const QString &text)
{
    return u'"' + roff(text).replace(u'"', QStringLiteral("\\(dq")) + u'"';
}

struct Entry
{
    const char *name;
    const char *text;
};

// clang-format off
const Entry exitCodes[] = {
    {"0", "Success: an admin command did what it was asked; a followed swamp run's step succeeded; swamp run --detach submitted its step; swamp serve was stopped by SIGINT or SIGTERM; swamp worker connect drained (a signal, swamp worker drain, --max-steps, --idle-timeout); swamp backup wrote a copy that passed its check."},
    {"1", "Failure: the operation failed (not found, unreachable, unauthorized, ...); swamp serve cannot start (port or data dir in use, database missing, emptied, damaged or unreachable, TLS, schema too new); swamp worker connect met a permanent enrollment failure, a revoked or expired token, a cache dir in use, or --no-reconnect and a failed connection; swamp backup wrote nothing; a followed swamp run's step ended without an exit code (timed out, cancelled, failed to start, no worker in time) or could not be submitted."},
    {"2", "Usage error: an unknown command or option (the closest one is named), an invalid argument, a query syntax or field error, an invalid step or run file."},
    {"3", "swamp worker connect: an operator removed this worker (swamp worker remove); the systemd unit does not restart it (RestartPreventExitStatus=2 3)."},
    {"130", "swamp serve or swamp worker connect stopped by a second signal; a followed swamp run detached by Ctrl-C (the step keeps running; swamp run cancel stops it)."},
    {"other", "A followed swamp run whose step exited non-zero exits with the step's exit code (with several steps, the first failing step's). swamp run logs --follow exits 0 whatever the step did."},
};

const Entry environment[] = {
    {"SWAMP_DATA_DIR", "The data dir of swamp serve and swamp backup, and where the admin commands on the orchestrator's machine find admin.json. Default: $XDG_DATA_HOME/swamp, else ~/.local/share/swamp."},
    {"SWAMP_LISTEN", "swamp serve --listen: the address to listen on (host:port)."},
    {"SWAMP_CONFIG", "--config of swamp serve and swamp worker connect: an INI file of the command's options (flags and the other variables win over it)."},
    {"SWAMP_LOG_LEVEL", "--log-level of swamp serve and swamp worker connect: error, warning, info (the default) or debug."},
    {"SWAMP_DATABASE_URL", "swamp serve --database: postgresql://user@host[:port][,host[:port]...]/db."},
    {"SWAMP_SERVER", "--server of the admin commands: the orchestrator's URL."},
    {"SWAMP_ADMIN_TOKEN", "--admin-token of the admin commands."},
    {"SWAMP_ADMIN_TOKEN_FILE", "--admin-token-file of the admin commands and of swamp serve."},
    {"SWAMP_CA_CERT", "--ca-cert: the CA certificate (PEM) to trust for wss://, for the admin commands and swamp worker connect."},
    {"SWAMP_ORCHESTRATOR_URL", "The URL argument of swamp worker connect."},
    {"SWAMP_WORKER_TOKEN", "swamp worker connect --token."},
    {"SWAMP_WORKER_TOKEN_FILE", "swamp worker connect --token-file."},
    {"SWAMP_WORKER_CACHE_DIR", "swamp worker connect --cache-dir."},
    {"SWAMP_WORKER_STEP_USER", "swamp worker connect --step-user."},
    {"SWAMP_WORKER_LABELS", "swamp worker connect --label, as k=v,k=v."},
    {"SWAMP_WORKER_NAME", "swamp worker connect --name."},
    {"SWAMP_EVENT_DISPATCHER", "swamp serve's event loop on Linux: epoll (the default: each pass costs what is ready, not what is open) or poll (Qt's own dispatcher, the fallback)."},
    {"XDG_DATA_HOME", "Holds the default data dir, swamp."},
    {"PGPASSWORD", "The PostgreSQL password of swamp serve --database (or ~/.pgpass)."},
    {"NO_COLOR", "When set, tables print no colours."},
    {"QT_LOGGING_RULES", "Developer logging, e.g. swamp.*.debug=true."},
};

const Entry files[] = {
    {"~/.local/share/swamp/", "The default data dir: swamp.db (SQLite), admin.json (the admin URL and token the CLI and the console on this machine use), serve.lock."},
    {"/var/lib/swamp/", "The data dir of the swamp-serve service."},
    {"/var/lib/swamp-worker/", "The cache dir (machine identity, step work directories) of the swamp-worker service."},
    {"/etc/swamp/serve.env, /etc/swamp/worker.env", "The settings of the services swamp-serve and swamp-worker."},
    {"/lib/systemd/system/swamp-serve.service, /lib/systemd/system/swamp-worker.service", "The systemd units."},
    {"/usr/share/doc/swamp/", "The operator guide (operations.md), the wire protocol (protocol.md), the query language (query.md), and deploy recipes (examples/)."},
};
// clang-format on

QString entries(const char *heading, const Entry *begin, const Entry *end, const char *font)
{
    QString text = QStringLiteral(".SH %1\n").arg(QLatin1String(heading));
    for (const Entry *entry = begin; entry != end; ++entry) {
        text += QStringLiteral(".TP\n\\f%1%2\\fR\n%3\n")
                    .arg(QLatin1String(font), roff(QString::fromUtf8(entry->name)),
                         filled(roff(QString::fromUtf8(entry->text))));
    }
    return text;
}

// One subsection per command: its description, its options and its examples.
QString commandSection(const Command &command)
{
    const CommandSpec spec = describe(command);
    QString heading = QStringLiteral("swamp ") + command.words.join(u' ');
    if (!command.arguments.isEmpty())
        heading += u' ' + command.arguments;
    QString text =
        QStringLiteral(".SS %1\n%2\n").arg(roffArgument(heading), filled(roff(spec.description)));
    for (const OptionSpec &option : spec.options) {
        if (option.name == u"help")
            continue;
        text += QStringLiteral(".TP\n\\fB\\-\\-%1\\fR").arg(roff(option.name));
        if (!option.valueName.isEmpty())
            text += QStringLiteral(" \\fI%1\\fR").arg(roff(option.valueName));
        text += u'\n' + filled(roff(option.description)) + u'\n';
    }
    QStringList examples;
    for (const QString &line : spec.examples.split(u'\n', Qt::SkipEmptyParts))
        examples.append(roff(line.trimmed()));
    if (!examples.isEmpty())
        text +=
            QStringLiteral(".PP\nExamples:\n.RS\n.nf\n%1\n.fi\n.RE\n").arg(examples.join(u'\n'));
    return text;
}

// The page's date: SOURCE_DATE_EPOCH's when set (reproducible builds), else today's.
QString pageDate()
{
    bool ok = false;
    const qint64 epoch = qEnvironmentVariable("SOURCE_DATE_EPOCH").toLongLong(&ok);
    const QDateTime date =
        ok ? QDateTime::fromSecsSinceEpoch(epoch, Qt::UTC) : QDateTime::currentDateTimeUtc();
    return date.toString(QStringLiteral("yyyy-MM-dd"));
}

} // namespace

QString manPage()
{
    // No hyphenation and no justification: options, paths and names copy as they are.
    QString page = QStringLiteral(".TH SWAMP 1 %1 %2 \"swamp manual\"\n.nh\n.ad l\n")
                       .arg(pageDate(), roffArgument(QStringLiteral("swamp ") + Swamp::version()));
    page += filled(QStringLiteral(
                ".SH NAME\nswamp \\- run commands on a pool of worker machines that dial out to "
                "one orchestrator\n"
                ".SH SYNOPSIS\n.nf\n\\fBswamp\\fR \\fIcommand\\fR [\\fIoptions\\fR]\n"
                "\\fBswamp\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR\n\\fBswamp help\\fR "
                "\\fIcommand\\fR\n.fi\n"
                ".SH DESCRIPTION\nswamp runs commands (\"steps\") on a pool of worker machines. "
                "One orchestrator "
                "(\\fBswamp serve\\fR) owns all state; workers (\\fBswamp worker connect\\fR) dial "
                "out to it over "
                "WebSocket; the admin commands and the desktop console "
                "(\\fBswamp\\-console\\fR(1)) talk to its "
                "admin endpoint.\n.PP\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR; the "
                "admin commands find "
                "the orchestrator through \\fB\\-\\-server\\fR and \\fB\\-\\-admin\\-token\\fR or "
                "\\fB\\-\\-admin\\-token\\-file\\fR, else the data dir's admin.json on the "
                "orchestrator's own "
                "machine, and print one JSON document with \\fB\\-\\-json\\fR.\n"
                ".PP\nShell completion: \\fBswamp completion bash\\fR|\\fBzsh\\fR|\\fBfish\\fR.\n"
                ".SH COMMANDS")) +
            u'\n';
    for (const Command &command : commands())
        page += commandSection(command);
    page += entries("EXIT STATUS", std::begin(exitCodes), std::end(exitCodes), "B");
    page += entries("ENVIRONMENT", std::begin(environment), std::end(environment), "B");
    page += entries("FILES", std::begin(files), std::end(files), "I");
    page += filled(QStringLiteral(
                ".SH SEE ALSO\n\\fBswamp\\-console\\fR(1), \\fBsystemctl\\fR(1), "
                "\\fBjournalctl\\fR(1); the operator guide /usr/share/doc/swamp/operations.md")) +
            u'\n';
    return page;
}

} // namespace Swamp::Cli
