// The console's windows against a real orchestrator with real workers: rows appear and change as
// events are pushed, tokens are shown once with their deploy snippets, revoke cuts workers off,
// the query editor points at errors, and a reconnect resumes the event stream.
#include "consoleharness.h"
#include "consolewindow.h"

#include "actiondialog.h"
#include "auditmodel.h"
#include "audittab.h"
#include "client/adminsession.h"
#include "deploysnippets.h"
#include "drainworkerdialog.h"
#include "eventmodel.h"
#include "extendtokendialog.h"
#include "jsontreemodel.h"
#include "mainwindow.h"
#include "newtokendialog.h"
#include "pruneworkersdialog.h"
#include "queryresultmodel.h"
#include "querytab.h"
#include "revoketokendialog.h"
#include "stepmodel.h"
#include "stepoutputview.h"
#include "stepstab.h"
#include "tokencreateddialog.h"
#include "tokenmodel.h"
#include "tokenstab.h"
#include "workeractions.h"
#include "workerlabelsdialog.h"
#include "workermodel.h"
#include "workerstab.h"

#include "common/duration.h"
#include "common/labels.h"

#include <QCheckBox>
#include <QComboBox>
#include <QClipboard>
#include <QGuiApplication>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QScopeGuard>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>
#include <QTreeView>
#include <QTreeWidget>

#include <csignal>
#include <unistd.h>

using namespace Swamp;
using namespace Swamp::Console;

class tst_ConsoleWidgets : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void workerAppearsWithinASecond();
    void killedWorkerTurnsDisconnected();
    void newTokenValidatesAsYouType_data();
    void newTokenValidatesAsYouType();
    void createdTokenIsShownOnceWithSnippets();
    void snippetsUseTheAdvertisedUrl();
    void snippetsWorkAsPasted();
    void sshSnippetEnrollsAWorker();
    void tokensTabWarnsBeforeWorkersStop();
    void revokeDisconnectsTheWorker();
    void drainStopsAnIdleWorker();
    void drainDeadlineRequeuesTheRunningStep();
    void pauseAndResumeKeepTheWorkerConnected();
    void contextMenuOffersTheWorkerActions();
    void labelsDialogChangesTheLabels();
    void removeEndsTheSessionAndFreesTheName();
    void extendMovesTheTokenExpiry();
    void pruneListsWhatItWouldPruneFirst();
    void auditTabShowsWhoDidWhat();
    void queryTypoShowsErrorPosition();
    void queryFailureIsShownGracefully();
    void queryResultIsAnExpandableTree();
    void reconnectResumesFromLastEventId();
    void refusedShowsWhy();
    void stepRunsAndShowsOutput();
    void cancelRunningStep();

private:
    QString stepState(const QString &stepId) const;
    QString submit(const QStringList &command);
    void startWorker(const QString &name);
    QString statusOf(const QString &workerName) const;
    bool waitEnrolled(ConsoleTest::Child *worker);
    void openWindow();
    QString selectWorkerNamed(const QString &name);
    // Accepts `dialog` and waits until the orchestrator answered: true when it closed (done),
    // false with the dialog's error otherwise.
    static bool acceptAndWait(ActionDialog *dialog, QString *error, QString *code);

    std::unique_ptr<ConsoleTest::Orchestrator> m_orchestrator;
    std::unique_ptr<AdminSession> m_session;
    std::unique_ptr<MainWindow> m_window;
};

void tst_ConsoleWidgets::initTestCase()
{
    // Settings (geometry, column layout) go to a test location, not the user's.
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("swamp-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_console_widgets"));
}

void tst_ConsoleWidgets::init()
{
    // Fail on unexpected warnings; the offscreen platform's own notice is expected.
    QTest::failOnWarning(QRegularExpression(QStringLiteral("^(?!This plugin does not support propagateSizeHints).*")));
    m_orchestrator = std::make_unique<ConsoleTest::Orchestrator>();
    QVERIFY(m_orchestrator->start());
}

void tst_ConsoleWidgets::openWindow()
{
    ConsoleTest::ConsoleWindow console;
    QString why;
    QVERIFY2(console.open(m_orchestrator->dataDir(), QSize(), &why), qPrintable(why));
    m_session = std::move(console.session);
    m_window = std::move(console.window);
    QCOMPARE(m_session->state(), AdminSession::State::Connected);
}

void tst_ConsoleWidgets::cleanup()
{
    m_window.reset();
    m_session.reset();
    if (m_orchestrator)
        m_orchestrator->stopAll();
    m_orchestrator.reset();
}

QString tst_ConsoleWidgets::statusOf(const QString &workerName) const
{
    const WorkerModel *model = m_window->workerModel();
    for (int row = 0; row < model->rowCount(); ++row) {
        if (model->workerAt(row).name == workerName)
            return model->index(row, WorkerModel::Status).data(WorkerModel::RawStatusRole).toString();
    }
    return {};
}

bool tst_ConsoleWidgets::waitEnrolled(ConsoleTest::Child *worker)
{
    return QTest::qWaitFor([worker] { return worker->out().contains(u"enrolled as"); }, 15000);
}

void tst_ConsoleWidgets::workerAppearsWithinASecond()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("edge"));
    QVERIFY(!token.isEmpty());
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("edge"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("edge")), QStringLiteral("idle"), 5000);

    // The row shows what the worker sent, and the details pane follows the selected id.
    WorkersTab *tab = m_window->workersTab();
    const WorkerRecord *record = nullptr;
    for (const WorkerRecord &w : m_window->workerModel()->workers()) {
        if (w.name == u"edge")
            record = m_window->workerModel()->worker(w.id);
    }
    QVERIFY(record);
    tab->selectWorker(record->id);
    QCOMPARE(tab->selectedId(), record->id);
    QFile machineId(m_orchestrator->cacheDir(QStringLiteral("edge")) + QStringLiteral("/machine-id"));
    QVERIFY(machineId.open(QIODevice::ReadOnly));
    QCOMPARE(tab->detail(QStringLiteral("machineId")), QString::fromUtf8(machineId.readAll()).trimmed());
    QCOMPARE(tab->detail(QStringLiteral("tokenName")), u"edge");
    QVERIFY(!tab->detail(QStringLiteral("hostname")).isEmpty());

    // One orchestrator: no Orchestrator column.
    QVERIFY(!tab->isFleet());
    QVERIFY(tab->view()->isColumnHidden(WorkerModel::Orchestrator));

    // The filter box narrows the table.
    tab->filterEdit()->setText(QStringLiteral("no-such-worker"));
    QCOMPARE(tab->proxy()->rowCount(), 0);
    tab->filterEdit()->setText(QStringLiteral("EDGE"));
    QCOMPARE(tab->proxy()->rowCount(), 1);
}

void tst_ConsoleWidgets::killedWorkerTurnsDisconnected()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("doomed"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("doomed"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("doomed")), QStringLiteral("idle"), 5000);
    m_window->workersTab()->selectWorker(m_window->workerModel()->workerAt(0).id);

    QSignalSpy reset(m_window->workerModel(), &QAbstractItemModel::modelReset);
    worker->process.kill();
    // The heartbeat timeout is 1s; the socket usually closes at once.
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("doomed")), QStringLiteral("disconnected"), 20000);
    QCOMPARE(reset.count(), 0);
    QVERIFY(m_window->workersTab()->detail(QStringLiteral("disconnectedAt")) != u"-");
    // The event log has it too.
    const EventModel *events = m_window->eventModel();
    QTRY_VERIFY(events->rowCount() > 0
                && events->eventAt(events->rowCount() - 1).kind == u"worker.disconnected");
}

void tst_ConsoleWidgets::newTokenValidatesAsYouType_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("duration");
    QTest::addColumn<QString>("labels");
    QTest::addColumn<bool>("valid");
    QTest::addRow("good") << "ci-linux" << "7d" << "pool=ci, region=eu" << true;
    QTest::addRow("upper-case-name") << "CI" << "24h" << "" << false;
    QTest::addRow("name-with-dot") << "ci.linux" << "24h" << "" << false;
    QTest::addRow("empty-name") << "" << "24h" << "" << false;
    QTest::addRow("duration-without-unit") << "ci" << "10" << "" << false;
    QTest::addRow("duration-over-a-year") << "ci" << "366d" << "" << false;
    QTest::addRow("label-without-equals") << "ci" << "24h" << "pool" << false;
}

void tst_ConsoleWidgets::newTokenValidatesAsYouType()
{
    QFETCH(QString, name);
    QFETCH(QString, duration);
    QFETCH(QString, labels);
    QFETCH(bool, valid);
    NewTokenDialog dialog;
    QTest::keyClicks(dialog.nameEdit(), name);
    dialog.durationEdit()->clear();
    QTest::keyClicks(dialog.durationEdit(), duration);
    QTest::keyClicks(dialog.labelsEdit(), labels);
    QCOMPARE(dialog.isValid(), valid);
    auto *buttons = dialog.findChild<QDialogButtonBox *>();
    QCOMPARE(buttons->button(QDialogButtonBox::Ok)->isEnabled(), valid);
    if (!valid && !name.isEmpty()) {
        // The reason is on screen, next to the field.
        bool shown = false;
        for (QLabel *label : dialog.findChildren<QLabel *>())
            shown = shown || (label->isVisibleTo(&dialog) && label->text().size() > 10 && label->buddy() == nullptr
                              && !label->text().contains(u'&'));
        QVERIFY(shown);
    }
}

void tst_ConsoleWidgets::createdTokenIsShownOnceWithSnippets()
{
    openWindow();
    TokensTab *tab = m_window->tokensTab();
    NewTokenDialog *dialog = tab->openNewTokenDialog();
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("fleet"));
    dialog->unlimitedBox()->setChecked(true);
    QTest::keyClicks(dialog->labelsEdit(), QStringLiteral("pool=ci"));
    QVERIFY(dialog->isValid());
    dialog->accept();

    TokenCreatedDialog *created = nullptr;
    QTRY_VERIFY((created = m_window->findChild<TokenCreatedDialog *>()) != nullptr);
    const QString token = created->token();
    QVERIFY2(QRegularExpression(QStringLiteral("^fleet\\.[0-9a-f]{64}$")).match(token).hasMatch(), qPrintable(token));
    bool warned = false;
    for (QLabel *label : created->findChildren<QLabel *>())
        warned = warned || label->text() == u"This token is shown once and will not be displayed again — store it now.";
    QVERIFY(warned);

    const QStringList snippets = created->snippets();
    QCOMPARE(snippets.size(), 5);
    for (const QString &snippet : snippets) {
        QVERIFY2(snippet.contains(m_orchestrator->url()), qPrintable(snippet));
        QVERIFY2(snippet.contains(token), qPrintable(snippet));
        QVERIFY2(snippet.contains(u"--cache-dir"), qPrintable(snippet));
    }
    QVERIFY(snippets.at(2).contains(u"kind: Secret"));
    QVERIFY(snippets.at(2).contains(u"secretKeyRef"));
    QVERIFY(snippets.at(3).contains(u"${{ secrets.SWAMP_WORKER_TOKEN }}"));
    QVERIFY(snippets.at(4).startsWith(u"#cloud-config"));

    // The list shows the token, unlimited, and never its secret.
    const TokenModel *tokens = m_window->tokenModel();
    QTRY_COMPARE(tokens->rowCount(), 1);
    QCOMPARE(tokens->index(0, TokenModel::Enrollments).data().toString(), u"0/unlimited");
    QCOMPARE(tokens->index(0, TokenModel::Labels).data().toString(), u"pool=ci");
    const QString secret = token.section(u'.', 1);
    QVERIFY(!QJsonDocument(tokens->tokenAt(0)).toJson().contains(secret.toUtf8()));

    // Shown once: closing the dialog destroys it and nothing else holds the secret.
    created->close();
    QTRY_VERIFY(m_window->findChild<TokenCreatedDialog *>() == nullptr);
    for (QLineEdit *edit : m_window->findChildren<QLineEdit *>())
        QVERIFY(!edit->text().contains(secret));
    for (QPlainTextEdit *edit : m_window->findChildren<QPlainTextEdit *>())
        QVERIFY(!edit->toPlainText().contains(secret));

    // A second token of the same name is refused in the dialog, which stays open.
    NewTokenDialog *again = tab->openNewTokenDialog();
    QTest::keyClicks(again->nameEdit(), QStringLiteral("fleet"));
    again->accept();
    bool refused = false;
    QTRY_VERIFY([&] {
        for (QLabel *label : again->findChildren<QLabel *>())
            refused = refused || label->text().contains(u"already exists");
        return refused;
    }());
    QVERIFY(again->isVisible());
}

void tst_ConsoleWidgets::snippetsUseTheAdvertisedUrl()
{
    // The console reaches the orchestrator on loopback (admin.json); workers elsewhere dial the
    // URL it advertises, and that is what the deploy snippets must hold.
    m_orchestrator->stop();
    const QString advertised = QStringLiteral("wss://swamp.example.com:9443");
    QVERIFY(m_orchestrator->start(0, {QStringLiteral("--advertise-url"), advertised}));
    openWindow();
    NewTokenDialog *dialog = m_window->tokensTab()->openNewTokenDialog();
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("remote"));
    // Before it is created, the dialog says when the workers enrolled with it will stop.
    QVERIFY(dialog->durationHint()->isVisibleTo(dialog));
    QVERIFY2(dialog->durationHint()->text().startsWith(u"Workers enrolled with it stop at "),
             qPrintable(dialog->durationHint()->text()));
    QVERIFY2(dialog->durationHint()->text().contains(u"(in 23h)") || dialog->durationHint()->text().contains(u"(in 24h)"),
             qPrintable(dialog->durationHint()->text()));
    dialog->durationEdit()->clear();
    QTest::keyClicks(dialog->durationEdit(), QStringLiteral("0s"));
    QVERIFY(!dialog->isValid());
    QVERIFY(!dialog->durationHint()->isVisibleTo(dialog));
    dialog->durationEdit()->clear();
    QTest::keyClicks(dialog->durationEdit(), QStringLiteral("7d"));
    QVERIFY(dialog->isValid());
    dialog->accept();

    TokenCreatedDialog *created = nullptr;
    QTRY_VERIFY((created = m_window->findChild<TokenCreatedDialog *>()) != nullptr);
    const QStringList snippets = created->snippets();
    QCOMPARE(snippets.size(), 5);
    for (const QString &snippet : snippets) {
        QVERIFY2(snippet.contains(advertised), qPrintable(snippet));
        QVERIFY2(!snippet.contains(u"127.0.0.1"), qPrintable(snippet));
    }
    bool toldWhenTheyStop = false;
    for (QLabel *label : created->findChildren<QLabel *>())
        toldWhenTheyStop = toldWhenTheyStop || label->text().contains(u"swamp worker token extend remote --duration 30d");
    QVERIFY(toldWhenTheyStop);
}

namespace {
// `bash -n`: the exit code and what bash said.
std::pair<int, QString> bashCheck(const QString &script)
{
    QProcess bash;
    bash.start(QStringLiteral("bash"), {QStringLiteral("-n")});
    bash.write(script.toUtf8());
    bash.closeWriteChannel();
    bash.waitForFinished(10000);
    return {bash.exitCode(), QString::fromUtf8(bash.readAllStandardError())};
}
} // namespace

void tst_ConsoleWidgets::snippetsWorkAsPasted()
{
    const QString advertised = QStringLiteral("wss://swamp.example.com:9443");
    const QString token = QStringLiteral("ci.") + QString(64, u'a');
    const QString deb = QStringLiteral("https://downloads.example.com/swamp/swamp_0.1.0_amd64.deb");
    const QList<DeploySnippet> snippets = DeploySnippets::all(advertised, token, deb);
    QCOMPARE(snippets.size(), 5);
    int shells = 0;
    for (const DeploySnippet &snippet : snippets) {
        QVERIFY2(snippet.text.contains(advertised), qPrintable(snippet.text));
        QVERIFY2(snippet.text.contains(token), qPrintable(snippet.text));
        QVERIFY2(!snippet.text.contains(u"127.0.0.1"), qPrintable(snippet.text));
        if (snippet.shell.isEmpty())
            continue;
        ++shells;
        const auto [exitCode, said] = bashCheck(snippet.shell);
        QVERIFY2(exitCode == 0, qPrintable(snippet.key + u": " + said + u'\n' + snippet.shell));
        // What bash checked is what the operator pastes.
        for (const QString &line : snippet.shell.split(u'\n', Qt::SkipEmptyParts))
            QVERIFY2(snippet.text.contains(line.trimmed()), qPrintable(snippet.key + u": " + line));
        if (snippet.needsPackage)
            QVERIFY2(snippet.shell.contains(u"curl -fsSL -o /tmp/swamp.deb '" + deb + u"'"), qPrintable(snippet.shell));
    }
    QCOMPARE(shells, 4); // all but the Kubernetes manifest
    // cloud-init: the token in a root-only file, swamp installed before it connects.
    const QString cloudInit = snippets.at(4).text;
    QVERIFY(cloudInit.startsWith(u"#cloud-config\n"));
    QVERIFY(cloudInit.contains(u"permissions: '0600'"));
    QVERIFY(cloudInit.indexOf(u"apt-get install -y --no-install-recommends /tmp/swamp.deb")
            < cloudInit.indexOf(u"swamp worker connect"));
    QVERIFY(cloudInit.contains(u"--token-file /etc/swamp/worker.token"));
    // A bad package URL is never pasted into a snippet.
    QVERIFY(!DeploySnippets::checkPackageUrl(QStringLiteral("ftp://example.com/swamp.deb")).isEmpty());
    QVERIFY(!DeploySnippets::checkPackageUrl(QStringLiteral("https://example.com/a'b.deb")).isEmpty());
    QVERIFY(DeploySnippets::checkPackageUrl(deb).isEmpty());
    for (const DeploySnippet &snippet : DeploySnippets::all(advertised, token, QStringLiteral("https://x/a'; rm -rf /")))
        QVERIFY2(!snippet.text.contains(u"rm -rf"), qPrintable(snippet.text));

    // In the dialog: without a package URL the recipes that install swamp cannot be copied.
    QSettings().remove(QStringLiteral("deploy/packageUrl"));
    TokenCreatedDialog dialog(advertised, token, QString());
    QVERIFY(dialog.canCopySnippet(0));
    QVERIFY(!dialog.canCopySnippet(3));
    QVERIFY(!dialog.canCopySnippet(4));
    dialog.packageUrlEdit()->setText(QStringLiteral("ftp://nope"));
    QVERIFY(!dialog.canCopySnippet(4));
    dialog.packageUrlEdit()->setText(deb);
    QVERIFY(dialog.canCopySnippet(3));
    QVERIFY(dialog.canCopySnippet(4));
    QVERIFY(dialog.snippets().at(4).contains(deb));
    // Remembered for the next token.
    TokenCreatedDialog next(advertised, token, QString());
    QCOMPARE(next.packageUrlEdit()->text(), deb);
    QVERIFY(next.canCopySnippet(4));
    QSettings().remove(QStringLiteral("deploy/packageUrl"));
}

void tst_ConsoleWidgets::sshSnippetEnrollsAWorker()
{
    // The SSH snippet as pasted, with `ssh` standing in for the remote shell on this machine and
    // the worker's cache dir in a temporary directory instead of /var/lib/swamp-worker.
    openWindow();
    NewTokenDialog *dialog = m_window->tokensTab()->openNewTokenDialog();
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("pasted"));
    dialog->accept();
    TokenCreatedDialog *created = nullptr;
    QTRY_VERIFY((created = m_window->findChild<TokenCreatedDialog *>()) != nullptr);
    const QString snippet = created->snippets().at(0);
    QTemporaryDir cache;
    const QString fakeSsh = QStringLiteral("ssh() { shift; sh -c \"$(printf '%s' \"$1\" | sed 's#/var/lib/swamp-worker#%1#')\"; }\n")
                                .arg(cache.path());
    QProcess shell;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("PATH"), QFileInfo(ConsoleTest::swampBinary()).absolutePath() + u':'
                                                   + environment.value(QStringLiteral("PATH")));
    shell.setProcessEnvironment(environment);
    // Its own process group: the worker the snippet starts (a grandchild) goes with the shell.
    shell.setChildProcessModifier([] { ::setpgid(0, 0); });
    shell.start(QStringLiteral("bash"), {QStringLiteral("-c"), fakeSsh + snippet});
    QString out;
    const bool enrolled = QTest::qWaitFor([&] {
        out += QString::fromUtf8(shell.readAllStandardOutput());
        return out.contains(u"enrolled as") || shell.state() == QProcess::NotRunning;
    }, 20000);
    const auto killShell = qScopeGuard([&] {
        if (shell.processId() > 0)
            ::kill(-pid_t(shell.processId()), SIGKILL);
        shell.waitForFinished(5000);
    });
    const QString err = QString::fromUtf8(shell.readAllStandardError());
    QVERIFY2(enrolled && out.contains(u"enrolled as pasted"), qPrintable(out + err));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("pasted")), QStringLiteral("idle"), 5000);
}

void tst_ConsoleWidgets::tokensTabWarnsBeforeWorkersStop()
{
    openWindow();
    TokensTab *tab = m_window->tokensTab();
    QVERIFY(tab->expiryWarning().isEmpty());
    // A default (24h) token with a connected worker: it stops within a day.
    startWorker(QStringLiteral("daily"));
    QTRY_VERIFY_WITH_TIMEOUT(tab->expiryWarning().contains(u"token 'daily' expires in 23h"), 10000);
    QVERIFY2(tab->expiryWarning().contains(u"its 1 connected worker(s) stop then — extend it with "
                                           "'swamp worker token extend daily --duration 30d'"),
             qPrintable(tab->expiryWarning()));
    // Extended past a day: no warning.
    int exitCode = -1;
    m_orchestrator->cli({QStringLiteral("worker"), QStringLiteral("token"), QStringLiteral("extend"),
                         QStringLiteral("daily"), QStringLiteral("--duration"), QStringLiteral("30d")},
                        &exitCode);
    QCOMPARE(exitCode, 0);
    QTRY_VERIFY_WITH_TIMEOUT(tab->expiryWarning().isEmpty(), 10000);
}

void tst_ConsoleWidgets::revokeDisconnectsTheWorker()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("rogue"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("rogue"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("rogue")), QStringLiteral("idle"), 5000);

    TokensTab *tab = m_window->tokensTab();
    QTRY_COMPARE(m_window->tokenModel()->rowCount(), 1);
    tab->selectToken(QStringLiteral("rogue"));
    QVERIFY(tab->revokeAction()->isEnabled());
    RevokeTokenDialog *dialog = tab->openRevokeDialog();
    QVERIFY(dialog);
    QCOMPARE(dialog->listedWorkers(), QStringList{QStringLiteral("rogue")});
    QTest::keyClicks(dialog->reasonEdit(), QStringLiteral("machine compromised"));
    dialog->accept();

    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("rogue")), QStringLiteral("disconnected"), 20000);
    QTRY_COMPARE(m_window->tokenModel()->index(0, TokenModel::State).data(TokenModel::RawStateRole).toString(),
                 QStringLiteral("revoked"));
    QVERIFY(!tab->revokeAction()->isEnabled()); // nothing left to revoke on that row
    // The worker was told why and stopped (a revoked token is a permanent failure).
    QTRY_COMPARE_WITH_TIMEOUT(worker->process.state(), QProcess::NotRunning, 30000);
    QCOMPARE(worker->process.exitCode(), 1);
    const QString said = worker->out() + worker->err();
    QVERIFY2(said.contains(u"revoked"), qPrintable(said));
    const EventModel *events = m_window->eventModel();
    bool logged = false;
    for (int row = 0; row < events->rowCount(); ++row)
        logged = logged || (events->eventAt(row).kind == u"token.revoked"
                            && events->eventAt(row).message.contains(u"machine compromised"));
    QVERIFY(logged);
}

void tst_ConsoleWidgets::drainStopsAnIdleWorker()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("spare"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("spare"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("spare")), QStringLiteral("idle"), 5000);
    WorkersTab *tab = m_window->workersTab();
    tab->selectWorker(m_window->workerModel()->workerAt(0).id);
    QVERIFY(tab->drainAction()->isEnabled());
    QVERIFY(!tab->undrainAction()->isEnabled());
    DrainWorkerDialog *dialog = tab->confirmDrain();
    QVERIFY(dialog);
    QVERIFY(dialog->textLabel()->text().contains(u"spare"));
    QVERIFY(!dialog->deadlineBox()->isChecked());
    QCOMPARE(dialog->deadlineMs(), 0);
    QString error;
    QString code;
    QVERIFY2(acceptAndWait(dialog, &error, &code), qPrintable(error));
    // Nothing running: it drains, is told to exit 0, and the row follows.
    QTRY_COMPARE_WITH_TIMEOUT(worker->process.state(), QProcess::NotRunning, 30000);
    QCOMPARE(worker->process.exitCode(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("spare")), QStringLiteral("disconnected"), 20000);
    QVERIFY(!tab->drainAction()->isEnabled());
}

bool tst_ConsoleWidgets::acceptAndWait(ActionDialog *dialog, QString *error, QString *code)
{
    QPointer<ActionDialog> guard(dialog);
    if (!dialog->acceptButton()->isEnabled()) {
        *error = QStringLiteral("the dialog's accept button is disabled: ") + dialog->errorText();
        return false;
    }
    dialog->acceptButton()->click();
    if (!QTest::qWaitFor([&] { return !guard || !guard->isBusy(); }, 20000)) {
        *error = QStringLiteral("the orchestrator did not answer the dialog within 20 s");
        return false;
    }
    if (!guard)
        return true;
    *error = guard->errorText();
    *code = guard->errorCode();
    return false;
}

QString tst_ConsoleWidgets::selectWorkerNamed(const QString &name)
{
    for (const WorkerRecord &w : m_window->workerModel()->workers()) {
        if (w.name == name) {
            m_window->workersTab()->selectWorker(w.id);
            return w.id;
        }
    }
    return {};
}

void tst_ConsoleWidgets::drainDeadlineRequeuesTheRunningStep()
{
    openWindow();
    startWorker(QStringLiteral("slow"));
    const QString id = submit({QStringLiteral("sleep"), QStringLiteral("60")});
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("running"), 20000);
    QVERIFY(!selectWorkerNamed(QStringLiteral("slow")).isEmpty());
    QTRY_COMPARE(m_window->workerModel()->workerAt(0).activeSteps, 1);
    DrainWorkerDialog *dialog = m_window->workersTab()->confirmDrain();
    QVERIFY(dialog);
    QVERIFY2(dialog->textLabel()->text().contains(u"finishes its 1 running step"),
             qPrintable(dialog->textLabel()->text()));
    dialog->deadlineBox()->setChecked(true);
    dialog->deadlineEdit()->setText(QStringLiteral("soon"));
    QVERIFY(!dialog->acceptButton()->isEnabled());
    dialog->deadlineEdit()->setText(QStringLiteral("1s"));
    QCOMPARE(dialog->deadlineMs(), 1000);
    QString error;
    QString code;
    QVERIFY2(acceptAndWait(dialog, &error, &code), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("slow")), QStringLiteral("draining"), 5000);
    // At the deadline the step goes back to the queue and the worker exits 0.
    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("queued"), 30000);
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("slow")), QStringLiteral("disconnected"), 30000);
}

void tst_ConsoleWidgets::pauseAndResumeKeepTheWorkerConnected()
{
    openWindow();
    startWorker(QStringLiteral("gpu"));
    const QString id = selectWorkerNamed(QStringLiteral("gpu"));
    WorkerActions *actions = m_window->workersTab()->actions();
    QVERIFY(actions->pauseAction()->isEnabled());
    QVERIFY(!actions->resumeAction()->isEnabled());
    actions->pauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->workerModel()->worker(id)->paused, 10000);
    const QModelIndex status = m_window->workerModel()->index(m_window->workerModel()->rowOf(id), WorkerModel::Status);
    QCOMPARE(status.data().toString(), u"paused");
    QCOMPARE(m_window->workersTab()->detail(QStringLiteral("status")), u"paused");
    QVERIFY(!actions->pauseAction()->isEnabled());
    QVERIFY(actions->resumeAction()->isEnabled());
    // The orchestrator has it too, and the worker stays connected.
    const QString listed = m_orchestrator->cli({QStringLiteral("worker"), QStringLiteral("list")});
    QVERIFY2(QRegularExpression(QStringLiteral("gpu\\s+paused")).match(listed).hasMatch(), qPrintable(listed));
    QCOMPARE(statusOf(QStringLiteral("gpu")), QStringLiteral("idle"));

    actions->resumeAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!m_window->workerModel()->worker(id)->paused, 10000);
    QCOMPARE(status.data().toString(), u"idle");
    QVERIFY(actions->pauseAction()->isEnabled());
    QVERIFY(!actions->resumeAction()->isEnabled());
}

void tst_ConsoleWidgets::contextMenuOffersTheWorkerActions()
{
    openWindow();
    startWorker(QStringLiteral("menu-1"));
    QVERIFY(!selectWorkerNamed(QStringLiteral("menu-1")).isEmpty());
    QMenu *menu = m_window->workersTab()->createContextMenu();
    QStringList texts;
    QAction *copy = nullptr;
    for (QAction *action : menu->actions()) {
        if (action->isSeparator())
            continue;
        texts << action->text();
        if (action == m_window->workersTab()->actions()->copyNameAction())
            copy = action;
    }
    const QStringList wantedTexts{QStringLiteral("&Pause"), QStringLiteral("&Drain…"), QStringLiteral("&Labels…"),
                                  QStringLiteral("Re&move…"), QStringLiteral("&Copy name")};
    for (const QString &wanted : wantedTexts)
        QVERIFY2(texts.contains(wanted), qPrintable(texts.join(u'|')));
    // The Workers menu of the window has them too.
    bool inMenuBar = false;
    for (QMenu *barMenu : m_window->findChildren<QMenu *>())
        inMenuBar = inMenuBar || (barMenu != menu && barMenu->actions().contains(copy));
    QVERIFY(inMenuBar);
    QVERIFY(copy && copy->isEnabled());
    QGuiApplication::clipboard()->clear();
    copy->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), u"menu-1");
    delete menu;
    // Ctrl+C in the table copies the name as well.
    m_window->workersTab()->view()->setFocus();
    QGuiApplication::clipboard()->clear();
    QTest::keySequence(m_window->workersTab()->view(), QKeySequence::Copy);
    QCOMPARE(QGuiApplication::clipboard()->text(), u"menu-1");
}

void tst_ConsoleWidgets::labelsDialogChangesTheLabels()
{
    openWindow();
    startWorker(QStringLiteral("tagged"));
    const QString id = selectWorkerNamed(QStringLiteral("tagged"));
    WorkerLabelsDialog *dialog = m_window->workersTab()->actions()->openLabelsDialog();
    QVERIFY(dialog);
    QVERIFY(!dialog->acceptButton()->isEnabled()); // nothing changed yet
    dialog->labelsEdit()->setText(QStringLiteral("region"));
    QVERIFY(!dialog->acceptButton()->isEnabled());
    dialog->labelsEdit()->setText(QStringLiteral("region=eu, gpu=a100"));
    const QJsonObject params = dialog->parameters();
    QCOMPARE(params.value(QStringLiteral("set")).toObject(),
             (QJsonObject{{QStringLiteral("gpu"), QStringLiteral("a100")}, {QStringLiteral("region"), QStringLiteral("eu")}}));
    QTest::keyClicks(dialog->reasonEdit(), QStringLiteral("new GPU"));
    QString error;
    QString code;
    if (!acceptAndWait(dialog, &error, &code)) {
        if (code == u"unknown_method") {
            QVERIFY2(error.contains(u"worker.label"), qPrintable(error));
            QSKIP("this orchestrator has no worker.label yet (unknown_method)");
        }
        QFAIL(qPrintable(error));
    }
    QTRY_COMPARE_WITH_TIMEOUT(formatLabels(m_window->workerModel()->worker(id)->labels),
                              QStringLiteral("gpu=a100, region=eu"), 10000);
    // Removing one sends it in "remove".
    WorkerLabelsDialog *again = m_window->workersTab()->actions()->openLabelsDialog();
    again->labelsEdit()->setText(QStringLiteral("region=eu"));
    QCOMPARE(again->parameters().value(QStringLiteral("remove")).toArray(), QJsonArray{QStringLiteral("gpu")});
    QVERIFY2(acceptAndWait(again, &error, &code), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(formatLabels(m_window->workerModel()->worker(id)->labels), QStringLiteral("region=eu"),
                              10000);
}

void tst_ConsoleWidgets::removeEndsTheSessionAndFreesTheName()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("retired"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("retired"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("retired")), QStringLiteral("idle"), 5000);
    QVERIFY(!selectWorkerNamed(QStringLiteral("retired")).isEmpty());
    ActionDialog *dialog = m_window->workersTab()->actions()->openRemoveDialog();
    QVERIFY(dialog);
    // It says what happens to the session and its steps.
    QVERIFY2(dialog->textLabel()->text().contains(u"its session ends now"), qPrintable(dialog->textLabel()->text()));
    QVERIFY2(dialog->textLabel()->text().contains(u"0 running step(s) are cancelled and go back to the queue"),
             qPrintable(dialog->textLabel()->text()));
    QTest::keyClicks(dialog->reasonEdit(), QStringLiteral("decommissioned"));
    QString error;
    QString code;
    if (!acceptAndWait(dialog, &error, &code)) {
        if (code == u"unknown_method") {
            QVERIFY2(error.contains(u"worker.remove"), qPrintable(error));
            QSKIP("this orchestrator has no worker.remove yet (unknown_method)");
        }
        QFAIL(qPrintable(error));
    }
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("retired")), QString(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(worker->process.state(), QProcess::NotRunning, 30000);
    const QString listed = m_orchestrator->cli({QStringLiteral("worker"), QStringLiteral("list"), QStringLiteral("--all")});
    QVERIFY2(!listed.contains(u"retired"), qPrintable(listed));
}

void tst_ConsoleWidgets::extendMovesTheTokenExpiry()
{
    openWindow();
    startWorker(QStringLiteral("daily"));
    TokensTab *tab = m_window->tokensTab();
    QTRY_VERIFY_WITH_TIMEOUT(!tab->expiryWarning().isEmpty(), 10000);
    tab->selectToken(QStringLiteral("daily"));
    QVERIFY(tab->extendAction()->isEnabled());
    ExtendTokenDialog *dialog = tab->openExtendDialog();
    QVERIFY(dialog);
    QVERIFY2(dialog->textLabel()->text().contains(u"1 connected worker(s) enrolled with it keep running"),
             qPrintable(dialog->textLabel()->text()));
    QCOMPARE(dialog->durationEdit()->text(), u"30d");
    QVERIFY2(dialog->stopHint()->text().contains(u"(in 30d)") || dialog->stopHint()->text().contains(u"(in 29d)"),
             qPrintable(dialog->stopHint()->text()));
    dialog->durationEdit()->setText(QStringLiteral("400d"));
    QVERIFY(!dialog->acceptButton()->isEnabled());
    dialog->durationEdit()->setText(QStringLiteral("30d"));
    QTest::keyClicks(dialog->reasonEdit(), QStringLiteral("build fleet stays"));
    QString error;
    QString code;
    QVERIFY2(acceptAndWait(dialog, &error, &code), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(tab->expiryWarning().isEmpty(), 10000);
    const QDateTime expires = parseIsoUtc(m_window->tokenModel()->tokenAt(0).value(QStringLiteral("expiresAt")).toString());
    QVERIFY(expires > QDateTime::currentDateTimeUtc().addDays(29));
    QCOMPARE(statusOf(QStringLiteral("daily")), QStringLiteral("idle"));
}

void tst_ConsoleWidgets::pruneListsWhatItWouldPruneFirst()
{
    m_orchestrator->stop();
    QVERIFY(m_orchestrator->start(0, {QStringLiteral("--reconnect-grace"), QStringLiteral("1s")}));
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("gone"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("gone"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    startWorker(QStringLiteral("stays"));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("gone")), QStringLiteral("idle"), 5000);
    worker->process.kill();
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("gone")), QStringLiteral("lost"), 20000);

    PruneWorkersDialog *dialog = m_window->workersTab()->actions()->openPruneDialog();
    // The default grace period (24h) prunes nothing, and says so.
    QTRY_VERIFY(dialog->previewText().startsWith(u"No worker has been gone for longer than"));
    QVERIFY(!dialog->acceptButton()->isEnabled());
    dialog->gracePeriodEdit()->setText(QStringLiteral("0s"));
    QTRY_COMPARE(dialog->preview()->topLevelItemCount(), 1);
    QCOMPARE(dialog->preview()->topLevelItem(0)->text(0), u"gone");
    QVERIFY2(dialog->previewText().contains(u"1 worker(s) would be pruned"), qPrintable(dialog->previewText()));
    QVERIFY(dialog->acceptButton()->isEnabled());
    // Nothing was pruned by looking.
    QCOMPARE(statusOf(QStringLiteral("gone")), QStringLiteral("lost"));
    QString error;
    QString code;
    QVERIFY2(acceptAndWait(dialog, &error, &code), qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(QStringLiteral("gone")), QString(), 10000);
    QCOMPARE(statusOf(QStringLiteral("stays")), QStringLiteral("idle"));
}

void tst_ConsoleWidgets::auditTabShowsWhoDidWhat()
{
    openWindow();
    AuditTab *tab = m_window->auditTab();
    QTRY_VERIFY(tab->statusText().startsWith(u"No audited action yet."));
    // A token made in the console, with the reason typed in its dialog.
    NewTokenDialog *dialog = m_window->tokensTab()->openNewTokenDialog();
    QTest::keyClicks(dialog->nameEdit(), QStringLiteral("audited"));
    QTest::keyClicks(dialog->reasonEdit(), QStringLiteral("ticket OPS-42"));
    QCOMPARE(dialog->parameters().value(QStringLiteral("reason")).toString(), u"ticket OPS-42");
    dialog->accept();
    QTRY_VERIFY(m_window->findChild<TokenCreatedDialog *>() != nullptr);
    // A worker paused with the CLI.
    startWorker(QStringLiteral("paused-1"));
    int exitCode = -1;
    m_orchestrator->cli({QStringLiteral("worker"), QStringLiteral("pause"), QStringLiteral("paused-1"),
                         QStringLiteral("--reason"), QStringLiteral("driver update")}, &exitCode);
    QCOMPARE(exitCode, 0);

    const AuditModel *model = tab->model();
    // token.create twice (the console's and the CLI's for the worker), worker.pause once.
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 3, 10000);
    QHash<QString, int> rowOfReason;
    for (int row = 0; row < model->rowCount(); ++row)
        rowOfReason.insert(model->index(row, AuditModel::Reason).data().toString(), row);
    QVERIFY(rowOfReason.contains(QStringLiteral("ticket OPS-42")));
    const int created = rowOfReason.value(QStringLiteral("ticket OPS-42"));
    QCOMPARE(model->index(created, AuditModel::Action).data().toString(), u"token.create");
    QCOMPARE(model->index(created, AuditModel::Subject).data().toString(), u"token audited");
    QVERIFY2(model->index(created, AuditModel::Client).data().toString().startsWith(u"tst_console_widgets/"),
             qPrintable(model->index(created, AuditModel::Client).data().toString()));
    QCOMPARE(model->index(created, AuditModel::Address).data().toString(), u"127.0.0.1");
    const int paused = rowOfReason.value(QStringLiteral("driver update"), -1);
    QVERIFY(paused >= 0);
    QCOMPARE(model->index(paused, AuditModel::Action).data().toString(), u"worker.pause");
    QVERIFY2(model->index(paused, AuditModel::Subject).data().toString().startsWith(u"worker paused-1"),
             qPrintable(model->index(paused, AuditModel::Subject).data().toString()));
    QVERIFY(model->index(paused, AuditModel::Client).data().toString().startsWith(u"swamp/"));

    // Filterable by action and by text; the newest entry first.
    tab->actionBox()->setCurrentIndex(tab->actionBox()->findData(QStringLiteral("worker.pause")));
    QCOMPARE(tab->proxy()->rowCount(), 1);
    tab->actionBox()->setCurrentIndex(0);
    tab->filterEdit()->setText(QStringLiteral("ops-42"));
    QCOMPARE(tab->proxy()->rowCount(), 1);
    tab->filterEdit()->clear();
    QCOMPARE(tab->proxy()->index(0, AuditModel::Action).data().toString(), u"worker.pause");
    QVERIFY2(tab->statusText().startsWith(u"3 audit entry(s)"), qPrintable(tab->statusText()));
}

void tst_ConsoleWidgets::queryTypoShowsErrorPosition()
{
    openWindow();
    QueryTab *tab = m_window->queryTab();
    const QString predicate = QStringLiteral("modelType == \"swamp/worker\" && attributes.stauts == \"idle\"");
    tab->setPredicate(predicate);
    QVERIFY2(tab->validationText().contains(u"stauts"), qPrintable(tab->validationText()));
    QVERIFY2(tab->validationText().contains(u"status"), qPrintable(tab->validationText()));
    QCOMPARE(tab->errorSpan(), std::make_pair(int(predicate.indexOf(u"stauts")), 6));
    QVERIFY(!tab->runAction()->isEnabled());
    QCOMPARE(tab->editor()->extraSelections().size(), 1);

    tab->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
    QCOMPARE(tab->validationText(), QString());
    QCOMPARE(tab->errorSpan().second, 0);
    QVERIFY(tab->editor()->extraSelections().isEmpty());
    QVERIFY(tab->runAction()->isEnabled());
}

void tst_ConsoleWidgets::queryFailureIsShownGracefully()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("q"));
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("q"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QueryTab *tab = m_window->queryTab();
    tab->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
    tab->run();
    // Either the orchestrator answers with records, or it says why it cannot; both end up on
    // screen, and the run button comes back.
    QTRY_VERIFY(!tab->statusText().isEmpty() && tab->statusText() != QueryTab::tr("Running…"));
    QTRY_VERIFY(tab->runAction()->isEnabled());
    if (tab->statusText().startsWith(QueryTab::tr("The query failed: %1").section(u'%', 0, 0))) {
        QCOMPARE(tab->model()->rowCount(), 0);
        QVERIFY(!tab->exportAction()->isEnabled());
    } else {
        QCOMPARE(tab->model()->rowCount(), 1);
        QVERIFY(tab->exportAction()->isEnabled());
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("results.json"));
        QVERIFY(tab->exportTo(path));
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject exported = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(exported.value(QStringLiteral("results")).toArray().size(), 1);
    }
}

void tst_ConsoleWidgets::queryResultIsAnExpandableTree()
{
    openWindow();
    const QString token = m_orchestrator->createToken(QStringLiteral("tree"), {QStringLiteral("--label"),
                                                                               QStringLiteral("pool=ci")});
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, QStringLiteral("tree"));
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QueryTab *tab = m_window->queryTab();
    m_window->tabs()->setCurrentWidget(tab);
    tab->setPredicate(QStringLiteral("modelType == \"swamp/worker\""));
    tab->run();
    QTRY_COMPARE_WITH_TIMEOUT(tab->model()->rowCount(), 1, 10000);
    // The first result is shown as a tree at once: its attributes open, nested maps closed.
    const JsonTreeModel *tree = tab->treeModel();
    QTRY_VERIFY(tree->find({QStringLiteral("attributes")}).isValid());
    const QModelIndex attributes = tree->find({QStringLiteral("attributes")});
    QVERIFY(tab->treeView()->isExpanded(attributes));
    const QModelIndex labels = tree->find({QStringLiteral("attributes"), QStringLiteral("labels")});
    QVERIFY(labels.isValid());
    QVERIFY(!tab->treeView()->isExpanded(labels));
    QCOMPARE(labels.siblingAtColumn(JsonTreeModel::Value).data().toString(), u"{1 field(s)}");
    QCOMPARE(labels.siblingAtColumn(JsonTreeModel::Type).data().toString(), u"map");
    const QModelIndex pool = tree->find({QStringLiteral("attributes"), QStringLiteral("labels"), QStringLiteral("pool")});
    QCOMPARE(pool.siblingAtColumn(JsonTreeModel::Value).data().toString(), u"ci");
    QCOMPARE(tree->find({QStringLiteral("name")}).siblingAtColumn(JsonTreeModel::Value).data().toString(), u"tree");

    // Copy: a node as JSON (a string bare), and the whole result from the table.
    tab->treeView()->setCurrentIndex(labels);
    tab->copyValueAction()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), u"{\"pool\":\"ci\"}");
    tab->treeView()->setCurrentIndex(pool);
    tab->copyValueAction()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), u"ci");
    tab->copyResultAction()->trigger();
    const QJsonObject copied = QJsonDocument::fromJson(QGuiApplication::clipboard()->text().toUtf8()).object();
    QCOMPARE(copied.value(QStringLiteral("modelType")).toString(), u"swamp/worker");
    QCOMPARE(copied.value(QStringLiteral("attributes")).toObject().value(QStringLiteral("labels")).toObject(),
             (QJsonObject{{QStringLiteral("pool"), QStringLiteral("ci")}}));
    // Export still writes the whole response.
    QTemporaryDir dir;
    QVERIFY(tab->exportTo(dir.filePath(QStringLiteral("r.json"))));
    QFile file(dir.filePath(QStringLiteral("r.json")));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("results")).toArray().size(), 1);
}

void tst_ConsoleWidgets::reconnectResumesFromLastEventId()
{
    openWindow();
    m_orchestrator->createToken(QStringLiteral("before"));
    const EventModel *events = m_window->eventModel();
    QTRY_VERIFY(events->rowCount() > 0 && events->eventAt(events->rowCount() - 1).kind == u"token.created");
    const quint16 port = m_orchestrator->port();

    m_orchestrator->stop();
    QTRY_COMPARE(m_session->state(), AdminSession::State::Reconnecting);
    QTRY_VERIFY(m_window->connectionText().contains(u"reconnecting"));

    QVERIFY(m_orchestrator->start(port));
    QTRY_COMPARE_WITH_TIMEOUT(m_session->state(), AdminSession::State::Connected, 35000);
    m_orchestrator->createToken(QStringLiteral("after"));
    QTRY_VERIFY(events->eventAt(events->rowCount() - 1).kind == u"token.created"
                && events->eventAt(events->rowCount() - 1).subject == u"after");
    // Everything in order, nothing twice.
    for (int row = 1; row < events->rowCount(); ++row)
        QVERIFY(events->eventAt(row).id > events->eventAt(row - 1).id);
    QTRY_COMPARE(m_window->tokenModel()->rowCount(), 2);
}

void tst_ConsoleWidgets::refusedShowsWhy()
{
    AdminEndpointOptions options;
    options.dataDir = m_orchestrator->dataDir();
    auto endpoint = resolveAdminEndpoint(options);
    QVERIFY(endpoint);
    endpoint->adminToken = QStringLiteral("not-the-admin-token");
    m_session = std::make_unique<AdminSession>(*endpoint);
    m_window = std::make_unique<MainWindow>(m_session.get());
    m_window->show();
    m_session->start();
    QTRY_COMPARE(m_session->state(), AdminSession::State::Refused);
    QVERIFY2(m_window->connectionText().contains(u"does not match"), qPrintable(m_window->connectionText()));
}

QString tst_ConsoleWidgets::stepState(const QString &stepId) const
{
    const QJsonObject *step = m_window->stepModel()->step(stepId);
    return step ? step->value(QStringLiteral("state")).toString() : QString();
}

// `swamp run --detach -- <command>`: the step id.
QString tst_ConsoleWidgets::submit(const QStringList &command)
{
    int exitCode = -1;
    const QString out = m_orchestrator->cli(QStringList{QStringLiteral("run"), QStringLiteral("--detach"),
                                                        QStringLiteral("--")} + command, &exitCode);
    return exitCode == 0 ? out.section(u'\n', 0, 0).trimmed() : QString();
}

void tst_ConsoleWidgets::startWorker(const QString &name)
{
    const QString token = m_orchestrator->createToken(name);
    QVERIFY(!token.isEmpty());
    ConsoleTest::Child *worker = m_orchestrator->startWorker(token, name);
    QVERIFY2(waitEnrolled(worker), qPrintable(worker->err()));
    QTRY_COMPARE_WITH_TIMEOUT(statusOf(name), QStringLiteral("idle"), 5000);
}

void tst_ConsoleWidgets::stepRunsAndShowsOutput()
{
    openWindow();
    startWorker(QStringLiteral("runner"));
    m_window->tabs()->setCurrentWidget(m_window->stepsTab());
    QSignalSpy reset(m_window->stepModel(), &QAbstractItemModel::modelReset);
    const QString id = submit({QStringLiteral("sh"), QStringLiteral("-c"),
                               QStringLiteral("echo hello; sleep 1; echo done")});
    QVERIFY(!id.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(m_window->stepModel()->step(id) != nullptr, 5000);

    StepsTab *tab = m_window->stepsTab();
    tab->selectStep(id);
    QCOMPARE(tab->selectedId(), id);
    QCOMPARE(tab->outputView()->stepId(), id);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("running"), 20000);
    QTRY_COMPARE(tab->detail(QStringLiteral("workerName")), QStringLiteral("runner"));
    // The event says "attempt 1"; the full record that follows adds the maximum.
    const QModelIndex row = m_window->stepModel()->index(m_window->stepModel()->rowOf(id), StepModel::Attempt);
    QTRY_COMPARE(row.data().toString(), QStringLiteral("1/3"));
    QTRY_VERIFY_WITH_TIMEOUT(tab->outputView()->text().contains(u"hello"), 20000);
    QVERIFY(!tab->outputView()->text().contains(u"done"));
    QVERIFY(tab->outputView()->isFollowing());
    QVERIFY(tab->cancelAction()->isEnabled());

    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("succeeded"), 30000);
    QTRY_COMPARE(tab->outputView()->text(), QStringLiteral("hello\ndone\n"));
    QTRY_VERIFY(!tab->outputView()->isFollowing());
    QVERIFY2(tab->outputView()->statusText().contains(u"succeeded"), qPrintable(tab->outputView()->statusText()));
    QCOMPARE(tab->detail(QStringLiteral("exitCode")), u"0");
    QVERIFY(!tab->cancelAction()->isEnabled());
    // The details show the lease of the one attempt, completed.
    QTRY_COMPARE(tab->leasesView()->topLevelItemCount(), 1);
    QTRY_VERIFY(tab->leasesView()->topLevelItem(0)->text(2).startsWith(u"completed"));
    QCOMPARE(reset.count(), 0);

    // Copy step ID puts the full id on the clipboard.
    tab->copyIdAction()->trigger();
    QCOMPARE(QGuiApplication::clipboard()->text(), id);

    // The query tab asks for the rows form and shows (and exports) records: the lease's.
    QueryTab *query = m_window->queryTab();
    m_window->tabs()->setCurrentWidget(query);
    query->setPredicate(QStringLiteral("modelType == \"swamp/step-lease\" && attributes.stepId == \"%1\"").arg(id));
    query->run();
    QTRY_COMPARE_WITH_TIMEOUT(query->model()->rowCount(), 1, 10000);
    const JsonTreeModel *tree = query->treeModel();
    QTRY_VERIFY(tree->find({QStringLiteral("attributes"), QStringLiteral("state")}).isValid());
    QCOMPARE(tree->find({QStringLiteral("attributes"), QStringLiteral("state")})
                 .siblingAtColumn(JsonTreeModel::Value).data().toString(),
             u"completed");
    QCOMPARE(tree->find({QStringLiteral("modelType")}).siblingAtColumn(JsonTreeModel::Value).data().toString(),
             u"swamp/step-lease");
    QTemporaryDir exportDir;
    QVERIFY(query->exportTo(exportDir.filePath(QStringLiteral("leases.json"))));
    QFile exported(exportDir.filePath(QStringLiteral("leases.json")));
    QVERIFY(exported.open(QIODevice::ReadOnly));
    const QJsonObject answer = QJsonDocument::fromJson(exported.readAll()).object();
    QVERIFY(!answer.contains(QStringLiteral("tables")));
    const QJsonObject lease = answer.value(QStringLiteral("results")).toArray().first().toObject();
    QCOMPARE(lease[QStringLiteral("attributes")][QStringLiteral("stepId")].toString(), id);
    QVERIFY(lease.value(QStringLiteral("createdAt")).toString().endsWith(u'Z')); // a time again, not milliseconds

    // A console that connects now finds the finished step in its snapshot, and all its output.
    AdminSession later(m_session->endpoint());
    MainWindow window(&later);
    QSignalSpy loaded(&window, &MainWindow::loaded);
    later.start();
    QVERIFY(loaded.wait(30000));
    QCOMPARE(window.stepModel()->step(id)->value(QStringLiteral("state")).toString(), u"succeeded");
    window.stepsTab()->selectStep(id);
    QTRY_COMPARE(window.stepsTab()->outputView()->text(), QStringLiteral("hello\ndone\n"));
}

void tst_ConsoleWidgets::cancelRunningStep()
{
    openWindow();
    startWorker(QStringLiteral("sleeper"));
    const QString id = submit({QStringLiteral("sleep"), QStringLiteral("60")});
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("running"), 20000);
    QTRY_COMPARE(m_window->stepModel()->queuedCount(), 0);
    StepsTab *tab = m_window->stepsTab();
    tab->selectStep(id);
    QVERIFY(tab->cancelAction()->isEnabled());
    QMessageBox *box = tab->confirmCancel();
    QVERIFY(box);
    QVERIFY2(box->text().contains(u"sleeper"), qPrintable(box->text()));
    QAbstractButton *cancel = nullptr;
    for (QAbstractButton *button : box->buttons())
        if (box->buttonRole(button) == QMessageBox::AcceptRole)
            cancel = button;
    QVERIFY(cancel);
    cancel->click();
    QTRY_COMPARE_WITH_TIMEOUT(stepState(id), QStringLiteral("cancelled"), 30000);
    QVERIFY(!tab->cancelAction()->isEnabled());
    QTRY_VERIFY(!tab->outputView()->isFollowing());
    QVERIFY2(tab->outputView()->statusText().contains(u"cancelled"), qPrintable(tab->outputView()->statusText()));
}

QTEST_MAIN(tst_ConsoleWidgets)
#include "tst_console_widgets.moc"
