#include "mainwindow.h"

#include "audittab.h"
#include "client/adminsession.h"
#include "connectiondialog.h"
#include "eventmodel.h"
#include "eventstab.h"
#include "querytab.h"
#include "stepfeed.h"
#include "stepmodel.h"
#include "stepstab.h"
#include "tokenmodel.h"
#include "tokenstab.h"
#include "workermodel.h"
#include "workeractions.h"
#include "workerstab.h"

#include "common/urls.h"
#include "version/version.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>

namespace Swamp::Console {

MainWindow::MainWindow(AdminSession *session, QWidget *parent)
    : QMainWindow(parent)
    , m_session(session)
    , m_workerModel(new WorkerModel(this))
    , m_tokenModel(new TokenModel(this))
    , m_eventModel(new EventModel(5000, this))
    , m_stepModel(new StepModel(500, this))
    , m_stepFeed(new StepFeed(session, m_stepModel, this))
    , m_tabs(new QTabWidget(this))
    , m_workersTab(new WorkersTab(session, m_workerModel, m_tabs))
    , m_tokensTab(new TokensTab(session, m_tokenModel, m_workerModel, m_tabs))
    , m_queryTab(new QueryTab(session, m_tabs))
    , m_eventsTab(new EventsTab(m_eventModel, m_tabs))
    , m_stepsTab(new StepsTab(session, m_stepModel, m_stepFeed, m_tabs))
    , m_auditTab(new AuditTab(session, m_tabs))
    , m_queueIndicator(new QLabel(this))
    , m_connectionIcon(new QLabel(this))
    , m_connectionText(new QLabel(this))
    , m_connectionButton(new QToolButton(this))
{
    setWindowTitle(tr("swamp console"));
    createTabs();
    createStatusBar();
    connectSession();
    connect(m_tokensTab, &TokensTab::message, this, &MainWindow::showTabMessage);
    connect(m_workersTab, &WorkersTab::message, this, &MainWindow::showTabMessage);
    connect(m_stepsTab, &StepsTab::message, this, &MainWindow::showTabMessage);
    startClock();
    createMenus();
    restoreSettings();
    updateConnectionIndicator();
}

void MainWindow::createTabs()
{
    m_tabs->addTab(m_workersTab, tr("&Workers"));
    m_tabs->addTab(m_tokensTab, tr("T&okens"));
    m_tabs->addTab(m_queryTab, tr("&Query"));
    m_tabs->addTab(m_eventsTab, tr("&Events"));
    m_tabs->addTab(m_stepsTab, tr("&Steps"));
    m_tabs->addTab(m_auditTab, tr("&Audit"));
    m_tabs->setDocumentMode(true);
    setCentralWidget(m_tabs);
}

// The connection's state and the queue's length, and a button to reconnect or connect elsewhere.
void MainWindow::createStatusBar()
{
    m_connectionText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_connectionText->setMinimumWidth(100);
    m_connectionButton->setAutoRaise(true);
    statusBar()->addWidget(m_connectionIcon);
    statusBar()->addWidget(m_connectionText, 1);
    statusBar()->addPermanentWidget(m_queueIndicator);
    statusBar()->addPermanentWidget(m_connectionButton);
    m_queueIndicator->setToolTip(tr("Steps waiting for a worker"));
    connect(m_stepModel, &StepModel::queuedCountChanged, this, &MainWindow::updateQueueIndicator);
    connect(m_stepFeed, &StepFeed::loaded, this, [this] {
        updateQueueIndicator();
        if (!std::exchange(m_stepsLoaded, true) && hasLoaded())
            Q_EMIT loaded();
    });
    connect(m_connectionButton, &QToolButton::clicked, this, [this] {
        if (m_session->state() == AdminSession::State::Refused)
            showConnectionDialog();
        else
            m_session->reconnectNow();
    });
}

void MainWindow::connectSession()
{
    connect(m_session, &AdminSession::workersReceived, this, [this](const QList<WorkerRecord> &workers) {
        m_workerModel->setWorkers(workers);
        m_workersTab->setFleet(m_session->isFleet());
        if (!std::exchange(m_workersLoaded, true) && hasLoaded())
            Q_EMIT loaded();
    });
    connect(m_session, &AdminSession::tokensReceived, this, [this](const QJsonArray &tokens) {
        m_tokenModel->setTokens(tokens);
        if (!std::exchange(m_tokensLoaded, true) && hasLoaded())
            Q_EMIT loaded();
    });
    connect(m_session, &AdminSession::eventReceived, m_eventModel, &EventModel::append);
    connect(m_session, &AdminSession::stateChanged, this, &MainWindow::updateConnectionIndicator);
    connect(m_session, &AdminSession::retryCountdownChanged, this, &MainWindow::updateConnectionIndicator);
    connect(m_session, &AdminSession::sessionStarted, this, [this] {
        m_session->request(QStringLiteral("version"), {}, this, [this](const Result<QJsonObject> &result) {
            if (result) {
                m_serverVersion = result->value(QStringLiteral("version")).toString();
                updateConnectionIndicator();
            }
        });
    });
}

void MainWindow::showTabMessage(const QString &text)
{
    statusBar()->showMessage(text, 10000);
}

// Relative times tick; only their columns change.
void MainWindow::startClock()
{
    auto *tick = new QTimer(this);
    tick->setInterval(1000);
    connect(tick, &QTimer::timeout, this, [this] {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        m_workerModel->setNow(now);
        m_tokenModel->setNow(now);
        m_stepModel->setNow(now);
    });
    tick->start();
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray()))
        resize(1100, 640);
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    m_workersTab->restoreState(settings);
    m_tokensTab->restoreState(settings);
    m_eventsTab->restoreState(settings);
    m_stepsTab->restoreState(settings);
    m_auditTab->restoreState(settings);
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("window/tab"), 0).toInt());
}

void MainWindow::createMenus()
{
    QMenu *connection = menuBar()->addMenu(tr("&Connection"));
    QAction *connectTo = connection->addAction(tr("&Connect to…"), this, &MainWindow::showConnectionDialog);
    connectTo->setShortcut(QKeySequence::Open);
    QAction *reconnect = connection->addAction(style()->standardIcon(QStyle::SP_BrowserReload),
                                               tr("&Reconnect now"), m_session, &AdminSession::reconnectNow);
    reconnect->setShortcut(QKeySequence::Refresh);
    connection->addSeparator();
    QAction *quit = connection->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    const QStringList names{tr("&Workers"), tr("T&okens"), tr("&Query"), tr("&Events"), tr("&Steps"), tr("&Audit")};
    for (int i = 0; i < names.size(); ++i) {
        QAction *action = view->addAction(names.at(i), this, [this, i] { m_tabs->setCurrentIndex(i); });
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }
    view->addSeparator();
    QAction *find = view->addAction(tr("&Filter…"), this, &MainWindow::focusFilter);
    find->setShortcut(QKeySequence::Find);

    QMenu *workers = menuBar()->addMenu(tr("Wor&kers"));
    m_workersTab->actions()->addTo(workers);
    workers->addSeparator();
    workers->addAction(m_workersTab->actions()->pruneAction());

    QMenu *tokens = menuBar()->addMenu(tr("&Tokens"));
    tokens->addAction(m_tokensTab->newTokenAction());
    tokens->addAction(m_tokensTab->extendAction());
    tokens->addAction(m_tokensTab->revokeAction());

    QMenu *steps = menuBar()->addMenu(tr("Ste&ps"));
    steps->addAction(m_stepsTab->cancelAction());
    steps->addAction(m_stepsTab->copyIdAction());

    QMenu *query = menuBar()->addMenu(tr("Quer&y"));
    query->addAction(m_queryTab->runAction());
    query->addAction(m_queryTab->exportAction());
    // The query shortcuts work from anywhere in the window once the menu holds them.
    m_queryTab->runAction()->setShortcutContext(Qt::WindowShortcut);
    m_queryTab->exportAction()->setShortcutContext(Qt::WindowShortcut);
    connect(m_queryTab->runAction(), &QAction::triggered, this, [this] { m_tabs->setCurrentWidget(m_queryTab); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About swamp console"), this, &MainWindow::showAbout);
}

void MainWindow::focusFilter()
{
    QWidget *current = m_tabs->currentWidget();
    if (current == m_workersTab)
        m_workersTab->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    else if (current == m_tokensTab)
        m_tokensTab->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    else if (current == m_eventsTab)
        m_eventsTab->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    else if (current == m_stepsTab)
        m_stepsTab->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    else if (current == m_auditTab)
        m_auditTab->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    else if (current == m_queryTab)
        m_queryTab->editor()->setFocus(Qt::ShortcutFocusReason);
}

QString MainWindow::connectionText() const
{
    return m_connectionText->text();
}

void MainWindow::updateConnectionIndicator()
{
    const QString url = redactedUrl(m_session->endpoint().url);
    QStyle::StandardPixmap icon = QStyle::SP_BrowserReload;
    QString text;
    QString button;
    switch (m_session->state()) {
    case AdminSession::State::Idle:
        text = tr("Not connected");
        icon = QStyle::SP_MediaStop;
        button = tr("Connect");
        break;
    case AdminSession::State::Connecting:
        text = tr("Connecting to %1…").arg(url);
        break;
    case AdminSession::State::Connected:
        icon = QStyle::SP_DialogApplyButton;
        text = m_serverVersion.isEmpty() ? tr("Connected to %1").arg(url)
                                         : tr("Connected to %1 (swamp %2)").arg(url, m_serverVersion);
        break;
    case AdminSession::State::Reconnecting:
        icon = QStyle::SP_MessageBoxWarning;
        text = tr("Connection lost: %1 — reconnecting in %n s", nullptr, m_session->secondsUntilRetry())
                   .arg(m_session->lastError().message);
        button = tr("Reconnect now");
        break;
    case AdminSession::State::Refused:
        icon = QStyle::SP_MessageBoxCritical;
        text = tr("Refused: %1").arg(m_session->lastError().text());
        button = tr("Connect to…");
        break;
    }
    const int size = style()->pixelMetric(QStyle::PM_SmallIconSize);
    m_connectionIcon->setPixmap(style()->standardIcon(icon).pixmap(size, size));
    m_connectionText->setText(text);
    m_connectionText->setToolTip(m_session->state() == AdminSession::State::Connected
                                     ? QString() : m_session->lastError().text());
    m_connectionButton->setText(button);
    m_connectionButton->setVisible(!button.isEmpty());
}

void MainWindow::showConnectionDialog()
{
    auto *dialog = new ConnectionDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (m_session->state() == AdminSession::State::Refused)
        dialog->setMessage(m_session->lastError().text());
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        m_workersLoaded = m_tokensLoaded = m_stepsLoaded = false;
        m_serverVersion.clear();
        m_session->setEndpoint(dialog->endpoint());
    });
    dialog->open();
}

void MainWindow::updateQueueIndicator()
{
    const int queued = m_stepModel->queuedCount();
    m_queueIndicator->setText(tr("Queue: %1").arg(queued));
    m_queueIndicator->setStyleSheet(queued > 0 ? QStringLiteral("font-weight: bold") : QString());
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About swamp console"),
                       tr("<p><b>swamp console</b> %1</p><p>The desktop admin console of swamp: watch "
                          "the worker fleet, hand out enrollment tokens, query the orchestrator's "
                          "records.</p><p>Built with Qt %2.</p>")
                           .arg(Swamp::version(), QString::fromLatin1(qVersion())));
}

QStringList MainWindow::saveScreenshots(const QString &directory, const QString &suffix)
{
    QDir().mkpath(directory);
    const QStringList names{QStringLiteral("workers"), QStringLiteral("tokens"), QStringLiteral("query"),
                            QStringLiteral("events"), QStringLiteral("steps"), QStringLiteral("audit")};
    QStringList written;
    const int current = m_tabs->currentIndex();
    for (int i = 0; i < m_tabs->count() && i < names.size(); ++i) {
        m_tabs->setCurrentIndex(i);
        const QString path = QDir(directory).filePath(QStringLiteral("console-%1%2.png").arg(names.at(i), suffix));
        if (grab().save(path))
            written << path;
    }
    m_tabs->setCurrentIndex(current);
    return written;
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
    settings.setValue(QStringLiteral("window/tab"), m_tabs->currentIndex());
    m_workersTab->saveState(settings);
    m_tokensTab->saveState(settings);
    m_eventsTab->saveState(settings);
    m_stepsTab->saveState(settings);
    m_auditTab->saveState(settings);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    event->accept();
}

} // namespace Swamp::Console
