#include "cli.h"
#include "commands.h"

#include "store/store.h"
#include "version/version.h"
#include "worker/processsecrets.h"

#include <QCoreApplication>
#include <QJsonObject>

namespace Swamp::Cli {

int runVersion(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON document.")});
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("version"),
               QStringLiteral("Print the version of this binary, its wire protocol, the newest database schema it knows and Qt. Orchestrator and workers must run the same version."),
               QStringLiteral("  swamp version\n  swamp version --json\n"), &exitCode))
        return exitCode;
    if (!parser.positionalArguments().isEmpty())
        return usageError(QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first()), QStringLiteral("version"));
    if (parser.isSet(QStringLiteral("json"))) {
        printJson(QJsonObject{{QStringLiteral("version"), Swamp::version()},
                              {QStringLiteral("protocol"), Swamp::protocolVersion()},
                              {QStringLiteral("schema"), Swamp::Store::knownSchemaVersion()},
                              {QStringLiteral("qt"), QString::fromLatin1(qVersion())}});
    } else {
        out(QStringLiteral("swamp %1 (protocol %2, schema %3, Qt %4)")
                .arg(Swamp::version())
                .arg(Swamp::protocolVersion())
                .arg(Swamp::Store::knownSchemaVersion())
                .arg(QString::fromLatin1(qVersion())));
    }
    return ExitOk;
}

} // namespace Swamp::Cli

int swampMain(int argc, char **argv)
{
    using namespace Swamp::Cli;
    // The orchestrator watches thousands of sockets: Qt's glib event dispatcher searches a list
    // of every socket notifier each time one is enabled or disabled (every write), the plain Unix
    // dispatcher does not (swamp-bench idle: 1.9 → 1.2 ms of CPU per enrollment at 4,000 workers).
    if (argc > 1 && qstrcmp(argv[1], "serve") == 0 && !qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    // Before anything reads argv: `worker connect` overwrites its token there (processsecrets.h).
    Swamp::rememberProcessArguments(argc, argv);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("swamp"));
    return Swamp::Cli::dispatch(QCoreApplication::arguments().mid(1));
}
