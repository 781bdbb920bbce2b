// swamp-console: argument parsing, translations and the first connection; the rest is in
// the swampconsole library.
#include "client/adminsession.h"
#include "connectiondialog.h"
#include "mainwindow.h"
#include "querytab.h"
#include "stepmodel.h"
#include "stepstab.h"
#include "workermodel.h"
#include "workerstab.h"

#include <QSortFilterProxyModel>

#include "version/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QLibraryInfo>
#include <QLocale>
#include <QTimer>
#include <QTranslator>

#include <cstdio>
#include <optional>

namespace {

struct Tr
{
    Q_DECLARE_TR_FUNCTIONS(SwampConsole)
};

// --lang wins over the system locale; English needs no catalog.
void installTranslators(QApplication &app, const QString &language)
{
    const QLocale locale = language.isEmpty() ? QLocale::system() : QLocale(language);
    QLocale::setDefault(locale);
    auto *swamp = new QTranslator(&app);
    if (swamp->load(locale, QStringLiteral("swamp"), QStringLiteral("_"), QStringLiteral(":/i18n")))
        QApplication::installTranslator(swamp);
    auto *qt = new QTranslator(&app);
    if (qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                 QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QApplication::installTranslator(qt);
}

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
    QString screenshotDirectory;
};

// Exits on --help, --version and mistakes, as QCommandLineParser::process() does.
Arguments parseArguments(QApplication &app)
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
    parser.addOptions({server, tokenFile, caCert, dataDir, lang, screenshot});
    parser.process(app);

    Arguments arguments;
    arguments.endpoint.server = parser.value(server);
    arguments.endpoint.adminTokenFile = parser.value(tokenFile);
    arguments.endpoint.caCertPath = parser.value(caCert);
    arguments.endpoint.dataDir = parser.value(dataDir);
    arguments.screenshots = parser.isSet(screenshot);
    arguments.screenshotDirectory = parser.value(screenshot);
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

// A typo in the editor shows live validation over the results; then every tab is saved and the
// console quits, 0 when every tab was written.
void saveScreenshotsAndQuit(Swamp::Console::MainWindow &window, const QString &directory, const QString &suffix)
{
    window.queryTab()->setPredicate(
        QStringLiteral("modelType == \"swamp/worker\" && attributes.stauts == \"idle\""));
    const QStringList files = window.saveScreenshots(directory, suffix);
    for (const QString &file : files)
        std::printf("%s\n", qPrintable(file));
    QApplication::exit(files.size() == window.tabs()->count() ? 0 : 1);
}

// Documentation screenshots: a fixed size, a query that shows live validation.
void takeScreenshotsWhenLoaded(QApplication &app, Swamp::Console::MainWindow &window, const QString &directory)
{
    window.resize(1100, 560);

    const QString suffix = u'-' + QLocale().name().section(u'_', 0, 0);
    QObject::connect(&window, &Swamp::Console::MainWindow::loaded, &window, [&window, directory, suffix] {
        showScreenshotData(window);
        // After the replay settled and the times ticked.
        QTimer::singleShot(1500, &window, [&window, directory, suffix] {
            saveScreenshotsAndQuit(window, directory, suffix);
        });
    });
    QTimer::singleShot(30000, &app, [] {
        std::fprintf(stderr, "swamp-console: no data from the orchestrator within 30s\n");
        QApplication::exit(1);
    });
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("swamp"));
    QApplication::setApplicationName(QStringLiteral("swamp-console"));
    QApplication::setApplicationVersion(Swamp::version());
    // The language must be known before the parser's help texts are translated.
    installTranslators(app, languageArgument(argc, argv));
    const Arguments arguments = parseArguments(app);

    int exitCode = 0;
    const std::optional<Swamp::AdminEndpoint> endpoint = firstEndpoint(arguments, &exitCode);
    if (!endpoint)
        return exitCode;
    Swamp::Console::AdminSession session(*endpoint);
    Swamp::Console::MainWindow window(&session);
    if (arguments.screenshots)
        takeScreenshotsWhenLoaded(app, window, arguments.screenshotDirectory);
    window.show();
    session.start();
    return app.exec();
}
