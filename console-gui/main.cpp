// swamp-console: argument parsing, translations and the first connection; the rest is in
// the swampconsole library.
#include "client/adminsession.h"
#include "connectiondialog.h"
#include "mainwindow.h"
#include "querytab.h"
#include "stepmodel.h"
#include "stepstab.h"
#include "translators.h"
#include "workermodel.h"
#include "workerstab.h"

#include <QSortFilterProxyModel>

#include "version/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QLocale>
#include <QTimer>

#include <cstdio>
#include <optional>

namespace {

struct Tr
{
    Q_DECLARE_TR_FUNCTIONS(SwampConsole)
};

QString languageArgument(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const QString argument = QString::fromLocal8Bit(argv[i]);
        if ((argument == u"--lang" || argument == u"-lang") && i + 1 < argc)
            return QString::fromLocal8Bit(argv[i + 1]);
        if (argument.startsWith(u"--lang="))
            return argument.mid(7);
    }
    return {};
}

// What the command line asks for, beyond --lang (read before the parser, see main()).
struct Arguments
{
    Swamp::AdminEndpointOptions endpoint;
    bool screenshots = false;
    bool screenshotsLost = false;
    QString screenshotDirectory;
};

// Exits on --help, --version and mistakes, as QCommandLineParser::process() does.
Arguments parseArguments(QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(Tr::tr("The desktop admin console of swamp."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server(QStringLiteral("server"),
                                    Tr::tr("Orchestrator URL (ws:// or wss://); default: the local admin.json."),
                                    Tr::tr("url"));
    const QCommandLineOption tokenFile(QStringLiteral("admin-token-file"),
                                       Tr::tr("File holding the admin token."), Tr::tr("path"));
    const QCommandLineOption caCert(QStringLiteral("ca-cert"),
                                    Tr::tr("PEM file of the CA that signed the orchestrator's certificate."),
                                    Tr::tr("pem"));
    const QCommandLineOption dataDir(QStringLiteral("data-dir"),
                                     Tr::tr("Data directory whose admin.json to use (default: $SWAMP_DATA_DIR, "
                                            "else the default data directory)."),
                                     Tr::tr("dir"));
    const QCommandLineOption lang(QStringLiteral("lang"), Tr::tr("Language, e.g. de (default: the system locale)."),
                                  Tr::tr("code"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        Tr::tr("Save a PNG of each tab into <dir> once the data has loaded, then quit."),
                                        Tr::tr("dir"));
    const QCommandLineOption screenshotLost(
        QStringLiteral("screenshot-lost"),
        Tr::tr("With --screenshot: then wait until the orchestrator is gone and save each tab again "
               "(console-<tab>-lost-<lang>.png)."));
    parser.addOptions({server, tokenFile, caCert, dataDir, lang, screenshot, screenshotLost});
    parser.process(app);

    Arguments arguments;
    arguments.endpoint.server = parser.value(server);
    arguments.endpoint.adminTokenFile = parser.value(tokenFile);
    arguments.endpoint.caCertPath = parser.value(caCert);
    arguments.endpoint.dataDir = parser.value(dataDir);
    arguments.screenshots = parser.isSet(screenshot);
    arguments.screenshotDirectory = parser.value(screenshot);
    arguments.screenshotsLost = parser.isSet(screenshotLost);
    return arguments;
}

// The orchestrator to connect to: the arguments' or admin.json's, else the one the user picks.
// Nothing (with the exit code) when there is none, or the user cancels.
std::optional<Swamp::AdminEndpoint> firstEndpoint(const Arguments &arguments, int *exitCode)
{
    auto endpoint = Swamp::resolveAdminEndpoint(arguments.endpoint);
    if (endpoint)
        return *endpoint;
    if (arguments.screenshots) {
        std::fprintf(stderr, "swamp-console: %s\n", qPrintable(endpoint.error().text()));
        *exitCode = 1;
        return std::nullopt;
    }
    Swamp::Console::ConnectionDialog dialog;
    dialog.setMessage(endpoint.error().text());
    if (dialog.exec() != QDialog::Accepted) {
        *exitCode = 0;
        return std::nullopt;
    }
    return dialog.endpoint();
}

// Results of a real query, a selected worker, and the newest step (the script's last, which
// writes output as it runs).
void showScreenshotData(Swamp::Console::MainWindow &window)
{
    window.queryTab()->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
    window.queryTab()->run();
    if (window.workerModel()->rowCount() > 0) {
        auto *proxy = window.workersTab()->proxy();
        window.workersTab()->selectWorker(proxy->index(0, 0).data(Swamp::Console::WorkerModel::IdRole).toString());
    }
    if (window.stepModel()->rowCount() > 0) {
        auto *proxy = window.stepsTab()->proxy();
        window.stepsTab()->selectStep(proxy->index(0, 0).data(Swamp::Console::StepModel::IdRole).toString());
    }
}

// A typo in the editor shows live validation over the results; then every tab is saved. False
// unless every tab was written.
bool saveScreenshots(Swamp::Console::MainWindow &window, const QString &directory, const QString &suffix)
{
    window.queryTab()->setPredicate(
        QStringLiteral("modelType == \"swamp/worker\" && attributes.stauts == \"idle\""));
    const QStringList files = window.saveScreenshots(directory, suffix);
    for (const QString &file : files)
        std::printf("%s\n", qPrintable(file));
    std::fflush(stdout);
    return files.size() == window.tabs()->count();
}

// With --screenshot-lost: once the orchestrator is gone (the caller stops it after the first
// set), the same tabs as they show what was last known.
void saveLostScreenshotsAndQuit(Swamp::Console::MainWindow &window, const QString &directory,
                                const QString &suffix, QTimer *deadline)
{
    deadline->start(); // the time to stop the orchestrator
    QObject::connect(window.session(), &Swamp::Console::AdminSession::stateChanged, &window,
                     [&window, directory, suffix, deadline] {
        if (window.session()->state() == Swamp::Console::AdminSession::State::Connected || !deadline->isActive())
            return;
        deadline->stop();
        QTimer::singleShot(1500, &window, [&window, directory, suffix] {
            QApplication::exit(saveScreenshots(window, directory, QStringLiteral("-lost") + suffix) ? 0 : 1);
        });
    });
}

// Documentation screenshots: a fixed size, a query that shows live validation.
void takeScreenshotsWhenLoaded(Swamp::Console::MainWindow &window, const QString &directory, bool lost)
{
    window.resize(1100, 560);

    const QString suffix = u'-' + QLocale().name().section(u'_', 0, 0);
    auto *deadline = new QTimer(&window);
    deadline->setSingleShot(true);
    deadline->setInterval(30000);
    QObject::connect(deadline, &QTimer::timeout, &window, [] {
        std::fprintf(stderr, "swamp-console: nothing changed within 30s\n");
        QApplication::exit(1);
    });
    QObject::connect(&window, &Swamp::Console::MainWindow::loaded, &window, [&window, directory, suffix, lost, deadline] {
        showScreenshotData(window);
        // After the replay settled and the times ticked.
        QTimer::singleShot(1500, &window, [&window, directory, suffix, lost, deadline] {
            const bool saved = saveScreenshots(window, directory, suffix);
            if (saved && lost)
                saveLostScreenshotsAndQuit(window, directory, suffix, deadline);
            else
                QApplication::exit(saved ? 0 : 1);
        });
    });
    deadline->start();
}

// --help and --version only print: they must work without a display (over ssh, in a package's
// smoke test), where constructing a QApplication aborts.
bool onlyPrints(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray argument(argv[i]);
        if (argument == "--") // what follows is no option
            return false;
        if (argument == "-h" || argument == "--help" || argument == "-?" || argument == "--help-all"
            || argument == "-v" || argument == "--version")
            return true;
    }
    return false;
}

// The names, the version and (before the parser's help texts are translated) the language.
void setUpApplication(QCoreApplication &app, int argc, char **argv)
{
    QCoreApplication::setOrganizationName(QStringLiteral("swamp"));
    QCoreApplication::setApplicationName(QStringLiteral("swamp-console"));
    QCoreApplication::setApplicationVersion(Swamp::version());
    Swamp::Console::installTranslators(app, languageArgument(argc, argv));
}

} // namespace

int main(int argc, char **argv)
{
    if (onlyPrints(argc, argv)) {
        QCoreApplication app(argc, argv);
        setUpApplication(app, argc, argv);
        parseArguments(app); // prints and exits
        return 0;
    }
    QApplication app(argc, argv);
    setUpApplication(app, argc, argv);
    const Arguments arguments = parseArguments(app);

    int exitCode = 0;
    const std::optional<Swamp::AdminEndpoint> endpoint = firstEndpoint(arguments, &exitCode);
    if (!endpoint)
        return exitCode;
    Swamp::Console::AdminSession session(*endpoint);
    Swamp::Console::MainWindow window(&session);
    if (arguments.screenshots)
        takeScreenshotsWhenLoaded(window, arguments.screenshotDirectory, arguments.screenshotsLost);
    window.show();
    session.start();
    return app.exec();
}
