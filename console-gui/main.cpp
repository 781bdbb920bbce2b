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

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("swamp"));
    QApplication::setApplicationName(QStringLiteral("swamp-console"));
    QApplication::setApplicationVersion(Swamp::version());
    // The language must be known before the parser's help texts are translated.
    installTranslators(app, languageArgument(argc, argv));

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

    Swamp::AdminEndpointOptions options;
    options.server = parser.value(server);
    options.adminTokenFile = parser.value(tokenFile);
    options.caCertPath = parser.value(caCert);
    options.dataDir = parser.value(dataDir);
    auto endpoint = Swamp::resolveAdminEndpoint(options);
    if (!endpoint) {
        if (parser.isSet(screenshot)) {
            std::fprintf(stderr, "swamp-console: %s\n", qPrintable(endpoint.error().text()));
            return 1;
        }
        Swamp::Console::ConnectionDialog dialog;
        dialog.setMessage(endpoint.error().text());
        if (dialog.exec() != QDialog::Accepted)
            return 0;
        endpoint = dialog.endpoint();
    }

    Swamp::Console::AdminSession session(*endpoint);
    Swamp::Console::MainWindow window(&session);
    if (parser.isSet(screenshot)) {
        // Documentation screenshots: a fixed size, a query that shows live validation.
        window.resize(1100, 560);

        const QString directory = parser.value(screenshot);
        const QString suffix = u'-' + QLocale().name().section(u'_', 0, 0);
        QObject::connect(&window, &Swamp::Console::MainWindow::loaded, &window, [&window, directory, suffix] {
            // Results of a real query, a selected worker, then (after the replay settled and the
            // times ticked) a typo in the editor to show live validation over those results.
            window.queryTab()->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
            window.queryTab()->run();
            if (window.workerModel()->rowCount() > 0) {
                auto *proxy = window.workersTab()->proxy();
                window.workersTab()->selectWorker(proxy->index(0, 0).data(Swamp::Console::WorkerModel::IdRole).toString());
            }
            // The newest step (the script's last, which writes output as it runs).
            if (window.stepModel()->rowCount() > 0) {
                auto *proxy = window.stepsTab()->proxy();
                window.stepsTab()->selectStep(proxy->index(0, 0).data(Swamp::Console::StepModel::IdRole).toString());
            }
            QTimer::singleShot(1500, &window, [&window, directory, suffix] {
                window.queryTab()->setPredicate(
                    QStringLiteral("modelType == \"swamp/worker\" && attributes.stauts == \"idle\""));
                const QStringList files = window.saveScreenshots(directory, suffix);
                for (const QString &file : files)
                    std::printf("%s\n", qPrintable(file));
                QApplication::exit(files.size() == window.tabs()->count() ? 0 : 1);
            });
        });
        QTimer::singleShot(30000, &app, [] {
            std::fprintf(stderr, "swamp-console: no data from the orchestrator within 30s\n");
            QApplication::exit(1);
        });
    }
    window.show();
    session.start();
    return app.exec();
}
