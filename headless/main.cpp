#include "cli.h"
#include "commands.h"

#include "common/text.h"
#include "store/store.h"
#include "version/version.h"
#include "worker/processsecrets.h"

#ifdef Q_OS_LINUX
#include "common/epolleventdispatcher.h"
#endif

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

namespace {

// swamp serve runs on the epoll dispatcher unless SWAMP_EVENT_DISPATCHER=poll: Qt's own polls
// every socket on each pass, which with thousands of workers is most of the idle CPU. It has to
// be installed before the QCoreApplication exists. Returns false for a value it does not know.
bool installServeDispatcher(int argc, char **argv)
{
    if (argc < 2 || qstrcmp(argv[1], "serve") != 0)
        return true;
    const QByteArray choice = qgetenv("SWAMP_EVENT_DISPATCHER");
    if (choice == "poll")
        return true;
    if (!choice.isEmpty() && choice != "epoll")
        return false;
#ifdef Q_OS_LINUX
    Swamp::EpollEventDispatcher::installBeforeApplication();
#endif
    return true;
}

} // namespace

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
    const bool dispatcherKnown = installServeDispatcher(argc, argv);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("swamp"));
    if (!dispatcherKnown)
        return usageError(QStringLiteral("SWAMP_EVENT_DISPATCHER is \"%1\": use epoll (the default) or poll (Qt's own dispatcher).")
                                  .arg(Swamp::printable(Swamp::leftCharacters(qEnvironmentVariable("SWAMP_EVENT_DISPATCHER"), 40))),
                          QStringLiteral("serve"));
    return Swamp::Cli::dispatch(QCoreApplication::arguments().mid(1));
}
