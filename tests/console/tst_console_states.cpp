// How the console looks and behaves when things go wrong, against a real orchestrator with real
// workers: a lost orchestrator greys the tables out and turns the actions off, empty tables say
// what to do, names and states are not cut, a paused worker shows as paused, German reaches Qt's
// own buttons and the new-token dialog's problems fit, and --version/--help need no display.
#include "consoleharness.h"
#include "consolewindow.h"

#include "client/adminsession.h"
#include "columnfitter.h"
#include "connectionbanner.h"
#include "elidingdelegate.h"
#include "emptystate.h"
#include "eventmodel.h"
#include "eventstab.h"
#include "mainwindow.h"
#include "newtokendialog.h"
#include "querytab.h"
#include "statuspalette.h"
#include "stepmodel.h"
#include "stepstab.h"
#include "tokenmodel.h"
#include "tokenstab.h"
#include "translators.h"
#include "workeractions.h"
#include "workermodel.h"
#include "workerstab.h"

#include "common/ids.h"
#include "version/version.h"

#include <QAction>
#include <QDialogButtonBox>
#include <QFile>
#include <QGuiApplication>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPalette>
#include <QPushButton>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>
#include <QTranslator>
#include <QXmlStreamReader>

using namespace Swamp;
using namespace Swamp::Console;

class tst_ConsoleStates : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void versionAndHelpNeedNoDisplay_data();
    void versionAndHelpNeedNoDisplay();
    void freshOrchestratorGuides();
    void lostOrchestratorShowsLastKnown();
    void pausedWorkerHasItsOwnState();
    void namesAndStatesAreNotCut_data();
    void namesAndStatesAreNotCut();
    void elidedCellsShowTheirTextAsTooltip();
    void qtButtonsAreGerman();
    void germanCatalogIsComplete();
    void newTokenProblemsFit_data();
    void newTokenProblemsFit();

private:
    void startOrchestrator();
    void openWindow();
    void setLanguage(const QString &language);
    void startWorker(const QString &name);
    int rowOfWorker(const QString &name) const;
    QString submit(const QStringList &arguments);
    static EmptyState *emptyState(QTableView *view);

    std::unique_ptr<ConsoleTest::Orchestrator> m_orchestrator;
    std::unique_ptr<AdminSession> m_session;
    std::unique_ptr<MainWindow> m_window;
    QList<QTranslator *> m_translators;
};

void tst_ConsoleStates::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("swamp-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_console_states"));
}

void tst_ConsoleStates::init()
{
    QTest::failOnWarning(QRegularExpression(
        QStringLiteral("^(?!This plugin does not support propagateSizeHints).*")));
    setLanguage(QStringLiteral("en"));
}

void tst_ConsoleStates::cleanup()
{
    m_window.reset();
    m_session.reset();
    if (m_orchestrator)
        m_orchestrator->stopAll();
    m_orchestrator.reset();
    setLanguage(QStringLiteral("en"));
}

void tst_ConsoleStates::setLanguage(const QString &language)
{
    for (QTranslator *translator : std::as_const(m_translators)) {
        QCoreApplication::removeTranslator(translator);
        delete translator;
    }
    m_translators = installTranslators(*QCoreApplication::instance(), language);
}

void tst_ConsoleStates::startOrchestrator()
{
    m_orchestrator = std::make_unique<ConsoleTest::Orchestrator>();
    QVERIFY(m_orchestrator->start());
}

void tst_ConsoleStates::openWindow()
{
    ConsoleTest::ConsoleWindow console;
    QString why;
    QVERIFY2(console.open(m_orchestrator->dataDir(), QSize(1100, 640), &why), qPrintable(why));
    m_session = std::move(console.session);
    m_window = std::move(console.window);
}

void tst_ConsoleStates::startWorker(const QString &name)
{
    const QString token = m_orchestrator->createToken(name);
    QVERIFY(!token.isEmpty());
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, name);
    QVERIFY2(QTest::qWaitFor([worker] { return worker->out().contains(u"enrolled as"); }, 15000),
             qPrintable(worker->err()));
    QTRY_VERIFY_WITH_TIMEOUT(rowOfWorker(name) >= 0, 5000);
}

int tst_ConsoleStates::rowOfWorker(const QString &name) const
{
    const WorkerModel *model = m_window->workerModel();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->workerAt(row).name == name)
            return row;
    }
    return -1;
}

QString tst_ConsoleStates::submit(const QStringList &arguments)
{
    int exitCode = -1;
    const QString out = m_orchestrator->cli(
        QStringList{QStringLiteral("run"), QStringLiteral("--detach")} + arguments, &exitCode);
    return exitCode == 0 ? out.section(u'\n', 0, 0).trimmed() : QString();
}

EmptyState *tst_ConsoleStates::emptyState(QTableView *view)
{
    return view->viewport()->findChild<EmptyState *>();
}

void tst_ConsoleStates::versionAndHelpNeedNoDisplay_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");
    QTest::addRow("version") << QStringList{QStringLiteral("--version")}
                             << QStringLiteral("swamp-console %1").arg(Swamp::version());
    QTest::addRow("help") << QStringList{QStringLiteral("--help")}
                          << QStringLiteral("--admin-token-file <path>");
    QTest::addRow("help-short") << QStringList{QStringLiteral("-h")}
                                << QStringLiteral("--server <url>");
    QTest::addRow("help-german") << QStringList{QStringLiteral("--lang"), QStringLiteral("de"),
                                                QStringLiteral("--help")}
                                 << QStringLiteral("Die Desktop-Verwaltungskonsole von swamp.");
}

// Over ssh or in a package's smoke test there is no display: constructing a QApplication there
// aborts (rc 134), so these must print and exit 0 without one.
void tst_ConsoleStates::versionAndHelpNeedNoDisplay()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);
    QProcess console;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
        environment.remove(QString::fromLatin1(name));
    console.setProcessEnvironment(environment);
    console.start(QStringLiteral(SWAMP_CONSOLE_BINARY), arguments);
    QVERIFY(console.waitForFinished(30000));
    const QString out = QString::fromUtf8(console.readAllStandardOutput());
    const QString err = QString::fromUtf8(console.readAllStandardError());
    QCOMPARE(console.exitStatus(), QProcess::NormalExit);
    QVERIFY2(console.exitCode() == 0, qPrintable(err));
    QVERIFY2(out.contains(expected), qPrintable(out));
}

// A fresh orchestrator: every table says what to do first, not a blank grid.
void tst_ConsoleStates::freshOrchestratorGuides()
{
    startOrchestrator();
    openWindow();
    EmptyState *workers = emptyState(m_window->workersTab()->view());
    QVERIFY(workers);
    QVERIFY(!workers->isHidden());
    QVERIFY2(workers->text().startsWith(u"No workers yet."), qPrintable(workers->text()));
    QVERIFY2(workers->text().contains(u"swamp worker connect " + m_session->orchestratorUrl() +
                                      u" --token"),
             qPrintable(workers->text()));
    EmptyState *tokens = emptyState(m_window->tokensTab()->view());
    QVERIFY(tokens && !tokens->isHidden());
    QVERIFY2(tokens->text().startsWith(u"No tokens yet. Create one with New token…"),
             qPrintable(tokens->text()));
    EmptyState *steps = emptyState(m_window->stepsTab()->view());
    QVERIFY(steps && !steps->isHidden());
    QVERIFY2(steps->text().contains(u"swamp run -- echo hello"), qPrintable(steps->text()));
    EmptyState *events = emptyState(m_window->eventsTab()->findChild<QTableView *>());
    QVERIFY(events && !events->isHidden());
    QVERIFY2(events->text().startsWith(u"No events yet."), qPrintable(events->text()));

    // A token arrives: its table shows it; a filter that hides it says so.
    QVERIFY(!m_orchestrator->createToken(QStringLiteral("first")).isEmpty());
    QTRY_VERIFY(tokens->isHidden());
    QTRY_VERIFY(events->isHidden());
    m_window->tokensTab()->filterEdit()->setText(QStringLiteral("no-such-token"));
    QVERIFY(!tokens->isHidden());
    QVERIFY2(tokens->text().startsWith(u"No tokens match the filter."), qPrintable(tokens->text()));
    m_window->tokensTab()->filterEdit()->clear();
    QVERIFY(tokens->isHidden());
}

// The orchestrator goes away: the rows stay, grey and marked as last known, "now" is gone, every
// action that needs the orchestrator is off, and the banner says so and offers to reconnect.
// When it is back, everything is live again.
void tst_ConsoleStates::lostOrchestratorShowsLastKnown()
{
    startOrchestrator();
    openWindow();
    startWorker(QStringLiteral("edge"));
    WorkerModel *workers = m_window->workerModel();
    QTRY_COMPARE(workers->workerAt(rowOfWorker(QStringLiteral("edge"))).status, WorkerStatus::Idle);
    const QString workerId = workers->workerAt(rowOfWorker(QStringLiteral("edge"))).id;
    m_window->workersTab()->selectWorker(workerId);
    const QModelIndex lastSeen = workers->index(workers->rowOf(workerId), WorkerModel::LastSeen);
    const QModelIndex status = workers->index(workers->rowOf(workerId), WorkerModel::Status);
    QCOMPARE(lastSeen.data().toString(), u"now");
    QCOMPARE(status.data(LiveTableModel::StaleRole).toBool(), false);
    QVERIFY(m_window->workersTab()->drainAction()->isEnabled());
    QVERIFY(m_window->tokensTab()->newTokenAction()->isEnabled());
    m_window->queryTab()->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
    QVERIFY(m_window->queryTab()->runAction()->isEnabled());
    QVERIFY(m_window->banner()->isHidden());

    const quint16 port = m_orchestrator->port();
    m_orchestrator->stop();
    QTRY_COMPARE(m_session->state(), AdminSession::State::Reconnecting);

    static const QRegularExpression clock(QStringLiteral("^\\d\\d:\\d\\d:\\d\\d$"));
    const QString lostAt = LiveTableModel::clockTime(m_window->staleSince());
    QVERIFY(!m_window->banner()->isHidden());
    QVERIFY2(m_window->banner()->text().contains(u"last known at " + lostAt),
             qPrintable(m_window->banner()->text()));
    QVERIFY(!m_window->banner()->reconnectButton()->isHidden());
    QCOMPARE(status.data(LiveTableModel::StaleRole).toBool(), true);
    QCOMPARE(status.data().toString(), u"idle"); // what was last known, greyed out:
    QCOMPARE(status.data(Qt::ForegroundRole).value<QColor>(),
             QGuiApplication::palette().color(QPalette::Disabled, QPalette::Text));
    QVERIFY(status.data(Qt::ToolTipRole).toString().contains(u"Last known at " + lostAt));
    QVERIFY2(clock.match(lastSeen.data().toString()).hasMatch(),
             qPrintable(lastSeen.data().toString()));
    QCOMPARE(m_window->workersTab()->detail(QStringLiteral("lastSeenAt")),
             QStringLiteral("last known at %1 (connected then)").arg(lostAt));
    QCOMPARE(m_window->tokenModel()->index(0, 0).data(LiveTableModel::StaleRole).toBool(), true);
    const auto summary = [this] {
        return m_window->workersTab()->findChild<QLabel *>(QStringLiteral("summary"))->text();
    };
    QCOMPARE(summary(), QStringLiteral("1 worker(s), 1 connected — last known at %1").arg(lostAt));
    QVERIFY(!m_window->workersTab()->drainAction()->isEnabled());
    QVERIFY(!m_window->workersTab()->undrainAction()->isEnabled());
    QVERIFY(!m_window->workersTab()->actions()->pauseAction()->isEnabled());
    QVERIFY(!m_window->workersTab()->actions()->removeAction()->isEnabled());
    QVERIFY(!m_window->workersTab()->actions()->pruneAction()->isEnabled());
    QVERIFY(m_window->workersTab()->actions()->copyNameAction()->isEnabled());
    QVERIFY(!m_window->tokensTab()->newTokenAction()->isEnabled());
    QVERIFY(!m_window->tokensTab()->revokeAction()->isEnabled());
    QVERIFY(!m_window->tokensTab()->extendAction()->isEnabled());
    QVERIFY(!m_window->queryTab()->runAction()->isEnabled());
    QVERIFY(!m_window->stepsTab()->cancelAction()->isEnabled());

    // Back: the banner's button reconnects at once, and everything is live again.
    QVERIFY(m_orchestrator->start(port));
    m_window->banner()->reconnectButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(m_session->state(), AdminSession::State::Connected, 35000);
    QVERIFY(m_window->banner()->isHidden());
    QCOMPARE(status.data(LiveTableModel::StaleRole).toBool(), false);
    QVERIFY(m_window->tokensTab()->newTokenAction()->isEnabled());
    QVERIFY(m_window->queryTab()->runAction()->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(workers->worker(workerId)->status, WorkerStatus::Idle, 35000);
    QCOMPARE(workers->index(workers->rowOf(workerId), WorkerModel::LastSeen).data().toString(),
             u"now");
    QCOMPARE(summary(), u"1 worker(s), 1 connected");
    QTRY_VERIFY(m_window->workersTab()->drainAction()->isEnabled());
}

// `swamp worker pause`: the worker stays connected and takes no new steps; the table says
// "paused" in a colour of its own, as `swamp worker list` says it.
void tst_ConsoleStates::pausedWorkerHasItsOwnState()
{
    startOrchestrator();
    openWindow();
    startWorker(QStringLiteral("resting"));
    WorkerModel *workers = m_window->workerModel();
    const auto status = [&] {
        return workers->index(rowOfWorker(QStringLiteral("resting")), WorkerModel::Status);
    };
    QTRY_COMPARE(status().data().toString(), u"idle");
    int exitCode = -1;
    m_orchestrator->cli(
        {QStringLiteral("worker"), QStringLiteral("pause"), QStringLiteral("resting")}, &exitCode);
    QCOMPARE(exitCode, 0);
    QTRY_COMPARE(status().data().toString(), u"paused");
    const QPalette palette = QGuiApplication::palette();
    const QColor paused = status().data(Qt::ForegroundRole).value<QColor>();
    QCOMPARE(paused, StatusPalette::workerColor(workers->workerAt(status().row()), palette));
    for (WorkerStatus other : {WorkerStatus::Idle, WorkerStatus::Busy, WorkerStatus::Draining,
                               WorkerStatus::Disconnected, WorkerStatus::Lost})
        QVERIFY(paused != StatusPalette::workerStatusColor(other, palette));
    // The filter finds it by that word; the details say it too.
    m_window->workersTab()->filterEdit()->setText(QStringLiteral("paused"));
    QCOMPARE(m_window->workersTab()->proxy()->rowCount(), 1);
    m_window->workersTab()->selectWorker(workers->workerAt(status().row()).id);
    QCOMPARE(m_window->workersTab()->detail(QStringLiteral("status")), u"paused");

    m_orchestrator->cli(
        {QStringLiteral("worker"), QStringLiteral("resume"), QStringLiteral("resting")}, &exitCode);
    QCOMPARE(exitCode, 0);
    QTRY_COMPARE(status().data().toString(), u"idle");
}

void tst_ConsoleStates::namesAndStatesAreNotCut_data()
{
    QTest::addColumn<QString>("language");
    QTest::addColumn<QString>("timedOut");
    QTest::addRow("en") << "en"
                        << "timed out";
    QTest::addRow("de") << "de"
                        << "Zeit überschritten";
}

// At the default window size, the names and states a table shows are whole (the German state
// "Zeit überschritten" was cut), and the Events tab shows the end of a step's id that tells it
// from the others (its first digits are the time, the same for every step of a minute).
void tst_ConsoleStates::namesAndStatesAreNotCut()
{
    QFETCH(QString, language);
    QFETCH(QString, timedOut);
    setLanguage(language);
    startOrchestrator();
    openWindow();
    const QString name = QStringLiteral("build-agent-linux-x86-64-eu-west");
    startWorker(name);
    const QString stepId =
        submit({QStringLiteral("--timeout"), QStringLiteral("1s"), QStringLiteral("--name"),
                QStringLiteral("integration-tests-nightly"), QStringLiteral("--"),
                QStringLiteral("sleep"), QStringLiteral("30")});
    QVERIFY(!stepId.isEmpty());
    StepModel *steps = m_window->stepModel();
    QTRY_VERIFY_WITH_TIMEOUT(steps->step(stepId) &&
                                 steps->step(stepId)->value(QStringLiteral("state")).toString() ==
                                     u"timed_out",
                             30000);
    QCOMPARE(steps->index(steps->rowOf(stepId), StepModel::State).data().toString(), timedOut);

    const auto whole = [](QAbstractItemView *view, const QList<int> &columns) {
        auto *table = static_cast<QTableView *>(view);
        for (int column : columns) {
            if (table->columnWidth(column) < view->sizeHintForColumn(column))
                return false;
        }
        return true;
    };
    m_window->tabs()->setCurrentWidget(m_window->workersTab());
    QTRY_VERIFY(whole(m_window->workersTab()->view(),
                      {WorkerModel::Name, WorkerModel::Status, WorkerModel::Token}));
    m_window->tabs()->setCurrentWidget(m_window->stepsTab());
    QTRY_VERIFY(whole(m_window->stepsTab()->view(),
                      {StepModel::Name, StepModel::State, StepModel::Worker}));

    const EventModel *events = m_window->eventModel();
    int row = -1;
    for (int i = 0; i < events->rowCount(); ++i) {
        if (events->eventAt(i).subject == stepId)
            row = i;
    }
    QVERIFY(row >= 0);
    QCOMPARE(events->index(row, EventModel::Subject).data().toString(), shortId(stepId));
    QCOMPARE(events->index(row, EventModel::Subject).data(Qt::ToolTipRole).toString(), stepId);
}

// A cell too narrow for its text is elided, and its tooltip is the whole text.
void tst_ConsoleStates::elidedCellsShowTheirTextAsTooltip()
{
    startOrchestrator();
    openWindow();
    QVERIFY(!m_orchestrator->createToken(QStringLiteral("a-rather-long-token-name-for-the-ci-pool"))
                 .isEmpty());
    QTableView *view = m_window->tokensTab()->view();
    m_window->tabs()->setCurrentWidget(m_window->tokensTab());
    QTRY_COMPARE(view->model()->rowCount(), 1);
    auto *delegate = qobject_cast<ElidingDelegate *>(view->itemDelegate());
    QVERIFY(delegate);
    const QModelIndex index = view->model()->index(0, TokenModel::Name);
    const auto option = [view, index] {
        QStyleOptionViewItem option;
        option.initFrom(view->viewport());
        option.widget = view;
        option.rect = view->visualRect(index);
        return option;
    };
    // The name column grows to fit the name (ColumnFitter); its tooltip has nothing to add.
    QTRY_VERIFY(!delegate->isElided(option(), index, view));
    QCOMPARE(delegate->toolTip(option(), index, view), QString());

    view->setColumnWidth(TokenModel::Name, 60); // the user's choice: the fitter leaves it
    auto *fitter = view->findChild<ColumnFitter *>();
    QVERIFY(fitter);
    fitter->fit();
    QCOMPARE(view->columnWidth(TokenModel::Name), 60);
    QVERIFY(delegate->isElided(option(), index, view));
    QCOMPARE(delegate->toolTip(option(), index, view), u"a-rather-long-token-name-for-the-ci-pool");
}

// Qt's own strings (the standard buttons) come from qtbase_de.qm: without it, a German dialog
// says "Cancel".
void tst_ConsoleStates::qtButtonsAreGerman()
{
    setLanguage(QStringLiteral("de"));
    NewTokenDialog dialog;
    QDialogButtonBox *buttons = dialog.findChild<QDialogButtonBox *>();
    QVERIFY(buttons);
    QVERIFY2(buttons->button(QDialogButtonBox::Cancel)->text().remove(u'&') == u"Abbrechen",
             "qtbase_de.qm is missing: install qt6-translations-l10n (scripts/install-deps.sh)");
    QDialogButtonBox close(QDialogButtonBox::Close);
    QCOMPARE(close.button(QDialogButtonBox::Close)->text().remove(u'&'), u"Schließen");
}

// Every string lupdate found has a German translation (run the swampconsole_lupdate target after
// adding strings), and the console's own catalog is the one the console loads.
void tst_ConsoleStates::germanCatalogIsComplete()
{
    QFile file(QStringLiteral(SWAMP_SOURCE_DIR "/translations/swamp_de.ts"));
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.errorString()));
    QXmlStreamReader xml(&file);
    QString source;
    QStringList untranslated;
    int messages = 0;
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement)
            continue;
        if (xml.name() == u"source") {
            source = xml.readElementText();
            ++messages;
        } else if (xml.name() == u"translation") {
            const bool unfinished = xml.attributes().value(QStringLiteral("type")) == u"unfinished";
            const QString text = xml.readElementText(QXmlStreamReader::IncludeChildElements);
            if (unfinished || text.trimmed().isEmpty())
                untranslated << source;
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(messages > 400);
    QVERIFY2(untranslated.isEmpty(), qPrintable(untranslated.join(u'\n')));

    setLanguage(QStringLiteral("de"));
    WorkerRecord worker;
    worker.status = WorkerStatus::Idle;
    worker.paused = true;
    QCOMPARE(StatusPalette::workerText(worker), u"pausiert");
    ConnectionBanner banner;
    QCOMPARE(banner.reconnectButton()->text(), u"&Neu verbinden");
}

void tst_ConsoleStates::newTokenProblemsFit_data()
{
    QTest::addColumn<QString>("language");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("duration");
    QTest::addColumn<QString>("labels");
    QTest::addRow("en-name") << "en"
                             << "CI Linux"
                             << "24h"
                             << "";
    QTest::addRow("en-duration") << "en"
                                 << "ci"
                                 << "10"
                                 << "";
    QTest::addRow("en-labels") << "en"
                               << "ci"
                               << "24h"
                               << "pool";
    QTest::addRow("de-name") << "de"
                             << "CI Linux"
                             << "24h"
                             << "";
    QTest::addRow("de-duration") << "de"
                                 << "ci"
                                 << "366d"
                                 << "";
    QTest::addRow("de-labels") << "de"
                               << "ci"
                               << "24h"
                               << "pool";
}

// A problem shown under a field is never cut: the dialog grows to fit its wrapped lines.
void tst_ConsoleStates::newTokenProblemsFit()
{
    QFETCH(QString, language);
    QFETCH(QString, name);
    QFETCH(QString, duration);
    QFETCH(QString, labels);
    setLanguage(language);
    NewTokenDialog dialog;
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    const QList<QLineEdit *> edits = dialog.findChildren<QLineEdit *>(Qt::FindDirectChildrenOnly);
    QVERIFY(edits.size() >= 3);
    edits.at(0)->setText(name); // name, duration, labels: the order they are created in
    edits.at(1)->setText(duration);
    edits.at(2)->setText(labels);
    QCoreApplication::processEvents();
    int shown = 0;
    const QList<QLabel *> labelsInDialog = dialog.findChildren<QLabel *>();
    for (QLabel *label : labelsInDialog) {
        if (label->isHidden() || !label->wordWrap() || label->text().isEmpty())
            continue;
        ++shown;
        QTRY_VERIFY2(label->height() >= label->heightForWidth(label->width()),
                     qPrintable(QStringLiteral("%1 px for %2 px: %3")
                                    .arg(label->height())
                                    .arg(label->heightForWidth(label->width()))
                                    .arg(label->text())));
        const QRect inDialog(label->mapTo(&dialog, QPoint(0, 0)), label->size());
        QVERIFY2(dialog.rect().contains(inDialog), qPrintable(label->text()));
    }
    QVERIFY(shown >= 1);
}

QTEST_MAIN(tst_ConsoleStates)
#include "tst_console_states.moc"
