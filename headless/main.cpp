#include "cli.h"

#include "version/version.h"

#include <QCoreApplication>
#include <QJsonObject>

namespace Swamp::Cli {

int runVersion(const QStringList &arguments)
{
    if (arguments.contains(QStringLiteral("--json"))) {
        printJson(QJsonObject{{QStringLiteral("version"), Swamp::version()},
                              {QStringLiteral("protocol"), Swamp::protocolVersion()},
                              {QStringLiteral("qt"), QString::fromLatin1(qVersion())}});
    } else {
        out(QStringLiteral("swamp %1 (protocol %2, Qt %3)")
                .arg(Swamp::version())
                .arg(Swamp::protocolVersion())
                .arg(QString::fromLatin1(qVersion())));
    }
    return ExitOk;
}

static const char Usage[] = R"(Usage: swamp <command> [options]

Orchestrator:
  serve                         Run the orchestrator.

Workers:
  worker connect <url>          Connect this machine as a worker.
  worker list                   List workers.
  worker queue                  Steps waiting for a worker.
  worker drain <name>           Finish running steps, take no new ones, then exit.
  worker undrain <name>         Take steps again.
  worker token create <name>    Create an enrollment token (secret shown once).
  worker token list             List enrollment tokens.
  worker token revoke <name>    Revoke a token and disconnect its workers.

Steps:
  run [placement] -- CMD...     Run a command on a worker and stream its output.
  run --file run.json           Submit several steps as one run.
  run status <id>               A run's steps and their state.
  run logs <id> [--follow]      A step's output.
  run cancel <id>               Cancel a step or a run.

Data:
  data query '<predicate>'      Query the orchestrator's records.

  version                       Print the version.

Run 'swamp <command> --help' for a command's options.
)";

} // namespace Swamp::Cli

int swampMain(int argc, char **argv)
{
    using namespace Swamp::Cli;
    // The orchestrator watches thousands of sockets: Qt's glib event dispatcher searches a list
    // of every socket notifier each time one is enabled or disabled (every write), the plain Unix
    // dispatcher does not (swamp-bench idle: 1.9 → 1.2 ms of CPU per enrollment at 4,000 workers).
    if (argc > 1 && qstrcmp(argv[1], "serve") == 0 && !qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("swamp"));
    QStringList args = QCoreApplication::arguments().mid(1);

    const auto take = [&](int n) {
        const QString joined = args.mid(0, n).join(u' ');
        args = args.mid(n);
        return joined;
    };
    if (args.isEmpty() || args.first() == u"--help" || args.first() == u"-h" || args.first() == u"help") {
        out(QString::fromLatin1(Usage));
        return args.isEmpty() ? ExitUsage : ExitOk;
    }
    const QString first = args.first();
    if (first == u"version" || first == u"--version") {
        take(1);
        return runVersion(args);
    }
    if (first == u"serve") {
        take(1);
        return runServe(args);
    }
    if (first == u"worker" && args.size() >= 2) {
        const QString second = args.at(1);
        if (second == u"connect") {
            take(2);
            return runWorkerConnect(args);
        }
        if (second == u"list") {
            take(2);
            return runWorkerList(args);
        }
        if (second == u"queue") {
            take(2);
            return runWorkerQueue(args);
        }
        if (second == u"drain" || second == u"undrain") {
            take(2);
            return runWorkerDrain(args, second == u"drain");
        }
        if (second == u"token" && args.size() >= 3) {
            const QString third = args.at(2);
            take(3);
            if (third == u"create")
                return runTokenCreate(args);
            if (third == u"list")
                return runTokenList(args);
            if (third == u"revoke")
                return runTokenRevoke(args);
            return usageError(QStringLiteral("unknown command 'worker token %1'").arg(third), QStringLiteral("worker token"));
        }
    }
    if (first == u"run") {
        const QString second = args.value(1);
        if (second == u"status" || second == u"logs" || second == u"cancel") {
            take(2);
            if (second == u"status")
                return runRunStatus(args);
            if (second == u"logs")
                return runRunLogs(args);
            return runRunCancel(args);
        }
        take(1);
        return runRun(args);
    }
    if (first == u"data" && args.size() >= 2 && args.at(1) == u"query") {
        take(2);
        return runDataQuery(args);
    }
    err(QStringLiteral("error: unknown command '%1'\n").arg(args.join(u' ')) + QString::fromLatin1(Usage));
    return ExitUsage;
}
